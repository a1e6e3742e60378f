/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* options.c - every migration option: one row of a typed option table
 * (common/opttab.h) each, which gives qmig_set, the defaults, the help, the
 * CLI's long options, the bench's knobs and the report's "config".
 * The rules between options: options_check.c. */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "common/errbuf.h"
#include "common/opttab.h"
#include "engine/internal.h"
#include "engine/probe.h"

#define BAD_QMP_ADDR "not unix:PATH, tls:HOST:PORT or tcp:HOST:PORT"

static int check_compression(const char *v, char *why, size_t len)
{
  if (strcmp(v, "none") && strcmp(v, "zlib") && strcmp(v, "zstd")) {
    errbuf_setf(why, len, "not none, zlib or zstd");
    return -1;
  }
  return 0;
}

/* "PORT" or "LO-HI" into port_lo/port_hi. */
static int parse_ports(void *obj, const char *value, char *why, size_t len)
{
  struct eng_config *c = obj;
  char lo[16];
  const char *dash = strchr(value, '-');
  uint64_t a, z;
  size_t n = dash ? (size_t)(dash - value) : strlen(value);
  if (n == 0 || n >= sizeof lo)
    goto bad;
  memcpy(lo, value, n);
  lo[n] = '\0';
  if (opt_parse_u64(lo, false, &a) < 0 || (dash && opt_parse_u64(dash + 1, false, &z) < 0))
    goto bad;
  if (!dash)
    z = a;
  if (a < 1 || z > 65535 || a > z) {
    errbuf_setf(why, len, "not within 1-65535 (LO <= HI)");
    return -1;
  }
  c->stream.port_lo = (unsigned)a;
  c->stream.port_hi = (unsigned)z;
  return 0;
bad:
  errbuf_setf(why, len, "not PORT or LO-HI");
  return -1;
}

static json_t *json_ports(const void *obj)
{
  const struct eng_config *c = obj;
  return json_sprintf("%u-%u", c->stream.port_lo, c->stream.port_hi);
}

/* tunnel: an agent's HOST:PORT, or ssh://[USER@]HOST[:PORT] to start one.
 * The ssh target goes into a remote command line: only plain characters. */
static int parse_tunnel(void *obj, const char *v, char *why, size_t len)
{
  struct eng_config *c = obj;
  if (strncmp(v, "ssh://", 6) != 0) {
    if (!opt_addr_ok(v, OPT_A_HOSTPORT))
      return errbuf_setf(why, len, "not HOST:PORT or ssh://[USER@]HOST[:PORT]");
    return opt_replace_str(&c->tunnel.agent, v) ? errbuf_setf(why, len, "out of memory") : 0;
  }
  const char *t = v + 6;
  if (!*t ||
      strspn(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_@:[]") !=
          strlen(t) ||
      strchr(t, '@') != strrchr(t, '@') || *t == '@' || t[strlen(t) - 1] == '@')
    return errbuf_setf(why, len, "not ssh://[USER@]HOST[:PORT] (letters, digits, '.-_:[]')");
  return opt_replace_str(&c->tunnel.ssh, t) ? errbuf_setf(why, len, "out of memory") : 0;
}

static json_t *json_tunnel(const void *obj)
{
  const struct eng_config *c = obj;
  if (c->tunnel.ssh)
    return json_sprintf("ssh://%s", c->tunnel.ssh);
  return c->tunnel.agent ? json_string(c->tunnel.agent) : NULL;
}

/* "3passes", "3 passes", "3p", "20s", "20 seconds", "stall". */
static int parse_after(void *obj, const char *v, char *why, size_t len)
{
  struct eng_config *c = obj;
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
  errbuf_setf(why, len, "not N passes, T seconds or stall");
  return -1;
}

static json_t *json_after(const void *obj)
{
  const struct eng_config *c = obj;
  if (c->policy.postcopy_after == ENG_AFTER_NONE)
    return json_null();
  if (c->policy.postcopy_after == ENG_AFTER_STALL)
    return json_string("stall");
  return json_sprintf("%u%s", c->policy.postcopy_after_n,
                      c->policy.postcopy_after == ENG_AFTER_PASSES ? "passes" : "s");
}

/* The lab's dir is only recorded here (the edge expands it into the other
 * keys: qmig_lab_apply()); still refuse one that is not there. */
static int check_dir(const char *v, char *why, size_t len)
{
  struct stat st;
  if (stat(v, &st) == 0 && S_ISDIR(st.st_mode))
    return 0;
  errbuf_setf(why, len, "not a directory (%s)", stat(v, &st) < 0 ? strerror(errno) : "a file");
  return -1;
}

#define O(f) offsetof(struct eng_config, f)
/* One row per option, laid out as a table reads. */
/* clang-format off */
static const struct opt_row rows[] = {
  { .key = "src", .type = OPT_ADDR, .off = O(src), .addr = OPT_A_UNIX | OPT_A_TCP | OPT_A_TLS,
    .bad = BAD_QMP_ADDR,
    .help = "source QMP address: unix:PATH, tls:HOST:PORT (QEMU's TLS monitor), or tcp:HOST:PORT "
            "(loopback only unless insecure-qmp-tcp)" },
  { .key = "dst", .type = OPT_ADDR, .off = O(dst), .addr = OPT_A_UNIX | OPT_A_TCP | OPT_A_TLS,
    .bad = BAD_QMP_ADDR,
    .help = "destination QMP address: unix:PATH, tls:HOST:PORT or tcp:HOST:PORT" },
  { .key = "qmp-tls-dir", .type = OPT_STR, .off = O(qmp.tls_dir),
    .help = "x509 credentials for tls: QMP addresses: ca-cert.pem, client-cert.pem, client-key.pem" },
  { .key = "qmp-tls-name", .type = OPT_STR, .off = O(qmp.tls_name),
    .help = "name or IP QEMU's QMP certificate must carry (default: the host of the tls: address)" },
  { .key = "insecure-qmp-tcp", .type = OPT_BOOL, .off = O(qmp.insecure_tcp),
    .help = "on|off: accept a plain tcp: QMP address off loopback (unauthenticated, plaintext "
            "control of that QEMU; warned)" },
  { .key = "lab", .type = OPT_STR, .off = O(lab), .check = check_dir,
    .help = "use the lab pair in DIR: sets src, dst, serials, heartbeat (qmig_lab_apply(); "
            "qmig_set() only records DIR)" },
  { .key = "data-uri", .type = OPT_ADDR, .off = O(stream.uri), .addr = OPT_A_UNIX | OPT_A_TCP,
    .bad = "not tcp:HOST:PORT or unix:PATH",
    .help = "migration stream URI (tcp:HOST:PORT or unix:PATH); overrides data-host/data-port" },
  { .key = "data-connect", .type = OPT_ADDR, .off = O(stream.connect),
    .addr = OPT_A_UNIX | OPT_A_TCP, .bad = "not tcp:HOST:PORT or unix:PATH",
    .help = "URI the source sends the stream to when it differs from where the destination "
            "listens (a proxy such as stunnel between them; needs data-uri)" },
  { .key = "data-host", .type = OPT_STR, .off = O(stream.host),
    .help = "address the destination listens on for the stream (default: host of --dst, else 127.0.0.1)" },
  { .key = "data-port", .type = OPT_CUSTOM, .def = "49152-49215", .parse = parse_ports,
    .json = json_ports,
    .help = "stream port or range LO-HI (default 49152-49215)" },
  { .key = "max-bandwidth", .type = OPT_SIZE, .off = O(stream.max_bandwidth), .min = 0,
    .max = UINT64_C(1) << 50,
    .help = "bytes/s with K/M/G suffix; 0 = unlimited (default)" },
  { .key = "downtime-limit", .type = OPT_U64, .off = O(stream.downtime_limit_ms), .min = 1,
    .max = 2000000, .def = "300",
    .help = "ms (default 300)" },
  { .key = "multifd-channels", .type = OPT_UINT, .off = O(stream.multifd_channels), .min = 0, .max = 255,
    .help = "0 = multifd off (default)" },
  { .key = "multifd-compression", .type = OPT_STR, .off = O(stream.multifd_compression),
    .check = check_compression,
    .help = "none|zlib|zstd (needs multifd)" },
  { .key = "xbzrle", .type = OPT_BOOL, .off = O(stream.xbzrle),
    .help = "on|off: XBZRLE delta compression" },
  { .key = "xbzrle-cache-size", .type = OPT_SIZE, .off = O(stream.xbzrle_cache_size), .min = 4096,
    .max = UINT64_C(1) << 40, .def = "64M",
    .help = "bytes with K/M/G suffix (QEMU default 64M)" },
  { .key = "auto-converge", .type = OPT_BOOL, .off = O(policy.auto_converge),
    .help = "on|off: throttle vCPUs to converge" },
  { .key = "cpu-throttle-initial", .type = OPT_INT, .off = O(policy.throttle_initial), .min = 1,
    .max = 99, .def = "-1",
    .help = "percent (QEMU default 20)" },
  { .key = "cpu-throttle-increment", .type = OPT_INT, .off = O(policy.throttle_increment), .min = 1,
    .max = 99, .def = "-1",
    .help = "percent (QEMU default 10)" },
  { .key = "max-cpu-throttle", .type = OPT_INT, .off = O(policy.max_throttle), .min = 1, .max = 99,
    .def = "-1",
    .help = "percent (QEMU default 99)" },
  { .key = "dirty-limit", .type = OPT_BOOL, .off = O(policy.dirty_limit),
    .help = "on|off: converge by limiting each vCPU's dirty rate instead (QEMU 8.1+, which needs "
            "KVM with a dirty ring; excludes auto-converge)" },
  { .key = "vcpu-dirty-limit", .type = OPT_UINT, .off = O(policy.vcpu_dirty_limit), .min = 1,
    .max = 1000000,
    .help = "MB/s each vCPU may dirty with dirty-limit (QEMU default 1)" },
  { .key = "switchover-ack", .type = OPT_ENUM, .off = O(policy.switchover_ack),
    .choices = "auto|on|off",
    .help = "auto|on|off: switch over once the destination acknowledges it is ready (QEMU 8.1+, "
            "with return-path; auto: when both QEMUs have it, the default)" },
  { .key = "tls", .type = OPT_ENUM, .off = O(tls.kind), .choices = "none|x509|psk",
    .help = "none|x509|psk: QEMU-native TLS on the stream" },
  { .key = "tls-dir", .type = OPT_STR, .off = O(tls.dir),
    .help = "credentials dir (x509: ca-cert.pem, server-*/client-*.pem; psk: keys.psk)" },
  { .key = "tls-dst-dir", .type = OPT_STR, .off = O(tls.dst_dir),
    .help = "credentials dir on the destination (default tls-dir)" },
  { .key = "tls-hostname", .type = OPT_STR, .off = O(tls.hostname),
    .help = "name to verify in the destination's x509 certificate" },
  { .key = "tls-psk-user", .type = OPT_STR, .off = O(tls.psk_user),
    .help = "PSK identity (default qemu)" },
  { .key = "tunnel", .type = OPT_CUSTOM, .parse = parse_tunnel, .json = json_tunnel,
    .arg = "ADDR",
    .help = "HOST:PORT of a qmig agent on the destination host: QMP and the stream go through "
            "the tunnel (dst then optional; data-uri ignored); or ssh://[USER@]HOST[:PORT]: "
            "start that agent over ssh for this migration (dst: the QMP address there), with "
            "a PSK made for the session" },
  { .key = "tunnel-ssh-config", .type = OPT_STR, .off = O(tunnel.ssh_config),
    .help = "ssh -F FILE for tunnel ssh:// (keys, known hosts, options)" },
  { .key = "tunnel-ssh-qmig", .type = OPT_STR, .off = O(tunnel.ssh_qmig),
    .help = "the qmig binary on the ssh host (default qmig, from its PATH)" },
  { .key = "tunnel-ssh-agent-port", .type = OPT_UINT, .off = O(tunnel.ssh_agent_port), .min = 1,
    .max = 65535, .def = "49250",
    .help = "port the agent started over ssh listens on, at the ssh host (default 49250)" },
  { .key = "tunnel-tls", .type = OPT_ENUM, .off = O(tunnel.tls), .choices = "none|x509|psk",
    .help = "none|x509|psk: the tunnel's credential; control and QMP always go over TLS 1.3 with "
            "it (none needs tunnel-insecure-no-auth)" },
  { .key = "tunnel-data", .type = OPT_ENUM, .off = O(tunnel.data), .choices = "tls|plain",
    .help = "tls|plain: migration and NBD channels over TLS 1.3 (default), or plaintext "
            "authenticated by the session (faster; readable and hijackable on the path)" },
  { .key = "tunnel-handoff", .type = OPT_ENUM, .off = O(tunnel.handoff), .choices = "auto|on|off",
    .help = "auto|on|off: hand authenticated plain channels' sockets (and TLS ones where the "
            "kernel does their TLS on both hosts) to QEMU, no byte through qmig, where QEMU "
            "can take them (auto), must (on), or always forward (off)" },
  { .key = "tunnel-insecure-no-auth", .type = OPT_BOOL, .off = O(tunnel.insecure),
    .help = "on|off: tunnel without any credential (an agent run with --insecure-no-auth): "
            "anyone on the path can read, and anyone who can connect can use, the agent" },
  { .key = "tunnel-tls-dir", .type = OPT_STR, .off = O(tunnel.tls_dir),
    .help = "x509 credentials dir: ca-cert.pem, client-cert.pem, client-key.pem" },
  { .key = "tunnel-peer-name", .type = OPT_STR, .off = O(tunnel.peer_name),
    .help = "name or IP the agent's certificate must carry (default: the tunnel host)" },
  { .key = "tunnel-psk-file", .type = OPT_STR, .off = O(tunnel.psk_file),
    .help = "PSK file, lines IDENTITY:HEXKEY" },
  { .key = "tunnel-psk-identity", .type = OPT_STR, .off = O(tunnel.psk_identity),
    .help = "which PSK identity to use (default qemu)" },
  { .key = "timeout", .type = OPT_UINT, .off = O(timeout_s), .min = 0, .max = 86400,
    .def = "3600",
    .help = "seconds for the whole migration, 0 = none (default 3600)" },
  { .key = "qmp-timeout", .type = OPT_UINT, .off = O(qmp.timeout_ms), .min = 100, .max = 600000,
    .def = "10000",
    .help = "ms to wait for any QMP reply (default 10000)" },
  { .key = "stall-timeout", .type = OPT_UINT, .off = O(stall_timeout_s), .min = 0, .max = 86400,
    .def = "30",
    .help = "seconds without progress (ram.transferred) while active before cancelling: a dead "
            "link; 0 = never (default 30)" },
  { .key = "poll-interval", .type = OPT_UINT, .off = O(poll_ms), .min = 10, .max = 10000,
    .def = "100",
    .help = "ms between query-migrate samples near the end of a pass, in post-copy and when a "
            "policy step is due (default 100); see poll-adaptive" },
  { .key = "poll-adaptive", .type = OPT_BOOL, .off = O(poll_adaptive), .def = "on",
    .help = "on|off: in the bulk of a pass sample every 4 poll-intervals (at most 1 s); "
            "downtime and pause come from QEMU's events either way (default on)" },
  { .key = "src-serial", .type = OPT_STR, .off = O(src_serial),
    .help = "unix socket of the source guest's serial (heartbeats)" },
  { .key = "dst-serial", .type = OPT_STR, .off = O(dst_serial),
    .help = "unix socket of the destination guest's serial" },
  { .key = "heartbeat-ms", .type = OPT_UINT, .off = O(heartbeat_ms), .min = 1, .max = 10000,
    .help = "the guest's heartbeat period, for the report" },
  { .key = "stall-threshold", .type = OPT_UINT, .off = O(stall_threshold_ms), .min = 0,
    .max = 600000,
    .help = "ms: heartbeat gaps longer than this are stalls in the report's timeline (default 0: "
            "two heartbeat periods)" },
  { .key = "downtime-policy", .type = OPT_ENUM, .off = O(policy.kind),
    .choices = "fixed|stepped|doubling",
    .help = "fixed|stepped|doubling: raise downtime-limit up to max-downtime (stepped: over "
            "downtime-steps, one per downtime-step-delay; doubling: when remaining stops shrinking)" },
  { .key = "max-downtime", .type = OPT_U64, .off = O(policy.max_downtime_ms), .min = 1, .max = 2000000,
    .help = "ms: the downtime limit is never raised above this (default: downtime-limit)" },
  { .key = "downtime-steps", .type = OPT_UINT, .off = O(policy.steps), .min = 1, .max = 1000,
    .def = "10",
    .help = "stepped policy: number of steps (default 10)" },
  { .key = "downtime-step-delay", .type = OPT_UINT, .off = O(policy.step_delay_ms), .min = 10,
    .max = 3600000, .def = "2000",
    .help = "stepped policy: ms between steps (default 2000)" },
  { .key = "deadline", .type = OPT_UINT, .off = O(policy.deadline_s), .min = 0, .max = 86400,
    .help = "seconds after which deadline-action is taken if not converged (0 = none)" },
  { .key = "deadline-action", .type = OPT_ENUM, .off = O(policy.deadline_action),
    .choices = "cancel|pause|postcopy",
    .help = "cancel|pause|postcopy: at the deadline cancel, pause the guest and finish, or switch "
            "to post-copy (default cancel)" },
  { .key = "postcopy", .type = OPT_BOOL, .off = O(policy.postcopy),
    .help = "on|off: enable post-copy (postcopy-ram on both sides)" },
  { .key = "max-postcopy-bandwidth", .type = OPT_SIZE, .off = O(policy.max_postcopy_bandwidth), .min = 0,
    .max = UINT64_C(1) << 50,
    .help = "bytes/s for the background page push in post-copy; 0 = unlimited (default)" },
  { .key = "postcopy-preempt", .type = OPT_BOOL, .off = O(policy.postcopy_preempt),
    .help = "on|off: post-copy's page requests on a channel of their own (needs postcopy; not "
            "through the tunnel)" },
  { .key = "postcopy-recover-window", .type = OPT_UINT, .off = O(policy.recover_window_s),
    .min = 0, .max = 86400, .def = "60",
    .help = "seconds to wait for a broken link during post-copy to come back and resume; "
            "0 = give up at once (default 60)" },
  { .key = "postcopy-after", .type = OPT_CUSTOM, .parse = parse_after, .json = json_after,
    .help = "start post-copy after N passes (\"3passes\"), T seconds (\"20s\") or \"stall\"" },
  { .key = "quit-source", .type = OPT_BOOL, .off = O(quit_source),
    .help = "on|off: quit the source QEMU after success" },
  { .key = "dst-action", .type = OPT_ENUM, .off = O(dst_action), .choices = "quit|keep",
    .help = "quit|keep: when recovery leaves the guest on the source, quit the destination QEMU "
            "(default) or keep it (its NBD exports removed)" },
  { .key = "preflight", .type = OPT_BOOL, .off = O(preflight), .def = "on",
    .help = "on|off: run the preflight checks of qmig check first (default on)" },
  { .key = "predict", .type = OPT_BOOL, .off = O(predict.on),
    .help = "on|off: measure the guest's dirty rate first and predict time, downtime, convergence" },
  { .key = "dirty-rate-time", .type = OPT_UINT, .off = O(predict.dirty_rate_time_s), .min = 1, .max = 60,
    .def = "1",
    .help = "seconds QEMU measures the dirty rate for (calc-dirty-rate; default 1)" },
  { .key = "link-bandwidth", .type = OPT_SIZE, .off = O(predict.link_bandwidth), .min = 0,
    .max = UINT64_C(1) << 50,
    .help = "bytes/s the link gives (K/M/G suffix), for the prediction; 0 = unknown (default)" },
  { .key = "ram-in-use", .type = OPT_SIZE, .off = O(predict.ram_in_use), .min = 0,
    .max = UINT64_C(1) << 50,
    .help = "bytes of guest RAM holding data (not zero pages), for the prediction (default: "
            "all of RAM; a lab: its guest's fill)" },
  { .key = "announce", .type = OPT_BOOL, .off = O(announce.on), .def = "on",
    .help = "on|off: after switchover the destination announces the guest's MACs (QEMU's own "
            "announcement with its announce-* parameters, then announce-rounds of qmig's); off: "
            "none at all, the destination's announce-rounds parameter set to 0 (default on)" },
  { .key = "announce-rounds", .type = OPT_UINT, .off = O(announce.rounds), .min = 0, .max = 1000,
    .def = "5",
    .help = "announce-self rounds on the destination after switchover, on top of QEMU's own; "
            "0 = none (default 5)" },
  { .key = "announce-initial", .type = OPT_UINT, .off = O(announce.initial_ms), .min = 1,
    .max = 100000, .def = "50",
    .help = "ms before the second announcement (default 50)" },
  { .key = "announce-max", .type = OPT_UINT, .off = O(announce.max_ms), .min = 1, .max = 100000,
    .def = "550",
    .help = "ms, longest gap between announcements (default 550)" },
  { .key = "announce-step", .type = OPT_UINT, .off = O(announce.step_ms), .min = 1, .max = 10000,
    .def = "100",
    .help = "ms added to the gap after each announcement (default 100)" },
  { .key = "probe", .type = OPT_STR, .off = O(probe.spec), .check = eng_probe_parse,
    .help = "icmp:ADDR or udp:ADDR:PORT: echo requests to the guest over the whole run; the "
            "report's network section has every gap between replies, its phase, and the first "
            "reply after the resume (works on any guest)" },
  { .key = "probe-netns", .type = OPT_STR, .off = O(probe.netns),
    .help = "NAME: send the probe from network namespace NAME (a lab's client_netns)" },
  { .key = "probe-rate", .type = OPT_UINT, .off = O(probe.rate_hz), .min = 1, .max = 100000,
    .def = "1000",
    .help = "probe requests per second (default 1000)" },
  { .key = "probe-gap", .type = OPT_UINT, .off = O(probe.gap_ms), .min = 0, .max = 600000,
    .def = "0",
    .help = "ms: a silence between replies longer than this is a gap; 0 = 3 periods (default)" },
  { .key = "probe-wait", .type = OPT_UINT, .off = O(probe.wait_s), .min = 0, .max = 600,
    .def = "5",
    .help = "seconds to wait for the guest to answer the probe: before `migrate` (its first "
            "reply) and after the resume, before the source quits (default 5)" },
  { .key = "copy-disks", .type = OPT_STR, .off = O(disks.copy),
    .help = "NAME,...: disks to copy to the destination over NBD (the rest are shared)" },
  { .key = "copy-all-disks", .type = OPT_BOOL, .off = O(disks.copy_all),
    .help = "on|off: copy every writable disk except those in shared-disks" },
  { .key = "shared-disks", .type = OPT_STR, .off = O(disks.shared),
    .help = "NAME,...: disks both hosts open (not copied) with copy-all-disks" },
  { .key = "disk-sync", .type = OPT_ENUM, .off = O(disks.sync), .choices = "full|top",
    .help = "full|top: copy whole disks, or only the top image (the backing chain is already "
            "on the destination)" },
  { .key = "copy-mode", .type = OPT_ENUM, .off = O(disks.copy_mode),
    .choices = "auto|background|write-blocking",
    .help = "auto|background|write-blocking: write-blocking makes guest writes wait for the "
            "copy (converges on busy disks); auto (the default) starts in background and moves "
            "the running mirrors to write-blocking near the end where the source QEMU has "
            "block-job-change, else stays background" },
  { .key = "disk-bandwidth", .type = OPT_SIZE, .off = O(disks.bandwidth), .min = 0,
    .max = UINT64_C(1) << 50,
    .help = "bytes/s per copied disk, 0 = unlimited (K/M/G suffixes)" },
  { .key = "nbd-addr", .type = OPT_STR, .off = O(disks.nbd_addr),
    .help = "where the destination's NBD server listens: unix:PATH or tcp:HOST[:PORT] (default: "
            "a private unix socket when both QEMUs are local, else tcp on the data host and the "
            "data-port range)" },
  { .key = "nbd-connect", .type = OPT_STR, .off = O(disks.nbd_connect),
    .help = "address the source QEMU connects to for NBD, when it differs from nbd-addr (a proxy)" },
  { .key = "dst-spawn", .type = OPT_BOOL, .off = O(spawn.on),
    .help = "on|off: start the destination QEMU from the source's own command line (its pid "
            "from the unix QMP socket, /proc/PID/cmdline), rewritten: -incoming, its sockets in "
            "spawn-dir, disks through map; on this host, or with tunnel ssh:// on the ssh host "
            "(by the agent's ssh session); dst then not needed" },
  { .key = "spawn-dir", .type = OPT_STR, .off = O(spawn.dir),
    .help = "dst-spawn: directory of the new QEMU's QMP, serial, pidfile and log (NAME.qmp, "
            "NAME.serial, NAME.pid, NAME.log; default: the source QMP socket's); with tunnel "
            "ssh:// a directory on the ssh host" },
  { .key = "spawn-name", .type = OPT_STR, .off = O(spawn.name), .def = "dst",
    .help = "dst-spawn: prefix of those files (default dst)" },
  { .key = "dst-qemu-binary", .type = OPT_STR, .off = O(spawn.binary),
    .help = "dst-spawn: the new QEMU's binary (default: the source's)" },
  { .key = "map", .type = OPT_STR, .off = O(spawn.map),
    .help = "dst-spawn: OLD=NEW,...: disk paths (file=, filename=) the destination opens "
            "elsewhere" },
  { .key = "live-update", .type = OPT_ENUM, .off = O(spawn.update),
    .choices = "off|auto|cpr-transfer|ignore-shared|migrate",
    .help = "off|auto|cpr-transfer|ignore-shared|migrate: move the guest to a new QEMU process "
            "on this host (implies dst-spawn); auto probes (qmig update)" },
  { .key = "x-ignore-shared", .type = OPT_BOOL, .off = O(stream.ignore_shared),
    .help = "on|off: RAM in shared memory both QEMUs map is not sent (x-ignore-shared)" },
  { .key = "nbd-tls", .type = OPT_BOOL, .off = O(disks.nbd_tls),
    .help = "on|off: NBD over QEMU-native TLS with the migration's credentials (needs tls)" },

};
/* clang-format on */
static const struct opt_table eng_opts = { rows, sizeof rows / sizeof rows[0], OPT_RANGE_FROM_TO,
                                           26 };

void eng_config_init(struct eng_config *c)
{
  memset(c, 0, sizeof *c);
  opt_defaults(&eng_opts, c);
}

void eng_config_free(struct eng_config *c)
{
  opt_free(&eng_opts, c);
}

const char *const *qmig_option_keys(void)
{
  static const char *keys[sizeof rows / sizeof rows[0] + 1];
  opt_keys(&eng_opts, keys);
  return keys;
}

const char *qmig_option_help(const char *key)
{
  const struct opt_row *o = opt_find(&eng_opts, key);
  return o ? o->help : NULL;
}

int qmig_set(struct qmig_migration *m, const char *key, const char *value)
{
  const struct opt_row *o = key ? opt_find(&eng_opts, key) : NULL;
  if (!o)
    return eng_errorc(m, QMIG_E_OPTION, "unknown option '%s'", key ? key : "(null)");
  if (!value)
    return eng_errorc(m, QMIG_E_OPTION, "option '%s' needs a value", key);
  if (m->ran)
    return eng_errorc(m, QMIG_E_OPTION, "option '%s': the migration has already run", key);
  char err[1024];
  if (opt_set_msg(&eng_opts, &m->cfg, key, value, "option", err, sizeof err) < 0)
    return eng_errorc(m, QMIG_E_OPTION, "%s", err);
  return 0;
}

/* The configuration as JSON, every key of the table with its value. */
json_t *eng_config_json(const struct eng_config *c)
{
  return opt_json(&eng_opts, c);
}
