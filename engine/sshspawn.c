/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sshspawn.c - dst-spawn with tunnel ssh://: the destination QEMU, made
 * from the source's command line (update.c), is started on the ssh host by
 * the same remote script that runs the agent (sshagent.c), in the same ssh
 * session: one connection.
 *
 * The script's part before the agent: refuse a spawn-dir that is missing or
 * whose pidfile names a running process; start QEMU detached (setsid, own
 * session, stdin /dev/null, output in DIR/NAME.log), wait (bounded) for its
 * QMP socket, and print "qmig-spawn: pid N" - or "qmig-spawn: failed: WHY"
 * and exit, killing a QEMU that did not come up.  The part after the agent
 * has ended: the last line qmig sent on ssh's stdin is the verdict; "end"
 * (the guest stayed on the source) stops QEMU (TERM, KILL after 5 s),
 * anything else keeps it running: a qmig that died mid-way may have left
 * the guest there, and a destination wrongly kept is a leak while one
 * wrongly killed is a lost guest. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errbuf.h"
#include "engine/internal.h"
#include "engine/update.h"

/* S as one word of sh: '...' with each ' as '\''. */
static void put_quoted(FILE *f, const char *s)
{
  fputc('\'', f);
  for (; *s; s++)
    if (*s == '\'')
      fputs("'\\''", f);
    else
      fputc(*s, f);
  fputc('\'', f);
}

void eng_sshspawn_script_locks(FILE *f, const struct eng_strv *images)
{
  if (!images || !images->n)
    return;
  /* lk FILE: a lock on bytes 100-299 of FILE in /proc/locks, the range
   * eng_spawn_image_locked() asks F_OFD_GETLK about (QEMU's permission
   * bytes).  /proc/locks names a file MAJ:MIN:INODE, major and minor in hex
   * as the kernel's MAJOR()/MINOR() of st_dev, which glibc's major()/minor()
   * decode from stat's %d.  Only fcntl locks count, as for F_OFD_GETLK:
 * not flock(2) nor leases, nor a blocked waiter ("->", holding nothing). */
  fputs("lk() { set -- $(stat -L -c '%d %i' \"$1\" 2>/dev/null); [ $# = 2 ] || return 1; "
        "ik=$(printf '%02x:%02x:%s' $(( (($1 >> 8) & 4095) | (($1 >> 32) & ~4095) )) "
        "$(( ($1 & 255) | (($1 >> 12) & ~255) )) \"$2\"); "
        "awk -v k=\"$ik\" '$2 != \"POSIX\" && $2 != \"OFDLCK\" { next } "
        "{ for (i = 1; i < NF; i++) if ($i == k) { e = $(i + 2) == \"EOF\" ? 1e18 : $(i + 2) + 0; "
        "if ($(i + 1) + 0 <= 299 && e >= 100) f = 1 } } END { exit !f }' /proc/locks; }; ",
        f);
  for (size_t i = 0; i < images->n; i++) {
    fputs("lk ", f);
    put_quoted(f, images->v[i]);
    fputs(" && sf \"image \"", f);
    put_quoted(f, images->v[i]);
    fputs("\" (--map) is locked by another process there (QEMU's image locks): a QEMU still has "
          "it open; the new process could not take it over\"; ",
          f);
  }
}

void eng_sshspawn_script_start(FILE *f, const struct eng_upd *u, int timeout_ms)
{
  fputs("S=", f);
  put_quoted(f, u->dir);
  fputs("; N=", f);
  put_quoted(f, u->name);
  fputs("; q=; "
        "al() { kill -0 \"$1\" 2>/dev/null && "
        "! grep -qs '^State:[[:space:]]*Z' \"/proc/$1/status\"; }; "
        "sf() { echo \"qmig-spawn: failed: $*\"; "
        "if [ -n \"$q\" ] && al \"$q\"; then kill -9 \"$q\"; wait \"$q\"; fi; "
        "rm -f \"$S/$N.qmp\" \"$S/$N.serial\"; rm -rf \"$d\"; exit 1; }; "
        "[ -d \"$S\" ] || sf \"spawn-dir $S is not a directory there\"; "
        "if [ -s \"$S/$N.pid\" ] && p=$(cat \"$S/$N.pid\") && al \"$p\"; then "
        "sf \"$S/$N.pid names a running process (pid $p): not starting a second QEMU there\"; "
        "fi; ",
        f);
  eng_sshspawn_script_locks(f, &u->rmapped);
  fputs("rm -f \"$S/$N.qmp\" \"$S/$N.serial\" \"$S/$N.pid\"; "
        "x=; command -v setsid >/dev/null 2>&1 && x=setsid; "
        "(umask 022; exec $x",
        f);
  for (size_t i = 0; i < u->rargv.n; i++) {
    fputc(' ', f);
    put_quoted(f, u->rargv.v[i]);
  }
  int tries = timeout_ms / 100 > 0 ? timeout_ms / 100 : 1;
  fprintf(f,
          " </dev/null >\"$S/$N.log\" 2>&1) & q=$!; "
          "i=0; until [ -S \"$S/$N.qmp\" ]; do "
          "al \"$q\" || { q=; sf \"the new QEMU exited before it listened on $S/$N.qmp: "
          "$(tail -n 3 \"$S/$N.log\" 2>/dev/null | tr '\\n' ' ' | sed 's/ *$//')\"; }; "
          "i=$((i+1)); [ $i -gt %d ] && sf \"the new QEMU did not listen on $S/$N.qmp within "
          "%d ms (killed; its log: $S/$N.log)\"; "
          "sleep 0.1; done; "
          "echo \"qmig-spawn: pid $q\"; ",
          tries, timeout_ms);
}

void eng_sshspawn_script_end(FILE *f)
{
  fputs("if [ \"$v\" = end ]; then kill \"$q\" 2>/dev/null; "
        "(sleep 5; kill -9 \"$q\" 2>/dev/null) & w=$!; wait \"$q\"; kill \"$w\" 2>/dev/null; "
        "rm -f \"$S/$N.qmp\" \"$S/$N.serial\"; echo \"qmig-spawn: ended pid $q\"; fi; ",
        f);
}

int eng_sshspawn_result(struct qmig_migration *m, const char *log, char *why, size_t len)
{
  const char *p = strstr(log, "qmig-spawn: failed: ");
  if (p) {
    p += strlen("qmig-spawn: failed: ");
    snprintf(why, len, "%.*s", (int)strcspn(p, "\r\n"), p);
    return -1;
  }
  p = strstr(log, "qmig-spawn: pid ");
  if (!p) {
    snprintf(why, len, "ssh ended, or timed out, before the remote script started QEMU");
    return -1;
  }
  int pid = atoi(p + strlen("qmig-spawn: pid "));
  if (pid <= 0) {
    snprintf(why, len, "the remote script gave no pid for QEMU");
    return -1;
  }
  struct eng_upd *u = m->upd;
  struct qmig_report_update *sec = ENG_SECTION(m, update);
  u->sp.pid = pid;
  u->started = true;
  if (sec)
    sec->new_pid = pid;
  return 0;
}
