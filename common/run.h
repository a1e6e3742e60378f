/* common/run.h - running helper programs (qemu-img, qemu-io, ip, tc). */
#ifndef QMIG_COMMON_RUN_H
#define QMIG_COMMON_RUN_H

#include <stddef.h>

/* Run argv[0] (PATH search) with stdin and stdout on /dev/null and wait.
 * 0 when it exited 0; else -1 with the first line of its stderr (or how it
 * ended) in err. */
int run_argv(const char *const *argv, char *err, size_t errlen);

#endif
