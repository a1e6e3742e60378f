/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* run.c - qmig_run(), qmig_check() and the phases before the stream moves:
 * connect, probe, configure, migrate-incoming (the destination's side of
 * connect and incoming through the transport session, engine/session.h).
 * Nothing here touches the source guest's run state; a failure in these
 * phases leaves the source exactly as it was. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errbuf.h"
#include "engine/internal.h"
#include "engine/probe.h"
#include "engine/mirror.h"
#include "engine/session.h"

int eng_connect(struct qmig_migration *m)
{
  char e[512];
  /* Both addresses first: a refused one stops us before any connection. */
  if (eng_qmp_addr_check(m, "source", m->cfg.src, e, sizeof e) < 0 ||
      m->session->check_dst(m, e, sizeof e) < 0)
    return eng_errorc(m, QMIG_E_OPTION, "%s", e);
  m->src = eng_qmp_connect(m, "source", m->cfg.src, e, sizeof e);
  if (!m->src)
    return eng_errorf(m, "%s", e);
  return m->session->connect_dst(m);
}

/* State of capability `cap` in a query-migrate-capabilities result:
 * 1 on, 0 off, -1 unknown to that QEMU. */
static int cap_state(json_t *caps, const char *cap)
{
  size_t i;
  json_t *v;
  json_array_foreach(caps, i, v)
  {
    const char *n = json_string_value(json_object_get(v, "capability"));
    if (n && strcmp(n, cap) == 0)
      return json_is_true(json_object_get(v, "state"));
  }
  return -1;
}

struct cap_want {
  const char *name;
  bool on;
};

/* The capabilities qmig manages, always set explicitly (on or off) so a
 * previous run on the same QEMU cannot leak settings into this one. */
static size_t wanted_caps(const struct qmig_migration *m, struct cap_want *w)
{
  const struct eng_config *c = &m->cfg;
  bool ack = eng_feature_used(m, ENG_FEAT_SWITCHOVER_ACK);
  size_t n = 0;
  w[n++] = (struct cap_want){ "events", true };
  w[n++] = (struct cap_want){ "multifd", c->stream.multifd_channels > 0 };
  w[n++] = (struct cap_want){ "xbzrle", c->stream.xbzrle };
  w[n++] = (struct cap_want){ "auto-converge", c->policy.auto_converge };
  w[n++] = (struct cap_want){ "compress", false };
  w[n++] = (struct cap_want){ "postcopy-ram", c->policy.postcopy };
  w[n++] = (struct cap_want){ "pause-before-switchover", eng_mirror_wanted(c) };
  w[n++] = (struct cap_want){ "zero-copy-send", false };
  w[n++] = (struct cap_want){ "block", false };
  w[n++] = (struct cap_want){ "release-ram", false };
  /* Newer features (features.c): set only on a QEMU that has them. */
  w[n++] = (struct cap_want){ "return-path", ack };
  w[n++] = (struct cap_want){ "switchover-ack", ack };
  w[n++] = (struct cap_want){ "postcopy-preempt", eng_feature_used(m, ENG_FEAT_POSTCOPY_PREEMPT) };
  w[n++] = (struct cap_want){ "dirty-limit", eng_feature_used(m, ENG_FEAT_DIRTY_LIMIT) };
  w[n++] = (struct cap_want){ "x-ignore-shared", c->stream.ignore_shared };
  return n;
}

/* Probe one side's capabilities and parameters against the options; the
 * capabilities are kept in *caps_out for eng_configure. */
static int check_side(struct qmig_migration *m, struct qmp_conn *c, json_t **caps_out)
{
  json_t *caps = NULL, *params = NULL;
  if (qmp_cmd(c, &caps, QMP_TIMEOUT_DEFAULT, "query-migrate-capabilities", NULL) < 0 ||
      qmp_cmd(c, &params, QMP_TIMEOUT_DEFAULT, "query-migrate-parameters", NULL) < 0) {
    json_decref(caps);
    return eng_errorf(m, "%s", qmp_error(c));
  }
  const struct qmp_version *v = qmp_version(c);
  struct cap_want w[24];
  size_t n = wanted_caps(m, w);
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++)
    if (w[i].on && cap_state(caps, w[i].name) < 0)
      rc = eng_errorc(m, QMIG_E_UNSUPPORTED, "%s QEMU %d.%d.%d has no migration capability '%s'",
                      qmp_name(c), v->major, v->minor, v->micro, w[i].name);
  static const struct {
    const char *param;
    int need;
  } pn[] = {
    { "multifd-compression", 1 },
    { "tls-creds", 2 },
    { "tls-hostname", 2 },
  };
  for (size_t i = 0; i < sizeof pn / sizeof pn[0] && rc == 0; i++) {
    bool needed = (pn[i].need == 1 && m->cfg.stream.multifd_compression) ||
                  (pn[i].need == 2 && m->cfg.tls.kind != ENG_TLS_NONE);
    if (needed && !json_object_get(params, pn[i].param))
      rc = eng_errorc(m, QMIG_E_UNSUPPORTED, "%s QEMU %d.%d.%d has no migration parameter '%s'",
                      qmp_name(c), v->major, v->minor, v->micro, pn[i].param);
  }
  json_decref(params);
  if (rc < 0)
    json_decref(caps);
  else
    *caps_out = caps;
  return rc;
}

/* QEMU < 9.0 under TCG loses dirty pages when a RAM block is a multiple of
 * 256 KiB (fixed by 03bfc2188f; docs/DESIGN.md).  Base memory stands in for
 * the RAM block.  Only a warning: the user may know better. */
static void warn_tcg_dirty_bug(struct qmig_migration *m)
{
  const struct qmp_version *v = qmp_version(m->src);
  json_t *kvm = NULL, *mem = NULL;
  if (v->major >= 9 || qmp_cmd(m->src, &kvm, QMP_TIMEOUT_DEFAULT, "query-kvm", NULL) < 0)
    return;
  bool tcg = !json_is_true(json_object_get(kvm, "enabled"));
  json_decref(kvm);
  if (!tcg || qmp_cmd(m->src, &mem, QMP_TIMEOUT_DEFAULT, "query-memory-size-summary", NULL) < 0)
    return;
  json_int_t base = json_integer_value(json_object_get(mem, "base-memory"));
  json_decref(mem);
  if (base > 0 && base % (256 << 10) == 0)
    eng_warn(m, "QEMU < 9.0 under TCG with RAM a multiple of 256 KiB can lose dirty pages "
                "(QEMU bug, fixed upstream by 03bfc2188f): use KVM or QEMU >= 9.0, or RAM 8 KiB "
                "off the multiple (-m SIZE_IN_KIB+8K) at a cost: QEMU then syncs the dirty "
                "bitmap page by page, which freezes the guest at setup and slows every sync "
                "in proportion to RAM (about 0.5 s per GiB under TCG)");
}

int eng_probe(struct qmig_migration *m)
{
  char s[64], ms[64];
  const struct qmp_version *sv = qmp_version(m->src), *dv = qmp_version(m->dst);
  snprintf(m->report.src_version, sizeof m->report.src_version, "%d.%d.%d%s%s", sv->major,
           sv->minor, sv->micro, sv->package[0] ? " " : "", sv->package);
  snprintf(m->report.dst_version, sizeof m->report.dst_version, "%d.%d.%d%s%s", dv->major,
           dv->minor, dv->micro, dv->package[0] ? " " : "", dv->package);

  if (eng_status(m, m->src, "query-status", s, sizeof s) < 0 ||
      eng_status(m, m->src, "query-migrate", ms, sizeof ms) < 0)
    return -1;
  if (strcmp(s, "running") != 0 && strcmp(s, "paused") != 0)
    return eng_errorc(m, QMIG_E_PREFLIGHT,
                      "source guest is '%s', not running or paused: nothing to migrate", s);
  char hint[700];
  eng_recover_hint(m, hint, sizeof hint);
  if (strcmp(ms, "none") && strcmp(ms, "completed") && strcmp(ms, "failed") &&
      strcmp(ms, "cancelled"))
    return eng_errorc(m, QMIG_E_PREFLIGHT, "source already has a migration in state '%s'%s", ms,
                      hint);
  m->facts.src_was_running = strcmp(s, "running") == 0;

  json_t *dm = NULL;
  if (eng_status(m, m->dst, "query-status", s, sizeof s) < 0 ||
      qmp_cmd(m->dst, &dm, QMP_TIMEOUT_DEFAULT, "query-migrate", NULL) < 0)
    return m->dst && qmp_error(m->dst)[0] ? eng_errorf(m, "%s", qmp_error(m->dst)) : -1;
  snprintf(ms, sizeof ms, "%s", json_string_value(json_object_get(dm, "status")) ?: "none");
  bool listening = json_object_get(dm, "socket-address") != NULL;
  json_decref(dm);
  if (strcmp(s, "inmigrate") != 0)
    return eng_errorf(m,
                      "destination is '%s', not waiting for a migration (start it with "
                      "-incoming defer)",
                      s);
  if (strcmp(ms, "none") != 0)
    return eng_errorc(m, QMIG_E_PREFLIGHT,
                      "destination already has an incoming migration in state '%s'%s", ms, hint);
  if (listening)
    return eng_errorf(m,
                      "destination already listens for an incoming migration "
                      "(migrate-incoming was issued)%s",
                      hint);

  warn_tcg_dirty_bug(m);
  if (check_side(m, m->src, &m->caps[0]) < 0 || check_side(m, m->dst, &m->caps[1]) < 0 ||
      eng_features_choose(m) < 0)
    return -1;
  return eng_disks_probe(m);
}

/* Set the managed capabilities that are not already as wanted (QEMU 7.2
 * spends ~0.6 ms per listed capability; probing read the current ones). */
static int set_caps(struct qmig_migration *m, struct qmp_conn *c, json_t *caps)
{
  struct cap_want w[24];
  size_t n = wanted_caps(m, w);
  json_t *list = json_array();
  for (size_t i = 0; i < n; i++) {
    int now = cap_state(caps, w[i].name);
    if (now >= 0 && now != (int)w[i].on)
      json_array_append_new(list,
                            json_pack("{s:s,s:b}", "capability", w[i].name, "state", w[i].on));
  }
  if (json_array_size(list) == 0) {
    json_decref(list);
    return 0;
  }
  if (qmp_cmd(c, NULL, QMP_TIMEOUT_DEFAULT, "migrate-set-capabilities", "{s:o}", "capabilities",
              list) < 0)
    return eng_errorf(m, "%s", qmp_error(c));
  return 0;
}

/* Create (or re-create) the TLS credentials object on one side. */
static int add_tls(struct qmig_migration *m, struct qmp_conn *c, bool server)
{
  const struct eng_config *cf = &m->cfg;
  const char *dir = server && cf->tls.dst_dir ? cf->tls.dst_dir : cf->tls.dir;
  /* A previous run may have left ours: remove it (error ignored: absent). */
  if (qmp_cmd(c, NULL, QMP_TIMEOUT_DEFAULT, "object-del", "{s:s}", "id", ENG_TLS_ID) < 0 &&
      qmp_broken(c))
    return eng_errorf(m, "%s", qmp_error(c));
  json_t *a;
  if (cf->tls.kind == ENG_TLS_X509)
    a = json_pack("{s:s,s:s,s:s,s:s,s:b}", "qom-type", "tls-creds-x509", "id", ENG_TLS_ID, "dir",
                  dir, "endpoint", server ? "server" : "client", "verify-peer", 1);
  else {
    a = json_pack("{s:s,s:s,s:s,s:s}", "qom-type", "tls-creds-psk", "id", ENG_TLS_ID, "dir", dir,
                  "endpoint", server ? "server" : "client");
    if (!server)
      json_object_set_new(a, "username", json_string(cf->tls.psk_user ? cf->tls.psk_user : "qemu"));
  }
  if (qmp_execute(c, "object-add", a, NULL, QMP_TIMEOUT_DEFAULT) < 0)
    return eng_errorf(m, "%s (TLS credentials in %s)", qmp_error(c), dir);
  return 0;
}

static int set_params(struct qmig_migration *m, struct qmp_conn *c, bool source)
{
  const struct eng_config *cf = &m->cfg;
  json_t *p = json_object();
  if (cf->stream.multifd_channels)
    json_object_set_new(p, "multifd-channels", json_integer(cf->stream.multifd_channels));
  if (cf->stream.multifd_compression)
    json_object_set_new(p, "multifd-compression", json_string(cf->stream.multifd_compression));
  json_object_set_new(p, "tls-creds", json_string(cf->tls.kind != ENG_TLS_NONE ? ENG_TLS_ID : ""));
  json_object_set_new(p, "tls-hostname", json_string(cf->tls.hostname ? cf->tls.hostname : ""));
  if (source) {
    /* 0 = unlimited: QEMU's default (128 MiB/s) throttles, so set it high. */
    uint64_t bw = cf->stream.max_bandwidth ? cf->stream.max_bandwidth : UINT64_C(1) << 40;
    json_object_set_new(p, "max-bandwidth", json_integer((json_int_t)bw));
    json_object_set_new(p, "downtime-limit",
                        json_integer((json_int_t)cf->stream.downtime_limit_ms));
    if (cf->policy.postcopy)
      json_object_set_new(p, "max-postcopy-bandwidth",
                          json_integer((json_int_t)cf->policy.max_postcopy_bandwidth));
    if (cf->stream.xbzrle)
      json_object_set_new(p, "xbzrle-cache-size",
                          json_integer((json_int_t)cf->stream.xbzrle_cache_size));
    if (cf->policy.throttle_initial >= 0)
      json_object_set_new(p, "cpu-throttle-initial", json_integer(cf->policy.throttle_initial));
    if (cf->policy.throttle_increment >= 0)
      json_object_set_new(p, "cpu-throttle-increment", json_integer(cf->policy.throttle_increment));
    if (cf->policy.max_throttle >= 0)
      json_object_set_new(p, "max-cpu-throttle", json_integer(cf->policy.max_throttle));
    if (cf->policy.vcpu_dirty_limit)
      json_object_set_new(p, "vcpu-dirty-limit", json_integer(cf->policy.vcpu_dirty_limit));
  }
  if (qmp_execute(c, "migrate-set-parameters", p, NULL, QMP_TIMEOUT_DEFAULT) < 0)
    return eng_errorf(m, "%s", qmp_error(c));
  return 0;
}

int eng_configure(struct qmig_migration *m)
{
  /* Destination first: multifd must be set there before migrate-incoming. */
  if (set_caps(m, m->dst, m->caps[1]) < 0 || set_caps(m, m->src, m->caps[0]) < 0)
    return -1;
  if (m->cfg.tls.kind != ENG_TLS_NONE &&
      (add_tls(m, m->dst, true) < 0 || add_tls(m, m->src, false) < 0))
    return -1;
  return set_params(m, m->dst, false) < 0 || set_params(m, m->src, true) < 0 ? -1 : 0;
}

int eng_incoming(struct qmig_migration *m)
{
  return m->session->incoming(m);
}

/* Probing ends with the preflight checks (all problems at once) and, when
 * asked, the dirty-rate prediction: still nothing changed. */
static int probe_all(struct qmig_migration *m)
{
  if (eng_probe(m) < 0)
    return -1;
  if (m->cfg.preflight && eng_preflight(m) < 0)
    return -1;
  return m->cfg.predict.on ? eng_predict(m) : 0;
}

/* Phases before `migrate`: a failure here moved nothing. */
static enum qmig_outcome setup(struct qmig_migration *m)
{
  static const struct {
    enum qmig_state st;
    int (*fn)(struct qmig_migration *);
  } phases[] = {
    { QMIG_S_CONNECTING, eng_connect },    { QMIG_S_PROBING, probe_all },
    { QMIG_S_CONFIGURING, eng_configure }, { QMIG_S_MIRRORING, eng_mirror_start },
    { QMIG_S_INCOMING, eng_incoming },
  };
  for (size_t i = 0; i < sizeof phases / sizeof phases[0]; i++) {
    if (phases[i].st == QMIG_S_MIRRORING && !m->mirror)
      continue; /* no disk to copy */
    eng_set_state(m, phases[i].st, NULL);
    if (atomic_load(&m->cancel_requested))
      eng_errorc(m, QMIG_E_CANCELLED, "cancelled before the migration started");
    else if (phases[i].fn(m) == 0)
      continue;
    return QMIG_NOT_STARTED;
  }
  return QMIG_MIGRATED;
}

/* Connect, probe and run the preflight checks; change nothing. */
enum qmig_outcome qmig_check(struct qmig_migration *m)
{
  enum qmig_outcome out = QMIG_MIGRATED;
  if (eng_begin(m) < 0)
    return QMIG_USAGE;
  m->cfg.preflight = true;
  if (eng_config_check(m) < 0)
    out = QMIG_USAGE;
  else {
    eng_set_state(m, QMIG_S_CONNECTING, NULL);
    if (eng_connect(m) < 0)
      out = QMIG_NOT_STARTED;
    else {
      eng_set_state(m, QMIG_S_PROBING, NULL);
      if (probe_all(m) < 0)
        out = QMIG_NOT_STARTED;
    }
  }
  if (out != QMIG_MIGRATED)
    eng_set_state(m, QMIG_S_FAILED, m->err);
  return eng_end(m, out);
}

enum qmig_outcome qmig_run(struct qmig_migration *m)
{
  if (eng_begin(m) < 0)
    return QMIG_USAGE;
  enum qmig_outcome out;
  /* A destination made from the source's definition (update.c). */
  bool spawn = m->cfg.spawn.on || m->cfg.spawn.update;
  if (spawn && eng_spawn_config_check(m) < 0) {
    out = QMIG_USAGE;
    eng_set_state(m, QMIG_S_FAILED, m->err);
    goto done;
  }
  int spawned = spawn ? eng_update_begin(m) : 0;
  if (spawned < 0) {
    out = QMIG_NOT_STARTED;
    eng_set_state(m, QMIG_S_FAILED, m->err);
    goto done;
  }
  if (spawned > 0) {
    out = eng_update_cpr(m);
    goto done;
  }
  if (eng_config_check(m) < 0) {
    out = QMIG_USAGE;
    eng_set_state(m, QMIG_S_FAILED, m->err);
    goto done;
  }
  if (m->cfg.src_serial) {
    char e[512];
    m->hb = eng_hb_start(m->cfg.src_serial, m->cfg.dst_serial,
                         (int64_t)eng_stall_threshold_ms(&m->cfg) * 1000000, e, sizeof e);
    if (!m->hb) {
      eng_errorf(m, "heartbeats: %s", e);
      eng_set_state(m, QMIG_S_FAILED, m->err);
      out = QMIG_NOT_STARTED;
      goto done;
    }
  }
  if (m->cfg.probe.spec) { /* from before `migrate` to after the resume */
    char e[512];
    const struct eng_probe_cfg *pc = &m->cfg.probe;
    m->probe = eng_probe_start(pc->spec, pc->netns, pc->rate_hz, pc->gap_ms, e, sizeof e);
    if (!m->probe) {
      eng_errorf(m, "%s", e);
      eng_set_state(m, QMIG_S_FAILED, m->err);
      out = QMIG_NOT_STARTED;
      goto done;
    }
    /* A reply before `migrate` (at most probe-wait s): without one the
     * switchover's gap has no start (a guest that has not yet answered ARP
     * retries only after a second), and the report would show none. */
    eng_probe_settle(m->probe, 0, 0, eng_mono_ns() + (int64_t)pc->wait_s * 1000000000);
  }
  out = setup(m);
  if (out == QMIG_NOT_STARTED)
    eng_mirror_abort(m); /* the source's disks were only read */
  if (out == QMIG_NOT_STARTED && !m->facts.incoming_issued) {
    m->session->blame(m);
    /* Nothing moved and nothing was started: both QEMUs are as they were
     * (capabilities may have been set, which changes no guest state). */
    if (m->mirror && m->mirror->src_left) /* e.g. NBD requests stuck on a dead link */
      errbuf_appendf(m->err, sizeof m->err,
                     "nothing moved, but the disk copy could not be "
                     "removed from the source (its job waits for the NBD connection to fail)");
    else
      errbuf_appendf(m->err, sizeof m->err, "nothing moved, the source is untouched");
    if (m->state != QMIG_S_CONNECTING && m->state != QMIG_S_PROBING)
      eng_set_state(m, QMIG_S_CANCELLING, m->err);
    eng_set_state(m, QMIG_S_FAILED, m->err);
    goto done;
  } else if (out == QMIG_NOT_STARTED) {
    /* migrate-incoming was issued: the destination listens for a stream
     * that will not come; recovery stops it. */
    m->session->blame(m);
    eng_set_state(m, QMIG_S_CANCELLING, m->err);
    enum qmig_outcome r = eng_recover(m);
    out = r == QMIG_NOT_MIGRATED ? QMIG_NOT_STARTED : r;
    goto done;
  }
  eng_set_state(m, QMIG_S_ACTIVE, NULL);
  int rc = eng_follow(m);
  if (rc == 0) {
    eng_set_state(m, QMIG_S_COMPLETED, NULL);
    out = QMIG_MIGRATED;
  } else {
    m->session->blame(m);
    eng_set_state(m, QMIG_S_CANCELLING, m->err);
    /* Recovery first: a source paused before the switchover resumes without
     * waiting for the disk jobs to be cancelled and NBD torn down. */
    out = eng_recover(m);
    eng_mirror_abort(m);
  }
done:
  eng_update_end(m, out);
  return eng_end(m, out);
}
