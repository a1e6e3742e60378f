/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* probe_gaps.c - the probe's gap accounting and the phase of a moment of
 * the run: pure functions (engine/probe.h), unit-tested. */
#include <stdio.h>
#include <string.h>

#include "engine/probe.h"

void eng_probe_acct_init(struct eng_probe_acct *a, int64_t threshold_ns)
{
  memset(a, 0, sizeof *a);
  a->threshold_ns = threshold_ns;
}

static void add_gap(struct eng_probe_acct *a, int64_t start, int64_t end, bool open)
{
  struct eng_probe_gap g = { start, end, open };
  a->gaps_total++;
  if (a->ngaps < ENG_PROBE_MAX_GAPS)
    a->gaps[a->ngaps++] = g;
  if (end - start > a->max.end_ns - a->max.start_ns)
    a->max = g;
}

void eng_probe_acct_reply(struct eng_probe_acct *a, int64_t rx_ns)
{
  if (a->replies == 0)
    a->first_ns = rx_ns;
  else if (rx_ns - a->last_ns > a->threshold_ns)
    add_gap(a, a->last_ns, rx_ns, false);
  if (rx_ns > a->last_ns)
    a->last_ns = rx_ns;
  a->replies++;
}

void eng_probe_acct_end(struct eng_probe_acct *a, int64_t end_ns)
{
  if (a->replies && end_ns - a->last_ns > a->threshold_ns)
    add_gap(a, a->last_ns, end_ns, true);
}

void eng_gap_phase(const struct eng_phase_marks *pm, int64_t start_ns, int64_t end_ns, char *out,
                   size_t len)
{
  if (pm->stop_ns && start_ns <= pm->stop_ns && end_ns > pm->stop_ns)
    snprintf(out, len, "switchover");
  else
    eng_phase_at(pm, start_ns, out, len);
}

void eng_phase_at(const struct eng_phase_marks *pm, int64_t t, char *out, size_t len)
{
  const char *name = "before";
  if (pm->resume_ns && t >= pm->resume_ns)
    name = pm->postcopy_ns && (!pm->done_ns || t < pm->done_ns) ? "postcopy" : "after_resume";
  else if (pm->postcopy_ns && t >= pm->postcopy_ns)
    name = "postcopy";
  else if (pm->stop_ns && t >= pm->stop_ns)
    name = "switchover";
  else if (pm->migrate_ns && t >= pm->migrate_ns) {
    unsigned pass = 0;
    for (unsigned i = 0; i < pm->npasses; i++)
      if (t >= pm->pass_ns[i])
        pass = pm->pass[i];
    if (pass) {
      snprintf(out, len, "pass_%u", pass);
      return;
    }
    name = "setup";
  }
  snprintf(out, len, "%s", name);
}
