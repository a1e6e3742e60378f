/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* qmpfilter.c - the agent's QMP allow-list: one table, one row per command
 * with the reason qmig's engine needs it (or the reason it is refused), and
 * a check of the arguments for the rows that name sockets, files or
 * objects.  Everything not in the table is refused: the relay forwards only
 * what the engine sends to a destination (the engine sources: grep for m->dst and
 * the preflight's "both sides" queries).  Pure: see qmpfilter.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "agent/qmpfilter.h"
#include "common/errbuf.h"

typedef bool check_fn(const json_t *args, const struct agt_qmp_rules *r, char *why, size_t len);

static bool deny(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool deny(char *why, size_t len, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  errbuf_vsetf(why, len, fmt, ap);
  va_end(ap);
  return false;
}

/* Every argument is one of `keys` (NULL-terminated). */
static bool only(const json_t *args, const char *const *keys, char *why, size_t len)
{
  const char *k;
  const json_t *v;
  json_object_foreach((json_t *)args, k, v)
  {
    const char *const *p = keys;
    while (*p && strcmp(*p, k) != 0)
      p++;
    if (!*p)
      return deny(why, len, "argument '%s' is not one qmig sends", k);
  }
  return true;
}

static const char *str(const json_t *args, const char *key)
{
  return json_string_value(json_object_get(args, key));
}

static bool no_args(const json_t *args, const struct agt_qmp_rules *r, char *why, size_t len)
{
  (void)r;
  static const char *const k[] = { NULL };
  return only(args, k, why, len);
}

static bool any_args(const json_t *args, const struct agt_qmp_rules *r, char *why, size_t len)
{
  (void)args, (void)r, (void)why, (void)len;
  return true;
}

/* A migration URI must be the session's own socket; say what else it is. */
static bool own_uri(const char *uri, const struct agt_qmp_rules *r, char *why, size_t len)
{
  static const char *const kinds[] = { "exec:", "file:", "fd:", "tcp:", "rdma:", "vsock:" };
  if (!uri)
    return deny(why, len, "uri missing or not a string (only 'uri' is accepted)");
  if (r->incoming && r->incoming[0] && strcmp(uri, r->incoming) == 0)
    return true;
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
    if (strncmp(uri, kinds[i], strlen(kinds[i])) == 0)
      return deny(why, len, "uri '%.80s': %s addresses are refused; only the session's socket %s",
                  uri, kinds[i], r->incoming && r->incoming[0] ? r->incoming : "(none)");
  return deny(why, len, "uri '%.80s' is not the session's socket %s", uri,
              r->incoming && r->incoming[0] ? r->incoming : "(none)");
}

static bool incoming(const json_t *args, const struct agt_qmp_rules *r, char *why, size_t len)
{
  static const char *const k[] = { "uri", NULL };
  return only(args, k, why, len) && own_uri(str(args, "uri"), r, why, len);
}

/* tls-creds, where a command may name one: only the engine's object. */
static bool creds_ok(const json_t *args, const char *key, char *why, size_t len)
{
  const json_t *v = json_object_get(args, key);
  if (!v)
    return true;
  const char *s = json_string_value(v);
  if (!s || (s[0] && strcmp(s, AGT_QMP_TLS_ID) != 0))
    return deny(why, len, "%s may only name qmig's credentials object '%s'", key, AGT_QMP_TLS_ID);
  return true;
}

static bool set_caps(const json_t *args, const struct agt_qmp_rules *r, char *why, size_t len)
{
  (void)r;
  /* engine/run.c wanted_caps(): the capabilities qmig manages. */
  static const char *const known[] = { "events",
                                       "multifd",
                                       "xbzrle",
                                       "auto-converge",
                                       "compress",
                                       "postcopy-ram",
                                       "pause-before-switchover",
                                       "zero-copy-send",
                                       "block",
                                       "release-ram",
                                       "return-path",
                                       "switchover-ack",
                                       "postcopy-preempt",
                                       "dirty-limit",
                                       NULL };
  static const char *const k[] = { "capabilities", NULL };
  if (!only(args, k, why, len))
    return false;
  const json_t *caps = json_object_get(args, "capabilities"), *c;
  size_t i;
  if (!json_is_array(caps))
    return deny(why, len, "capabilities is not a list");
  json_array_foreach((json_t *)caps, i, c)
  {
    const char *n = str(c, "capability");
    const char *const *p = known;
    while (n && *p && strcmp(*p, n) != 0)
      p++;
    if (!n || !*p)
      return deny(why, len, "capability '%.60s' is not one qmig manages", n ? n : "?");
    static const char *const ck[] = { "capability", "state", NULL };
    if (!only(c, ck, why, len) || !json_is_boolean(json_object_get(c, "state")))
      return deny(why, len, "capability '%.60s': only {capability, state: bool}", n);
  }
  return true;
}

static bool set_params(const json_t *args, const struct agt_qmp_rules *r, char *why, size_t len)
{
  (void)r;
  /* engine/run.c set_params(), both sides' keys, and announce.c's
   * announce-rounds: numbers and names only. */
  static const char *const k[] = {
    "multifd-channels",
    "multifd-compression",
    "tls-creds",
    "tls-hostname",
    "max-bandwidth",
    "downtime-limit",
    "max-postcopy-bandwidth",
    "xbzrle-cache-size",
    "cpu-throttle-initial",
    "cpu-throttle-increment",
    "max-cpu-throttle",
    "announce-rounds",
    NULL,
  };
  return only(args, k, why, len) && creds_ok(args, "tls-creds", why, len);
}

/* d is allowed or a directory under it: absolute, no "." or ".." component,
 * no empty one (so "/a/b/../../etc" cannot climb out); trailing slashes
 * ignored. */
static bool inside(const char *d, const char *allowed)
{
  size_t n = strlen(d), m = strlen(allowed);
  while (n > 1 && d[n - 1] == '/')
    n--;
  while (m > 1 && allowed[m - 1] == '/')
    m--;
  if (d[0] != '/')
    return false;
  for (const char *p = d; n > 1 && p < d + n;) { /* each component after a '/' */
    const char *c = p + 1, *e = memchr(c, '/', (size_t)(d + n - c));
    size_t l = e ? (size_t)(e - c) : (size_t)(d + n - c);
    if (l == 0 || (l == 1 && c[0] == '.') || (l == 2 && c[0] == '.' && c[1] == '.'))
      return false;
    p = c + l;
  }
  return strncmp(d, allowed, m) == 0 && (n == m || (m == 1 ? true : d[m] == '/'));
}

static bool obj_add(const json_t *args, const struct agt_qmp_rules *r, char *why, size_t len)
{
  static const char *const k[] = { "qom-type",    "id",       "dir", "endpoint",
                                   "verify-peer", "username", NULL };
  const char *type = str(args, "qom-type"), *id = str(args, "id"), *dir = str(args, "dir");
  const char *ep = str(args, "endpoint");
  if (!type || (strcmp(type, "tls-creds-psk") && strcmp(type, "tls-creds-x509")))
    return deny(why, len, "qom-type '%.60s' is not tls-creds-psk or tls-creds-x509",
                type ? type : "?");
  if (!only(args, k, why, len))
    return false;
  if (!id || strcmp(id, AGT_QMP_TLS_ID) != 0)
    return deny(why, len, "id must be qmig's '%s'", AGT_QMP_TLS_ID);
  if (!ep || strcmp(ep, "server") != 0)
    return deny(why, len, "endpoint must be server (the destination's side)");
  if (!r->tls_dir || !r->tls_dir[0])
    return deny(why, len, "the agent has no qemu-tls-dir (nor tls-dir/tls-psk-file) to allow");
  if (!dir || !inside(dir, r->tls_dir))
    return deny(why, len, "dir '%.100s' is not the agent's qemu-tls-dir %.100s or under it",
                dir ? dir : "?", r->tls_dir);
  return true;
}

static bool obj_del(const json_t *args, const struct agt_qmp_rules *r, char *why, size_t len)
{
  (void)r;
  static const char *const k[] = { "id", NULL };
  const char *id = str(args, "id");
  if (!only(args, k, why, len))
    return false;
  if (!id || strcmp(id, AGT_QMP_TLS_ID) != 0)
    return deny(why, len, "id must be qmig's '%s'", AGT_QMP_TLS_ID);
  return true;
}

/* nbd-server-start's addr: the legacy {type, data: {path}} or the flat
 * {type, path} form, unix, at the session's NBD socket. */
static bool nbd_start(const json_t *args, const struct agt_qmp_rules *r, char *why, size_t len)
{
  static const char *const k[] = { "addr", "tls-creds", NULL };
  if (!only(args, k, why, len) || !creds_ok(args, "tls-creds", why, len))
    return false;
  const json_t *a = json_object_get(args, "addr");
  const json_t *data = json_object_get(a, "data");
  const char *type = str(a, "type"), *path = str(data ? data : a, "path");
  if (!type || strcmp(type, "unix") != 0)
    return deny(why, len, "addr type '%.40s' is not unix (only the session's NBD socket)",
                type ? type : "?");
  static const char *const ak[] = { "type", "data", "path", NULL };
  static const char *const dk[] = { "path", NULL };
  if (!only(a, ak, why, len) || (data && !only(data, dk, why, len)))
    return false;
  if (!path || !r->nbd || !r->nbd[0] || strcmp(path, r->nbd) != 0)
    return deny(why, len, "addr path '%.100s' is not the session's NBD socket %s",
                path ? path : "?", r->nbd && r->nbd[0] ? r->nbd : "(none)");
  return true;
}

static bool export_add(const json_t *args, const struct agt_qmp_rules *r, char *why, size_t len)
{
  (void)r;
  static const char *const k[] = { "type", "id", "node-name", "name", "writable", NULL };
  const char *type = str(args, "type"), *id = str(args, "id");
  if (!type || strcmp(type, "nbd") != 0)
    return deny(why, len, "type '%.40s' is not nbd", type ? type : "?");
  if (!id || strncmp(id, "qmig-export-", 12) != 0)
    return deny(why, len, "id must be one of qmig's (qmig-export-N)");
  return only(args, k, why, len);
}

static bool export_del(const json_t *args, const struct agt_qmp_rules *r, char *why, size_t len)
{
  (void)r;
  static const char *const k[] = { "id", "mode", NULL };
  const char *id = str(args, "id");
  if (!id || strncmp(id, "qmig-export-", 12) != 0)
    return deny(why, len, "id must be one of qmig's (qmig-export-N)");
  return only(args, k, why, len);
}

static bool announce(const json_t *args, const struct agt_qmp_rules *r, char *why, size_t len)
{
  (void)r;
  static const char *const k[] = { "initial", "max", "rounds", "step", "id", NULL };
  return only(args, k, why, len);
}

static bool qmp_caps(const json_t *args, const struct agt_qmp_rules *r, char *why, size_t len)
{
  (void)r;
  static const char *const k[] = { "enable", NULL };
  return only(args, k, why, len);
}

static bool qom_get(const json_t *args, const struct agt_qmp_rules *r, char *why, size_t len)
{
  (void)r;
  static const char *const k[] = { "path", "property", NULL };
  return only(args, k, why, len);
}

/* check NULL: refused, `reason` is the rule.  Otherwise allowed when check
 * passes, `reason` is why the engine sends it.  prefix: name is a prefix. */
static const struct row {
  const char *name;
  bool prefix;
  check_fn *check;
  const char *reason;
} table[] = {
  { "qmp_capabilities", false, qmp_caps, "the QMP handshake (qmp/qmp.c)" },
  { "query-", true, any_args, "reads: probe, preflight, follow, disks, recover" },
  { "qom-get", false, qom_get, "preflight reads the machine type and vCPU properties" },
  { "migrate-set-capabilities", false, set_caps, "the capabilities qmig manages (run.c)" },
  { "migrate-set-parameters", false, set_params,
    "multifd, TLS object name and hostname (run.c); no URIs" },
  { "object-add", false, obj_add,
    "native/NBD TLS: qmig's tls-creds object, server side, dir in qemu-tls-dir" },
  { "object-del", false, obj_del, "removes qmig's tls-creds object before re-adding it" },
  { "migrate-incoming", false, incoming, "only the session's own incoming socket" },
  { "migrate-recover", false, incoming, "post-copy recovery, only to the session's socket" },
  { "nbd-server-start", false, nbd_start, "disk copy: only on the session's NBD socket" },
  { "nbd-server-stop", false, no_args, "disk copy teardown" },
  { "block-export-add", false, export_add, "disk copy: qmig's NBD exports of the target disks" },
  { "block-export-del", false, export_del, "disk copy teardown of qmig's exports" },
  { "announce-self", false, announce, "after switchover (announce.c)" },
  { "cont", false, no_args, "starts the destination guest (follow.c)" },
  { "quit", false, no_args, "recovery quits an unused destination (recover.c)" },
  { "migrate_cancel", false, no_args, "recovery" },
  /* Named refusals: the rule is more useful than "not in the list". */
  { "human-monitor-command", false, NULL, "HMP runs arbitrary monitor commands" },
  { "migrate", false, NULL, "the destination never migrates out (any URI)" },
  { "device_add", false, NULL, "device changes are not part of a migration" },
  { "device_del", false, NULL, "device changes are not part of a migration" },
  { "blockdev-", true, NULL, "block graph changes are not needed on the destination" },
  { "block-job-", true, NULL, "block jobs run on the source only" },
  { "drive-", true, NULL, "block graph changes are not needed on the destination" },
  { "getfd", false, NULL, "passes file descriptors" },
  { "add-fd", false, NULL, "passes file descriptors" },
  { "closefd", false, NULL, "passes file descriptors" },
  { "qom-set", false, NULL, "writes QOM properties" },
  { "dump-guest-memory", false, NULL, "writes guest memory to a file" },
  { "screendump", false, NULL, "writes a file" },
  { "pmemsave", false, NULL, "writes guest memory to a file" },
  { "memsave", false, NULL, "writes guest memory to a file" },
  { "chardev-", true, NULL, "chardevs can open files and sockets" },
  { "netdev_add", false, NULL, "network backends can run scripts" },
};

const char *agt_qmp_name(const json_t *cmd)
{
  const char *n = json_string_value(json_object_get(cmd, "execute"));
  if (!n)
    n = json_string_value(json_object_get(cmd, "exec-oob"));
  return n ? n : "?";
}

bool agt_qmp_check(const json_t *cmd, const struct agt_qmp_rules *r, char *why, size_t len)
{
  if (!json_is_object(cmd))
    return deny(why, len, "QMP input must be a JSON object");
  if (json_object_get(cmd, "exec-oob"))
    return deny(why, len, "out-of-band execution is not used by qmig");
  const char *name = json_string_value(json_object_get(cmd, "execute"));
  if (!name)
    return deny(why, len, "no command ('execute' missing or not a string)");
  const char *k;
  const json_t *v;
  json_object_foreach(
      (json_t *)cmd, k,
      v) if (strcmp(k, "execute") && strcmp(k, "arguments") &&
             strcmp(k, "id")) return deny(why, len,
                                          "member '%.40s' is not execute, arguments or id", k);
  const json_t *args = json_object_get(cmd, "arguments");
  json_t *empty = NULL;
  if (args && !json_is_object(args))
    return deny(why, len, "arguments is not an object");
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
    const struct row *t = &table[i];
    if (t->prefix ? strncmp(name, t->name, strlen(t->name)) != 0 : strcmp(name, t->name) != 0)
      continue;
    if (!t->check)
      return deny(why, len, "%s", t->reason);
    if (!args)
      args = empty = json_object();
    bool ok = args && t->check(args, r, why, len);
    json_decref(empty);
    return ok;
  }
  return deny(why, len, "not a command qmig's engine sends to a destination");
}
