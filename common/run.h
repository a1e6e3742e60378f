/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* common/run.h - running helper programs (qemu-img, qemu-io, ip, tc) and
 * waiting for children, always with a bound. */
#ifndef QMIG_COMMON_RUN_H
#define QMIG_COMMON_RUN_H

#include <stddef.h>
#include <sys/types.h>

/* Default bounds: ip and tc answer at once unless the kernel is stuck;
 * qemu-img create/write is quick (convert of a lab disk takes its own). */
#define RUN_TIMEOUT_NET_MS 10000
#define RUN_TIMEOUT_MS 60000

/* Run argv[0] (PATH search) with stdin and stdout on /dev/null and wait at
 * most timeout_ms.  0 when it exited 0; else -1 with the first line of its
 * stderr, how it ended, or "ARGV: timed out after N s (killed)" in err.
 * On timeout the child is killed (SIGKILL, by pid) and reaped. */
int run_argv_timeout(const char *const *argv, int timeout_ms, char *err, size_t errlen);
/* The same with the default bound: RUN_TIMEOUT_NET_MS for ip and tc,
 * RUN_TIMEOUT_MS for anything else. */
int run_argv(const char *const *argv, char *err, size_t errlen);

/* Wait for child pid at most timeout_ms (EINTR retried).  0 with its wait
 * status in *status; -1 with errno ETIMEDOUT after killing (SIGKILL) and
 * reaping it, or errno from waitpid. */
int run_wait(pid_t pid, int *status, int timeout_ms);

#endif
