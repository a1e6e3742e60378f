/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* features.c - QEMU's newer migration features, used when both QEMUs have
 * them: chosen from what probing read (query-migrate-capabilities and
 * query-migrate-parameters of each side), never from a version number.
 * What was used and what each side lacked goes to the report's config
 * ("qemu_features").  Capabilities QEMU removed upstream (compress, block:
 * gone in 9.1) are only ever sent to a QEMU that lists them, to switch
 * them off (run.c's set_caps skips a capability a side does not know). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/internal.h"

/* The features qmig uses when present, in report order. */
static const char *const feature_names[ENG_FEAT_N] = {
  [ENG_FEAT_SWITCHOVER_ACK] = "switchover-ack",
  [ENG_FEAT_POSTCOPY_PREEMPT] = "postcopy-preempt",
  [ENG_FEAT_DIRTY_LIMIT] = "dirty-limit",
  [ENG_FEAT_CHANNELS] = "channels",
  [ENG_FEAT_BLOCK_JOB_CHANGE] = "block-job-change",
  [ENG_FEAT_INCOMING_CHANNELS] = "incoming-channels",
};

/* Capability `cap` in a query-migrate-capabilities result: known or not. */
static bool has_cap(json_t *caps, const char *cap)
{
  return eng_json_find(caps, "capability", cap);
}

/* A feature asked for explicitly (`on`) that a side lacks: refused with
 * the side, its version and the capability. */
static int lacking(struct qmig_migration *m, enum eng_feature f)
{
  for (int s = 0; s < 2; s++) {
    if (!(m->features.lacks[s] & (1u << f)))
      continue;
    const struct qmp_version *v = qmp_version(s ? m->dst : m->src);
    return eng_errorf(m, "%s QEMU %d.%d.%d has no migration capability '%s'",
                      s ? "destination" : "source", v->major, v->minor, v->micro, feature_names[f]);
  }
  return 0;
}

int eng_features_choose(struct qmig_migration *m)
{
  struct eng_features *ft = &m->features;
  const struct eng_policy_cfg *p = &m->cfg.policy;
  for (int s = 0; s < 2; s++)
    for (int f = 0; f < ENG_FEAT_N; f++)
      if (!has_cap(m->caps[s], feature_names[f]))
        ft->lacks[s] |= 1u << f;
  bool both[ENG_FEAT_N];
  for (int f = 0; f < ENG_FEAT_N; f++)
    both[f] = !((ft->lacks[0] | ft->lacks[1]) & (1u << f));

  /* switchover-ack (QEMU 8.1+): the source switches over only once the
   * destination said it is ready (devices that load state early, such as
   * VFIO, say when).  Needs return-path on both sides.  auto: when both
   * have it. */
  if (p->switchover_ack == ENG_FEAT_ON && lacking(m, ENG_FEAT_SWITCHOVER_ACK) < 0)
    return -1;
  ft->used[ENG_FEAT_SWITCHOVER_ACK] =
      p->switchover_ack != ENG_FEAT_OFF && both[ENG_FEAT_SWITCHOVER_ACK];
  /* postcopy-preempt: post-copy's page requests on a channel of their
   * own, not queued behind the background push.  Asked for, with
   * post-copy (options.c checks both). */
  if (p->postcopy_preempt && lacking(m, ENG_FEAT_POSTCOPY_PREEMPT) < 0)
    return -1;
  ft->used[ENG_FEAT_POSTCOPY_PREEMPT] = p->postcopy_preempt;
  /* dirty-limit (QEMU 8.1+): converge by limiting each vCPU's dirty rate
   * instead of throttling the whole vCPU; QEMU itself needs KVM with a
   * dirty ring (-accel kvm,dirty-ring-size=N) and refuses it otherwise. */
  if (p->dirty_limit && lacking(m, ENG_FEAT_DIRTY_LIMIT) < 0)
    return -1;
  ft->used[ENG_FEAT_DIRTY_LIMIT] = p->dirty_limit;
  /* `migrate` with `channels` (QEMU 8.2+) instead of a URI string: the
   * source's schema says whether it takes one.  Only the source's command
   * matters; a schema that cannot be read counts as lacking it. */
  ft->lacks[1] &= ~(1u << ENG_FEAT_CHANNELS);
  struct eng_schema *schema = eng_schema_query(m->src);
  if (!schema && qmp_broken(m->src))
    return eng_errorf(m, "%s", qmp_error(m->src));
  if (eng_schema_cmd_has_arg(schema, "migrate", "channels"))
    ft->lacks[0] &= ~(1u << ENG_FEAT_CHANNELS);
  else
    ft->lacks[0] |= 1u << ENG_FEAT_CHANNELS;
  /* block-job-change (QEMU 8.2+) with the mirror's copy-mode: copy-mode
   * auto moves the running mirrors to write-blocking near the end
   * (mirror_mode.c).  Only the source runs the mirrors. */
  ft->lacks[1] &= ~(1u << ENG_FEAT_BLOCK_JOB_CHANGE);
  if (eng_schema_cmd_branch_member(schema, "block-job-change", "mirror", "copy-mode"))
    ft->lacks[0] &= ~(1u << ENG_FEAT_BLOCK_JOB_CHANGE);
  else
    ft->lacks[0] |= 1u << ENG_FEAT_BLOCK_JOB_CHANGE;
  eng_schema_free(schema);
  /* `migrate-incoming` with `channels` (QEMU 9.1+): the destination's
   * schema, the same way. */
  ft->lacks[0] &= ~(1u << ENG_FEAT_INCOMING_CHANNELS);
  schema = eng_schema_query(m->dst);
  if (!schema && qmp_broken(m->dst))
    return eng_errorf(m, "%s", qmp_error(m->dst));
  if (eng_schema_cmd_has_arg(schema, "migrate-incoming", "channels"))
    ft->lacks[1] &= ~(1u << ENG_FEAT_INCOMING_CHANNELS);
  else
    ft->lacks[1] |= 1u << ENG_FEAT_INCOMING_CHANNELS;
  eng_schema_free(schema);
  return 0; /* channels, block-job-change: used once sent */
}

json_t *eng_migrate_args(struct qmig_migration *m, const char *uri)
{
  json_t *addr = NULL;
  bool can = m->caps[0] && !(m->features.lacks[0] & (1u << ENG_FEAT_CHANNELS));
  if (can && !strncmp(uri, "tcp:", 4)) {
    char host[256], port[16];
    eng_split_tcp(uri, host, sizeof host, port, sizeof port);
    if (host[0] && port[0] && !strchr(port, ','))
      addr = json_pack("{s:s,s:s,s:s,s:s}", "transport", "socket", "type", "inet", "host", host,
                       "port", port);
  } else if (can && !strncmp(uri, "unix:", 5) && uri[5]) {
    addr = json_pack("{s:s,s:s,s:s}", "transport", "socket", "type", "unix", "path", uri + 5);
  }
  m->features.used[ENG_FEAT_CHANNELS] = addr != NULL;
  if (!addr)
    return json_pack("{s:s}", "uri", uri);
  return json_pack("{s:[{s:s,s:o}]}", "channels", "channel-type", "main", "addr", addr);
}

json_t *eng_incoming_args(struct qmig_migration *m, const char *uri)
{
  json_t *addr = NULL;
  bool can = m->caps[1] && !(m->features.lacks[1] & (1u << ENG_FEAT_INCOMING_CHANNELS));
  if (can && !strncmp(uri, "tcp:", 4)) {
    char host[256], port[64];
    eng_split_tcp(uri, host, sizeof host, port, sizeof port);
    char *to = strstr(port, ",to=");
    char *end = NULL;
    unsigned long hi = 0;
    if (to) {
      *to = '\0';
      hi = strtoul(to + 4, &end, 10);
    }
    bool ok = host[0] && port[0] && !strchr(port, ',') &&
              (!to || (end && !*end && hi > 0 && hi <= 65535));
    if (ok) {
      addr = json_pack("{s:s,s:s,s:s,s:s}", "transport", "socket", "type", "inet", "host", host,
                       "port", port);
      if (addr && to)
        json_object_set_new(addr, "to", json_integer((json_int_t)hi));
    }
  } else if (can && !strncmp(uri, "unix:", 5) && uri[5]) {
    addr = json_pack("{s:s,s:s,s:s}", "transport", "socket", "type", "unix", "path", uri + 5);
  }
  m->features.used[ENG_FEAT_INCOMING_CHANNELS] = addr != NULL;
  if (!addr)
    return json_pack("{s:s}", "uri", uri);
  return json_pack("{s:[{s:s,s:o}]}", "channels", "channel-type", "main", "addr", addr);
}

bool eng_feature_used(const struct qmig_migration *m, enum eng_feature f)
{
  return m->features.used[f];
}

bool eng_feature_src_has(const struct qmig_migration *m, enum eng_feature f)
{
  return m->caps[0] && !(m->features.lacks[0] & (1u << f));
}

void eng_feature_mark_used(struct qmig_migration *m, enum eng_feature f)
{
  m->features.used[f] = true;
}

json_t *eng_features_json(const struct qmig_migration *m)
{
  json_t *used = json_array(), *lacks[2] = { json_array(), json_array() };
  for (int f = 0; f < ENG_FEAT_N; f++) {
    if (m->features.used[f])
      json_array_append_new(used, json_string(feature_names[f]));
    for (int s = 0; s < 2; s++)
      if (m->features.lacks[s] & (1u << f))
        json_array_append_new(lacks[s], json_string(feature_names[f]));
  }
  return json_pack("{s:o,s:o,s:o,s:b}", "used", used, "src_lacks", lacks[0], "dst_lacks", lacks[1],
                   "probed", m->caps[0] && m->caps[1]);
}
