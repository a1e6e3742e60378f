/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* engine/mirror.h - copying non-shared disks over NBD during a migration
 * (disks.c: which disks, checks; mirror.c: the sequence).
 *
 * Sequence (QEMU 7.2, docs/DESIGN.md "Disks"): destination NBD server and a
 * writable export per copied disk; on the source an NBD client node and a
 * blockdev-mirror job per disk; every job READY before `migrate`; the RAM
 * migration pauses before the switchover (pause-before-switchover), where
 * the mirrors are finished (block-job-cancel of a READY mirror completes
 * it), the NBD nodes, exports and server removed, and the migration let go
 * on.  Any failure cancels the jobs: the source's disks are only read. */
#ifndef QMIG_ENGINE_MIRROR_H
#define QMIG_ENGINE_MIRROR_H

#include "storage/storage.h"

#define ENG_MAX_DISKS 16
/* Name prefixes of what the sequence creates (then the disk's index). */
#define ENG_MIRROR_JOB "qmig-mirror-"       /* source: blockdev-mirror job */
#define ENG_MIRROR_NODE "qmig-nbd-"         /* source: NBD client node */
#define ENG_MIRROR_EXPORT "qmig-export-"    /* destination: NBD export */
#define ENG_MIRROR_SOCKDIR "/tmp/qmig-nbd." /* private socket dir (mkdtemp) */

struct eng_mirror_disk {
  struct stg_disk src, dst; /* dst valid when dst_found */
  bool copy, dst_found;
  /* progress of its copy */
  bool export_added, node_added, job_started, ready, completed, dismissed;
  int64_t start_mono_ns, ready_mono_ns, done_mono_ns;
  uint64_t offset, len;  /* the job's, last seen */
  uint64_t ready_bytes;  /* offset when it became ready */
  uint64_t moved_offset; /* stall watchdog: offset last seen moving, */
  int64_t moved_mono_ns; /* and when */
  bool synced_known;     /* QEMU reports actively-synced (8.2+), */
  bool actively_synced;  /* its last value before the switchover */
  char error[256];
};

/* copy-mode auto (mirror_mode.c): what became of the switch. */
enum eng_cm_switch {
  ENG_CMS_NONE,        /* copy-mode background or write-blocking: no switch */
  ENG_CMS_LACKED,      /* the source QEMU has no block-job-change */
  ENG_CMS_NOT_REACHED, /* auto, but the switchover (or the end) came first */
  ENG_CMS_SWITCHED,    /* the running mirrors are write-blocking */
  ENG_CMS_REFUSED,     /* QEMU refused block-job-change: stayed background */
};

/* The pure decision of copy-mode auto (mirror_mode.c, unit-tested): when
 * to move background mirrors to write-blocking. */
struct eng_cm_in {
  bool all_ready;          /* every copied disk's job is READY */
  bool ram_active;         /* the RAM migration is "active" (not setup, not
                             pre-switchover) */
  uint64_t ram_pass;       /* query-migrate's dirty-sync-count */
  uint64_t ram_remaining;  /* bytes */
  double ram_rate;         /* bytes/s the stream moves; 0 = unknown */
  uint64_t disk_remaining; /* bytes the mirrors still have to copy (len - offset) */
  double disk_rate;        /* bytes/s the mirrors copied at; 0 = unknown */
  double downtime_limit_ms;
  double lead_ms; /* switch when the RAM's end is this near */
  int64_t now_ms; /* any monotonic clock */
};
struct eng_cm_track {
  int64_t behind_since_ms; /* the disks' remaining outgrew the pause since; -1 none */
};
enum eng_cm_verdict {
  ENG_CM_WAIT,
  ENG_CM_RAM_NEAR_END, /* the RAM migration is in its last passes */
  ENG_CM_DISK_BEHIND,  /* the background copy does not converge */
};
/* The disks' remaining must stay above what fits in the pause this long
 * before it counts as not converging. */
#define ENG_CM_BEHIND_MS 3000
void eng_cm_track_init(struct eng_cm_track *t);
enum eng_cm_verdict eng_cm_decide(const struct eng_cm_in *in, struct eng_cm_track *t);
const char *eng_cm_switch_name(enum eng_cm_switch s);

struct eng_nbdfwd;
struct eng_stats;

struct eng_mirror {
  size_t n;
  struct eng_mirror_disk d[ENG_MAX_DISKS];
  bool server_started;
  char listen[300], connect[300]; /* unix:PATH or tcp:HOST:PORT */
  char sockdir[64];               /* private dir of a default unix socket, or of ours */
  /* Native session, NBD server over TCP (native.c): the source connects to
   * our socket, each connection forwarded by engine/nbdfwd.c to fwd_to
   * (HOST:PORT). */
  struct eng_nbdfwd *fwd;
  char fwd_to[300];
  bool at_switchover;   /* the source reached pre-switchover */
  bool finished;        /* mirrors completed and torn down */
  bool failed;          /* a job failed; error recorded */
  bool src_left;        /* the abort could not remove a job or node from the source */
  double switchover_ms; /* pre-switchover to migrate-continue */
  double sync_ms;       /* the mirroring phase: first job to all ready */
  /* copy-mode auto (mirror_mode.c) */
  enum eng_cm_switch cm_switch;
  double cm_switch_ms; /* since `migrate`, when switched */
  char cm_why[300];    /* the trigger when switched, QEMU's words when refused */
  struct eng_cm_track cm_track;
};

bool eng_mirror_wanted(const struct eng_config *c);
/* disks.c: inventory both sides, classify, check; -1 lists every problem. */
int eng_disks_probe(struct qmig_migration *m);
/* mirror.c */
int eng_mirror_start(struct qmig_migration *m); /* to every job READY */
/* The session's nbd hook starts the destination's NBD server at addr
 * (unix:PATH or tcp:HOST:PORT) with this: -1 with QEMU's error on m->dst,
 * else server_started is set. */
int eng_mirror_server_at(struct qmig_migration *m, const char *addr);
/* Read query-block-jobs into the disks (offset, len, ready, completion,
 * errors, actively-synced); 0, or -1 with the error recorded. */
int eng_mirror_poll(struct qmig_migration *m);
/* mirror_mode.c: copy-mode auto, once per progress sample of the RAM
 * migration (st: its query-migrate): poll the jobs and, when the decision
 * says so, move every mirror to write-blocking (block-job-change).  A
 * refusal is a warning (the mirrors stay background); -1 only when QMP
 * failed (error recorded). */
int eng_mirror_mode_tick(struct qmig_migration *m, const struct eng_stats *st);
/* mirror_mode.c: the switch's state when the mirrors start; its facts into
 * the storage section. */
void eng_mirror_mode_start(struct qmig_migration *m);
void eng_mirror_mode_report(const struct qmig_migration *m, struct qmig_report_storage *o);
/* A source event during the migration: job state and failures. */
void eng_mirror_event(struct qmig_migration *m, const struct qmp_event *ev);
/* At pre-switchover: complete the mirrors, tear down NBD, migrate-continue. */
int eng_mirror_switchover(struct qmig_migration *m);
/* After a failure: cancel jobs, remove nodes, exports and the server. */
void eng_mirror_abort(struct qmig_migration *m);
void eng_mirror_report(struct qmig_migration *m);
/* mirror_found.c: the same objects found by name on a QEMU (recovery after
 * qmig died).  found: how many are there (0 when QMP failed); clean: remove
 * them (jobs force-cancelled and dismissed, nodes deleted; exports deleted
 * hard and the NBD server stopped), 0, or -1 with the cause in `why`. */
unsigned eng_mirror_found_src(struct qmp_conn *c);
unsigned eng_mirror_found_dst(struct qmp_conn *c);
int eng_mirror_clean_src(struct qmp_conn *c, char *why, size_t len);
int eng_mirror_clean_dst(struct qmp_conn *c, char *why, size_t len);
void eng_mirror_free(struct eng_mirror *mi);
/* Private NBD socket directories (ENG_MIRROR_SOCKDIR*) of this user that
 * runs which died left behind: the socket refuses connections (no QEMU or
 * forwarder listens), or there is none and the directory is over 10 min
 * old.  Removed; how many.  Called by recovery and before each disk copy. */
unsigned eng_mirror_sweep_stale(void);

#endif
