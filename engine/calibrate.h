/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* engine/calibrate.h - qmig calibrate's internals: the handle (calibrate.c
 * runs the rounds), and the pure part (calibrate_result.c): one round's
 * figures from what the instruments saw, the medians, the JSON document.
 * tests/unit/test_calibrate.c feeds the pure part with synthetic times. */
#ifndef QMIG_ENGINE_CALIBRATE_H
#define QMIG_ENGINE_CALIBRATE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine/internal.h"

/* What one round saw (CLOCK_MONOTONIC ns unless named otherwise). */
struct eng_cal_obs {
  int64_t stop_wall_us, resume_wall_us; /* QEMU's STOP and RESUME event stamps */
  int64_t resume_ns;                    /* RESUME on our CLOCK_MONOTONIC */
  double period_ms;                     /* heartbeat period; 0 = no heartbeats */
  const struct eng_hb_gap *hb;          /* the heartbeat gap spanning resume_ns, or NULL */
  int64_t net_before_ns, net_after_ns;  /* the replies around resume_ns; 0 = none */
};
/* Round `round`'s figures into r (NAN where not measured). */
void eng_cal_round(const struct eng_cal_obs *o, unsigned round, struct qmig_calibrate_round *r);
/* res->median from res->round[0..rounds). */
void eng_cal_medians(struct qmig_calibrate_result *res);

struct qmig_calibrate {
  atomic_bool cancelled;
  bool ran;
  enum qmig_outcome outcome;
  enum qmig_error_code code;
  char err[1024];
  qmig_calibrate_round_fn fn;
  void *ud;
  struct qmig_calibrate_result res;
  /* The options the run used (defaults filled), strings copied for the JSON. */
  unsigned pause_ms, repeat, after_ms, wait_s, heartbeat_ms;
  char qmp[256], serial[256], probe[128], probe_netns[64];
  double probe_threshold_ms;
};

/* The JSON document (docs/schema/calibrate.schema.json); new reference,
 * NULL when out of memory. */
json_t *eng_cal_json(const struct qmig_calibrate *c);

#endif
