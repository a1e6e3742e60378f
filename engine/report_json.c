/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* report_json.c - the one place the JSON report is built: struct
 * qmig_report and the typed sections (include/qmig.h) to the keys, types
 * and presence docs/REPORT.md documents.  A figure that could not be
 * measured (negative) is null. */
#include <stdlib.h>
#include <string.h>

#include "engine/internal.h"

static json_t *num(double v)
{
  return v < 0 ? json_null() : json_real(v);
}

/* ---- The sections, each as docs/REPORT.md describes it ---- */

static json_t *network_json(const void *section)
{
  const struct qmig_report_network *n = section;
  json_t *gaps = json_array();
  for (unsigned i = 0; i < n->ngaps; i++) {
    const struct qmig_net_gap *g = &n->gaps[i];
    json_t *o = json_pack("{s:s,s:f,s:f}", "phase", g->phase, "start_ms", g->start_ms,
                          "duration_ms", g->duration_ms);
    if (g->open)
      json_object_set_new(o, "open", json_true());
    json_array_append_new(gaps, o);
  }
  bool gap = n->max_gap_ms >= 0;
  json_t *o = json_object();
  const struct {
    const char *key;
    json_t *v;
  } f[] = {
    { "target", json_string(n->target) },
    { "method", json_string(n->method) },
    { "netns", n->netns[0] ? json_string(n->netns) : json_null() },
    { "rate_hz", json_integer(n->rate_hz) },
    { "threshold_ms", json_real(n->threshold_ms) },
    { "sent", json_integer((json_int_t)n->sent) },
    { "received", json_integer((json_int_t)n->received) },
    { "lost", json_integer((json_int_t)n->lost) },
    { "duration_ms", json_real(n->duration_ms) },
    { "gaps_total", json_integer((json_int_t)n->gaps_total) },
    { "gaps", gaps },
    { "max_gap_ms", gap ? json_real(n->max_gap_ms) : json_null() },
    { "max_gap_phase", gap ? json_string(n->max_gap_phase) : json_null() },
    { "max_gap_start_ms", gap ? json_real(n->max_gap_start_ms) : json_null() },
    { "first_reply_after_resume_ms", num(n->first_reply_after_resume_ms) },
  };
  for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
    json_object_set_new(o, f[i].key, f[i].v);
  return o;
}

static json_t *str_or_null(const char *s)
{
  return s ? json_string(s) : json_null();
}

static json_t *preflight_json(const void *section)
{
  const struct qmig_report_preflight *p = section;
  json_t *arr = json_array();
  for (unsigned i = 0; i < p->nfindings; i++) {
    const struct qmig_finding *f = &p->findings[i];
    json_t *o = json_pack("{s:s,s:b,s:s}", "check", f->check, "ok", f->ok, "detail", f->detail);
    if (f->skipped)
      json_object_set_new(o, "skipped", json_true());
    json_array_append_new(arr, o);
  }
  return arr;
}

static json_t *prediction_json(const void *section)
{
  const struct qmig_report_prediction *p = section;
  bool bw = p->bandwidth_bytes_per_s != 0, conv = p->converges == 1;
  json_t *o = json_object();
  const struct {
    const char *key;
    json_t *v;
  } f[] = {
    { "dirty_rate_bytes_per_s", json_integer(p->dirty_rate_bytes_per_s) },
    { "qemu_dirty_rate_mib_per_s", json_integer(p->qemu_dirty_rate_mib_per_s) },
    { "measure_s", json_integer(p->measure_s) },
    { "sample_pages_per_gib", json_integer(p->sample_pages_per_gib) },
    { "ram_bytes", json_integer((json_int_t)p->ram_bytes) },
    { "ram_in_use_bytes", json_integer((json_int_t)p->ram_in_use_bytes) },
    { "ram_in_use_from", json_string(p->ram_in_use_from) },
    { "bandwidth_bytes_per_s",
      bw ? json_integer((json_int_t)p->bandwidth_bytes_per_s) : json_null() },
    { "bandwidth_from", str_or_null(p->bandwidth_from) },
    { "stop_copy_bytes_per_s",
      bw ? json_integer((json_int_t)p->stop_copy_bytes_per_s) : json_null() },
    { "downtime_limit_ms", json_integer((json_int_t)p->downtime_limit_ms) },
    { "converges", p->converges < 0 ? json_null() : json_boolean(p->converges) },
    { "passes", conv ? json_integer(p->passes) : json_null() },
    { "total_ms", conv ? json_real(p->total_ms) : json_null() },
    { "downtime_ms", conv ? json_real(p->downtime_ms) : json_null() },
    { "note", str_or_null(p->note) },
  };
  for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
    json_object_set_new(o, f[i].key, f[i].v);
  return o;
}

static json_t *announce_json(const void *section)
{
  const struct qmig_report_announce *a = section;
  return json_pack("{s:s,s:i,s:i,s:i,s:i,s:b,s:o}", "mode", a->on ? "on" : "off", "rounds",
                   a->rounds, "initial_ms", a->initial_ms, "max_ms", a->max_ms, "step_ms",
                   a->step_ms, "sent", a->sent, "qemu_rounds",
                   a->qemu_rounds >= 0 ? json_integer(a->qemu_rounds) : json_null());
}

static json_t *recover_json(const void *section)
{
  const struct qmig_report_recover *r = section;
  json_t *found = json_array(), *actions = json_array();
  for (unsigned i = 0; i < r->nfound; i++)
    json_array_append_new(found, json_string(r->found[i]));
  for (unsigned i = 0; i < r->nactions; i++)
    json_array_append_new(actions,
                          json_pack("{s:s,s:b}", "did", r->actions[i].did, "ok", r->actions[i].ok));
  return json_pack("{s:o,s:o,s:s?,s:s}", "found", found, "actions", actions, "result", r->result,
                   "why", r->why);
}

static json_t *update_json(const void *section)
{
  const struct qmig_report_update *u = section;
  return json_pack("{s:s?,s:s,s:s?,s:i,s:i,s:s,s:s,s:s?}", "mechanism", u->mechanism, "reason",
                   u->reason, "advice", u->advice[0] ? u->advice : NULL, "old_pid", u->old_pid,
                   "new_pid", u->new_pid, "new_binary", u->new_binary, "new_qmp", u->new_qmp,
                   "new_host", u->new_host[0] ? u->new_host : NULL);
}

static json_t *created_disks_json(const void *section)
{
  const struct qmig_report_created_disks *c = section;
  json_t *arr = json_array();
  for (unsigned i = 0; i < c->ndisks; i++) {
    const struct qmig_created_disk *d = &c->disks[i];
    json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:I,s:s}", "name", d->name, "path", d->path,
                                         "format", d->format, "size", (json_int_t)d->size,
                                         "blockdev", d->blockdev));
  }
  return arr;
}

static json_t *storage_json(const void *section)
{
  const struct qmig_report_storage *st = section;
  json_t *arr = json_array();
  for (unsigned i = 0; i < st->ndisks; i++) {
    const struct qmig_storage_disk *sd = &st->disks[i];
    json_t *d = json_pack("{s:s,s:s,s:s,s:I,s:s}", "name", sd->name, "action",
                          sd->copy ? "copy" : "shared", "format", sd->format, "size",
                          (json_int_t)sd->size, "source_file", sd->source_file);
    if (sd->have_destination)
      json_object_set_new(d, "destination_file", json_string(sd->destination_file));
    if (sd->job_started) {
      json_object_set_new(d, "bytes", json_integer((json_int_t)sd->bytes));
      if (sd->ready) {
        json_object_set_new(d, "time_to_ready_ms", json_real(sd->time_to_ready_ms));
        json_object_set_new(d, "rate_bytes_per_s", json_real(sd->rate_bytes_per_s));
      }
      json_object_set_new(d, "completed", json_boolean(sd->completed));
      if (sd->synced_known)
        json_object_set_new(d, "actively_synced", json_boolean(sd->actively_synced));
    }
    if (sd->error[0])
      json_object_set_new(d, "error", json_string(sd->error));
    json_array_append_new(arr, d);
  }
  json_t *o = json_pack("{s:o}", "disks", arr);
  if (st->nbd_listen[0]) {
    json_object_set_new(o, "nbd_listen", json_string(st->nbd_listen));
    json_object_set_new(o, "nbd_connect", json_string(st->nbd_connect));
    if (st->nbd_forwarded_to[0])
      json_object_set_new(o, "nbd_forwarded_to", json_string(st->nbd_forwarded_to));
    json_object_set_new(o, "sync", json_string(st->sync));
    json_object_set_new(o, "copy_mode", json_string(st->copy_mode));
    json_object_set_new(o, "copy_mode_start", json_string(st->copy_mode_start ?: "background"));
    json_object_set_new(o, "copy_mode_switch", json_string(st->copy_mode_switch ?: "none"));
    if (st->copy_mode_switch && !strcmp(st->copy_mode_switch, "switched"))
      json_object_set_new(o, "copy_mode_switch_ms", json_real(st->copy_mode_switch_ms));
    if (st->copy_mode_switch_why[0])
      json_object_set_new(o, "copy_mode_switch_why", json_string(st->copy_mode_switch_why));
    json_object_set_new(o, "nbd_tls", json_boolean(st->nbd_tls));
  }
  if (st->sync_ms > 0)
    json_object_set_new(o, "sync_ms", json_real(st->sync_ms));
  if (st->switchover_ms > 0)
    json_object_set_new(o, "switchover_ms", json_real(st->switchover_ms));
  return o;
}

static json_t *policy_json(const void *section)
{
  const struct qmig_report_policy *p = section;
  json_t *steps = json_array();
  for (size_t i = 0; i < p->nsteps; i++)
    json_array_append_new(
        steps, json_pack("{s:f,s:I,s:s}", "at_ms", p->steps[i].at_ms, "downtime_limit_ms",
                         (json_int_t)p->steps[i].downtime_limit_ms, "why", p->steps[i].why));
  json_t *deadline = p->deadline_s ? json_pack("{s:i,s:s}", "seconds", (int)p->deadline_s, "action",
                                               p->deadline_action)
                                   : json_null();
  return json_pack("{s:s,s:I,s:I,s:o,s:o,s:b}", "downtime_policy", p->downtime_policy,
                   "max_downtime_ms", (json_int_t)p->max_downtime_ms, "final_downtime_limit_ms",
                   (json_int_t)p->final_downtime_limit_ms, "steps", steps, "deadline", deadline,
                   "deadline_reached", p->deadline_reached);
}

static json_t *postcopy_json(const void *section)
{
  const struct qmig_report_postcopy *p = section;
  json_t *o = json_pack("{s:b,s:b,s:s}", "enabled", 1, "started", p->started, "reason", p->reason);
  if (p->requested)
    json_object_set_new(o, "requested_at_ms", json_real(p->requested_at_ms));
  if (p->started) {
    json_object_set_new(o, "duration_ms", num(p->duration_ms));
    json_object_set_new(o, "bytes", json_integer((json_int_t)p->bytes));
    json_object_set_new(o, "page_requests", json_integer((json_int_t)p->page_requests));
    json_t *pauses = json_array();
    for (unsigned i = 0; i < p->npauses && i < QMIG_MAX_PC_PAUSES; i++) {
      const struct qmig_postcopy_pause *x = &p->pauses[i];
      json_array_append_new(pauses, json_pack("{s:f,s:f,s:I,s:b,s:s}", "start_ms", x->start_ms,
                                              "duration_ms", x->duration_ms, "attempts",
                                              (json_int_t)x->attempts, "resumed", x->resumed,
                                              "cause", x->cause));
    }
    json_object_set_new(o, "pauses", pauses);
  }
  return o;
}

static json_t *tunnel_json(const void *section)
{
  const struct qmig_report_tunnel *t = section;
  json_t *chans = json_array();
  for (size_t i = 0; i < t->nchannels; i++) {
    const struct qmig_tunnel_channel *c = &t->channels[i];
    json_array_append_new(chans,
                          json_pack("{s:s,s:o,s:s,s:o,s:I,s:I,s:f,s:o}", "kind", c->kind, "index",
                                    c->index >= 0 ? json_integer(c->index) : json_null(), "path",
                                    c->path ? c->path : "forwarded", "why",
                                    c->why[0] ? json_string(c->why) : json_null(), "bytes_to_dst",
                                    (json_int_t)c->bytes_to_dst, "bytes_from_dst",
                                    (json_int_t)c->bytes_from_dst, "cpu_s", c->cpu_s, "error",
                                    c->failed ? json_string(c->error) : json_null()));
  }
  json_t *o =
      json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:{s:f,s:f,s:i},s:o,s:f,s:o}", "agent", t->agent,
                "session", t->session, "incoming", t->incoming, "tls", t->tls, "auth", t->auth,
                "data", t->data, "clock", "offset_ms", t->offset_ms, "uncertainty_ms",
                t->uncertainty_ms, "samples", (int)t->samples, "channels", chans, "forwarder_cpu_s",
                t->forwarder_cpu_s, "error", t->error[0] ? json_string(t->error) : json_null());
  if (o) {
    json_object_set_new(o, "offload", t->offload ? json_string(t->offload) : json_null());
    json_object_set_new(o, "offload_why",
                        t->offload_why[0] ? json_string(t->offload_why) : json_null());
  }
  return o;
}

/* Top-level keys rather than one: `stalls`, `max_stall_ms`, ... (merged
 * into the report by eng_sections_json). */
static json_t *stalls_json(const void *section)
{
  const struct qmig_report_stalls *s = section;
  json_t *list = json_array();
  for (unsigned i = 0; i < s->nstalls; i++) {
    const struct qmig_stall *x = &s->stalls[i];
    json_t *o = json_pack("{s:s,s:f,s:f}", "phase", x->phase, "start_ms", x->start_ms,
                          "duration_ms", x->duration_ms);
    if (x->pass)
      json_object_set_new(o, "pass", json_integer(x->pass));
    json_array_append_new(list, o);
  }
  return json_pack("{s:o,s:i,s:f,s:o,s:o,s:o,s:o}", "stalls", list, "stalls_total", (int)s->total,
                   "stall_threshold_ms", s->threshold_ms, "max_stall_ms", num(s->max_stall_ms),
                   "max_stall_phase",
                   s->max_stall_phase[0] ? json_string(s->max_stall_phase) : json_null(),
                   "stop_at_ms", num(s->stop_at_ms), "resume_at_ms", num(s->resume_at_ms));
}

/* In the order the run first filled them (the order the keys always had:
 * e.g. "storage" from probing comes before "preflight"). */
void eng_sections_json(const struct eng_sections *s, json_t *o)
{
  const struct {
    const char *key;
    void *const *slot;
    json_t *(*fn)(const void *section);
  } f[] = {
#define SEC(name) { #name, (void *const *)&s->name, name##_json }
    SEC(preflight), SEC(prediction), SEC(announce), SEC(recover), SEC(created_disks), SEC(storage),
    SEC(policy),    SEC(postcopy),   SEC(tunnel),   SEC(stalls),  SEC(network),       SEC(update),
#undef SEC
  };
  _Static_assert(sizeof f / sizeof f[0] == ENG_NSECTIONS, "every section has its JSON");
  for (unsigned i = 0; i < s->norder; i++)
    for (size_t k = 0; k < sizeof f / sizeof f[0]; k++)
      if (f[k].slot == s->order[i] && *f[k].slot) {
        if (f[k].slot == (void *const *)&s->stalls) { /* its keys, at the top */
          json_t *keys = f[k].fn(*f[k].slot);
          json_object_update(o, keys);
          json_decref(keys);
        } else
          json_object_set_new(o, f[k].key, f[k].fn(*f[k].slot));
      }
}

/* The options as set, plus which of QEMU's newer features the run used
 * and which each side lacked (features.c). */
static json_t *config_json(const struct qmig_migration *m)
{
  json_t *c = eng_config_json(&m->cfg);
  if (c)
    json_object_set_new(c, "qemu_features", eng_features_json(m));
  return c;
}

char *qmig_report_json(const struct qmig_migration *m)
{
  const struct qmig_report *r = &m->report;
  static const char *const outcomes[] = { "migrated", "not-migrated", "usage", "not-started",
                                          "uncertain" };
  json_t *passes = json_array();
  for (unsigned i = 0; i < r->npasses; i++) {
    const struct qmig_pass *p = &r->passes[i];
    json_array_append_new(passes,
                          json_pack("{s:i,s:I,s:o,s:o}", "pass", (int)p->pass, "bytes",
                                    (json_int_t)p->bytes, "duration_ms", num(p->duration_ms),
                                    "dirty_bytes_per_s", num(p->dirty_bytes_per_s)));
  }
  const struct eng_hb_result *hb = &m->facts.hb_result;
  json_t *heart = json_pack(
      "{s:o,s:i,s:i,s:o,s:o,s:o,s:o,s:b,s:o}", "period_ms", num(r->heartbeat_period_ms),
      "src_lines", (int)hb->src_lines, "dst_lines", (int)hb->dst_lines, "last_src_seq",
      hb->src_lines ? json_integer(hb->last_src_seq) : json_null(), "first_dst_seq",
      hb->dst_lines ? json_integer(hb->first_dst_seq) : json_null(), "max_gap_src_ms",
      hb->src_lines > 1 ? json_real(hb->max_gap_src_ns / 1e6) : json_null(), "max_gap_dst_ms",
      hb->dst_lines > 1 ? json_real(hb->max_gap_dst_ns / 1e6) : json_null(), "reader_realtime",
      hb->realtime, "reader_cpu_s", m->cfg.src_serial ? num(hb->reader_cpu_s) : json_null());
  json_t *warnings = json_array();
  for (const char *w = r->warnings; *w;) {
    const char *end = strstr(w, "; ");
    size_t n = end ? (size_t)(end - w) : strlen(w);
    json_array_append_new(warnings, json_stringn(w, n));
    w += n + (end ? 2 : 0);
  }
  json_t *o = json_object();
  const struct {
    const char *key;
    json_t *v;
  } f[] = {
    { "schema", json_integer(QMIG_REPORT_SCHEMA) },
    { "qmig_version", json_string(QMIG_VERSION) },
    { "outcome", json_integer(r->outcome) },
    { "outcome_name", json_string(outcomes[r->outcome]) },
    { "status", json_string(r->status) },
    { "error", json_string(r->error) },
    { "error_code", json_string(qmig_error_code_name(m->err_code)) },
    { "failed_state", json_string(r->failed_state) },
    { "final_state", json_string(qmig_state_name(m->state)) },
    { "warnings", warnings },
    { "src", json_pack("{s:s?,s:s}", "qmp", m->cfg.src, "qemu_version", r->src_version) },
    { "dst", json_pack("{s:s?,s:s}", "qmp", m->cfg.dst, "qemu_version", r->dst_version) },
    { "data_uri", json_string(r->data_uri) },
    { "config", config_json(m) },
    { "setup_ms", num(r->setup_ms) },
    { "total_ms", num(r->total_ms) },
    { "qemu_downtime_ms", num(r->qemu_downtime_ms) },
    { "stop_to_resume_pause_ms", num(r->pause_ms) },
    { "guest_stall_ms", num(r->guest_stall_ms) },
    { "heartbeat", heart },
    { "transferred_bytes", json_integer((json_int_t)r->transferred_bytes) },
    { "ram_total_bytes", json_integer((json_int_t)r->total_bytes) },
    { "throughput_bytes_per_s", num(r->throughput_bytes_per_s) },
    { "dst_tail_ms", num(r->dst_tail_ms) },
    { "wall_ms", num(r->wall_ms) },
    { "engine_overhead_ms", num(r->engine_overhead_ms) },
    { "qmig_cpu_s", num(r->cpu_s) },
    { "qmig_cpu_stream_s", num(r->cpu_stream_s) },
    { "passes", passes },
  };
  for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
    json_object_set_new(o, f[i].key, f[i].v ? f[i].v : json_null());
  eng_sections_json(&m->sec, o);
  char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  json_decref(o);
  return s;
}
