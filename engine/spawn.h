/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* engine/spawn.h - a destination QEMU made from the running source's own
 * definition: its command line (SO_PEERCRED on the source's unix QMP
 * socket gives the pid, /proc/PID/cmdline the argv), rewritten for a second
 * process beside it, then started (in the source's network namespace) and
 * waited for.  The rewrite is a pure function (spawn_argv.c, unit-tested
 * in tests/unit/test_spawn.c); spawn.c starts and ends the process.
 *
 * Errors: 0/-1 (pointer/NULL) with the message in the caller's buffer. */
#ifndef QMIG_ENGINE_SPAWN_H
#define QMIG_ENGINE_SPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* A growable NULL-terminated vector of owned strings. */
struct eng_strv {
  char **v;
  size_t n, cap;
};
int eng_strv_push(struct eng_strv *s, const char *str);
void eng_strv_free(struct eng_strv *s);

/* QEMU's command-line syntax, for the rewrite (spawn_cmdline.c, where each
 * is described): an option (without its dash) that takes no argument; a
 * KEY's value in an "a=b,c=d" option string (1 found, 0 not); its first
 * item; bytes [at, at+len) of s replaced by val (malloc'd, NULL out of
 * memory); a path through the "OLD=NEW,..." map (1 mapped, 0 not). */
bool eng_cmdline_is_flag(const char *o);
int eng_cmdline_opt_get(const char *s, const char *key, char *out, size_t olen, size_t *at,
                        size_t *len);
void eng_cmdline_opt_first(const char *s, char *out, size_t olen);
char *eng_cmdline_splice(const char *s, size_t at, size_t len, const char *val);
int eng_cmdline_map_path(const char *map, const char *path, char *out, size_t olen);

struct eng_spawn_spec {
  const char *binary; /* the new process's QEMU; NULL = the source's argv[0] */
  const char *dir;    /* where its sockets, pidfile and log go */
  const char *name;   /* their prefix: DIR/NAME.qmp, .serial, .pid, .log */
  const char *map;    /* "OLD=NEW,...": disk paths (file=, filename=), or NULL */
  /* The -incoming arguments (incoming[1] may be NULL): "defer", or the
   * main and cpr channels of cpr-transfer. */
  const char *incoming[2];
  /* Guest RAM that is a shared file mapping (memory-backend-file
   * share=on): keep its mem-path (the new process maps the same pages:
   * x-ignore-shared, cpr) or give the new process its own file beside it
   * (a normal migration writes every page into the destination's RAM, which
   * must not be the running source's). */
  bool keep_shared_ram;
  /* The machine type the source runs (e.g. "pc-i440fx-7.2"), or NULL:
   * -machine's type (an alias such as "pc" would be the newest type of a
   * new binary, which cannot take the guest) is pinned to it. */
  const char *machine;
  /* When non-NULL, every disk path the map changed is appended here (the
   * images only the new process opens: update.c checks their locks). */
  struct eng_strv *mapped;
  /* Whether PATH is a directory (mem-path may be one: QEMU makes its own
   * file in it); NULL = never. */
  bool (*is_dir)(const char *path);
};

/* The argv of the new process from the source's argv[0..argc): see
 * spawn_argv.c for every rule.  0 with the vector in *out (the caller frees
 * it with eng_strv_free); -1 with "argument N 'ARG': why" in err when an
 * argument cannot be rewritten safely. */
int eng_spawn_rewrite(char *const *argv, size_t argc, const struct eng_spawn_spec *s,
                      struct eng_strv *out, char *err, size_t errlen);

/* Whether another process holds QEMU's image locks on PATH (OFD locks on
 * the bytes QEMU uses, from offset 100): 1 yes, 0 no, -1 it cannot be
 * opened (reason in err; QEMU will say more). */
int eng_spawn_image_locked(const char *path, char *err, size_t errlen);

/* A started destination process. */
struct eng_spawned {
  pid_t pid;
  char qmp[4200];    /* unix:DIR/NAME.qmp */
  char serial[4200]; /* DIR/NAME.serial when the source had a serial socket, else "" */
  char log[4200];    /* DIR/NAME.log: its stdout and stderr */
  char pidfile[4200];
  char binary[4200];  /* what ran */
  char cmdline[8192]; /* its argv, for messages and the report */
};

/* The pid of the QEMU behind the unix QMP socket PATH (SO_PEERCRED of a
 * fresh connection, closed at once); -1 with the reason in err. */
pid_t eng_spawn_peer_pid(const char *path, char *err, size_t errlen);
/* PID's argv from /proc/PID/cmdline into *out; -1 with the reason. */
int eng_spawn_read_cmdline(pid_t pid, struct eng_strv *out, char *err, size_t errlen);
/* Start argv as a detached process (own session, stdin /dev/null, stdout and
 * stderr to sp->log) in the network namespace of netns_pid (0: ours), and
 * fill sp->pid.  Then wait at most timeout_ms for wait_path (a socket the
 * new QEMU creates: its QMP, or cpr-transfer's cpr channel) to accept a
 * connection, or with exists_only to exist as a socket (the cpr channel
 * takes one connection only: a probe would be taken for the source's and
 * end the new QEMU, "Not a migration stream"); a process that exits first gives its status and the end of
 * its log in err.  -1 then (a process still running was killed). */
int eng_spawn_start(struct eng_spawned *sp, const struct eng_strv *argv, pid_t netns_pid,
                    const char *wait_path, bool exists_only, int timeout_ms, char *err,
                    size_t errlen);
/* Whether sp's process still runs (reaps it when it exited). */
bool eng_spawn_alive(struct eng_spawned *sp);
/* End it (SIGTERM, then SIGKILL after timeout_ms) and reap it; NULL and a
 * process already gone are fine. */
void eng_spawn_kill(struct eng_spawned *sp, int timeout_ms);
/* The last lines of its log, for messages ("" when none). */
void eng_spawn_log_tail(const struct eng_spawned *sp, char *out, size_t len);

#endif
