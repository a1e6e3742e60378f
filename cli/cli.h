/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cli/ - the qmig command: a thin client of include/qmig.h. */
#ifndef QMIG_CLI_H
#define QMIG_CLI_H

#include <stdbool.h>
#include <stdio.h>
#include "qmig.h"

int cmd_migrate(int argc, char **argv);
int cmd_update(int argc, char **argv);    /* update.c */
int cmd_pingpong(int argc, char **argv);  /* pingpong.c */
int cmd_calibrate(int argc, char **argv); /* calibrate.c */
int cmd_check(int argc, char **argv);
int cmd_dirty_rate(int argc, char **argv);
int cmd_lab(int argc, char **argv);
int cmd_verify_memory(int argc, char **argv);
int cmd_verify_disks(int argc, char **argv);
int cmd_verify_disk_image(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_agent(int argc, char **argv);
int cmd_create_disks(int argc, char **argv);
int cmd_recover(int argc, char **argv);

/* opts.c: what migrate and check share (cli_parse: every qmig_set key as a
 * long option and the CLI's own flags), and the long options of the
 * agent's and the lab's option tables. */
struct option;
struct cli_flags {
  const char *json; /* --json FILE|- */
  bool progress, quiet, verbose;
  /* A command's own table after the migration's (qmig pingpong): its keys
   * (NULL: none) and their setter, 0 or -1 with the message printed. */
  const struct qmig_optkey *extra;
  int (*set_extra)(void *ud, const char *key, const char *value);
  void *extra_ud;
};
/* qmig_set(m, key, value), except that key "lab" expands the lab in DIR
 * value into the other options (qmig_lab_apply); -1 with the message on
 * stderr as "qmig WHO: ...". */
int cli_set(struct qmig_migration *m, const char *key, const char *value, const char *who);
int cli_parse(int argc, char **argv, const char *who, struct qmig_migration *m,
              struct cli_flags *fl, void (*help)(FILE *));
void cli_print_option_help(FILE *f);
/* getopt_long options: one per key (val = CLI_KEY0 + its index, *nkeys
 * their number; a flag takes no argument), then own[] (vals below
 * CLI_KEY0) up to and with its NULL name.  Caller frees; NULL when out of
 * memory.  cli_key_index: the index of getopt's return c, or -1. */
#define CLI_KEY0 10000
struct option *cli_longopts(const struct qmig_optkey *keys, const struct option *own,
                            size_t *nkeys);
static inline int cli_key_index(int c, size_t nkeys)
{
  return c >= CLI_KEY0 && (size_t)(c - CLI_KEY0) < nkeys ? c - CLI_KEY0 : -1;
}
/* m's JSON report to path ("-" = stdout); -1 with a message on stderr. */
int cli_write_report(const struct qmig_migration *m, const char *path, const char *who);

/* json.c: JSON documents of lab status and verify-memory (with "schema").
 * cli_write_json takes o (NULL: out of memory) and writes it to path ("-"
 * = stdout); -1 with a message on stderr.  cli_write_text does the same
 * with a document the library made as text (qmig_*_json; freed here). */
typedef struct json_t json_t;
int cli_write_json(json_t *o, const char *path, const char *who);
int cli_write_text(char *s, const char *path, const char *who);
json_t *cli_lab_json(const char *dir, const struct qmig_lab_info *li);
json_t *cli_memcheck_json(const char *qmp, int rc, const struct qmig_memcheck *r, const char *err);
json_t *cli_diskcheck_json(const char *image, const char *format, int rc,
                           const struct qmig_diskcheck *r, const char *err);

/* Human summary of a report (summary.c). */
void cli_print_summary(FILE *f, const struct qmig_report *r);
/* The post-copy section's pauses (a broken link) and resumptions. */
void cli_print_postcopy(FILE *f, const struct qmig_migration *m);
/* update.c: the report's "update" section (a spawned destination, live
 * update), nothing when the run had none. */
void cli_print_update(FILE *f, const struct qmig_migration *m);
void cli_print_prediction(FILE *f, const struct qmig_migration *m, bool outcome);
/* The stall timeline, if the run had one: the largest stall and its phase,
 * every stall when there are few. */
void cli_print_stalls(FILE *f, const struct qmig_migration *m);
void cli_print_network(FILE *f, const struct qmig_migration *m);
/* The "storage" section, if any: each copied disk, the copy mode at start
 * and what copy-mode auto did. */
void cli_print_storage(FILE *f, const struct qmig_migration *m);
/* Default lab run directory: $QMIG_LAB_DIR or /tmp/qmig-lab-UID. */
const char *cli_default_lab_dir(void);

#endif
