/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* engine/ internals: the migration object, its configuration and the pieces
 * of the run (options.c, state.c, frame.c, run.c, follow.c, recover.c,
 * report.c, heartbeat.c; the transport session behind engine/session.h:
 * native.c, tunnel.c).  Errors: 0/-1 with a message recorded on the
 * migration (eng_errorf). */
#ifndef QMIG_ENGINE_INTERNAL_H
#define QMIG_ENGINE_INTERNAL_H

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <pthread.h>

#include "qmig.h"
#include "qmp/qmp.h"

#define ENG_TLS_ID "qmig-tls0" /* the TLS credentials object on both sides */

/* Enum options are stored as ints: the index in their choices string. */
enum eng_tls { ENG_TLS_NONE, ENG_TLS_X509, ENG_TLS_PSK };
/* Migration channels through the tunnel: TLS, or authenticated plaintext. */
enum eng_tunnel_data { ENG_TDATA_TLS, ENG_TDATA_PLAIN };
enum eng_handoff { ENG_HANDOFF_AUTO, ENG_HANDOFF_ON, ENG_HANDOFF_OFF }; /* tunnel-handoff */
enum eng_policy_kind { ENG_POLICY_FIXED, ENG_POLICY_STEPPED, ENG_POLICY_DOUBLING };
enum eng_deadline { ENG_DEADLINE_CANCEL, ENG_DEADLINE_PAUSE, ENG_DEADLINE_POSTCOPY };
enum eng_after { ENG_AFTER_NONE, ENG_AFTER_PASSES, ENG_AFTER_SECONDS, ENG_AFTER_STALL };
enum eng_sync { ENG_SYNC_FULL, ENG_SYNC_TOP };
/* copy-mode: auto starts in background and moves the running mirrors to
 * write-blocking near the end where the source has block-job-change
 * (mirror_mode.c). */
enum eng_copy_mode { ENG_COPY_AUTO, ENG_COPY_BACKGROUND, ENG_COPY_WRITE_BLOCKING };
enum eng_dst_action { ENG_DST_QUIT, ENG_DST_KEEP };
/* live-update: how the guest moves to the new process (update.c). */
enum eng_update { ENG_UPD_OFF, ENG_UPD_AUTO, ENG_UPD_CPR, ENG_UPD_SHARED, ENG_UPD_MIGRATE };

/* Everything qmig_set() can set, grouped by what it steers.  Strings are
 * owned (strdup'd). */
struct eng_stream_cfg {      /* the migration stream and QEMU's tuning of it */
  char *uri;                 /* explicit stream URI (data-uri), or NULL */
  char *connect;             /* where the source sends it, when a proxy sits
                                in between (needs uri); NULL = uri */
  char *host;                /* host the destination listens on */
  unsigned port_lo, port_hi; /* tcp port range tried in order */
  uint64_t max_bandwidth;    /* bytes/s; 0 = unlimited */
  uint64_t downtime_limit_ms;
  unsigned multifd_channels; /* 0 = multifd off */
  char *multifd_compression; /* none|zlib|zstd */
  bool xbzrle;
  uint64_t xbzrle_cache_size;
  bool ignore_shared; /* x-ignore-shared: shared RAM is not sent */
};
struct eng_tls_cfg { /* QEMU-native TLS on the stream */
  int kind;          /* enum eng_tls */
  char *dir, *dst_dir, *hostname, *psk_user;
};
struct eng_tunnel_cfg { /* tunnelled mode: options.c checks, frame.c picks, tunnel.c reads */
  char *agent;          /* agent HOST:PORT; NULL = native mode */
  int tls;              /* enum eng_tls: the tunnel's credential */
  int data;             /* enum eng_tunnel_data */
  int handoff;          /* enum eng_handoff: sockets to QEMU where possible */
  bool insecure;        /* tunnel-insecure-no-auth: no credential at all */
  char *tls_dir, *peer_name, *psk_file, *psk_identity;
  /* tunnel ssh://TARGET: the agent is started over ssh (sshagent.c), which
   * then fills agent and a session PSK (tls, psk_file, psk_identity). */
  char *ssh, *ssh_config, *ssh_qmig;
  unsigned ssh_agent_port;
};
struct eng_qmp_cfg {
  char *tls_dir;       /* x509 client credentials for tls: QMP addresses */
  char *tls_name;      /* name/IP QEMU's QMP certificate must carry */
  bool insecure_tcp;   /* accept tcp: QMP off loopback (warned) */
  unsigned timeout_ms; /* every QMP connection's default timeout */
};
struct eng_policy_cfg { /* convergence, deadline and post-copy (policy.c) */
  bool auto_converge;
  int throttle_initial, throttle_increment, max_throttle; /* -1 = default */
  int kind;                                               /* enum eng_policy_kind */
  uint64_t max_downtime_ms;                               /* 0 = stream.downtime_limit_ms */
  unsigned steps, step_delay_ms;
  unsigned deadline_s; /* 0 = none */
  int deadline_action; /* enum eng_deadline */
  bool postcopy;
  uint64_t max_postcopy_bandwidth;
  int postcopy_after; /* enum eng_after */
  unsigned postcopy_after_n;
  int switchover_ack;        /* enum eng_feat_mode (features.c) */
  bool postcopy_preempt;     /* with postcopy */
  bool dirty_limit;          /* converge by vCPU dirty limits (QEMU 8.1+, KVM) */
  unsigned vcpu_dirty_limit; /* MB/s per vCPU; 0 = QEMU's default */
  unsigned recover_window_s; /* post-copy paused by a link: resume within (pclink.c) */
};
struct eng_disks_cfg { /* disks copied over NBD (mirror.c) */
  char *copy;          /* "a,b": copied; NULL with copy_all */
  bool copy_all;
  char *shared;       /* excluded from copy_all */
  int sync;           /* enum eng_sync */
  int copy_mode;      /* enum eng_copy_mode */
  uint64_t bandwidth; /* bytes/s per disk; 0 = unlimited */
  char *nbd_addr, *nbd_connect;
  bool nbd_tls;
};
struct eng_announce_cfg { /* announcements after switchover (announce.c) */
  bool on;                /* off: none at all, QEMU's own included */
  unsigned rounds;        /* qmig's announce-self rounds; 0 = none */
  unsigned initial_ms, max_ms, step_ms;
};
struct eng_probe_cfg { /* network-observed downtime (probe.c) */
  char *spec;          /* "icmp:ADDR", "udp:ADDR:PORT"; NULL = no probe */
  char *netns;         /* send from this named network namespace */
  unsigned rate_hz;    /* requests per second */
  unsigned gap_ms;     /* a gap is a silence longer than this; 0 = 3 periods */
  unsigned wait_s;     /* for the first reply, and after RESUME: at most this */
};
struct eng_predict_cfg { /* the prediction before `migrate` (predict.c) */
  bool on;
  unsigned dirty_rate_time_s; /* calc-dirty-rate period */
  uint64_t link_bandwidth;    /* bytes/s the link gives; 0 = unknown */
  uint64_t ram_in_use;        /* bytes of guest RAM that are not zero pages; 0 = unknown */
};
struct eng_spawn_cfg { /* the destination made from the source (update.c, spawn*.c) */
  bool on;             /* dst-spawn */
  char *dir, *name;    /* spawn-dir, spawn-name: where its sockets go */
  char *binary;        /* dst-qemu-binary; NULL = the source's */
  char *map;           /* "OLD=NEW,...": disk paths */
  int update;          /* enum eng_update (live-update) */
};
struct eng_config {
  char *src, *dst;               /* QMP addresses */
  unsigned timeout_s;            /* whole migration; 0 = none */
  unsigned poll_ms;              /* query-migrate period while active */
  bool poll_adaptive;            /* longer period in the bulk of a pass */
  unsigned stall_timeout_s;      /* no progress while active for this long:
                                    cancel (a dead link); 0 = never */
  char *src_serial, *dst_serial; /* heartbeat sources (unix paths) */
  unsigned heartbeat_ms;
  unsigned stall_threshold_ms; /* stall timeline: 0 = two heartbeat periods */
  bool quit_source;
  int dst_action; /* enum eng_dst_action: recovery, guest on the source */
  bool preflight; /* run eng_preflight() before migrating */
  char *lab;      /* lab dir given (for the report) */
  struct eng_stream_cfg stream;
  struct eng_tls_cfg tls;
  struct eng_tunnel_cfg tunnel;
  struct eng_qmp_cfg qmp;
  struct eng_policy_cfg policy;
  struct eng_disks_cfg disks;
  struct eng_announce_cfg announce;
  struct eng_predict_cfg predict;
  struct eng_probe_cfg probe;
  struct eng_spawn_cfg spawn;
};

/* stalls.c (pure): one side's heartbeat lines as they arrive, and every
 * gap between two of them longer than gap_ns (the ENG_HB_MAX_GAPS largest
 * when there are more). */
#define ENG_HB_MAX_GAPS 1024
struct eng_hb_gap {
  int64_t from_ns, to_ns; /* the lines before and after it */
  uint32_t from_seq, to_seq;
};
struct eng_hb_track {
  int64_t gap_ns; /* set before the first line */
  unsigned lines;
  uint32_t first_seq, last_seq;
  int64_t first_ns, last_ns, max_gap_ns;
  unsigned ngaps, total_gaps;
  struct eng_hb_gap gaps[ENG_HB_MAX_GAPS];
};
void eng_hb_feed(struct eng_hb_track *t, int64_t now_ns, uint32_t seq);
/* The run's marks, in ms since `migrate` (-1: not seen), for the phases. */
struct eng_stall_marks {
  int64_t migrate_ns; /* CLOCK_MONOTONIC of `migrate` (the lines' clock) */
  double setup_end_ms, stop_ms, resume_ms, postcopy_ms, end_ms;
  unsigned npass;
  unsigned pass[QMIG_MAX_PASSES + 1];
  double pass_ms[QMIG_MAX_PASSES + 1]; /* each pass's event, ascending */
};
/* The phase of a gap from s to e ms (docs/REPORT.md) into phase; returns
 * N for "pass_N", else 0. */
unsigned eng_stall_phase(const struct eng_stall_marks *mk, double s, double e, char *phase,
                         size_t len);
/* The timeline from both sides' gaps and the gap across the switchover:
 * gaps longer than threshold_ms after one period is taken off per missing
 * heartbeat.  0, or -1 out of memory (out then holds no stalls). */
/* The stall across one silence, as guest_stall_ms: the line before it
 * (from_ns, from_seq) to the line after it (to_ns, to_seq), in ms, less
 * one period_ms per heartbeat missing between them (a line cut in two: the
 * guest ran then); -1 when to_seq does not follow from_seq (the lines
 * cannot be trusted) or period_ms is 0. */
double eng_stall_across_ms(int64_t from_ns, uint32_t from_seq, int64_t to_ns, uint32_t to_seq,
                           double period_ms);
/* The kept gap of t that spans t_ns (from_ns <= t_ns < to_ns), or NULL. */
const struct eng_hb_gap *eng_hb_gap_at(const struct eng_hb_track *t, int64_t t_ns);
int eng_stalls_build(const struct eng_stall_marks *mk, const struct eng_hb_track *src,
                     const struct eng_hb_track *dst, double period_ms, double threshold_ms,
                     struct qmig_report_stalls *out);

/* Host-side heartbeat monitor (heartbeat.c): a thread reading the guest's
 * "HB seq pos" lines from both serial sockets, stamping each with
 * CLOCK_MONOTONIC as it arrives. */
struct eng_heartbeat;
struct eng_hb_result {
  unsigned src_lines, dst_lines;
  uint32_t last_src_seq, first_dst_seq;
  int64_t last_src_mono_ns, first_dst_mono_ns; /* 0 = none seen */
  int64_t max_gap_src_ns, max_gap_dst_ns;      /* within each side */
  bool realtime;                               /* reader ran SCHED_FIFO */
  double reader_cpu_s;                         /* the reader thread's CPU */
  struct eng_hb_track track[2];                /* source, destination */
};
/* Gaps longer than gap_ns are kept for the stall timeline.  dst_path NULL:
 * one guest only (calibrate.c), its lines on side 0. */
struct eng_heartbeat *eng_hb_start(const char *src_path, const char *dst_path, int64_t gap_ns,
                                   char *err, size_t errlen);
/* Side `side`'s latest line (CLOCK_MONOTONIC ns; 0 = none yet) and, when
 * lines is not NULL, how many it has sent; while the reader runs. */
int64_t eng_hb_last(struct eng_heartbeat *hb, int side, unsigned *lines);
/* A copy of side `side`'s track into out, and its kept gaps forgotten (the
 * next take has only those that came after): one calibration round's. */
void eng_hb_take(struct eng_heartbeat *hb, int side, struct eng_hb_track *out);
/* Wait up to timeout_ms until `lines` destination heartbeats have arrived. */
bool eng_hb_wait_dst(struct eng_heartbeat *hb, unsigned lines, int timeout_ms);
/* After the destination's first heartbeat the run waits for this many
 * more periods (at least 250 ms) so the timeline covers "after resume". */
#define ENG_HB_AFTER_PERIODS 25
/* The stall timeline's threshold: stall-threshold, else two periods
 * (heartbeat-ms, else 10 ms). */
unsigned eng_stall_threshold_ms(const struct eng_config *c);
/* Stops the thread, fills r (may be NULL), frees; accepts hb NULL. */
void eng_hb_stop(struct eng_heartbeat *hb, struct eng_hb_result *r);

/* One sample of query-migrate's return, parsed. */
struct eng_stats {
  char status[32];
  int64_t total_ms, setup_ms, downtime_ms, expected_downtime_ms; /* -1 n/a */
  uint64_t transferred, remaining, total, dirty_pages_rate, page_size;
  uint64_t dirty_sync_count;
  uint64_t downtime_bytes; /* ram.downtime-bytes: sent during stop-and-copy */
  uint64_t postcopy_bytes, postcopy_requests;
  double mbps;
  char error_desc[512];
};

struct eng_pass_mark {
  unsigned pass;
  int64_t wall_us;
  uint64_t transferred;
  double dirty_bytes_per_s; /* QEMU's dirty-pages-rate x page size; 0 = none yet */
};

/* Convergence steering state (policy.c). */
struct eng_policy {
  uint64_t limit_ms; /* downtime-limit currently set */
  unsigned step;     /* stepped policy: steps taken */
  int64_t next_step_ns;
  uint64_t last_remaining; /* at the previous pass start */
  bool deadline_reached;
  bool postcopy_requested, postcopy_started;
  double postcopy_request_ms;     /* since `migrate` */
  int64_t postcopy_start_wall_us; /* source's postcopy-active event */
  char postcopy_reason[96];
  struct qmig_policy_step *steps; /* every change of downtime-limit */
  size_t nsteps, cap_steps;
};

/* The report's sections (include/qmig.h), each filled by the module named
 * beside it; NULL until then, which the JSON report shows as an absent key.
 * Allocated by eng_section(), freed with the handle. */
#define ENG_NSECTIONS 12
struct eng_sections {
  struct qmig_report_preflight *preflight;         /* preflight.c */
  struct qmig_report_prediction *prediction;       /* predict.c */
  struct qmig_report_announce *announce;           /* announce.c */
  struct qmig_report_recover *recover;             /* recover.c */
  struct qmig_report_created_disks *created_disks; /* disks.c */
  struct qmig_report_storage *storage;             /* mirror.c */
  struct qmig_report_policy *policy;               /* policy.c */
  struct qmig_report_postcopy *postcopy;           /* policy.c */
  struct qmig_report_tunnel *tunnel;               /* tunnel.c */
  struct qmig_report_stalls *stalls;               /* report.c (stalls.c) */
  struct qmig_report_network *network;             /* probe.c, via report.c */
  struct qmig_report_update *update;               /* update.c */
  /* The slots above in the order they were first filled: the JSON lists
   * the sections in that order, as it always has. */
  void **order[ENG_NSECTIONS];
  unsigned norder;
};
/* The section in *slot, allocated zeroed on first use; later calls return
 * it to be filled again.  NULL when out of memory: the section stays absent. */
void *eng_section(struct eng_sections *s, void **slot, size_t size);
#define ENG_SECTION(m, name)                                                  \
  ((__typeof__((m)->sec.name))eng_section(&(m)->sec, (void **)&(m)->sec.name, \
                                          sizeof *(m)->sec.name))
void eng_sections_free(struct eng_sections *s);
/* report_json.c: the JSON object of the sections present, in the order the
 * run fills them, added to `o`. */
void eng_sections_json(const struct eng_sections *s, json_t *o);

/* What happened during a run, when, and on which side: written by the
 * phases as they see it (run.c before `migrate`, follow.c from `migrate` to
 * the end, tunnel.c the clock offset), read by report.c and recover.c.
 * Nothing here steers the run; the configuration (struct eng_config) and
 * the policy state (struct eng_policy) do. */
struct eng_facts {
  bool src_was_running;        /* the source guest ran when we connected */
  bool incoming_issued;        /* the destination listens for our stream */
  bool migrate_issued;         /* `migrate` sent: the stream may have moved */
  bool stop_seen, resume_seen; /* source STOP, destination RESUME events */
  bool switchover_pending;     /* source paused before the switchover */
  int64_t stop_wall_us, resume_wall_us, src_done_wall_us; /* QEMU's event times */
  char dst_status[32]; /* destination's last MIGRATION event status */
  int64_t t0_mono_ns, migrate_mono_ns, end_mono_ns;
  int64_t migrate_wall_us; /* CLOCK_REALTIME at migrate_mono_ns */
  int64_t hb_after_ns;     /* spent watching heartbeats after the resume */
  double cpu0_s;
  double cpu_stream_s; /* run thread, `migrate` to the source's end */
  struct eng_hb_result hb_result;
  unsigned nmarks; /* pass starts: marks[0..nmarks) */
  struct eng_pass_mark marks[QMIG_MAX_PASSES + 1];
  unsigned pass_pending;        /* pass whose start was just sampled */
  uint64_t pass_remaining;      /* its ram.remaining */
  struct eng_stats final;       /* the last query-migrate */
  int64_t dst_clock_offset_us;  /* destination wall clock minus ours (tunnel) */
  bool dst_announce_known;      /* the next was read (announce.c) */
  unsigned dst_announce_rounds; /* destination QEMU's announce-rounds */
  unsigned npc_pauses;          /* post-copy paused and resumed (pclink.c) */
  struct qmig_postcopy_pause pc_pauses[QMIG_MAX_PC_PAUSES];
};

/* features.c: QEMU's newer migration features, chosen by probing. */
enum eng_feat_mode { ENG_FEAT_AUTO, ENG_FEAT_ON, ENG_FEAT_OFF }; /* option order */
enum eng_feature {
  ENG_FEAT_SWITCHOVER_ACK,
  ENG_FEAT_POSTCOPY_PREEMPT,
  ENG_FEAT_DIRTY_LIMIT,
  ENG_FEAT_CHANNELS,          /* `migrate` with a channels list (source only) */
  ENG_FEAT_BLOCK_JOB_CHANGE,  /* a running mirror to write-blocking (source only) */
  ENG_FEAT_INCOMING_CHANNELS, /* `migrate-incoming` with one (destination only) */
  ENG_FEAT_N
};
struct eng_features {
  bool used[ENG_FEAT_N]; /* set on both sides in this run */
  unsigned lacks[2];     /* bit per feature a side (src, dst) does not have */
};
struct qmig_migration;
/* After both sides' capabilities were probed (m->caps): which features
 * this run uses; 0, or -1 when one asked for `on` is missing on a side. */
int eng_features_choose(struct qmig_migration *m);
bool eng_feature_used(const struct qmig_migration *m, enum eng_feature f);
/* Whether the source has feature f (probed; false before probing). */
bool eng_feature_src_has(const struct qmig_migration *m, enum eng_feature f);
/* Record f as used in this run (a feature used later than the choice,
 * e.g. block-job-change when the mirror switched). */
void eng_feature_mark_used(struct qmig_migration *m, enum eng_feature f);
/* The arguments of the source's `migrate` to `uri`: a channels list where
 * the source takes one and uri is tcp: or unix: (recorded as used), else
 * {"uri": uri}.  NULL when out of memory. */
json_t *eng_migrate_args(struct qmig_migration *m, const char *uri);
/* The same for `migrate-incoming` on the destination: a channels list when
 * its schema takes one (tcp:HOST:PORT[,to=HI] and unix:PATH), else uri. */
json_t *eng_incoming_args(struct qmig_migration *m, const char *uri);
/* {"used": [...], "src_lacks": [...], "dst_lacks": [...], "probed": B}. */
json_t *eng_features_json(const struct qmig_migration *m);

struct qmig_migration {
  struct eng_config cfg;
  enum qmig_state state;
  bool ran;
  struct qmp_conn *src, *dst;
  json_t *caps[2]; /* probed migration capabilities: src, dst */
  char uri[256];   /* the stream URI actually used */
  char err[1024];
  enum qmig_error_code err_code; /* the kind of err (eng_errorc) */
  uint64_t ram_hint;             /* qmig_set_ram_in_use_hint(): bytes, 0 = none */
  char ram_hint_from[64];        /* and what it is, for the prediction */

  qmig_progress_fn progress_fn;
  void *progress_ud;
  qmig_state_fn state_fn;
  void *state_ud;
  qmig_log_fn log_fn;
  void *log_ud;

  int cancel_pipe[2]; /* written by qmig_cancel() */
  atomic_int cancel_requested;

  struct eng_heartbeat *hb;
  struct eng_probe *probe; /* the network prober (probe.h); NULL without */
  struct eng_facts facts;  /* what happened: written while following */
  struct eng_policy policy;
  struct qmig_report report;
  struct eng_sections sec;   /* the report's typed sections (report_sections.c) */
  struct eng_mirror *mirror; /* disks to copy (mirror.h); NULL without */
  /* The transport session (session.h), picked by eng_begin; NULL before. */
  const struct eng_session_ops *session;
  struct eng_tunnel *tunnel;    /* the tunnel session's state (tunnel.h); NULL when native */
  struct eng_features features; /* newer QEMU features used (features.c) */
  struct eng_ssh *ssh;          /* the agent started over ssh (sshagent.c); NULL without */
  struct eng_qmp_tls *qmp_tls;  /* tls: QMP connections (qmpconn.c); NULL without */
  struct eng_upd *upd;          /* the spawned destination (update.c); NULL without */
};

/* update.c: with dst-spawn or live-update, before the options are checked:
 * probe the source (and a new binary), choose the mechanism, start the new
 * process and point dst (and dst-serial) at it.  0 continue as a normal
 * run (ignore-shared or migrate); 1 cpr-transfer: run eng_update_cpr
 * instead of the phases; -1 error recorded (nothing was started or it was
 * ended again). */
int eng_update_begin(struct qmig_migration *m);
/* update_cpr.c: the whole cpr-transfer run; its outcome. */
enum qmig_outcome eng_update_cpr(struct qmig_migration *m);
/* update.c: after a run: a spawned process that does not hold the guest is
 * ended (the old one runs); every fact into the "update" section. */
void eng_update_end(struct qmig_migration *m, enum qmig_outcome out);
void eng_update_free(struct qmig_migration *m);

/* preflight.c: every check of `qmig check`, all problems at once, nothing
 * changed.  Fills the report's "preflight" section; -1 with a message listing every
 * failed check when any failed. */
int eng_preflight(struct qmig_migration *m);
/* A preflight finding: failed, passed, or not checkable (passes, says why). */
enum eng_pf { ENG_PF_FAIL, ENG_PF_OK, ENG_PF_SKIP };
void eng_pf_add(struct qmig_report_preflight *findings, const char *check, enum eng_pf r,
                const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* preflight_cpu.c: the "cpu" and "cpu-host" findings; -1 only when a QMP
 * connection broke (error recorded). */
int eng_pf_cpu(struct qmig_migration *m, struct qmig_report_preflight *findings);
/* preflight_net.c: the "data-port" finding; whether the destination QEMU
 * runs on this host (unix QMP socket, or tcp to one of its addresses). */
void eng_pf_port(struct qmig_migration *m, struct qmig_report_preflight *findings);
bool eng_pf_dst_local(const struct eng_config *c);
/* netns.c: the network namespace ("net:[ino]") of the QEMU behind a unix
 * QMP connection, of the calling thread when c is NULL; "" when unknown. */
void eng_netns_id(struct qmp_conn *c, char *out, size_t len);
/* Run fn(arg) on a thread inside the network namespace of the QEMU behind
 * c (unix QMP); 0 when it ran, else -1 with the cause in why. */
int eng_netns_run(struct qmp_conn *c, void (*fn)(void *), void *arg, char *why, size_t len);
/* predict.c: measure the source's dirty rate (calc-dirty-rate) and predict
 * total time, downtime and convergence; fills the report's "prediction" section.
 * Called before `migrate` when the predict option is on. */
int eng_predict(struct qmig_migration *m);
/* The precopy model eng_predict() applies (QEMU 7.2's loop, simulated);
 * bytes and bytes/s. */
struct eng_pred_in {
  double ram;     /* guest RAM */
  double in_use;  /* bytes not in zero pages: what the first pass sends */
  double dirty;   /* bytes the guest dirties per second */
  double bw;      /* precopy rate: the lower of max-bandwidth and the link */
  double stop_bw; /* stop-and-copy rate (QEMU lifts the limit): the link */
  double limit_s; /* downtime-limit */
};
struct eng_pred_out {
  bool converges;
  unsigned passes;            /* MIGRATION_PASS events, as QEMU counts them */
  double total_s, downtime_s; /* valid when it converges */
};
void eng_predict_model(const struct eng_pred_in *in, struct eng_pred_out *out);
/* announce.c: before the migration, with announce off, the destination
 * QEMU's own announce-rounds parameter set to 0 (it announces after an
 * incoming migration otherwise); then that parameter read back for the
 * report.  0, or -1 with a message (off could not be honoured). */
int eng_announce_prepare(struct qmig_migration *m);
/* announce.c: after switchover, announce-self on the destination (the
 * announce-* options); fills the report's "announce" section.  -1 with a message
 * when QEMU refused: the caller makes it a warning, the guest has moved. */
int eng_announce(struct qmig_migration *m);

/* tunnel.c: the tunnel session's state for the agent of option `tunnel`
 * (its options read through opts from here on; timeout_ms bounds each
 * connection step), into m->tunnel; the pick (frame.c) calls it.  -1 out of
 * memory. */
int eng_tunnel_new(struct qmig_migration *m, const struct eng_tunnel_cfg *opts, int timeout_ms);
/* sshagent.c: tunnel ssh://TARGET: start `qmig agent --once` there over ssh
 * with a PSK made for this session (sent on ssh's stdin, never on a command
 * line), wait (bounded) until it listens, and fill the tunnel options in
 * (agent, psk).  The agent ends with the session, or when ssh's stdin
 * closes (eng_ssh_stop, or this process dying).  -1 with the error
 * recorded. */
int eng_ssh_start(struct qmig_migration *m);
/* A line for the remote script, read when ssh's stdin closes: "end" stops a
 * destination QEMU it started (sshspawn.c); none, or another, keeps it. */
void eng_ssh_verdict(struct qmig_migration *m, const char *line);
void eng_ssh_stop(struct qmig_migration *m);
/* qmpconn.c: a QEMU's QMP at addr as the options allow.  unix: as is;
 * tcp: only on loopback unless insecure-qmp-tcp (then a warning); tls:HOST:PORT
 * through TLS 1.3 with qmp-tls-dir's x509 client credentials, QEMU's
 * certificate and name verified, relayed to the QMP client by a forwarder
 * over a socketpair.  NULL with the reason in err.  `name` labels messages. */
struct qmp_conn *eng_qmp_connect(struct qmig_migration *m, const char *name, const char *addr,
                                 char *err, size_t errlen);
/* Refuse (-1, message in err) what eng_qmp_connect would refuse before
 * connecting: a plain tcp: address off loopback without insecure-qmp-tcp. */
int eng_qmp_addr_check(struct qmig_migration *m, const char *name, const char *addr, char *err,
                       size_t errlen);
/* Stop and free the forwarders of tls: QMP connections (after qmp_close). */
void eng_qmp_end(struct qmig_migration *m);

/* state.c: the one place states change.  Logs through the state callback. */
void eng_set_state(struct qmig_migration *m, enum qmig_state to, const char *why);
/* Record an error message (printf-style) and its kind on m; returns -1.
 * The one error setter of the migration.  Once the run is failing
 * (CANCELLING and after) a code already recorded is kept: the first cause
 * wins over what recovery meets afterwards. */
int eng_errorc(struct qmig_migration *m, enum qmig_error_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* eng_errorc with the code the current state implies: INIT option,
 * CONNECTING qmp-connect, PROBING to INCOMING qmp, later migration. */
int eng_errorf(struct qmig_migration *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* options.c */
void eng_config_init(struct eng_config *c);
void eng_config_free(struct eng_config *c);
int eng_config_check(struct qmig_migration *m);       /* cross-option rules */
int eng_spawn_config_check(struct qmig_migration *m); /* dst-spawn, live-update */
json_t *eng_config_json(const struct eng_config *c);  /* new reference */

/* schema.c: the first object of `array` whose string `key` is `value`
 * (NULL when none: absent array, key or value). */
json_t *eng_json_find(json_t *array, const char *key, const char *value);
/* A query-qmp-schema answer kept as text, its entities parsed as lookups
 * want them (schema.c says why).  eng_schema_query asks QEMU: NULL when
 * the command failed (qmp_error(c) says why; qmp_broken(c) tells a broken
 * connection) or the answer is not an array of objects.
 * eng_schema_from_text takes a malloc'd JSON array text (freed on
 * failure too).  eng_schema_free accepts NULL. */
struct eng_schema;
struct eng_schema *eng_schema_query(struct qmp_conn *c);
struct eng_schema *eng_schema_from_text(char *text, size_t len);
void eng_schema_free(struct eng_schema *s);
/* The entity named `name`, NULL when none (or s NULL); borrowed: valid
 * until eng_schema_free.  The member `member` of entity `type`, NULL when
 * none.  Whether command `cmd` exists with an argument `arg`. */
json_t *eng_schema_entity(struct eng_schema *s, const char *name);
json_t *eng_schema_member(struct eng_schema *s, const char *type, const char *member);
bool eng_schema_cmd_has_arg(struct eng_schema *s, const char *cmd, const char *arg);
/* Whether command `cmd` exists with an argument type whose variant
 * `branch` (a union's case) has the member `member` (block-job-change's
 * mirror branch and its copy-mode). */
bool eng_schema_cmd_branch_member(struct eng_schema *s, const char *cmd, const char *branch,
                                  const char *member);

/* run.c: the phases before the stream moves (connect and incoming through
 * the session) */
int eng_connect(struct qmig_migration *m);
int eng_probe(struct qmig_migration *m);
int eng_configure(struct qmig_migration *m);
int eng_incoming(struct qmig_migration *m);
/* qmpconn.c: "status" of the reply to `cmd` (query-status, query-migrate)
 * into out ("none" when absent). */
int eng_status(struct qmig_migration *m, struct qmp_conn *c, const char *cmd, char *out,
               size_t len);
/* addr.c: host of "tcp:HOST:PORT" or "tls:HOST:PORT" ("" if neither);
 * "tcp:HOST:PORT" split into host (IPv6 without brackets) and port ("" if
 * none); the stream's listen address (data-host, else the tcp destination's
 * host, else 127.0.0.1). */
void eng_tcp_host(const char *addr, char *out, size_t len);
void eng_split_tcp(const char *a, char *host, size_t hlen, char *port, size_t plen);
void eng_data_host(const struct eng_config *c, char *out, size_t len);
/* frame.c: the frame of every entry point: eng_begin once per object (and
 * the session's pick; -1 when it already ran), eng_end fills the report,
 * closes QMP, ends the session and returns `out`. */
int eng_begin(struct qmig_migration *m);
enum qmig_outcome eng_end(struct qmig_migration *m, enum qmig_outcome out);
/* frame.c: append a warning to the report ("; "-separated). */
void eng_warn(struct qmig_migration *m, const char *msg);

/* follow.c: from `migrate` to completion.  Returns 0 on completion, -1 on
 * failure (error recorded), 1 when cancelled or timed out. */
int eng_follow(struct qmig_migration *m);
int eng_query_stats(struct qmig_migration *m, struct eng_stats *st);
/* A query-migrate reply (whatever QEMU sent) into *st; absent or mistyped
 * figures become 0 (-1 for the times).  Pure: fuzz/fuzz_qmpreply.c. */
void eng_stats_parse(json_t *r, struct eng_stats *st);

/* pclink.c: post-copy whose stream stopped (cause) or that QEMU paused:
 * pause both sides, resume once the link is back, within
 * postcopy-recover-window.  0 when resumed, -1 (error recorded) when not. */
int eng_postcopy_relink(struct qmig_migration *m, const char *cause);

/* policy.c: downtime policy, deadline, post-copy triggers.  tick/pass
 * return 0 to go on, 1 to stop (error recorded: deadline cancel), -1 on
 * error. */
void eng_policy_start(struct qmig_migration *m);
int eng_policy_tick(struct qmig_migration *m, const struct eng_stats *st);
/* CLOCK_MONOTONIC ns when eng_policy_tick may next act on time alone (a
 * stepped limit, a deadline, post-copy after seconds); INT64_MAX if never. */
int64_t eng_policy_due_ns(const struct qmig_migration *m);
/* When to take the next query-migrate sample after one (st) taken at `now`
 * (CLOCK_MONOTONIC ns), with a timed policy action due at `due`.  Pure.
 * poll-interval where a sample can decide something soon: near the end of
 * a pass (what remains would go in under two long periods at the current
 * rate: the switchover or the next pass is close), outside "active" (setup,
 * post-copy: its watchdog), at a due policy action; in the bulk of a pass
 * 4 poll-intervals, at most 1 s (never below poll-interval); poll-adaptive
 * off: always poll-interval.  No measured time depends on it (follow.c). */
int64_t eng_sample_next_ns(const struct eng_config *cf, const struct eng_stats *st, int64_t now,
                           int64_t due);
int eng_policy_pass(struct qmig_migration *m, unsigned pass, uint64_t remaining);
void eng_policy_report(struct qmig_migration *m);

/* recover.c: after a failure or cancel, bring the guest back to exactly one
 * running side and return the outcome (the decision: engine/recover.h). */
enum qmig_outcome eng_recover(struct qmig_migration *m);
/* recover.c: "; if the qmig that started it died, ...: qmig recover --lab
 * DIR" (or the session's --src/--dst, --tunnel): the hint of a refusal. */
void eng_recover_hint(const struct qmig_migration *m, char *out, size_t len);
/* A line for qmig_on_log()'s callback, if any. */
void eng_log(struct qmig_migration *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* report.c */
void eng_report_fill(struct qmig_migration *m);

/* time helpers */
int64_t eng_mono_ns(void);
double eng_cpu_s(void);

#endif
