/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* engine/update.h - the state of a spawned destination and of a live
 * update (update.c, update_cpr.c): m->upd. */
#ifndef QMIG_ENGINE_UPDATE_H
#define QMIG_ENGINE_UPDATE_H

#include <limits.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "engine/spawn.h"

struct eng_upd {
  int mech; /* enum eng_update: ENG_UPD_CPR, _SHARED or _MIGRATE */
  pid_t old_pid;
  char dir[PATH_MAX], name[64];
  char machine[128]; /* the source's machine type, pinned in the new process */
  struct eng_spawned sp;
  bool started;
  /* cpr-transfer's channels: the main stream and the cpr state. */
  char main_path[PATH_MAX], cpr_path[PATH_MAX], main_uri[PATH_MAX + 8];
  char stream_path[PATH_MAX]; /* the unix stream socket of a local migration */
  /* dst-spawn with tunnel ssh://: sp's process runs on the ssh host, started
   * by the agent's ssh session (sshspawn.c); rargv is its command line and
   * sp.pid its pid there (no process of ours). */
  bool remote;
  struct eng_strv rargv;
  /* The images --map gave it: the remote script checks their locks there
   * (eng_spawn_image_locked() can only look at this host's files). */
  struct eng_strv rmapped;
};

struct qmig_migration;
struct qmig_report_update;
struct qmp_conn;
/* update_probe.c: probe the source (and a new binary), choose the
 * mechanism into u->mech, its name, reason and advice into sec, the machine
 * type into u->machine; -1 with the error on m (a forced mechanism that
 * cannot apply, a new binary without the machine type). */
int eng_update_probe(struct qmig_migration *m, struct eng_upd *u, struct qmig_report_update *sec);
/* The running machine type ("pc-i440fx-7.2") into out, "" when unknown. */
void eng_update_machine(struct qmp_conn *c, char *out, size_t len);
/* "cpr_transfer", "ignore_shared", "migrate" for ENG_UPD_CPR, _SHARED, _MIGRATE. */
const char *eng_update_mech_name(int mech);

/* sshspawn.c: the remote script's parts around the agent (the script is
 * sshagent.c's; $d is its private dir, $v the verdict line read from ssh's
 * stdin): start u's QEMU there and wait at most timeout_ms for its QMP
 * socket; after the agent, stop it when the verdict is "end". */
void eng_sshspawn_script_start(FILE *f, const struct eng_upd *u, int timeout_ms);
void eng_sshspawn_script_end(FILE *f);
/* The script's check, before QEMU starts, that no process holds a lock on
 * QEMU's permission bytes of any of images (as eng_spawn_image_locked(),
 * read from /proc/locks there); a locked one ends the script through its
 * sf() ("qmig-spawn: failed: image ... is locked ..."). Nothing for none. */
void eng_sshspawn_script_locks(FILE *f, const struct eng_strv *images);
/* What the script printed (log: ssh's output): 0 with the remote pid in
 * m->upd and the report, -1 with the reason the QEMU did not start in why. */
int eng_sshspawn_result(struct qmig_migration *m, const char *log, char *why, size_t len);

#endif
