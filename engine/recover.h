/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* engine/recover.h - bringing a source/destination pair back to exactly one
 * running guest, after a failed run (eng_recover) or after qmig itself died
 * (qmig_recover).
 *
 * The decision is one pure function of what was observed on both sides
 * (recover_plan.c): it names the next action, the executor (recover.c) does
 * it, observes again and asks again, until the function answers with an end
 * (guest on the source, on the destination, or uncertain).  Each action is
 * taken at most once (`tried`); waits are bounded by the executor, which
 * sets `waited_out` when the bound passed without change. */
#ifndef QMIG_ENGINE_RECOVER_H
#define QMIG_ENGINE_RECOVER_H

#include <stdbool.h>
#include <stddef.h>

enum eng_ract {
  ENG_R_CANCEL,           /* migrate_cancel on the source */
  ENG_R_WAIT,             /* things are moving: wait (bounded), observe again */
  ENG_R_SRC_CONT,         /* cont the source guest */
  ENG_R_SRC_MIRROR_CLEAN, /* cancel + dismiss qmig's mirror jobs, blockdev-del its NBD nodes */
  ENG_R_DST_NBD_CLEAN,    /* block-export-del qmig's exports, nbd-server-stop */
  ENG_R_DST_QUIT,         /* quit the destination QEMU */
  ENG_R_DST_CONT,         /* cont the destination guest */
  ENG_R_SRC_QUIT,         /* quit the source QEMU (quit-source on) */
  ENG_R_POSTCOPY_RESUME,  /* migrate-recover on the destination, migrate resume on the source */
  ENG_R_NACTIONS,
  /* ends */
  ENG_R_END_SRC = 100, /* the guest runs (or stays paused, as it was) on the source */
  ENG_R_END_DST,       /* the guest runs on the destination */
  ENG_R_END_UNCERTAIN, /* not established, or lost: the message says what is known */
};

/* What was observed.  Strings are QEMU's: run state (query-status) or
 * "gone" when the side cannot be reached; migration status (query-migrate)
 * or "none". */
struct eng_rfacts {
  const char *src_run, *dst_run;
  const char *src_mig, *dst_mig;
  bool dst_listening;   /* the destination has an incoming socket (migrate-incoming) */
  unsigned src_mirror;  /* qmig mirror jobs and NBD client nodes on the source */
  unsigned dst_exports; /* qmig NBD exports on the destination */
  /* What the caller knows besides (false when it does not know). */
  bool postcopy_started;    /* the switchover to post-copy happened */
  bool dst_touched;         /* this run made the destination listen or sent it data */
  bool dst_never_ran;       /* the destination certainly never ran the guest */
  bool src_keep_paused;     /* the source guest was paused before: leave it so */
  bool can_resume_postcopy; /* a fresh stream can be opened to resume post-copy */
  bool keep_dst;            /* dst-action keep (default quit) */
  bool quit_source;         /* quit the source once the destination runs */
  bool waited_out;          /* the last wait ended at its bound without change */
  bool tried[ENG_R_NACTIONS];
};

/* The next action for `f`; for an end (and for a wait) `why` gets the
 * sentence that explains it.  Never returns an action already tried. */
enum eng_ract eng_recover_next(const struct eng_rfacts *f, char *why, size_t len);
const char *eng_ract_name(enum eng_ract a);

#endif
