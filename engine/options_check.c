/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* options_check.c - the rules between migration options (options.c checks
 * each one alone as it is set): what needs what, what excludes what, checked
 * before anything is touched; and the rules of dst-spawn and live-update,
 * checked before the destination is made. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/opttab.h"
#include "engine/internal.h"

/* The rules of dst-spawn and live-update, checked before the destination is
 * made (update.c), which comes before eng_config_check. */
int eng_spawn_config_check(struct qmig_migration *m)
{
  const struct eng_config *c = &m->cfg;
  if (!c->src || strncmp(c->src, "unix:", 5))
    return eng_errorf(m, "dst-spawn and live-update need the source's QMP as unix:PATH on this "
                         "host (its pid and command line are read through it)");
  if (c->tunnel.agent)
    return eng_errorf(m, "dst-spawn starts the destination here, or with tunnel ssh:// on the "
                         "ssh host: not with tunnel HOST:PORT (an agent already running serves a "
                         "destination already started)");
  if (c->tunnel.ssh && (c->tunnel.tls != ENG_TLS_NONE || c->tunnel.insecure))
    return eng_errorf(m, "tunnel ssh:// makes its own credential (a PSK for the session, sent "
                         "over ssh): drop tunnel-tls and tunnel-insecure-no-auth");
  if (c->tunnel.ssh && c->spawn.update)
    return eng_errorf(m, "live-update moves the guest to a new process on this host: not with "
                         "tunnel ssh:// (dst-spawn on does that on the ssh host)");
  return 0;
}

/* Rules between options, checked before anything is touched. */
int eng_config_check(struct qmig_migration *m)
{
  struct eng_config *c = &m->cfg;
  bool ssh = c->tunnel.ssh && !m->ssh; /* before sshagent.c filled the tunnel in */
  if (ssh && c->tunnel.agent)
    return eng_errorf(m, "tunnel given twice");
  if (ssh && (c->tunnel.tls != ENG_TLS_NONE || c->tunnel.insecure))
    return eng_errorf(m, "tunnel ssh:// makes its own credential (a PSK for the session, sent "
                         "over ssh): drop tunnel-tls and tunnel-insecure-no-auth");
  if (c->tunnel.ssh && !c->dst)
    return eng_errorf(m, "tunnel ssh:// needs dst: the destination QEMU's QMP address on the ssh "
                         "host, for the agent");
  if (!c->tunnel.ssh && (c->tunnel.ssh_config || c->tunnel.ssh_qmig))
    return eng_errorf(m, "tunnel-ssh-config/tunnel-ssh-qmig need tunnel ssh://");
  if (c->tunnel.agent && !c->dst) { /* the destination QMP is reached through the agent */
    char d[300];
    snprintf(d, sizeof d, "tunnel:%s", c->tunnel.agent);
    if (opt_replace_str(&c->dst, d))
      return eng_errorc(m, QMIG_E_SYSTEM, "out of memory");
  }
  if (c->src && !c->dst && (c->spawn.on || c->spawn.update))
    return eng_errorf(m, "dst-spawn: the destination was not started");
  if (!c->src || !c->dst)
    return eng_errorf(m, "both a source (src) and a destination (dst) QMP address are needed");
  bool tunnel = c->tunnel.agent || c->tunnel.ssh;
  if ((c->tunnel.tls != ENG_TLS_NONE || c->tunnel.insecure || c->tunnel.data ||
       c->tunnel.handoff) &&
      !tunnel)
    return eng_errorf(m,
                      "tunnel-tls/tunnel-data/tunnel-handoff/tunnel-insecure-no-auth need tunnel");
  if (c->tunnel.agent && c->tunnel.tls == ENG_TLS_NONE && !c->tunnel.insecure)
    return eng_errorf(m, "tunnel needs a credential: tunnel-tls psk (tunnel-psk-file) or x509 "
                         "(tunnel-tls-dir), or tunnel-insecure-no-auth on for an agent run "
                         "without one");
  if (c->tunnel.tls != ENG_TLS_NONE && c->tunnel.insecure)
    return eng_errorf(m, "tunnel-insecure-no-auth and tunnel-tls contradict each other: drop one");
  if (c->tunnel.insecure && c->tunnel.data == ENG_TDATA_PLAIN)
    return eng_errorf(m, "tunnel-data plain does not apply with tunnel-insecure-no-auth "
                         "(everything is plaintext and unauthenticated there)");
  if (tunnel && (c->disks.nbd_addr || c->disks.nbd_connect))
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
  if ((c->policy.postcopy_after != ENG_AFTER_NONE ||
       c->policy.deadline_action == ENG_DEADLINE_POSTCOPY) &&
      !c->policy.postcopy)
    return eng_errorf(m, "postcopy-after and deadline-action postcopy need postcopy on");
  if (c->policy.postcopy && c->stream.multifd_channels)
    return eng_errorf(m, "postcopy and multifd cannot be combined in QEMU 7.2");
  if (c->policy.deadline_action != ENG_DEADLINE_CANCEL && !c->policy.deadline_s)
    return eng_errorf(m, "deadline-action needs a deadline");
  if (c->policy.kind != ENG_POLICY_FIXED && c->policy.max_downtime_ms &&
      c->policy.max_downtime_ms <= c->stream.downtime_limit_ms)
    return eng_errorf(m,
                      "max-downtime (%llu ms) must be above downtime-limit (%llu ms) for "
                      "an escalating policy",
                      (unsigned long long)c->policy.max_downtime_ms,
                      (unsigned long long)c->stream.downtime_limit_ms);
  if (c->policy.kind == ENG_POLICY_FIXED && c->policy.max_downtime_ms &&
      c->policy.max_downtime_ms < c->stream.downtime_limit_ms)
    return eng_errorf(m, "downtime-limit is above max-downtime");
  if ((c->policy.throttle_initial >= 0 || c->policy.throttle_increment >= 0 ||
       c->policy.max_throttle >= 0) &&
      !c->policy.auto_converge)
    return eng_errorf(m, "cpu-throttle options given but auto-converge is off");
  if (c->policy.dirty_limit && c->policy.auto_converge)
    return eng_errorf(m, "dirty-limit and auto-converge exclude each other (QEMU refuses both)");
  if (c->policy.vcpu_dirty_limit && !c->policy.dirty_limit)
    return eng_errorf(m, "vcpu-dirty-limit given but dirty-limit is off");
  if (c->policy.postcopy_preempt && !c->policy.postcopy)
    return eng_errorf(m, "postcopy-preempt needs postcopy on");
  if (c->policy.postcopy_preempt && (c->tunnel.agent || c->tunnel.ssh))
    return eng_errorf(m, "postcopy-preempt is not available through the tunnel (its extra "
                         "channel would not be told apart from the others)");
  bool copying = c->disks.copy || c->disks.copy_all;
  if (c->disks.copy && c->disks.copy_all)
    return eng_errorf(m, "copy-disks and copy-all-disks exclude each other");
  if (c->disks.shared && !c->disks.copy_all)
    return eng_errorf(m, "shared-disks is for copy-all-disks (with copy-disks, every disk "
                         "not listed is shared)");
  if (!copying && (c->disks.sync || c->disks.copy_mode != ENG_COPY_AUTO || c->disks.bandwidth ||
                   c->disks.nbd_addr || c->disks.nbd_connect || c->disks.nbd_tls))
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
