/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* qmig.h - the whole embedding API of libqmig.
 *
 * Conventions: functions return 0 on success and -1 on failure (or a pointer
 * / NULL) and leave a message on the object they failed on (qmig_error()).
 * Nothing here writes to stdout/stderr.  Strings passed in are copied.
 * Strings and structs returned are owned by the object they came from and
 * stay valid until it is freed, unless a comment says "caller frees".
 */
#ifndef QMIG_H
#define QMIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define QMIG_VERSION "0.1.0"
/* The version of the JSON documents qmig writes (the report's "schema",
 * the bench's lines, verify-disks, lab status, verify-memory): raised when
 * a key is renamed or removed or changes its meaning; docs/REPORT.md. */
#define QMIG_REPORT_SCHEMA 2

/* libqmig.so exports exactly the functions marked QMIG_API. */
#define QMIG_API __attribute__((visibility("default")))

/* Outcome of a migration; also the exit code of `qmig migrate`. */
enum qmig_outcome {
  QMIG_MIGRATED = 0,     /* the guest runs on the destination only */
  QMIG_NOT_MIGRATED = 1, /* failed or cancelled; the guest runs on the source */
  QMIG_USAGE = 2,        /* bad option or value; nothing was touched */
  QMIG_NOT_STARTED = 3,  /* could not start (QMP unreachable, unsupported
                            option...); nothing moved, source untouched */
  QMIG_UNCERTAIN = 4,    /* guest state could not be established: look! */
};

/* What kind of failure the message of qmig_error() describes
 * (qmig_error_code()), so that a caller can act on it without parsing
 * text.  QMIG_E_NONE while nothing failed.  New codes are only ever added
 * at the end; numbers never change. */
enum qmig_error_code {
  QMIG_E_NONE = 0,
  QMIG_E_OPTION = 1,      /* unknown option, bad value, options that
                             contradict each other (qmig_set, qmig_validate) */
  QMIG_E_QMP_CONNECT = 2, /* a QMP monitor (or the tunnel agent) could not be
                             reached: refused, no such socket, timed out */
  QMIG_E_QMP = 3,         /* a QMP command failed or the connection broke
                             before the stream moved */
  QMIG_E_UNSUPPORTED = 4, /* a QEMU lacks what the options need (capability,
                             parameter) */
  QMIG_E_PREFLIGHT = 5,   /* refused by the preflight checks or by a side's
                             state (guest not running, migration under way) */
  QMIG_E_AUTH = 6,        /* tunnel credentials unusable or refused */
  QMIG_E_TIMEOUT = 7,     /* option timeout (or stall-timeout) expired */
  QMIG_E_MIGRATION = 8,   /* QEMU's migration failed or a side went away
                             while it ran */
  QMIG_E_CANCELLED = 9,   /* qmig_cancel() */
  QMIG_E_SYSTEM = 10,     /* a system call failed (errno in the message) or
                             out of memory */
  QMIG_E_INTERNAL = 11,   /* a bug in qmig (an illegal state transition) */
};
/* The short name of a code ("option", "qmp_connect", ...; the report's
 * "error_code"), "?" if unknown. */
QMIG_API const char *qmig_error_code_name(enum qmig_error_code c);

/* Engine states, in the order a successful run passes through them. */
enum qmig_state {
  QMIG_S_INIT,
  QMIG_S_CONNECTING,  /* opening both QMP sockets */
  QMIG_S_PROBING,     /* versions, capabilities, parameters, run states */
  QMIG_S_CONFIGURING, /* setting capabilities and parameters on both sides */
  QMIG_S_MIRRORING,   /* copying non-shared disks until they are in sync */
  QMIG_S_INCOMING,    /* migrate-incoming on the destination */
  QMIG_S_ACTIVE,      /* migrate issued; following progress */
  QMIG_S_COMPLETING,  /* completed event seen; collecting final statistics */
  QMIG_S_COMPLETED,   /* success: guest runs on the destination */
  QMIG_S_CANCELLING,  /* failure/cancel seen; restoring the source */
  QMIG_S_FAILED,      /* not migrated; guest runs on the source */
  QMIG_S_UNCERTAIN,   /* guest state unknown; report says what is known */
};
QMIG_API const char *qmig_state_name(enum qmig_state s);

/* A progress sample (from query-migrate while active). */
struct qmig_progress {
  double elapsed_s;           /* since `migrate` was issued */
  const char *status;         /* QEMU's migration status */
  unsigned pass;              /* dirty-sync count (1 = first full pass) */
  uint64_t transferred_bytes; /* ram.transferred */
  uint64_t total_bytes;       /* ram.total */
  uint64_t remaining_bytes;   /* ram.remaining */
  double rate_bytes_per_s;    /* ram.mbps converted to bytes/s */
  double dirty_bytes_per_s;   /* ram.dirty-pages-rate x page size */
  double expected_downtime_ms;
};

/* One precopy pass (between two MIGRATION_PASS events). */
struct qmig_pass {
  unsigned pass;
  uint64_t bytes;           /* ram.transferred moved during the pass */
  double duration_ms;       /* between QEMU's timestamps of the two events */
  double dirty_bytes_per_s; /* QEMU's dirty-pages-rate at the end of the
                               pass, bytes/s; -1 when QEMU had none yet */
};

#define QMIG_MAX_PASSES 256

/* The downtime report of one run.  Times in ms unless named otherwise;
 * a figure that could not be measured is negative (-1). */
struct qmig_report {
  enum qmig_outcome outcome;
  char status[32];  /* final QEMU migration status, or engine state */
  char error[1024]; /* what happened, empty on success */
  char src_version[64], dst_version[64];
  char data_uri[256];      /* where the migration stream went */
  char failed_state[32];   /* engine state when it failed, else "" */
  char warnings[1024];     /* known hazards found while probing, "; "-separated */
  double setup_ms;         /* QEMU setup-time */
  double total_ms;         /* QEMU total-time */
  double qemu_downtime_ms; /* QEMU downtime (source's view) */
  double pause_ms;         /* source STOP event -> destination RESUME event */
  double guest_stall_ms;   /* largest host-timestamped heartbeat gap across
                              switchover (-1 without heartbeat source) */
  double heartbeat_period_ms;
  unsigned heartbeats_src, heartbeats_dst;
  uint64_t transferred_bytes;
  uint64_t total_bytes;          /* ram.total (guest RAM size) */
  double throughput_bytes_per_s; /* transferred / (total - downtime) */
  double dst_tail_ms;            /* source's completed event -> destination RESUME:
                                    QEMU finishing on the destination */
  double wall_ms;                /* qmig_run() from start to end (connect .. final
                                    statistics, destination resumed, source quit) */
  double engine_overhead_ms;     /* wall_ms - total_ms - dst_tail_ms (- the
                                    disks' sync phase, when copying disks):
                                    what qmig itself added around QEMU's work */
  double cpu_s;                  /* CPU seconds of libqmig's own threads during
                                    the run: the thread that called qmig_run()
                                    and the tunnel's forwarders (not the rest
                                    of the embedding process) */
  double cpu_stream_s;           /* the part of cpu_s spent by the run's thread
                                    from `migrate` to the source's end (grows
                                    with the guest; the rest is per run) */
  unsigned npasses;
  struct qmig_pass passes[QMIG_MAX_PASSES];
};

struct qmig_migration;

/* Returns NULL only when out of memory. */
QMIG_API struct qmig_migration *qmig_new(void);
QMIG_API void qmig_free(struct qmig_migration *m); /* accepts NULL */

/* Set an option by name; the CLI's long options map 1:1 onto these keys and
 * `qmig migrate --help` lists them (qmig_option_help).  Values are validated
 * here; -1 with a message naming the key on a bad key or value.
 * Tunnelled mode (tunnel HOST:PORT, docs/TUNNEL.md) needs a credential,
 * tunnel-tls psk (tunnel-psk-file) or x509 (tunnel-tls-dir): control and
 * QMP go over TLS 1.3 with it; tunnel-data tls|plain chooses TLS or
 * authenticated plaintext for the migration and NBD channels.  Only
 * tunnel-insecure-no-auth on runs without one (an agent started with
 * insecure-no-auth); qmig_run() refuses a tunnel with neither. */
QMIG_API int qmig_set(struct qmig_migration *m, const char *key, const char *value);
/* NULL-terminated list of all keys, for help texts and scenario files. */
QMIG_API const char *const *qmig_option_keys(void);
/* The help line of a key, or NULL if unknown. */
QMIG_API const char *qmig_option_help(const char *key);
/* Option `key`'s value as text qmig_set() accepts ("unix:/run/a.qmp", "300",
 * "on", "49152-49215"), as the report's config shows it; the caller frees.
 * NULL when the key is unknown, the option unset (a string not given, an
 * optional number), or out of memory. */
QMIG_API char *qmig_get(const struct qmig_migration *m, const char *key);
/* The rules between options that qmig_run() checks before contacting
 * anything (both QMP addresses given, tunnel credentials, tls-dir with tls,
 * ...).  0, or -1 with the message in qmig_error().  With a tunnel and no
 * dst it sets dst to the tunnel's QMP, as qmig_run() does. */
QMIG_API int qmig_validate(struct qmig_migration *m);
/* What the caller knows of the guest RAM that holds data, when option
 * ram-in-use is not given: the prediction (qmig_dirty_rate, predict on)
 * assumes the first pass sends `bytes` (0: all of RAM) and names `from`
 * (copied, 1-63 characters) as the source, in its ram_in_use_from.  Not an
 * option: the report's config does not show it.  qmig_lab_apply() sets it
 * to the lab guest's fill.  0, or -1 with qmig_error(). */
QMIG_API int qmig_set_ram_in_use_hint(struct qmig_migration *m, uint64_t bytes, const char *from);

/* One option of a handle's table (the agent's, the lab's), for building a
 * command line: its key, the long option --KEY, and whether it is a flag
 * (--KEY alone means "on") or takes a value. */
struct qmig_optkey {
  const char *key;
  bool flag;
};

/* Callbacks run on the thread calling qmig_run().  `fn` may be NULL. */
typedef void (*qmig_progress_fn)(void *user_data, const struct qmig_progress *p);
typedef void (*qmig_state_fn)(void *user_data, enum qmig_state from, enum qmig_state to,
                              const char *why);
QMIG_API void qmig_on_progress(struct qmig_migration *m, qmig_progress_fn fn, void *user_data);
QMIG_API void qmig_on_state(struct qmig_migration *m, qmig_state_fn fn, void *user_data);
/* One human-readable line at a time (`line` valid during the call): what
 * recovery found on each side, each action it took, its conclusion. */
typedef void (*qmig_log_fn)(void *user_data, const char *line);
QMIG_API void qmig_on_log(struct qmig_migration *m, qmig_log_fn fn, void *user_data);

/* Run the migration to the end; returns the outcome (also in the report).
 * A qmig_migration runs once. */
QMIG_API enum qmig_outcome qmig_run(struct qmig_migration *m);

/* Recovery, for when the process that ran a migration died (SIGKILL, a
 * crash, a closed ssh session) and left the pair half-way: connect to both
 * sides as qmig_run() would (same options: src/dst, lab, tunnel and its
 * credentials), read each side's run state, migration state, and the mirror
 * jobs, NBD nodes and exports qmig creates, report them (qmig_on_log(), and
 * the report's "recover" section), and bring the pair to exactly one
 * running guest:
 *  - before the switchover: migrate_cancel (waited for, bounded), mirrors
 *    cancelled and their NBD nodes removed, the source guest resumed, the
 *    destination quit (option dst-action keep: kept, its exports removed);
 *  - the source completed: the destination runs (NBD exports removed, cont
 *    if paused), the source stays stopped (quit with quit-source on, which
 *    option lab sets);
 *  - post-copy under way: waited for (bounded); paused on both sides by a
 *    broken stream: resumed with migrate-recover on the destination and
 *    migrate resume on the source (through the tunnel: a new session with
 *    the agent, whose forwarders run until qmig_recover() returns);
 *  - post-copy whose source (or destination) is gone: the guest is lost,
 *    said so; the source is never started.
 * Returns QMIG_MIGRATED (0) when the guest runs on the destination,
 * QMIG_NOT_MIGRATED (1) when on the source, QMIG_USAGE (2), QMIG_NOT_STARTED
 * (3) when neither side could be reached (nothing touched), QMIG_UNCERTAIN
 * (4) when one running guest could not be established or the guest is
 * lost; qmig_error() says what was found and done in every case.  Every
 * wait is bounded (30 s without any change, the timeout option overall).
 * Once per object, like qmig_run(). */
QMIG_API enum qmig_outcome qmig_recover(struct qmig_migration *m);

/* Preflight only: connect, probe both sides and run every check `qmig
 * migrate` runs before moving anything (all problems reported at once, in
 * qmig_error() and the report's "preflight" section); nothing is changed.
 * Returns QMIG_MIGRATED (0) when the migration could start, else
 * QMIG_USAGE or QMIG_NOT_STARTED.  Like qmig_run(), once per object. */
QMIG_API enum qmig_outcome qmig_check(struct qmig_migration *m);

/* Dirty rate and prediction only: connect to the source alone (no
 * destination needed), measure the guest's dirty rate with QEMU's
 * calc-dirty-rate (option dirty-rate-time) and predict precopy's total
 * time, downtime and convergence from link-bandwidth / max-bandwidth,
 * downtime-limit and ram-in-use; the report's "prediction" section holds
 * it all.  Nothing is changed.  Returns QMIG_MIGRATED (0) when measured,
 * QMIG_USAGE, or QMIG_NOT_STARTED.  Once per object, like qmig_run(). */
QMIG_API enum qmig_outcome qmig_dirty_rate(struct qmig_migration *m);

/* Before starting a destination QEMU whose disks do not exist yet: for
 * every disk of the source that the copy-disks / copy-all-disks options
 * copy, create an empty image of the same format (raw or qcow2) and virtual
 * size in `dir` on this host (DIR/NAME.FORMAT, never overwriting a file),
 * with qemu-img.  The report's "created_disks" lists each image and the
 * -blockdev options that attach it under the source's disk name (add the
 * same -device as on the source).  Needs only the source (src).  Returns
 * QMIG_MIGRATED (0) when every image was created, else QMIG_USAGE or
 * QMIG_NOT_STARTED with qmig_error().  Once per object. */
QMIG_API enum qmig_outcome qmig_create_disks(struct qmig_migration *m, const char *dir);

/* Ask a running qmig_run() to cancel.  Async-signal-safe and callable from
 * any thread. */
QMIG_API void qmig_cancel(struct qmig_migration *m);

QMIG_API const struct qmig_report *qmig_report(const struct qmig_migration *m);
/* The report (and configuration) as JSON text; caller frees. */
QMIG_API char *qmig_report_json(const struct qmig_migration *m);
QMIG_API const char *qmig_error(const struct qmig_migration *m);
/* The kind of the failure qmig_error() describes: set with every message
 * the library records on m (QMIG_E_NONE while there is none).  After a
 * failed run it is the first cause, not what recovery met afterwards. */
QMIG_API enum qmig_error_code qmig_error_code(const struct qmig_migration *m);

/* ---- Report sections ----
 * The sections of the JSON report beyond struct qmig_report, typed (the
 * JSON is built from these; docs/REPORT.md describes each field).  Each
 * accessor returns the section of the run on `m`, or NULL when that run
 * had none: the JSON report then has no such key.  A section is owned by
 * `m`: valid until qmig_free(m), never freed by the caller.  A `const char *`
 * member points to a static string, or is NULL where the JSON has null.
 * Lists: a fixed array and a count where the engine bounds the list (the
 * preflight checks, a source's disks, the recovery's steps), so they need
 * no allocation and nothing to free; a count and a pointer (owned by `m`)
 * where an option or the peer decides the length (the policy's steps, up
 * to downtime-steps; the tunnel's channels, one per multifd channel and
 * NBD connection), so a handle does not carry the largest case. */

#define QMIG_MAX_FINDINGS 32 /* more than the checks that exist */
#define QMIG_MAX_DISKS 16    /* disks of one source that qmig handles */
#define QMIG_MAX_RECOVER_STEPS 64

/* "preflight": qmig_check(), and qmig_run() with option preflight. */
struct qmig_finding {
  char check[32]; /* "versions", "machine", "cpu", "memory", "data-port", ... */
  bool ok;        /* false: this check failed */
  bool skipped;   /* could not be checked (ok stays true) */
  char detail[1024];
};
struct qmig_report_preflight {
  unsigned nfindings;
  struct qmig_finding findings[QMIG_MAX_FINDINGS];
};
QMIG_API const struct qmig_report_preflight *qmig_report_preflight(const struct qmig_migration *m);

/* "prediction": qmig_dirty_rate(), and qmig_run() with option predict;
 * NULL when the measurement failed. */
struct qmig_report_prediction {
  int64_t dirty_rate_bytes_per_s;
  int64_t qemu_dirty_rate_mib_per_s; /* calc-dirty-rate's answer */
  unsigned measure_s, sample_pages_per_gib;
  uint64_t ram_bytes, ram_in_use_bytes;
  const char *ram_in_use_from;
  uint64_t bandwidth_bytes_per_s; /* 0: unknown (null), no prediction then */
  const char *bandwidth_from;     /* NULL when unknown */
  uint64_t stop_copy_bytes_per_s; /* 0 when the bandwidth is unknown (null) */
  uint64_t downtime_limit_ms;
  int converges;                /* 1, 0, or -1: unknown (null) */
  unsigned passes;              /* passes, total_ms and downtime_ms */
  double total_ms, downtime_ms; /* only when converges == 1 */
  const char *note;             /* why no prediction, or what it assumes */
};
QMIG_API const struct qmig_report_prediction *qmig_report_prediction(
    const struct qmig_migration *m);

/* "announce": after the destination resumed (options announce, announce-*).
 * rounds: qmig's announce-self rounds (0 with announce off); on: option
 * announce; qemu_rounds: the destination QEMU's own announce-rounds
 * parameter, which it announces with after an incoming migration (0 with
 * announce off; -1 unknown). */
struct qmig_report_announce {
  int rounds, initial_ms, max_ms, step_ms;
  bool sent;
  bool on;
  int qemu_rounds;
};
QMIG_API const struct qmig_report_announce *qmig_report_announce(const struct qmig_migration *m);

/* "policy": every run that got as far as connecting. */
struct qmig_policy_step {
  double at_ms; /* since `migrate` */
  uint64_t downtime_limit_ms;
  char why[96]; /* "initial", "step 2 of 4", "pass 3: ...", ... */
};
struct qmig_report_policy {
  const char *downtime_policy; /* "fixed", "stepped", "doubling" */
  uint64_t max_downtime_ms, final_downtime_limit_ms;
  size_t nsteps;
  const struct qmig_policy_step *steps;
  unsigned deadline_s;         /* 0: no deadline (null) */
  const char *deadline_action; /* "cancel", "pause", "postcopy" */
  bool deadline_reached;
};
QMIG_API const struct qmig_report_policy *qmig_report_policy(const struct qmig_migration *m);

/* "postcopy": runs with option postcopy on. */
/* One pause of post-copy (its stream broke or stopped moving) and its
 * resumption (migrate-recover + migrate resume), "pauses" in the JSON. */
#define QMIG_MAX_PC_PAUSES 8
struct qmig_postcopy_pause {
  double start_ms;    /* since `migrate` */
  double duration_ms; /* until the source left postcopy-paused, or gave up */
  unsigned attempts;  /* `migrate resume` tries */
  bool resumed;
  char cause[160];
};
struct qmig_report_postcopy {
  bool started;
  char reason[96];
  bool requested;
  double requested_at_ms;        /* since `migrate`, when requested */
  double duration_ms;            /* when started; -1: unknown (null) */
  uint64_t bytes, page_requests; /* when started */
  unsigned npauses;              /* the first QMIG_MAX_PC_PAUSES */
  struct qmig_postcopy_pause pauses[QMIG_MAX_PC_PAUSES];
};
QMIG_API const struct qmig_report_postcopy *qmig_report_postcopy(const struct qmig_migration *m);

/* "storage": runs with copy-disks or copy-all-disks. */
struct qmig_storage_disk {
  char name[128];
  bool copy; /* copied; else shared */
  char format[16];
  uint64_t size;
  char source_file[1024];
  bool have_destination; /* destination_file known */
  char destination_file[1024];
  bool job_started; /* copied disks: bytes and completed known */
  uint64_t bytes;
  bool ready; /* time_to_ready_ms and rate_bytes_per_s known */
  double time_to_ready_ms, rate_bytes_per_s;
  bool completed;
  bool synced_known;    /* QEMU reports actively-synced (8.2+): */
  bool actively_synced; /* write-blocking and in sync, last seen before the switchover */
  char error[256];      /* "" when it did not fail */
};
struct qmig_report_storage {
  unsigned ndisks;
  struct qmig_storage_disk disks[QMIG_MAX_DISKS];
  /* "" when no NBD server was set up: then none of the five below */
  char nbd_listen[300], nbd_connect[300];
  char nbd_forwarded_to[300];   /* "" unless forwarded */
  const char *sync, *copy_mode; /* copy_mode: the option (auto|background|write-blocking) */
  /* The mirrors' mode at start; whether copy-mode auto moved them to
   * write-blocking: "none" (not auto), "lacked" (the source QEMU has no
   * block-job-change), "not-reached" (the switchover came first),
   * "switched", "refused" (QEMU refused it: they stayed background). */
  const char *copy_mode_start, *copy_mode_switch;
  double copy_mode_switch_ms;     /* since `migrate`, when switched; -1 otherwise */
  char copy_mode_switch_why[300]; /* switched: the trigger; refused: QEMU's error; else "" */
  bool nbd_tls;
  double sync_ms, switchover_ms; /* -1 when not measured (absent) */
};
QMIG_API const struct qmig_report_storage *qmig_report_storage(const struct qmig_migration *m);

/* "tunnel": runs through `qmig agent` that opened a session or failed to. */
struct qmig_tunnel_channel {
  const char *kind; /* "qmp", "main", "multifd", "nbd" */
  int index;        /* multifd and nbd; -1 for the others (null) */
  uint64_t bytes_to_dst, bytes_from_dst;
  double cpu_s;
  bool failed;
  char error[256];  /* when failed */
  const char *path; /* "handoff" (the socket went to QEMU on both hosts) or "forwarded" */
  char why[300];    /* forwarded: why not handed off */
};
struct qmig_report_tunnel {
  char agent[256], session[64], incoming[256];
  char tls[160], auth[16];
  const char *data; /* "tls" or "plain" */
  double offset_ms, uncertainty_ms;
  unsigned samples;
  size_t nchannels;
  const struct qmig_tunnel_channel *channels;
  double forwarder_cpu_s;
  /* data "tls": who does the channels' TLS: "ktls" (the kernel, every
   * channel) or "user" (the forwarder; offload_why says why not the
   * kernel); NULL (null) for plain data. */
  const char *offload;
  char offload_why[200];
  char error[512]; /* "" when every channel opened (null) */
};
QMIG_API const struct qmig_report_tunnel *qmig_report_tunnel(const struct qmig_migration *m);

/* "created_disks": qmig_create_disks(), also when it failed part-way. */
struct qmig_created_disk {
  char name[128], path[4096], format[16];
  uint64_t size;
  char blockdev[8192]; /* the -blockdev options that attach it */
};
struct qmig_report_created_disks {
  unsigned ndisks;
  struct qmig_created_disk disks[QMIG_MAX_DISKS];
};
QMIG_API const struct qmig_report_created_disks *qmig_report_created_disks(
    const struct qmig_migration *m);

/* "recover": a recovery ran (qmig_recover(), or qmig_run() after a failure). */
struct qmig_recover_action {
  char did[600];
  bool ok;
};
struct qmig_report_recover {
  unsigned nfound;
  char found[2][600]; /* what it found on the source, the destination */
  unsigned nactions;
  struct qmig_recover_action actions[QMIG_MAX_RECOVER_STEPS];
  const char *result; /* "guest on the source", ... */
  char why[600];
};
QMIG_API const struct qmig_report_recover *qmig_report_recover(const struct qmig_migration *m);

/* "stalls": runs with heartbeats (src-serial/dst-serial, set by --lab): every
 * gap in the guest's heartbeat longer than the threshold, from `migrate`
 * until some time after the destination resumed, with the phase it fell in
 * (docs/REPORT.md).  Times in ms on this host's monotonic clock, since
 * `migrate`.  The list holds the QMIG_MAX_STALLS largest, in time order;
 * `total` counts them all. */
#define QMIG_MAX_STALLS 64
struct qmig_stall {
  char phase[16]; /* "setup", "pass_N", "switchover", "postcopy", "after_resume",
                     "after_end" (the run ended without a resumed destination) */
  unsigned pass;  /* N of "pass_N", else 0 */
  double start_ms, duration_ms;
};
struct qmig_report_stalls {
  double threshold_ms, period_ms;
  unsigned nstalls, total;
  struct qmig_stall stalls[QMIG_MAX_STALLS];
  double max_stall_ms;             /* -1 when there was none (null) */
  char max_stall_phase[16];        /* "" when none (null) */
  double stop_at_ms, resume_at_ms; /* source STOP, destination RESUME since
                                      `migrate`; -1 when not seen (null) */
};
QMIG_API const struct qmig_report_stalls *qmig_report_stalls(const struct qmig_migration *m);
/* "network": runs with option probe: echo requests to the guest at
 * probe-rate Hz from before `migrate` until after the destination resumed.
 * A gap is a silence between two replies longer than threshold_ms. */
#define QMIG_MAX_NET_GAPS 256
struct qmig_net_gap {
  double start_ms;    /* the last reply before it, since `migrate` */
  double duration_ms; /* to the next reply (open: to the probe's end) */
  char phase[16];     /* "switchover" when the source stopped within it,
                         else where it started: "before", "setup",
                         "pass_N", "postcopy", "after_resume" */
  bool open;          /* no reply came after it before the probe ended */
};
struct qmig_report_network {
  char target[128];   /* the probe option: "icmp:ADDR" or "udp:ADDR:PORT" */
  const char *method; /* "icmp" (unprivileged datagram socket), "icmp-raw", "udp" */
  char netns[64];     /* probe-netns; "" = the engine's own */
  unsigned rate_hz;
  double threshold_ms;
  uint64_t sent, received, lost; /* requests; lost = sent - received */
  double duration_ms;            /* first request to the probe's end */
  uint64_t gaps_total;           /* every gap; the first QMIG_MAX_NET_GAPS: */
  unsigned ngaps;
  struct qmig_net_gap gaps[QMIG_MAX_NET_GAPS];
  double max_gap_ms; /* -1: no gap (null) */
  char max_gap_phase[16];
  double max_gap_start_ms;
  double first_reply_after_resume_ms; /* since RESUME; -1: none (null) */
};
QMIG_API const struct qmig_report_network *qmig_report_network(const struct qmig_migration *m);
/* "update": the destination was started by qmig from the source's command
 * line (dst-spawn, live-update): how the guest moved and why. */
struct qmig_report_update {
  const char *mechanism; /* "cpr_transfer", "ignore_shared", "migrate"; NULL: none chosen */
  char reason[600];      /* why that one (snake_case code: explanation) */
  char advice[700];      /* what would allow a faster one next time, or "" */
  int old_pid, new_pid;  /* the source QEMU, the spawned one (0: none) */
  char new_binary[512];
  char new_qmp[512];  /* unix:PATH of the new process's QMP */
  char new_host[300]; /* ssh://TARGET it was started on (tunnel ssh://); "": this host */
};
QMIG_API const struct qmig_report_update *qmig_report_update(const struct qmig_migration *m);

/* ---- Lab: a source/destination QEMU pair running the qmig test guest ---- */

/* Caller-allocated structs of the lab carry their size first: start from
 * QMIG_LAB_OPTIONS_INIT / QMIG_LAB_INFO_INIT (which set it to the size this
 * header declares), so that a later libqmig with more fields knows what the
 * caller has.  A size of 0 (a struct not initialised so) is refused; a
 * smaller one than the library's (an older caller) is accepted: the fields
 * past it read as zero (options) and are not written (info). */
#define QMIG_LAB_OPTIONS_INIT { .size = sizeof(struct qmig_lab_options) }
#define QMIG_LAB_INFO_INIT { .size = sizeof(struct qmig_lab_info) }

struct qmig_lab_options {
  size_t size;               /* sizeof(struct qmig_lab_options) */
  const char *dir;           /* run directory (created 0700 if missing; an
                                existing one must be a real directory of ours
                                that group/others cannot write) */
  const char *qemu;          /* QEMU binary; NULL = qemu-system-x86_64 */
  const char *guest;         /* guest ELF; NULL = built-in search path */
  const char *accel;         /* "kvm", "tcg" or "auto" (NULL = auto) */
  unsigned mem_mib;          /* guest RAM; 0 = fill + 32 */
  unsigned fill_mib;         /* memory the guest fills and dirties */
  unsigned dirty_mibps;      /* dirty rate, MiB/s; 0 = idle */
  unsigned heartbeat_ms;     /* heartbeat period; 0 = 2 */
  unsigned ready_timeout_s;  /* per attempt; 0 = 60 */
  const char *cpu;           /* -cpu MODEL of both sides; NULL = QEMU's default */
  const char *dst_cpu;       /* -cpu MODEL of the destination; NULL = cpu */
  bool exact_mem;            /* use exactly mem_mib (as ram_align aligned) */
  int ram_align;             /* 0 auto: 8 KiB more than mem_mib only for QEMU
                                < 9.0 under TCG, to dodge its bug that loses
                                dirty pages (docs/DESIGN.md, known QEMU bugs);
                                1 aligned: exactly mem_mib; 2 unaligned: 8 KiB
                                more whatever the QEMU (to measure the cost of
                                QEMU's per-page dirty-bitmap path) */
  bool nic;                  /* an e1000 on a restricted user netdev, same MAC
                                both sides, frames dumped to DIR/src.pcap and
                                DIR/dst.pcap (to observe announcements) */
  unsigned disk_mib;         /* a disk the guest fills and rewrites with
                                verifiable data (docs/DESIGN.md, the lab guest's
                                disk contract); 0 = none.  DIR/disk.FORMAT is
                                created anew and shared by both sides */
  const char *disk_format;   /* "raw" (NULL = raw) or "qcow2" */
  const char *disk_cache;    /* -drive cache= of both sides: "none" (NULL:
                                none, or writeback where O_DIRECT fails) or
                                "writeback" */
  unsigned disk_write_kibps; /* the guest's disk rewrite rate, KiB/s; 0 =
                                idle after the fill; at most 32768 */
  bool disk_copy;            /* non-shared disk: the destination opens its own
                                empty DIR/disk-dst.FORMAT (to be copied with
                                copy-disks); default: both open DIR/disk.FORMAT */
  /* Destination disk variants, for preflight tests (disk_copy only): */
  const char *dst_disk_format; /* created and opened as; NULL = the source's */
  unsigned dst_disk_mib;       /* its size; 0 = the source's */
  bool dst_no_disk;            /* the destination has no disk at all */
  unsigned data_disk_mib;      /* a second disk "drive1" (raw, shared by both
                                  sides, random content the guest never writes);
                                  0 = none */
  bool data_disk_top;          /* drive1 becomes a qcow2 overlay over a shared raw
                                  base of random data, 1 MiB of it rewritten in the
                                  source's overlay; with disk_copy the destination
                                  has its own empty overlay over the same base (for
                                  copy-disks drive1 with disk-sync top) */
  bool data_disk_copy;         /* with disk_copy: the destination gets its own
                                  empty raw drive1 (to copy it whole) */
  bool netns;                  /* two hosts on one machine: each QEMU in a network
                                  namespace of its own (named after dir), joined by
                                  a veth pair, source 198.18.0.1/30, destination
                                  198.18.0.2/30; needs root and iproute2.  QMP and
                                  serial stay unix sockets in dir.  Run the engine
                                  in the source's namespace (ip netns exec) */
  const char *link_rate;       /* with netns: tc tbf on both veth ends at this
                                  rate ("1gbit", "200mbit", tc's units); NULL =
                                  not shaped */
  const char *qmp_tls_dir;     /* each QEMU also gets a TLS QMP monitor on
                                  127.0.0.1 (x509, verify-peer: DIR holds ca-cert.pem,
                                  server-cert.pem, server-key.pem and, for qmig,
                                  client-cert.pem, client-key.pem); lab.json records
                                  its tls: addresses, which migrate --lab uses.  Not
                                  with netns */
  const char *dst_qemu;        /* the destination's QEMU binary; NULL = qemu */
  const char *machine;         /* -machine of both sides; NULL = "pc" on the
                                  source, and on a destination with another
                                  binary the versioned type the source's "pc"
                                  stands for (e.g. pc-i440fx-7.2) */
  bool ram_share;              /* guest RAM in shared memory, for live update:
                                  a memfd with -machine aux-ram-share=on where
                                  QEMU has it (cpr-transfer), else a file on
                                  /dev/shm (x-ignore-shared), one per side */
};

/* Set one lab option by its key, the long option of `qmig lab start`
 * (fill, mem, dirty, heartbeat, accel, cpu, disk, netns, ...; the lab's
 * table lists them all: qmig_lab_option_keys(), qmig_lab_help()).  Unlike
 * elsewhere in this API a string value is NOT copied: o points at `value`,
 * which must outlive o (a command line, a scenario).  Flags take on|off.
 * Returns 0, or -1 with "option 'KEY': 'VALUE' is not ..." (or "unknown
 * lab option 'KEY'") in err. */
QMIG_API int qmig_lab_set(struct qmig_lab_options *o, const char *key, const char *value, char *err,
                          size_t errlen);
/* The lab options, ending with a NULL key. */
QMIG_API const struct qmig_optkey *qmig_lab_option_keys(void);
/* The help lines of the lab options, as `qmig lab --help` prints them;
 * caller frees (NULL when out of memory). */
QMIG_API char *qmig_lab_help(void);

/* Start the pair; blocks until the source guest reports READY (after its
 * disk fill too, when it has a disk: the ready timeout grows with it).  Writes
 * the lab description to DIR/lab.json.  On failure returns -1, stops what it
 * started and writes a message into err. */
QMIG_API int qmig_lab_start(const struct qmig_lab_options *o, char *err, size_t errlen);
/* Stop whatever of the pair is still running (by pidfile); 0 if nothing was
 * left running afterwards. */
QMIG_API int qmig_lab_stop(const char *dir, char *err, size_t errlen);
/* Fills paths of the lab in `dir`; returns -1 if it has no lab.json. */
struct qmig_lab_info {
  size_t size;                     /* set by the caller: QMIG_LAB_INFO_INIT */
  char src_qmp[256], dst_qmp[256]; /* "unix:..." addresses */
  char src_serial[256], dst_serial[256];
  char data_uri[256]; /* suggested migration stream URI */
  char accel[8];
  int src_pid, dst_pid; /* 0 if not running */
  unsigned mem_mib, fill_mib, dirty_mibps, heartbeat_ms;
  unsigned disk_mib, disk_write_kibps; /* 0 without a disk */
  char disk[256];                      /* its image, "" without a disk */
  char disk_format[8], disk_cache[16]; /* as given to QEMU */
  char dst_disk[256];                  /* the destination's image: disk
                                          unless non-shared; "" if none */
  char dst_disk_format[8];
  char data_disk[256];     /* "drive1", "" without */
  char dst_data_disk[256]; /* the destination's drive1 */
  char data_disk_format[8];
  /* With netns ("" / 0 otherwise): */
  char src_netns[32], dst_netns[32]; /* network namespace names */
  char src_addr[48], dst_addr[48];   /* the veth addresses; the native
                                        stream goes to dst_addr */
  uint64_t link_rate_bps;            /* tbf rate, bit/s; 0 = not shaped */
  /* With qmp_tls_dir ("" otherwise): the TLS QMP monitors and the
   * credentials directory (absolute). */
  char src_qmp_tls[64], dst_qmp_tls[64]; /* "tls:127.0.0.1:PORT" */
  char qmp_tls_dir[256];
  /* The Linux guest (lab start --guest linux; "" / 0 otherwise): it checks
   * its own memory (qmig_verify_guest_serial) and answers UDP echo on
   * guest_addr:guest_udp_echo_port; with netns from client_netns (the
   * switched L2's client namespace, "" without). */
  char guest[8]; /* "linux", or "" for qmig's test guest */
  char guest_addr[48];
  unsigned guest_udp_echo_port;
  char client_netns[32];
};
QMIG_API int qmig_lab_info(const char *dir, struct qmig_lab_info *info, char *err, size_t errlen);
/* Point migration m at the lab pair in `dir` (what --lab means): sets
 * src, dst (its TLS monitors when it has them), src-serial, dst-serial,
 * heartbeat-ms, quit-source on, lab (recorded in the report) and, unless
 * already set, data-uri, qmp-tls-dir and data-host (a two-namespace lab:
 * the destination's veth address); the prediction's RAM in use is the
 * guest's fill (qmig_set_ram_in_use_hint).  Options set later override
 * these.  0, or -1 with err ("lab: ..." when `dir` holds no lab). */
QMIG_API int qmig_lab_apply(struct qmig_migration *m, const char *dir, char *err, size_t errlen);

/* ---- Memory verification against the qmig test guest ---- */

struct qmig_memcheck {
  uint64_t pages_checked;
  uint64_t pages_bad;
  uint64_t first_bad_page; /* index of the first bad data page */
  uint32_t pos;            /* guest's page-write counter at the stop */
  uint32_t npages;
  uint32_t dpos;    /* the guest's mirror of its disk's unit-write
                       counter (0 without a disk): the disk's own
                       is this or one more (qmig_verify_disk_image) */
  bool excused;     /* the page being written at the stop was
                       excused (and found a valid partial write) */
  char detail[512]; /* human description of the first problem */
};

/* Stop the guest behind QMP address `qmp_addr` (unix:... or tcp:...), dump
 * its memory with pmemsave into `tmpdir` and check every page against what
 * the guest last wrote.  Returns 0 when every page is right, 1 when pages
 * are wrong (see r->detail), -1 when the check could not be done (err). */
QMIG_API int qmig_verify_memory(const char *qmp_addr, const char *tmpdir, struct qmig_memcheck *r,
                                char *err, size_t errlen);
/* The Linux lab guest checks its own working set: send it "VERIFY" on its
 * serial socket `serial_path` (the lab's DIR/SIDE.serial; nobody else may
 * be connected) and read its answer within timeout_ms.  The guest keeps
 * running.  0 all pages right, 1 pages wrong (r->detail), -1 no answer
 * (err).  Fills pages_checked, pages_bad, first_bad_page, pos, npages. */
QMIG_API int qmig_verify_guest_serial(const char *serial_path, unsigned timeout_ms,
                                      struct qmig_memcheck *r, char *err, size_t errlen);

/* ---- Disk verification against the qmig test guest ---- */

struct qmig_diskcheck {
  uint64_t units_checked;
  uint64_t units_bad;      /* data units wrong, plus one for each bad area
                              outside them (control unit, bytes past them) */
  uint64_t first_bad_unit; /* index of the first bad data unit, UINT64_MAX
                              when only something outside them is bad */
  uint32_t dpos;           /* the disk's unit-write counter (control sector) */
  uint32_t nunits;
  bool excused;     /* the unit being written at the stop held some
                       of its new sectors (a valid partial write) */
  char detail[512]; /* human description of the first problem */
};

/* Check a disk image the lab guest wrote (its guest must be stopped, or
 * gone) against what the guest last wrote: every 4 KiB unit, from the
 * control sector's unit-write counter.  `format` is required, "raw" or
 * "qcow2" (never probed); a qcow2 is converted with `qemu-img convert -U`
 * (from PATH) into a temporary raw file beside it (else in $TMPDIR or
 * /tmp), which is removed.  Returns 0 when every unit is right, 1 when
 * something is wrong (r->detail names the unit, its LBA and byte offset),
 * -1 when the check could not be done or the image is not the lab guest's
 * (err). */
QMIG_API int qmig_verify_disk_image(const char *path, const char *format, struct qmig_diskcheck *r,
                                    char *err, size_t errlen);

/* ---- Disk verification: two images compared through NBD ---- */

struct qmig_diskdiff {
  uint64_t size_src, size_dst; /* virtual sizes in bytes */
  uint64_t bytes_compared;     /* 0 when the sizes differ */
  uint64_t bytes_differing;    /* bytes that differ, counted one by one */
  unsigned nranges;            /* differing ranges found, all of them; the
                                  first min(nranges, 10) are in ranges[] */
  struct {
    uint64_t offset, length; /* first to last differing byte of a run of
                                adjacent differing 4 KiB blocks */
  } ranges[10];
  double seconds;   /* wall time, connections included */
  char detail[512]; /* one-line summary */
};

/* Compare two disks as a guest reads them.  Each of src and dst is an NBD
 * URI (nbd://HOST[:PORT]/EXPORT, nbd+unix:///EXPORT?socket=PATH; format
 * NULL or "raw") or an image file with its format, "raw" or "qcow2": qmig
 * never probes, a file without a format is refused.  Files are served
 * read-only by a qemu-nbd child (found in PATH) that is gone when this
 * returns.  Returns 0 identical, 1 different (sizes, or ranges in r), -1
 * could not compare (err names the side and why). */
QMIG_API int qmig_verify_disks(const char *src, const char *src_format, const char *dst,
                               const char *dst_format, struct qmig_diskdiff *r, char *err,
                               size_t errlen);

/* ---- Bench: repeated, interleaved lab migrations with statistics ---- */

/* A bench runs scenarios (every knob of a run: lab guest, migration
 * options, transport) N times each, interleaved (A B C A B C ...), on a
 * fresh lab pair per run, checks the destination guest's memory after each
 * and writes the runs as JSON lines, a summary (text and CSV) and an HTML
 * report into its output directory.  docs/BENCHMARKING.md lists the knobs,
 * the presets and every figure. */
struct qmig_bench;

/* Returns NULL only when out of memory. */
QMIG_API struct qmig_bench *qmig_bench_new(void);
QMIG_API void qmig_bench_free(struct qmig_bench *b); /* accepts NULL */
QMIG_API const char *qmig_bench_error(const struct qmig_bench *b);

/* Bench settings (not scenario knobs): "runs" (measured runs per scenario,
 * default 10), "warmup" (runs of the first scenario before them, recorded
 * and left out of the statistics; default 1), "out" (output directory,
 * default bench-out), "baseline" (scenario name the ratios are taken
 * against; default the first), "seed" and "resamples" (bootstrap; default
 * 1 and 2000), "accel" (lab accelerator, default tcg), "qemu", "guest"
 * (lab binaries), "workdir" (scratch directory for the labs, default
 * $TMPDIR or /tmp).  -1 with a message naming the setting. */
QMIG_API int qmig_bench_set(struct qmig_bench *b, const char *key, const char *value);
/* The settings, ending with a NULL key; and the help lines of those `qmig
 * bench --help` lists (caller frees; NULL when out of memory). */
QMIG_API const struct qmig_optkey *qmig_bench_setting_keys(void);
QMIG_API char *qmig_bench_setting_help(void);

/* Add the scenarios of a scenario file (JSON: a scenario object, an array
 * of them, or {"base": {...}, "scenarios": [...]}), of JSON text, or of a
 * preset.  Each is checked at once: an unknown knob or a bad value is
 * refused with -1 and a message naming the scenario, the knob and why;
 * nothing runs. */
QMIG_API int qmig_bench_load(struct qmig_bench *b, const char *path);
QMIG_API int qmig_bench_load_text(struct qmig_bench *b, const char *json_text);
QMIG_API int qmig_bench_preset(struct qmig_bench *b, const char *name);
/* NULL-terminated preset names; the help line of one (NULL if unknown). */
QMIG_API const char *const *qmig_bench_preset_names(void);
QMIG_API const char *qmig_bench_preset_help(const char *name);
/* The scenario knobs that are not qmig_set() keys, NULL-terminated: the
 * lab's (the options of qmig_lab_set it takes) and the bench's own
 * (transport, dirty-pattern); and the help text of one (lines separated by
 * '\n'; NULL for a key that is none of them). */
QMIG_API const char *const *qmig_bench_knob_keys(void);
QMIG_API const char *qmig_bench_knob_help(const char *key);
/* "KEY=v1,v2,...": replace the scenarios by one per value, each the base
 * scenario (the only one loaded, or an empty one) with KEY set; named
 * "KEY=v". */
QMIG_API int qmig_bench_sweep(struct qmig_bench *b, const char *spec);
/* Set a knob in every scenario (applied when the bench runs or is
 * checked, over what the scenarios say). */
QMIG_API int qmig_bench_override(struct qmig_bench *b, const char *knob, const char *value);
/* Check everything without running: 0, or -1 with the first problem. */
QMIG_API int qmig_bench_check(struct qmig_bench *b);
QMIG_API size_t qmig_bench_count(const struct qmig_bench *b);
QMIG_API const char *qmig_bench_name(const struct qmig_bench *b, size_t i);

/* Called after every run (on the thread of qmig_bench_run): runs done,
 * runs in all, the scenario, its run index (0 for a warm-up), whether it
 * succeeded (migrated and memory verified) and the error if not. */
typedef void (*qmig_bench_run_fn)(void *user_data, unsigned done, unsigned total,
                                  const char *scenario, unsigned run, bool warmup, bool ok,
                                  const char *error);
QMIG_API void qmig_bench_on_run(struct qmig_bench *b, qmig_bench_run_fn fn, void *user_data);

/* While a run goes on: what it is doing ("lab" starting the pair,
 * "migrating" with each progress sample in `progress`, "checking" the
 * guest).  Runs `done` of `total` have finished.  Valid during the call. */
struct qmig_bench_status {
  unsigned done, total;
  const char *scenario;
  unsigned run; /* 0 for a warm-up */
  bool warmup;
  const char *phase;
  const struct qmig_progress *progress; /* NULL unless migrating */
};
typedef void (*qmig_bench_status_fn)(void *user_data, const struct qmig_bench_status *s);
QMIG_API void qmig_bench_on_status(struct qmig_bench *b, qmig_bench_status_fn fn, void *user_data);

/* Run every scenario and write OUT/runs.jsonl (written as runs finish),
 * OUT/summary.txt, OUT/summary.csv, OUT/runs.csv and OUT/report.html.
 * Returns 0 when every run migrated with its memory verified, 1 when some
 * failed (recorded, with their errors), -1 when the bench could not run
 * (message). */
QMIG_API int qmig_bench_run(struct qmig_bench *b);
/* Stop a running qmig_bench_run() after cancelling the migration under
 * way (its lab is stopped, the run recorded).  Async-signal-safe; call it
 * from a signal handler or a callback on the thread running the bench (from
 * another thread it could reach a migration just being freed). */
QMIG_API void qmig_bench_cancel(struct qmig_bench *b);
/* The outputs again from the JSON lines of an earlier bench (its runs,
 * scenarios and settings come from the lines): 0, or -1. */
QMIG_API int qmig_bench_render(struct qmig_bench *b, const char *jsonl_path);
/* The summary table of the last run or render as text; caller frees. */
QMIG_API char *qmig_bench_summary(const struct qmig_bench *b);
/* The same as JSON ({"schema", "baseline", "resamples", "scenarios": [{"name",
 * "figures": {FIGURE: {"n", "median", "ci_lo", "ci_hi", "p5", "p95", "min",
 * "max", "ratio", "ratio_lo", "ratio_hi"}}}]}; docs/BENCHMARKING.md names
 * the figures); caller frees; NULL when out of memory. */
QMIG_API char *qmig_bench_summary_json(const struct qmig_bench *b);

/* ---- Ping-pong: one guest migrated back and forth on this host ---- */

/* qmig_pingpong_run() migrates the guest of a running QEMU (option src of
 * a template migration, unix:PATH on this host) `repeat` times: each leg
 * starts a new QEMU from the running one's command line (as option
 * dst-spawn does), migrates to it and quits the old one, so that exactly
 * one QEMU runs after every leg; the next leg's source is the new process.
 * The new processes alternate between two names in spawn-dir (DIR/NAME.qmp,
 * .serial, .pid, .log).  Every other option of the template applies to
 * every leg.  The first failed leg ends the run; statistics are those of
 * the bench (median, p5, p95, bootstrap interval) over the migrated legs.
 * docs/PINGPONG.md. */
#define QMIG_PINGPONG_MAX_LEGS 1000
#define QMIG_PINGPONG_OPTIONS_INIT { .size = sizeof(struct qmig_pingpong_options) }
struct qmig_pingpong_options {
  size_t size;           /* sizeof(struct qmig_pingpong_options), as the lab's */
  unsigned repeat;       /* legs, 1..QMIG_PINGPONG_MAX_LEGS; 0 = 2 (there and back) */
  const char *names;     /* "A,B": spawn-name of the odd and the even legs' new
                            processes; NULL = "pp-1,pp-2" (not copied, as
                            qmig_lab_set's strings) */
  unsigned quit_wait_ms; /* how long a quit source may take to exit; 0 = 60000 */
  unsigned resamples;    /* bootstrap resamples; 0 = 2000 (seed 1) */
};
/* Set one option by key (repeat, names, quit-wait, resamples: the long
 * options of `qmig pingpong`), as qmig_lab_set() does; value not copied.
 * 0, or -1 with "option 'KEY': 'VALUE' is not ..." in err. */
QMIG_API int qmig_pingpong_set(struct qmig_pingpong_options *o, const char *key, const char *value,
                               char *err, size_t errlen);
/* The options, ending with a NULL key; their help lines (caller frees). */
QMIG_API const struct qmig_optkey *qmig_pingpong_option_keys(void);
QMIG_API char *qmig_pingpong_help(void);

struct qmig_pingpong;
/* Returns NULL only when out of memory. */
QMIG_API struct qmig_pingpong *qmig_pingpong_new(void);
QMIG_API void qmig_pingpong_free(struct qmig_pingpong *p); /* accepts NULL */
/* Called on the thread of qmig_pingpong_run() for leg `leg` (1-based) of
 * `legs`: before its qmig_run() with done false (m is configured: attach
 * qmig_on_progress() or qmig_on_state() there), after it with done true.
 * m belongs to p. */
typedef void (*qmig_pingpong_leg_fn)(void *user_data, unsigned leg, unsigned legs,
                                     struct qmig_migration *m, bool done);
QMIG_API void qmig_pingpong_on_leg(struct qmig_pingpong *p, qmig_pingpong_leg_fn fn,
                                   void *user_data);
/* Run the legs with the options of `tmpl` (read only, never run; src is
 * the first source; dst, dst-spawn, spawn-name and quit-source are the
 * loop's own; options of an earlier leg's source, src-serial and lab, move
 * to the new process).  Returns QMIG_MIGRATED when every leg migrated, else
 * the outcome of the failed leg as qmig_run() gives it: the guest runs on
 * that leg's source (QMIG_NOT_MIGRATED, QMIG_NOT_STARTED; the new process
 * was ended), or QMIG_UNCERTAIN (both left as they are, or a quit source
 * that did not exit); QMIG_USAGE for bad options (nothing started).
 * qmig_pingpong_error() names the leg and why.  Once per object. */
QMIG_API enum qmig_outcome qmig_pingpong_run(struct qmig_pingpong *p,
                                             const struct qmig_migration *tmpl,
                                             const struct qmig_pingpong_options *o);
/* Cancel the leg under way and run no more.  Async-signal-safe. */
QMIG_API void qmig_pingpong_cancel(struct qmig_pingpong *p);
QMIG_API const char *qmig_pingpong_error(const struct qmig_pingpong *p);
QMIG_API enum qmig_error_code qmig_pingpong_error_code(const struct qmig_pingpong *p);
/* Legs run (the failed one included), leg i's migration (0-based; its
 * report, sections and JSON as for any run; NULL past the end), and the
 * failed leg (1-based; 0 when none failed). */
QMIG_API unsigned qmig_pingpong_legs(const struct qmig_pingpong *p);
QMIG_API const struct qmig_migration *qmig_pingpong_leg(const struct qmig_pingpong *p, unsigned i);
QMIG_API unsigned qmig_pingpong_failed_leg(const struct qmig_pingpong *p);
/* Where the guest runs after the run: its QEMU's QMP address and pid (0:
 * unknown, after QMIG_UNCERTAIN). */
QMIG_API const char *qmig_pingpong_guest_qmp(const struct qmig_pingpong *p);
QMIG_API int qmig_pingpong_guest_pid(const struct qmig_pingpong *p);

/* One figure over the migrated legs (the bench's figures and their keys). */
struct qmig_pingpong_figure {
  const char *key, *label, *unit; /* "qemu_downtime_ms", "QEMU downtime", "ms" */
  unsigned n;                     /* legs that have it; the rest 0 when n is 0 */
  double median, p5, p95, min, max, ci_lo, ci_hi;
};
#define QMIG_PINGPONG_NFIGURES 7
struct qmig_pingpong_stats {
  unsigned legs, migrated, resamples;
  struct qmig_pingpong_figure figures[QMIG_PINGPONG_NFIGURES];
};
/* After qmig_pingpong_run(); owned by p. */
QMIG_API const struct qmig_pingpong_stats *qmig_pingpong_stats(const struct qmig_pingpong *p);
/* The whole run as JSON ({"schema": 2, "legs": [...], "stats": {...}},
 * docs/PINGPONG.md, docs/schema/pingpong.schema.json); caller frees; NULL
 * when out of memory. */
QMIG_API char *qmig_pingpong_json(const struct qmig_pingpong *p);

/* ---- Calibration: a controlled pause seen by the migration's instruments ---- */

/* qmig_calibrate_run() pauses the guest of ONE running QEMU (QMP `stop`,
 * pause_ms, `cont`) `repeat` times, watched by the instruments a migration
 * uses: QEMU's STOP and RESUME events (the pause), the guest's heartbeat
 * lines on its serial (the stall across the pause: last line before, first
 * after, as guest_stall_ms) and the network probe (the gap across it, as
 * the probe's switchover gap).  No migration and no cold translation
 * cache: what is left is the instruments' own disagreement
 * (docs/REPORT.md, "Calibrating the instruments").  The guest runs again
 * after every round, whatever happens (the run ends with `cont`). */
#define QMIG_CALIBRATE_MAX_ROUNDS 100
#define QMIG_CALIBRATE_OPTIONS_INIT               \
  {                                               \
    .size = sizeof(struct qmig_calibrate_options) \
  }
struct qmig_calibrate_options {
  size_t size;             /* sizeof(struct qmig_calibrate_options), as the lab's */
  const char *qmp;         /* unix:PATH of the QEMU's QMP monitor (required) */
  const char *serial;      /* unix socket of its guest's heartbeat serial; NULL = none */
  unsigned heartbeat_ms;   /* the heartbeat period (required with serial) */
  unsigned pause_ms;       /* each pause, 1..10000; 0 = 100 */
  unsigned repeat;         /* rounds, 1..QMIG_CALIBRATE_MAX_ROUNDS; 0 = 3 */
  unsigned after_ms;       /* watching after each resume; 0 = 500 */
  unsigned wait_s;         /* bound of each wait for heartbeats and replies; 0 = 5 */
  const char *probe;       /* "icmp:ADDR" or "udp:ADDR:PORT" as migrate's; NULL = none */
  const char *probe_netns; /* network namespace to probe from; NULL = ours */
  unsigned probe_rate_hz;  /* 0 = 1000 */
  unsigned probe_gap_ms;   /* gap threshold of the probe's totals; 0 = 3 periods */
};
/* Set one option by key (qmp, serial, heartbeat-ms, pause, repeat, after,
 * wait, probe, probe-netns, probe-rate, probe-gap: the long options of
 * `qmig calibrate`), as qmig_lab_set() does; value not copied.  0, or -1
 * with "option 'KEY': 'VALUE' is ..." in err. */
QMIG_API int qmig_calibrate_set(struct qmig_calibrate_options *o, const char *key,
                                const char *value, char *err, size_t errlen);
/* The options, ending with a NULL key; their help lines (caller frees). */
QMIG_API const struct qmig_optkey *qmig_calibrate_option_keys(void);
QMIG_API char *qmig_calibrate_help(void);

/* One round's figures in ms; NAN where not measured (no heartbeats, no
 * probe, or nothing seen on one side of the pause).  The differences may
 * be negative. */
struct qmig_calibrate_round {
  unsigned round;                /* 1-based; 0 in the medians */
  double pause_ms;               /* QEMU's RESUME event time - its STOP's */
  double stall_ms;               /* heartbeat: last line before RESUME to the
                                    first after, less one period per missing line */
  double net_gap_ms;             /* probe: last reply before RESUME to the first after */
  double first_reply_ms;         /* RESUME to the first reply after it */
  double first_heartbeat_ms;     /* RESUME to the first heartbeat line after it */
  double net_gap_minus_stall_ms; /* net_gap_ms - stall_ms */
  double stall_minus_pause_ms;   /* stall_ms - pause_ms */
};
struct qmig_calibrate_result {
  unsigned rounds; /* measured: round[0..rounds) */
  struct qmig_calibrate_round round[QMIG_CALIBRATE_MAX_ROUNDS];
  struct qmig_calibrate_round median; /* each figure over the rounds that have it */
  char qemu_version[64];
  /* the instruments: */
  double heartbeat_period_ms; /* NAN without serial */
  unsigned heartbeat_lines;
  bool reader_realtime;
  const char *probe_method; /* "udp", "icmp", "icmp-raw"; NULL without probe */
  unsigned probe_rate_hz;
  uint64_t probe_sent, probe_received;
};

struct qmig_calibrate;
/* Returns NULL only when out of memory. */
QMIG_API struct qmig_calibrate *qmig_calibrate_new(void);
QMIG_API void qmig_calibrate_free(struct qmig_calibrate *c); /* accepts NULL */
/* Called on the thread of qmig_calibrate_run() after each measured round;
 * r belongs to c. */
typedef void (*qmig_calibrate_round_fn)(void *user_data, const struct qmig_calibrate_round *r);
QMIG_API void qmig_calibrate_on_round(struct qmig_calibrate *c, qmig_calibrate_round_fn fn,
                                      void *user_data);
/* Run the rounds.  QMIG_MIGRATED (0) when every round was measured;
 * QMIG_USAGE for bad options; QMIG_NOT_STARTED when nothing was paused
 * (QMP unreachable, the guest not running: paused, or a destination in
 * incoming state, no heartbeat or probe reply within wait); QMIG_NOT_MIGRATED
 * when a round failed or qmig_calibrate_cancel() came after the first pause
 * (the guest runs again); QMIG_UNCERTAIN when the guest could not be
 * resumed after a pause.  qmig_calibrate_error() says why.  Once per object. */
QMIG_API enum qmig_outcome qmig_calibrate_run(struct qmig_calibrate *c,
                                              const struct qmig_calibrate_options *o);
/* Stop after the round under way (its pause ends at once).  Async-signal-safe. */
QMIG_API void qmig_calibrate_cancel(struct qmig_calibrate *c);
QMIG_API const char *qmig_calibrate_error(const struct qmig_calibrate *c);
QMIG_API enum qmig_error_code qmig_calibrate_error_code(const struct qmig_calibrate *c);
/* The rounds measured and their medians; owned by c. */
QMIG_API const struct qmig_calibrate_result *qmig_calibrate_result(const struct qmig_calibrate *c);
/* The run as JSON ({"schema": 1, "rounds": [...], "median": {...}, ...},
 * docs/schema/calibrate.schema.json); caller frees; NULL when out of memory. */
QMIG_API char *qmig_calibrate_json(const struct qmig_calibrate *c);

/* ---- Tunnel agent: the destination side of a tunnelled migration ---- */

/* `qmig agent` as a library: accepts the engine's tunnel connections (control,
 * qmp, main, multifd; each opened by a hello, docs/TUNNEL.md), relays the
 * destination QEMU's QMP and connects migration channels to the incoming
 * socket it chose in its private run directory, in the order QEMU needs.
 * It connects to nothing but the QEMU it was configured for. */
struct qmig_agent;
/* Returns NULL only when out of memory. */
QMIG_API struct qmig_agent *qmig_agent_new(void);
QMIG_API void qmig_agent_free(struct qmig_agent *a); /* accepts NULL */
/* Keys: listen (HOST:PORT), qmp (unix:PATH of the destination QEMU's QMP),
 * run-dir (private dir, created 0700; default a new /tmp/qmig-agent.XXXXXX),
 * tls (x509|psk: the credential; control and QMP connections are always TLS
 * 1.3 with it and every other connection proves it belongs to the session),
 * tls-dir (x509: ca-cert.pem, server-cert.pem, server-key.pem), tls-psk-file
 * (lines IDENTITY:HEXKEY), plain-data (allow|refuse: migration and NBD
 * channels in authenticated plaintext; default allow), insecure-no-auth
 * (on|off: run without a credential, so that anyone who can connect gets
 * the destination's QMP; qmig_agent_run() refuses to start with neither a
 * credential nor this), once (on|off: exit after one session),
 * handshake-timeout (ms, default 5000) and
 * test-clock-skew-ms (TEST ONLY, refused by libqmig: in the tests' build
 * the agent and the destination QMP events it relays pretend the clock is N
 * ms ahead, to prove the engine's offset correction).  Bounds (docs/TUNNEL.md): max-connections (64),
 * max-qmp-channels (4), max-main-channels (2), max-multifd-channels (16),
 * max-nbd-channels (16), control-idle-timeout (ms, 60000); qemu-tls-dir: the
 * only directory the relayed QMP may name in object-add of TLS credentials
 * (default tls-dir, or the directory of tls-psk-file).  -1 with a message
 * naming the key. */
QMIG_API int qmig_agent_set(struct qmig_agent *a, const char *key, const char *value);
/* The agent's options, ending with a NULL key; and their help lines as
 * `qmig agent --help` prints them (caller frees; NULL when out of memory). */
QMIG_API const struct qmig_optkey *qmig_agent_option_keys(void);
QMIG_API char *qmig_agent_help(void);
/* Each log line (refusals with their reason, sessions, channel ends);
 * qmig_log_fn is declared with qmig_on_log(). */
QMIG_API void qmig_agent_on_log(struct qmig_agent *a, qmig_log_fn fn, void *user_data);
/* Listen and serve until qmig_agent_stop() (or, with once, until the first
 * session ended).  0 on a clean end, -1 with qmig_agent_error(). */
QMIG_API int qmig_agent_run(struct qmig_agent *a);
/* Async-signal-safe; any thread. */
QMIG_API void qmig_agent_stop(struct qmig_agent *a);
QMIG_API const char *qmig_agent_error(const struct qmig_agent *a);
/* The kind of qmig_agent_error(): QMIG_E_OPTION for a bad or missing option
 * (qmig_agent_set, the rules qmig_agent_run() checks first), QMIG_E_AUTH for
 * credentials it cannot load, QMIG_E_SYSTEM otherwise. */
QMIG_API enum qmig_error_code qmig_agent_error_code(const struct qmig_agent *a);

#ifdef __cplusplus
}
#endif
#endif
