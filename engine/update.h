/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* engine/update.h - the state of a spawned destination and of a live
 * update (update.c, update_cpr.c): m->upd. */
#ifndef QMIG_ENGINE_UPDATE_H
#define QMIG_ENGINE_UPDATE_H

#include <limits.h>
#include <stdbool.h>
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
};

#endif
