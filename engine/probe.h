/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* engine/probe.h - network-observed downtime (option probe): a thread that
 * sends ICMP or UDP echo requests to the guest at probe-rate Hz over the
 * whole run and stamps every reply on CLOCK_MONOTONIC (probe.c); the gaps
 * between replies, accounted by pure functions (probe_gaps.c), become the
 * report's "network" section.  It needs nothing from the guest but an
 * address that answers echo. */
#ifndef QMIG_ENGINE_PROBE_H
#define QMIG_ENGINE_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qmig.h"

/* ---- Gap accounting (pure; tests/unit/test_probe.c) ---- */

#define ENG_PROBE_MAX_GAPS 4096 /* kept while running; more are only counted */

struct eng_probe_gap {
  int64_t start_ns, end_ns; /* last reply before, first reply after */
  bool open;                /* no reply after it before the probe ended */
};

struct eng_probe_acct {
  int64_t threshold_ns;
  uint64_t replies; /* distinct requests answered */
  int64_t last_ns;  /* latest reply (0: none yet) */
  int64_t first_ns; /* first reply */
  unsigned ngaps;   /* gaps[0..ngaps) */
  uint64_t gaps_total;
  struct eng_probe_gap gaps[ENG_PROBE_MAX_GAPS];
  struct eng_probe_gap max; /* the longest, even when not kept */
};

/* Start accounting with gaps longer than threshold_ns. */
void eng_probe_acct_init(struct eng_probe_acct *a, int64_t threshold_ns);
/* A reply arrived at rx_ns (non-decreasing). */
void eng_probe_acct_reply(struct eng_probe_acct *a, int64_t rx_ns);
/* The probe ended at end_ns: a silence since the last reply longer than
 * the threshold is an open gap. */
void eng_probe_acct_end(struct eng_probe_acct *a, int64_t end_ns);

/* What the phase of a moment is decided from (all CLOCK_MONOTONIC ns; 0 =
 * did not happen). */
struct eng_phase_marks {
  int64_t migrate_ns;
  unsigned npasses;
  unsigned pass[QMIG_MAX_PASSES + 1]; /* pass numbers, starting at pass_ns */
  int64_t pass_ns[QMIG_MAX_PASSES + 1];
  int64_t stop_ns;     /* source STOP: the switchover starts */
  int64_t postcopy_ns; /* post-copy started */
  int64_t resume_ns;   /* destination RESUME */
  int64_t done_ns;     /* the migration completed on the source */
};
/* The phase at t_ns into out, named as the stall timeline's (stalls.c):
 * "before" (migrate not yet sent), "setup", "pass_N", "switchover",
 * "postcopy", "after_resume". */
void eng_phase_at(const struct eng_phase_marks *pm, int64_t t_ns, char *out, size_t len);

/* The phase of a gap from start_ns to end_ns: "switchover" when the
 * source stopped within it (the guest's own pause, however long the gap
 * runs on after it), else the phase where it started. */
void eng_gap_phase(const struct eng_phase_marks *pm, int64_t start_ns, int64_t end_ns, char *out,
                   size_t len);

/* ---- The prober (probe.c) ---- */

/* A CLOCK_REALTIME time (QEMU's event stamps, µs) on CLOCK_MONOTONIC. */
int64_t eng_probe_wall_to_mono(int64_t wall_us);

struct eng_probe;
/* Parse "icmp:ADDR" or "udp:ADDR:PORT" (IPv4); 0, or -1 with why. */
int eng_probe_parse(const char *spec, char *why, size_t len);
/* Open the socket (in network namespace netns when not NULL) and start
 * sending at rate_hz; NULL with err. */
struct eng_probe *eng_probe_start(const char *spec, const char *netns, unsigned rate_hz,
                                  unsigned gap_ms, char *err, size_t errlen);
/* Wait until a reply arrived after after_ns and linger_ms more, at most
 * until timeout_ns (CLOCK_MONOTONIC); accepts NULL.  Whether a reply came
 * after after_ns (false for NULL). */
bool eng_probe_settle(struct eng_probe *p, int64_t after_ns, int linger_ms, int64_t timeout_ns);
/* While it runs: the last reply at or before t_ns and the first after it
 * (0 = none, or older than the ring of the latest 16 s of replies). */
void eng_probe_around(struct eng_probe *p, int64_t t_ns, int64_t *before_ns, int64_t *after_ns);
/* Stop the thread; fills *r from the accounting and pm (phases, times
 * since pm->migrate_ns) unless either is NULL; frees p.  Accepts p NULL
 * (r untouched). */
void eng_probe_stop(struct eng_probe *p, const struct eng_phase_marks *pm,
                    struct qmig_report_network *r);

#endif
