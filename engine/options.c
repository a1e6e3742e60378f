/* options.c - every migration option: its key, parser and help, in one table.
 * The CLI's long options and (later) scenario files use these keys. */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "engine/internal.h"

enum opt_type { T_STR, T_UINT, T_SIZE, T_BOOL, T_ENUM, T_PORTS, T_COMP, T_INT, T_AFTER };

struct opt {
  const char *key;
  enum opt_type type;
  size_t off;          /* offset into struct eng_config */
  uint64_t min, max;   /* for numbers */
  const char *help;    /* T_ENUM: starts "a|b|c:", the choices; the value is
                          stored as the index in an int */
};

#define O(f) offsetof(struct eng_config, f)
static const struct opt opts[] = {
  { "src", T_STR, O(src), 0, 0,
    "source QMP address: unix:PATH, tls:HOST:PORT (QEMU's TLS monitor), or tcp:HOST:PORT "
    "(loopback only unless insecure-qmp-tcp)" },
  { "dst", T_STR, O(dst), 0, 0, "destination QMP address: unix:PATH, tls:HOST:PORT or tcp:HOST:PORT" },
  { "qmp-tls-dir", T_STR, O(qmp.tls_dir), 0, 0,
    "x509 credentials for tls: QMP addresses: ca-cert.pem, client-cert.pem, client-key.pem" },
  { "qmp-tls-name", T_STR, O(qmp.tls_name), 0, 0,
    "name or IP QEMU's QMP certificate must carry (default: the host of the tls: address)" },
  { "insecure-qmp-tcp", T_BOOL, O(qmp.insecure_tcp), 0, 0,
    "on|off: accept a plain tcp: QMP address off loopback (unauthenticated, plaintext "
    "control of that QEMU; warned)" },
  { "lab", T_STR, O(lab), 0, 0,
    "use the lab pair in DIR: sets src, dst, serials, heartbeat (qmig_lab_apply(); "
    "qmig_set() only records DIR)" },
  { "data-uri", T_STR, O(stream.uri), 0, 0,
    "migration stream URI (tcp:HOST:PORT or unix:PATH); overrides data-host/data-port" },
  { "data-connect", T_STR, O(stream.connect), 0, 0,
    "URI the source sends the stream to when it differs from where the destination "
    "listens (a proxy such as stunnel between them; needs data-uri)" },
  { "data-host", T_STR, O(stream.host), 0, 0,
    "address the destination listens on for the stream (default: host of --dst, else 127.0.0.1)" },
  { "data-port", T_PORTS, 0, 1, 65535, "stream port or range LO-HI (default 49152-49215)" },
  { "max-bandwidth", T_SIZE, O(stream.max_bandwidth), 0, UINT64_C(1) << 50,
    "bytes/s with K/M/G suffix; 0 = unlimited (default)" },
  { "downtime-limit", T_UINT, O(stream.downtime_limit_ms), 1, 2000000, "ms (default 300)" },
  { "multifd-channels", T_UINT, O(stream.multifd_channels), 0, 255, "0 = multifd off (default)" },
  { "multifd-compression", T_COMP, O(stream.multifd_compression), 0, 0, "none|zlib|zstd (needs multifd)" },
  { "xbzrle", T_BOOL, O(stream.xbzrle), 0, 0, "on|off: XBZRLE delta compression" },
  { "xbzrle-cache-size", T_SIZE, O(stream.xbzrle_cache_size), 4096, UINT64_C(1) << 40,
    "bytes with K/M/G suffix (QEMU default 64M)" },
  { "auto-converge", T_BOOL, O(policy.auto_converge), 0, 0, "on|off: throttle vCPUs to converge" },
  { "cpu-throttle-initial", T_INT, O(policy.throttle_initial), 1, 99, "percent (QEMU default 20)" },
  { "cpu-throttle-increment", T_INT, O(policy.throttle_increment), 1, 99, "percent (QEMU default 10)" },
  { "max-cpu-throttle", T_INT, O(policy.max_throttle), 1, 99, "percent (QEMU default 99)" },
  { "tls", T_ENUM, O(tls.kind), 0, 0, "none|x509|psk: QEMU-native TLS on the stream" },
  { "tls-dir", T_STR, O(tls.dir), 0, 0,
    "credentials dir (x509: ca-cert.pem, server-*/client-*.pem; psk: keys.psk)" },
  { "tls-dst-dir", T_STR, O(tls.dst_dir), 0, 0, "credentials dir on the destination (default tls-dir)" },
  { "tls-hostname", T_STR, O(tls.hostname), 0, 0, "name to verify in the destination's x509 certificate" },
  { "tls-psk-user", T_STR, O(tls.psk_user), 0, 0, "PSK identity (default qemu)" },
  { "tunnel", T_STR, O(tunnel.agent), 0, 0,
    "HOST:PORT of a qmig agent on the destination host: QMP and the stream go through "
    "the tunnel (dst then optional; data-uri ignored)" },
  { "tunnel-tls", T_ENUM, O(tunnel.tls), 0, 0,
    "none|x509|psk: the tunnel's credential; control and QMP always go over TLS 1.3 with "
    "it (none needs tunnel-insecure-no-auth)" },
  { "tunnel-data", T_ENUM, O(tunnel.data), 0, 0,
    "tls|plain: migration and NBD channels over TLS 1.3 (default), or plaintext "
    "authenticated by the session (faster; readable and hijackable on the path)" },
  { "tunnel-insecure-no-auth", T_BOOL, O(tunnel.insecure), 0, 0,
    "on|off: tunnel without any credential (an agent run with --insecure-no-auth): "
    "anyone on the path can read, and anyone who can connect can use, the agent" },
  { "tunnel-tls-dir", T_STR, O(tunnel.tls_dir), 0, 0,
    "x509 credentials dir: ca-cert.pem, client-cert.pem, client-key.pem" },
  { "tunnel-peer-name", T_STR, O(tunnel.peer_name), 0, 0,
    "name or IP the agent's certificate must carry (default: the tunnel host)" },
  { "tunnel-psk-file", T_STR, O(tunnel.psk_file), 0, 0, "PSK file, lines IDENTITY:HEXKEY" },
  { "tunnel-psk-identity", T_STR, O(tunnel.psk_identity), 0, 0,
    "which PSK identity to use (default qemu)" },
  { "timeout", T_UINT, O(timeout_s), 0, 86400, "seconds for the whole migration, 0 = none (default 3600)" },
  { "qmp-timeout", T_UINT, O(qmp.timeout_ms), 100, 600000, "ms to wait for any QMP reply (default 10000)" },
  { "stall-timeout", T_UINT, O(stall_timeout_s), 0, 86400,
    "seconds without progress (ram.transferred) while active before cancelling: a dead "
    "link; 0 = never (default 30)" },
  { "poll-interval", T_UINT, O(poll_ms), 10, 10000, "ms between query-migrate samples (default 100)" },
  { "src-serial", T_STR, O(src_serial), 0, 0, "unix socket of the source guest's serial (heartbeats)" },
  { "dst-serial", T_STR, O(dst_serial), 0, 0, "unix socket of the destination guest's serial" },
  { "heartbeat-ms", T_UINT, O(heartbeat_ms), 1, 10000, "the guest's heartbeat period, for the report" },
  { "downtime-policy", T_ENUM, O(policy.kind), 0, 0,
    "fixed|stepped|doubling: raise downtime-limit up to max-downtime (stepped: over "
    "downtime-steps, one per downtime-step-delay; doubling: when remaining stops shrinking)" },
  { "max-downtime", T_UINT, O(policy.max_downtime_ms), 1, 2000000,
    "ms: the downtime limit is never raised above this (default: downtime-limit)" },
  { "downtime-steps", T_UINT, O(policy.steps), 1, 1000, "stepped policy: number of steps (default 10)" },
  { "downtime-step-delay", T_UINT, O(policy.step_delay_ms), 10, 3600000,
    "stepped policy: ms between steps (default 2000)" },
  { "deadline", T_UINT, O(policy.deadline_s), 0, 86400,
    "seconds after which deadline-action is taken if not converged (0 = none)" },
  { "deadline-action", T_ENUM, O(policy.deadline_action), 0, 0,
    "cancel|pause|postcopy: at the deadline cancel, pause the guest and finish, or switch "
    "to post-copy (default cancel)" },
  { "postcopy", T_BOOL, O(policy.postcopy), 0, 0, "on|off: enable post-copy (postcopy-ram on both sides)" },
  { "max-postcopy-bandwidth", T_SIZE, O(policy.max_postcopy_bandwidth), 0, UINT64_C(1) << 50,
    "bytes/s for the background page push in post-copy; 0 = unlimited (default)" },
  { "postcopy-after", T_AFTER, 0, 0, 0,
    "start post-copy after N passes (\"3passes\"), T seconds (\"20s\") or \"stall\"" },
  { "quit-source", T_BOOL, O(quit_source), 0, 0, "on|off: quit the source QEMU after success" },
  { "dst-action", T_ENUM, O(dst_action), 0, 0,
    "quit|keep: when recovery leaves the guest on the source, quit the destination QEMU "
    "(default) or keep it (its NBD exports removed)" },
  { "preflight", T_BOOL, O(preflight), 0, 0, "on|off: run the preflight checks of qmig check first (default on)" },
  { "predict", T_BOOL, O(predict.on), 0, 0,
    "on|off: measure the guest's dirty rate first and predict time, downtime, convergence" },
  { "dirty-rate-time", T_UINT, O(predict.dirty_rate_time_s), 1, 60,
    "seconds QEMU measures the dirty rate for (calc-dirty-rate; default 1)" },
  { "link-bandwidth", T_SIZE, O(predict.link_bandwidth), 0, UINT64_C(1) << 50,
    "bytes/s the link gives (K/M/G suffix), for the prediction; 0 = unknown (default)" },
  { "ram-in-use", T_SIZE, O(predict.ram_in_use), 0, UINT64_C(1) << 50,
    "bytes of guest RAM holding data (not zero pages), for the prediction (default: "
    "all of RAM; a lab: its guest's fill)" },
  { "announce-rounds", T_UINT, O(announce.rounds), 0, 1000,
    "announce-self rounds on the destination after switchover; 0 = off (default 5)" },
  { "announce-initial", T_UINT, O(announce.initial_ms), 1, 100000,
    "ms before the second announcement (default 50)" },
  { "announce-max", T_UINT, O(announce.max_ms), 1, 100000,
    "ms, longest gap between announcements (default 550)" },
  { "announce-step", T_UINT, O(announce.step_ms), 1, 10000,
    "ms added to the gap after each announcement (default 100)" },
  { "copy-disks", T_STR, O(disks.copy), 0, 0,
    "NAME,...: disks to copy to the destination over NBD (the rest are shared)" },
  { "copy-all-disks", T_BOOL, O(disks.copy_all), 0, 0,
    "on|off: copy every writable disk except those in shared-disks" },
  { "shared-disks", T_STR, O(disks.shared), 0, 0,
    "NAME,...: disks both hosts open (not copied) with copy-all-disks" },
  { "disk-sync", T_ENUM, O(disks.sync), 0, 0,
    "full|top: copy whole disks, or only the top image (the backing chain is already "
    "on the destination)" },
  { "copy-mode", T_ENUM, O(disks.copy_mode), 0, 0,
    "background|write-blocking: guest writes wait for the copy (converges on busy "
    "disks; default background)" },
  { "disk-bandwidth", T_SIZE, O(disks.bandwidth), 0, UINT64_C(1) << 50,
    "bytes/s per copied disk, 0 = unlimited (K/M/G suffixes)" },
  { "nbd-addr", T_STR, O(disks.nbd_addr), 0, 0,
    "where the destination's NBD server listens: unix:PATH or tcp:HOST[:PORT] (default: "
    "a private unix socket when both QEMUs are local, else tcp on the data host and the "
    "data-port range)" },
  { "nbd-connect", T_STR, O(disks.nbd_connect), 0, 0,
    "address the source QEMU connects to for NBD, when it differs from nbd-addr (a proxy)" },
  { "nbd-tls", T_BOOL, O(disks.nbd_tls), 0, 0,
    "on|off: NBD over QEMU-native TLS with the migration's credentials (needs tls)" },
};
#define NOPTS (sizeof opts / sizeof opts[0])

void eng_config_init(struct eng_config *c)
{
  memset(c, 0, sizeof *c);
  c->stream.port_lo = 49152;
  c->stream.port_hi = 49215;
  c->stream.downtime_limit_ms = 300;
  c->stream.xbzrle_cache_size = 64ull << 20;
  c->policy.throttle_initial = c->policy.throttle_increment = c->policy.max_throttle = -1;
  c->timeout_s = 3600;
  c->qmp.timeout_ms = 10000;
  c->poll_ms = 100;
  c->stall_timeout_s = 30;
  c->preflight = true;
  c->predict.dirty_rate_time_s = 1;
  c->announce.rounds = 5; /* QEMU's own defaults */
  c->announce.initial_ms = 50;
  c->announce.max_ms = 550;
  c->announce.step_ms = 100;
  c->policy.steps = 10;
  c->policy.step_delay_ms = 2000;
}

void eng_config_free(struct eng_config *c)
{
  for (size_t i = 0; i < NOPTS; i++)
    if (opts[i].type == T_STR || opts[i].type == T_COMP) {
      char **p = (char **)((char *)c + opts[i].off);
      free(*p);
      *p = NULL;
    }
}

static const struct opt *find_opt(const char *key)
{
  for (size_t i = 0; i < NOPTS; i++)
    if (strcmp(opts[i].key, key) == 0)
      return &opts[i];
  return NULL;
}

const char *const *qmig_option_keys(void)
{
  static const char *keys[NOPTS + 1];
  for (size_t i = 0; i < NOPTS; i++)
    keys[i] = opts[i].key;
  return keys;
}

const char *qmig_option_help(const char *key)
{
  const struct opt *o = find_opt(key);
  return o ? o->help : NULL;
}

/* Parse an unsigned decimal with optional binary suffix (K, M, G, T; "iB" and
 * "B" accepted).  Returns -1 on junk or overflow. */
static int parse_u64(const char *s, bool suffix, uint64_t *out)
{
  char *end;
  if (*s == '\0' || *s == '-')
    return -1;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || end == s)
    return -1;
  unsigned shift = 0;
  if (suffix && *end) {
    switch (*end) {
    case 'k': case 'K': shift = 10; break;
    case 'm': case 'M': shift = 20; break;
    case 'g': case 'G': shift = 30; break;
    case 't': case 'T': shift = 40; break;
    case 'b': case 'B': break;
    default: return -1;
    }
    if (shift)
      end++;
    if (strcasecmp(end, "") != 0 && strcasecmp(end, "b") != 0 &&
        strcasecmp(end, "ib") != 0)
      return -1;
  } else if (*end) {
    return -1;
  }
  if (shift && v > (UINT64_MAX >> shift))
    return -1;
  *out = (uint64_t)v << shift;
  return 0;
}

static int parse_bool(const char *s, bool *out)
{
  static const char *yes[] = { "on", "yes", "true", "1" }, *no[] = { "off", "no", "false", "0" };
  for (int i = 0; i < 4; i++) {
    if (strcasecmp(s, yes[i]) == 0) { *out = true; return 0; }
    if (strcasecmp(s, no[i]) == 0) { *out = false; return 0; }
  }
  return -1;
}

static int replace_str(char **p, const char *v)
{
  char *d = strdup(v);
  if (!d)
    return -1;
  free(*p);
  *p = d;
  return 0;
}

/* "unix:PATH" or "tcp:HOST:PORT" (or with tls, "tls:HOST:PORT") with a sane port. */
static bool addr_ok_tls(const char *a, bool tls)
{
  if (strncmp(a, "unix:", 5) == 0)
    return a[5] != '\0';
  if (strncmp(a, "tcp:", 4) != 0 && (!tls || strncmp(a, "tls:", 4) != 0))
    return false;
  const char *colon = strrchr(a + 4, ':');
  uint64_t port;
  return colon && colon > a + 4 && parse_u64(colon + 1, false, &port) == 0 &&
         port >= 1 && port <= 65535;
}

static bool is_dir(const char *path)
{
  struct stat st;
  errno = 0;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool addr_ok(const char *a)
{
  return addr_ok_tls(a, false);
}

static bool addr_ok_tunnel(const char *a)
{
  char tcp[300];
  snprintf(tcp, sizeof tcp, "tcp:%s", a);
  return strncmp(a, "tcp:", 4) != 0 && strncmp(a, "unix:", 5) != 0 && addr_ok(tcp);
}

/* "3passes", "3 passes", "3p", "20s", "20 seconds", "stall". */
static int parse_after(struct qmig_migration *m, const char *v)
{
  struct eng_config *c = &m->cfg;
  if (strcmp(v, "stall") == 0) {
    c->policy.postcopy_after = ENG_AFTER_STALL;
    return 0;
  }
  char *end;
  errno = 0;
  unsigned long n = strtoul(v, &end, 10);
  while (*end == ' ')
    end++;
  if (end != v && !errno && *v != '-' && n >= 1 && n <= 1000000) {
    if (!strcmp(end, "p") || !strcmp(end, "pass") || !strcmp(end, "passes")) {
      c->policy.postcopy_after = ENG_AFTER_PASSES;
      c->policy.postcopy_after_n = (unsigned)n;
      return 0;
    }
    if (!strcmp(end, "s") || !strcmp(end, "sec") || !strcmp(end, "seconds")) {
      c->policy.postcopy_after = ENG_AFTER_SECONDS;
      c->policy.postcopy_after_n = (unsigned)n;
      return 0;
    }
  }
  return eng_errorf(m, "option 'postcopy-after': '%s' is not N passes, T seconds or stall", v);
}

int qmig_set(struct qmig_migration *m, const char *key, const char *value)
{
  const struct opt *o = key ? find_opt(key) : NULL;
  if (!o)
    return eng_errorf(m, "unknown option '%s'", key ? key : "(null)");
  if (!value)
    return eng_errorf(m, "option '%s' needs a value", key);
  if (m->ran)
    return eng_errorf(m, "option '%s': the migration has already run", key);
  void *field = (char *)&m->cfg + o->off;
  uint64_t u;
  bool b;

  switch (o->type) {
  case T_STR:
    if (*value == '\0')
      return eng_errorf(m, "option '%s': empty value", key);
    if ((strcmp(key, "src") == 0 || strcmp(key, "dst") == 0) && !addr_ok_tls(value, true))
      return eng_errorf(m, "option '%s': '%s' is not unix:PATH, tls:HOST:PORT or tcp:HOST:PORT",
                        key, value);
    if (strcmp(key, "tunnel") == 0 && !addr_ok_tunnel(value))
      return eng_errorf(m, "option 'tunnel': '%s' is not HOST:PORT", value);
    if ((strcmp(key, "data-uri") == 0 || strcmp(key, "data-connect") == 0) && !addr_ok(value))
      return eng_errorf(m, "option '%s': '%s' is not tcp:HOST:PORT or unix:PATH", key, value);
    /* The lab's dir is only recorded here (the edge expands it into the
     * other keys, qmig_lab_apply()); still refuse one that is not there. */
    if (strcmp(key, "lab") == 0 && !is_dir(value))
      return eng_errorf(m, "lab: %s: %s", value, errno ? strerror(errno) : "not a directory");
    if (replace_str(field, value))
      return eng_errorf(m, "out of memory");
    return 0;
  case T_UINT:
  case T_INT:
  case T_SIZE:
    if (parse_u64(value, o->type == T_SIZE, &u) < 0 || u < o->min || u > o->max)
      return eng_errorf(m, "option '%s': '%s' is not a %s from %llu to %llu", key, value,
                        o->type == T_SIZE ? "size" : "number",
                        (unsigned long long)o->min, (unsigned long long)o->max);
    if (o->type == T_SIZE || o->off == O(stream.downtime_limit_ms) || o->off == O(policy.max_downtime_ms))
      *(uint64_t *)field = u;
    else if (o->type == T_INT)
      *(int *)field = (int)u;
    else
      *(unsigned *)field = (unsigned)u;
    return 0;
  case T_BOOL:
    if (parse_bool(value, &b) < 0)
      return eng_errorf(m, "option '%s': '%s' is not on or off", key, value);
    *(bool *)field = b;
    return 0;
  case T_ENUM: {
    int idx = 0;
    size_t vl = strlen(value), nch = strcspn(o->help, ":");
    for (const char *c = o->help; c < o->help + nch; idx++) {
      size_t n = strcspn(c, "|:");
      if (n == vl && strncmp(c, value, n) == 0) {
        *(int *)field = idx;
        return 0;
      }
      c += n + 1;
    }
    return eng_errorf(m, "option '%s': '%s' is not one of %.*s", key, value, (int)nch, o->help);
  }
  case T_AFTER:
    return parse_after(m, value);
  case T_COMP:
    if (strcmp(value, "none") && strcmp(value, "zlib") && strcmp(value, "zstd"))
      return eng_errorf(m, "option '%s': '%s' is not none, zlib or zstd", key, value);
    if (replace_str(field, value))
      return eng_errorf(m, "out of memory");
    return 0;
  case T_PORTS: {
    char lo[16], *dash = strchr(value, '-');
    uint64_t a, z;
    size_t n = dash ? (size_t)(dash - value) : strlen(value);
    if (n == 0 || n >= sizeof lo)
      return eng_errorf(m, "option 'data-port': '%s' is not PORT or LO-HI", value);
    memcpy(lo, value, n);
    lo[n] = '\0';
    if (parse_u64(lo, false, &a) < 0 || (dash && parse_u64(dash + 1, false, &z) < 0))
      return eng_errorf(m, "option 'data-port': '%s' is not PORT or LO-HI", value);
    if (!dash)
      z = a;
    if (a < 1 || z > 65535 || a > z)
      return eng_errorf(m, "option 'data-port': '%s' is not within 1-65535 (LO <= HI)", value);
    m->cfg.stream.port_lo = (unsigned)a;
    m->cfg.stream.port_hi = (unsigned)z;
    return 0;
  }
  }
  return eng_errorf(m, "option '%s': internal error", key);
}

/* Rules between options, checked before anything is touched. */
int eng_config_check(struct qmig_migration *m)
{
  struct eng_config *c = &m->cfg;
  if (c->tunnel.agent && !c->dst) { /* the destination QMP is reached through the agent */
    char d[300];
    snprintf(d, sizeof d, "tunnel:%s", c->tunnel.agent);
    if (replace_str(&c->dst, d))
      return eng_errorf(m, "out of memory");
  }
  if (!c->src || !c->dst)
    return eng_errorf(m, "both a source (--src) and a destination (--dst) QMP address are needed");
  if ((c->tunnel.tls != ENG_TLS_NONE || c->tunnel.insecure || c->tunnel.data) && !c->tunnel.agent)
    return eng_errorf(m, "tunnel-tls/tunnel-data/tunnel-insecure-no-auth need tunnel");
  if (c->tunnel.agent && c->tunnel.tls == ENG_TLS_NONE && !c->tunnel.insecure)
    return eng_errorf(m, "tunnel needs a credential: tunnel-tls psk (tunnel-psk-file) or x509 "
                         "(tunnel-tls-dir), or tunnel-insecure-no-auth on for an agent run "
                         "without one");
  if (c->tunnel.tls != ENG_TLS_NONE && c->tunnel.insecure)
    return eng_errorf(m, "tunnel-insecure-no-auth and tunnel-tls contradict each other: drop one");
  if (c->tunnel.insecure && c->tunnel.data == ENG_TDATA_PLAIN)
    return eng_errorf(m, "tunnel-data plain does not apply with tunnel-insecure-no-auth "
                         "(everything is plaintext and unauthenticated there)");
  if (c->tunnel.agent && (c->disks.nbd_addr || c->disks.nbd_connect))
    return eng_errorf(m, "nbd-addr/nbd-connect do not apply with tunnel: NBD goes through the "
                      "tunnel to the agent's own socket");
  if (c->tunnel.tls == ENG_TLS_X509 && !c->tunnel.tls_dir)
    return eng_errorf(m, "tunnel-tls x509 needs tunnel-tls-dir");
  if (c->tunnel.tls == ENG_TLS_PSK && !c->tunnel.psk_file)
    return eng_errorf(m, "tunnel-tls psk needs tunnel-psk-file");
  if (c->tunnel.tls != ENG_TLS_X509 && (c->tunnel.tls_dir || c->tunnel.peer_name))
    return eng_errorf(m, "tunnel-tls-dir/tunnel-peer-name given but tunnel-tls is not x509");
  if (c->tunnel.tls != ENG_TLS_PSK && (c->tunnel.psk_file || c->tunnel.psk_identity))
    return eng_errorf(m, "tunnel-psk-file/tunnel-psk-identity given but tunnel-tls is not psk");
  bool tls_qmp = !strncmp(c->src, "tls:", 4) || !strncmp(c->dst, "tls:", 4);
  if (tls_qmp && !c->qmp.tls_dir)
    return eng_errorf(m, "a tls: QMP address needs qmp-tls-dir (ca-cert.pem, client-cert.pem, "
                      "client-key.pem)");
  if (!tls_qmp && (c->qmp.tls_dir || c->qmp.tls_name))
    return eng_errorf(m, "qmp-tls-dir/qmp-tls-name given but no QMP address is tls:HOST:PORT");
  if (strcmp(c->src, c->dst) == 0)
    return eng_errorf(m, "source and destination QMP addresses are the same (%s)", c->src);
  if (c->stream.multifd_compression && strcmp(c->stream.multifd_compression, "none") != 0 &&
      c->stream.multifd_channels == 0)
    return eng_errorf(m, "multifd-compression %s needs multifd-channels >= 1",
                      c->stream.multifd_compression);
  if (c->stream.connect && !c->stream.uri)
    return eng_errorf(m, "data-connect needs data-uri (where the destination listens, "
                         "which the proxy forwards to)");
  if (c->tls.kind != ENG_TLS_NONE && !c->tls.dir)
    return eng_errorf(m, "tls %s needs tls-dir", c->tls.kind == ENG_TLS_X509 ? "x509" : "psk");
  if (c->tls.kind == ENG_TLS_NONE && (c->tls.dir || c->tls.hostname || c->tls.psk_user))
    return eng_errorf(m, "tls-dir/tls-hostname/tls-psk-user given but tls is none");
  if (c->tls.kind == ENG_TLS_PSK && c->tls.hostname)
    return eng_errorf(m, "tls-hostname applies to x509 only");
  if (c->stream.uri && strncmp(c->stream.uri, "unix:", 5) == 0 && c->tls.kind == ENG_TLS_X509 &&
      !c->tls.hostname)
    return eng_errorf(m, "x509 TLS over a unix socket needs tls-hostname (no address to verify)");
  if ((c->src_serial == NULL) != (c->dst_serial == NULL))
    return eng_errorf(m, "heartbeats need both src-serial and dst-serial");
  if (c->stream.xbzrle_cache_size != (64ull << 20) && !c->stream.xbzrle)
    return eng_errorf(m, "xbzrle-cache-size given but xbzrle is off");
  if ((c->policy.postcopy_after != ENG_AFTER_NONE || c->policy.deadline_action == ENG_DEADLINE_POSTCOPY) &&
      !c->policy.postcopy)
    return eng_errorf(m, "postcopy-after and deadline-action postcopy need postcopy on");
  if (c->policy.postcopy && c->stream.multifd_channels)
    return eng_errorf(m, "postcopy and multifd cannot be combined in QEMU 7.2");
  if (c->policy.deadline_action != ENG_DEADLINE_CANCEL && !c->policy.deadline_s)
    return eng_errorf(m, "deadline-action needs a deadline");
  if (c->policy.kind != ENG_POLICY_FIXED && c->policy.max_downtime_ms &&
      c->policy.max_downtime_ms <= c->stream.downtime_limit_ms)
    return eng_errorf(m, "max-downtime (%llu ms) must be above downtime-limit (%llu ms) for "
                      "an escalating policy", (unsigned long long)c->policy.max_downtime_ms,
                      (unsigned long long)c->stream.downtime_limit_ms);
  if (c->policy.kind == ENG_POLICY_FIXED && c->policy.max_downtime_ms &&
      c->policy.max_downtime_ms < c->stream.downtime_limit_ms)
    return eng_errorf(m, "downtime-limit is above max-downtime");
  if ((c->policy.throttle_initial >= 0 || c->policy.throttle_increment >= 0 || c->policy.max_throttle >= 0) &&
      !c->policy.auto_converge)
    return eng_errorf(m, "cpu-throttle options given but auto-converge is off");
  bool copying = c->disks.copy || c->disks.copy_all;
  if (c->disks.copy && c->disks.copy_all)
    return eng_errorf(m, "copy-disks and copy-all-disks exclude each other");
  if (c->disks.shared && !c->disks.copy_all)
    return eng_errorf(m, "shared-disks is for copy-all-disks (with copy-disks, every disk "
                      "not listed is shared)");
  if (!copying && (c->disks.sync || c->disks.copy_mode || c->disks.bandwidth || c->disks.nbd_addr ||
                   c->disks.nbd_connect || c->disks.nbd_tls))
    return eng_errorf(m, "disk-sync/copy-mode/disk-bandwidth/nbd-* given but no disk is "
                      "copied (copy-disks or copy-all-disks)");
  if (c->disks.nbd_tls && c->tls.kind == ENG_TLS_NONE)
    return eng_errorf(m, "nbd-tls needs tls x509 or psk (NBD uses the same credentials)");
  if (copying && c->policy.postcopy)
    return eng_errorf(m, "copying disks together with post-copy is not supported: the "
                      "mirrors finish at the switchover, before post-copy could start");
  const char *nbd[] = { c->disks.nbd_addr, c->disks.nbd_connect };
  for (size_t i = 0; i < 2; i++)
    if (nbd[i] && strncmp(nbd[i], "unix:", 5) && strncmp(nbd[i], "tcp:", 4))
      return eng_errorf(m, "NBD address '%s' is not unix:PATH or tcp:HOST[:PORT]", nbd[i]);
  return 0;
}

/* The configuration as JSON, every key of the table with its value. */
json_t *eng_config_json(const struct eng_config *c)
{
  json_t *o = json_object();
  for (size_t i = 0; i < NOPTS; i++) {
    const struct opt *op = &opts[i];
    const void *f = (const char *)c + op->off;
    json_t *v = NULL;
    switch (op->type) {
    case T_STR: case T_COMP:
      v = *(char *const *)f ? json_string(*(char *const *)f) : json_null();
      break;
    case T_SIZE:
      v = json_integer((json_int_t)*(const uint64_t *)f);
      break;
    case T_UINT:
      v = op->off == O(stream.downtime_limit_ms) || op->off == O(policy.max_downtime_ms)
              ? json_integer((json_int_t)*(const uint64_t *)f)
                                         : json_integer(*(const unsigned *)f);
      break;
    case T_INT:
      v = *(const int *)f < 0 ? json_null() : json_integer(*(const int *)f);
      break;
    case T_BOOL:
      v = json_boolean(*(const bool *)f);
      break;
    case T_ENUM: {
      const char *ch = op->help;
      for (int k = *(const int *)f; k > 0 && *ch != ':'; k--)
        ch += strcspn(ch, "|:") + 1;
      v = json_stringn(ch, strcspn(ch, "|:"));
      break;
    }
    case T_AFTER:
      v = c->policy.postcopy_after == ENG_AFTER_NONE ? json_null()
          : c->policy.postcopy_after == ENG_AFTER_STALL ? json_string("stall")
          : json_sprintf("%u%s", c->policy.postcopy_after_n,
                         c->policy.postcopy_after == ENG_AFTER_PASSES ? "passes" : "s");
      break;
    case T_PORTS:
      v = json_sprintf("%u-%u", c->stream.port_lo, c->stream.port_hi);
      break;
    }
    json_object_set_new(o, op->key, v);
  }
  return o;
}
