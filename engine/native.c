/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* native.c - the native transport session (engine/session.h): the
 * destination's QMP at its own address, the stream to a port (or the
 * data-uri) the destination QEMU listens on, the disk copy to an NBD server
 * it starts where the source can reach it.  The source's NBD client goes
 * through qmig's own forwarder when that server is on TCP (engine/nbdfwd.h):
 * a dead link then ends its connections in seconds, not after TCP's ~15 min
 * of retransmission.  Nothing of the session outlives the run: the NBD
 * forwarder belongs to the disk copy (mirror.c ends it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/errbuf.h"
#include "engine/internal.h"
#include "engine/mirror.h"
#include "engine/nbdfwd.h"
#include "engine/session.h"
#include "transport/transport.h"

static int native_check_dst(struct qmig_migration *m, char *err, size_t errlen)
{
  return eng_qmp_addr_check(m, "destination", m->cfg.dst, err, errlen);
}

static int native_connect_dst(struct qmig_migration *m)
{
  char e[512];
  m->dst = eng_qmp_connect(m, "destination", m->cfg.dst, e, sizeof e);
  if (!m->dst)
    return eng_errorf(m, "%s", e);
  return 0;
}

static struct qmp_conn *native_reconnect_dst(struct qmig_migration *m, char *err, size_t errlen)
{
  return eng_qmp_connect(m, "destination", m->cfg.dst, err, errlen);
}

/* `cmd` (migrate-incoming, migrate-recover) with "tcp:HOST:PORT" on the
 * data host, the first port of the range the destination can bind (a
 * failed migrate-incoming can be retried in QEMU 7.2) into uri.  0; -1
 * when QEMU refused other than "in use" (its error on m->dst); 1 when every
 * port was in use. */
static int listen_tcp(struct qmig_migration *m, const char *cmd, const char *host, char *uri,
                      size_t ulen)
{
  bool v6 = strchr(host, ':') && host[0] != '[';
  for (unsigned port = m->cfg.stream.port_lo; port <= m->cfg.stream.port_hi; port++) {
    snprintf(uri, ulen, v6 ? "tcp:[%s]:%u" : "tcp:%s:%u", host, port);
    if (qmp_cmd(m->dst, NULL, QMP_TIMEOUT_DEFAULT, cmd, "{s:s}", "uri", uri) == 0)
      return 0;
    if (qmp_broken(m->dst) || !strstr(qmp_error(m->dst), "in use"))
      return -1;
  }
  return 1;
}

/* migrate-incoming at "tcp:HOST:LO,to=HI": QEMU binds the first free port
 * of the range itself, and query-migrate's socket-address says which; the
 * stream URI into uri.  One command: a QEMU 10 destination whose
 * migrate-incoming failed stays in "setup" and refuses another ("Illegal
 * migration incoming state"), so the port-by-port retry of QEMU 7.2 no
 * longer works.  0; -1 when QEMU refused (its error on m->dst); -2 with
 * the error on m when it listens but does not say where. */
static int listen_range(struct qmig_migration *m, const char *host, char *uri, size_t ulen)
{
  bool v6 = strchr(host, ':') && host[0] != '[';
  const char *fmt = v6 ? "tcp:[%s]:%u" : "tcp:%s:%u";
  char req[300];
  unsigned lo = m->cfg.stream.port_lo, hi = m->cfg.stream.port_hi;
  snprintf(req, sizeof req, fmt, host, lo);
  if (hi > lo)
    snprintf(req + strlen(req), sizeof req - strlen(req), ",to=%u", hi);
  if (qmp_execute(m->dst, "migrate-incoming", eng_incoming_args(m, req), NULL,
                  QMP_TIMEOUT_DEFAULT) < 0)
    return -1;
  m->facts.incoming_issued = true;
  json_t *r = NULL;
  if (qmp_cmd(m->dst, &r, QMP_TIMEOUT_DEFAULT, "query-migrate", NULL) < 0)
    return -1;
  json_t *sa = json_array_get(json_object_get(r, "socket-address"), 0);
  const char *port = json_string_value(json_object_get(sa, "port"));
  long p = port ? strtol(port, NULL, 10) : 0;
  json_decref(r);
  if (p < (long)lo || p > (long)hi) {
    eng_errorf(m, "destination listens at %s but its query-migrate names no port of the range",
               req);
    return -2;
  }
  snprintf(uri, ulen, fmt, host, (unsigned)p);
  return 0;
}

static int native_incoming(struct qmig_migration *m)
{
  if (m->cfg.stream.uri) {
    snprintf(m->uri, sizeof m->uri, "%s", m->cfg.stream.uri);
    if (qmp_execute(m->dst, "migrate-incoming", eng_incoming_args(m, m->uri), NULL,
                    QMP_TIMEOUT_DEFAULT) < 0)
      return eng_errorf(m, "%s", qmp_error(m->dst));
    m->facts.incoming_issued = true;
    return 0;
  }
  char host[200];
  eng_data_host(&m->cfg, host, sizeof host);
  int rc = listen_range(m, host, m->uri, sizeof m->uri);
  if (rc == 0 || rc == -2)
    return rc < 0 ? -1 : 0;
  if (qmp_broken(m->dst) || !strstr(qmp_error(m->dst), "in use"))
    return eng_errorf(m, "%s", qmp_error(m->dst));
  return eng_errorf(m, "destination: no free port for the stream in %u-%u on %s (%s)",
                    m->cfg.stream.port_lo, m->cfg.stream.port_hi, host, qmp_error(m->dst));
}

/* A fresh stream URI: a unix data-uri gets a new path beside it, else tcp
 * on the data host, first port that binds. */
static int native_resume(struct qmig_migration *m, char *uri, size_t ulen, char *why, size_t wlen)
{
  char host[200];
  bool bound;
  if (m->cfg.stream.uri && !strncmp(m->cfg.stream.uri, "unix:", 5)) {
    snprintf(uri, ulen, "%s-recover", m->cfg.stream.uri);
    unlink(uri + 5);
    bound = qmp_cmd(m->dst, NULL, QMP_TIMEOUT_DEFAULT, "migrate-recover", "{s:s}", "uri", uri) == 0;
  } else {
    eng_data_host(&m->cfg, host, sizeof host);
    bound = listen_tcp(m, "migrate-recover", host, uri, ulen) == 0;
  }
  if (!bound)
    return snprintf(why, wlen, "destination migrate-recover: %s", qmp_error(m->dst)), -1;
  return 0;
}

/* The source's NBD connection `index`: TCP to the destination's server
 * (connect within the QMP timeout, TCP_USER_TIMEOUT), plain. */
static struct tp_conn *tcp_open(void *ctx, unsigned index, char *err, size_t errlen)
{
  struct qmig_migration *m = ctx;
  const char *to = m->mirror->fwd_to;
  char label[360];
  int fd = tp_tcp_connect(to, (int)m->cfg.qmp.timeout_ms, err, errlen);
  if (fd < 0)
    return NULL;
  snprintf(label, sizeof label, "NBD connection %u to %s", index, to);
  struct tp_conn *c = tp_conn_new(fd, NULL, NULL, label);
  if (!c)
    snprintf(err, errlen, "%s: out of memory", label);
  return c;
}

/* mi->connect is tcp:HOST:PORT: the source's NBD client goes through our
 * forwarder instead (a private unix socket); the forwarders are kept and
 * ended by the nbdfwd module (mirror.c aborts or ends it). */
static int forward_start(struct qmig_migration *m)
{
  static const struct eng_nbdfwd_ops ops = { tcp_open, NULL, NULL };
  struct eng_mirror *mi = m->mirror;
  char e[512], path[128];
  snprintf(mi->fwd_to, sizeof mi->fwd_to, "%s", mi->connect + 4);
  snprintf(mi->sockdir, sizeof mi->sockdir, ENG_MIRROR_SOCKDIR "XXXXXX");
  if (!mkdtemp(mi->sockdir)) { /* 0700: only we and QEMU (same user) */
    mi->sockdir[0] = '\0';
    return eng_errorf(m, "NBD forwarder directory: %m");
  }
  snprintf(path, sizeof path, "%s/nbd.sock", mi->sockdir);
  mi->fwd = eng_nbdfwd_start(path, &ops, m, e, sizeof e);
  if (!mi->fwd)
    return eng_errorf(m, "NBD forwarder to %s: %s", mi->fwd_to, e);
  snprintf(mi->connect, sizeof mi->connect, "unix:%s", path);
  return 0;
}

/* The destination's NBD server: at nbd-addr, else a private unix socket for
 * a local destination, else tcp on the data host, first free port of the
 * data-port range (or nbd-addr's host without a port).  The source
 * connects to nbd-connect, else where it listens. */
static int native_nbd(struct qmig_migration *m)
{
  struct eng_mirror *mi = m->mirror;
  const struct eng_config *c = &m->cfg;
  char host[256] = "", port[16] = "";
  if (c->disks.nbd_addr)
    eng_split_tcp(c->disks.nbd_addr, host, sizeof host, port, sizeof port);
  if (c->disks.nbd_addr && (!strncmp(c->disks.nbd_addr, "unix:", 5) || port[0])) {
    snprintf(mi->listen, sizeof mi->listen, "%s", c->disks.nbd_addr);
    if (eng_mirror_server_at(m, mi->listen) < 0)
      return eng_errorf(m, "destination NBD server at %s: %s", mi->listen, qmp_error(m->dst));
  } else if (!c->disks.nbd_addr && eng_pf_dst_local(c)) {
    snprintf(mi->sockdir, sizeof mi->sockdir, ENG_MIRROR_SOCKDIR "XXXXXX");
    if (!mkdtemp(mi->sockdir)) { /* 0700: only we and QEMU (same user) */
      mi->sockdir[0] = '\0';
      return eng_errorf(m, "NBD socket directory: %m");
    }
    snprintf(mi->listen, sizeof mi->listen, "unix:%s/nbd.sock", mi->sockdir);
    if (eng_mirror_server_at(m, mi->listen) < 0)
      return eng_errorf(m, "destination NBD server at %s: %s", mi->listen, qmp_error(m->dst));
  } else {
    if (!host[0])
      eng_data_host(c, host, sizeof host);
    bool v6 = strchr(host, ':') != NULL;
    unsigned p;
    for (p = c->stream.port_lo; p <= c->stream.port_hi; p++) {
      snprintf(mi->listen, sizeof mi->listen, v6 ? "tcp:[%s]:%u" : "tcp:%s:%u", host, p);
      if (eng_mirror_server_at(m, mi->listen) == 0)
        break;
      if (qmp_broken(m->dst) || !strstr(qmp_error(m->dst), "in use"))
        return eng_errorf(m, "destination NBD server at %s: %s", mi->listen, qmp_error(m->dst));
    }
    if (p > c->stream.port_hi)
      return eng_errorf(m, "destination NBD server: no free port in %u-%u on %s", c->stream.port_lo,
                        c->stream.port_hi, host);
  }
  snprintf(mi->connect, sizeof mi->connect, "%s",
           c->disks.nbd_connect ? c->disks.nbd_connect : mi->listen);
  if (!strncmp(mi->connect, "tcp:", 4))
    return forward_start(m);
  return 0;
}

/* QEMU's own error says how the stream broke ("Unable to write to socket:
 * Broken pipe"); when the destination QEMU is gone too, that is the cause.
 * Its QMP socket closed with the process, but the follow loop may have seen
 * the source's failure first: read what is there (briefly) before saying. */
static void native_blame(struct qmig_migration *m)
{
  if (!m->dst || strstr(m->err, "destination QEMU went away"))
    return;
  if (!qmp_broken(m->dst))
    qmp_pump(m->dst, 100);
  if (qmp_broken(m->dst))
    errbuf_appendf(m->err, sizeof m->err, "destination QEMU went away (QMP: %s)",
                   qmp_error(m->dst));
}

static void native_end(struct qmig_migration *m)
{
  (void)m;
}

static const char *native_agent(const struct qmig_migration *m)
{
  (void)m;
  return NULL;
}

static void native_recover_args(const struct qmig_migration *m, char *out, size_t len)
{
  snprintf(out, len, " --src %s --dst %s", m->cfg.src, m->cfg.dst);
}

const struct eng_session_ops eng_native_session = {
  .name = "native",
  .check_dst = native_check_dst,
  .connect_dst = native_connect_dst,
  .reconnect_dst = native_reconnect_dst,
  .incoming = native_incoming,
  .resume = native_resume,
  .nbd = native_nbd,
  .blame = native_blame,
  .end = native_end,
  .agent = native_agent,
  .recover_args = native_recover_args,
};
