/* cli/ - the qmig command: a thin client of include/qmig.h. */
#ifndef QMIG_CLI_H
#define QMIG_CLI_H

#include <stdio.h>
#include "qmig.h"

int cmd_migrate(int argc, char **argv);
int cmd_lab(int argc, char **argv);
int cmd_verify_memory(int argc, char **argv);
int cmd_demo(int argc, char **argv);

/* Human summary of a report (summary.c). */
void cli_print_summary(FILE *f, const struct qmig_report *r);
/* Default lab run directory: $QMIG_LAB_DIR or /tmp/qmig-lab-UID. */
const char *cli_default_lab_dir(void);
/* Parse an unsigned number for option `name`; exits 2 with a message on junk. */
unsigned cli_uint(const char *name, const char *v);

#endif
