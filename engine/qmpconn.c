/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* qmpconn.c - how the engine reaches a QEMU's QMP: a unix socket as is; a
 * plain tcp: address only on loopback (elsewhere it is unauthenticated,
 * plaintext control of that QEMU) unless insecure-qmp-tcp says so; and
 * tls:HOST:PORT, QEMU's own TLS-capable monitor (-chardev socket,
 * tls-creds=... with verify-peer): TCP, then a TLS 1.3 client handshake
 * with transport/'s contexts (x509, QEMU's certificate verified against the
 * CA and the host name), then a forwarder between that connection and one
 * end of a socketpair, and the ordinary QMP client on the other end, as the
 * tunnel does for the destination's QMP.  One QMP client, whatever the way;
 * and eng_status, the one question every phase asks through it. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/errbuf.h"
#include "engine/internal.h"
#include "transport/transport.h"

#define MAX_FWD 16       /* live tls: QMP connections (2, and reconnections) */
#define END_WAIT_MS 1000 /* for QEMU to close its end after ours closed */

struct eng_qmp_tls {
  struct tp_tls *tls;
  struct tp_fwd *fwd[MAX_FWD];
  unsigned nfwd;
};

/* 127.0.0.0/8, ::1, ::ffff:127.x, or the name localhost; no resolving:
 * a name is only as trustworthy as the resolver, so other names count as
 * remote. */
static bool loopback(const char *host)
{
  char h[256];
  size_t n = strlen(host);
  if (n >= 2 && host[0] == '[' && host[n - 1] == ']')
    snprintf(h, sizeof h, "%.*s", (int)(n - 2), host + 1);
  else
    snprintf(h, sizeof h, "%s", host);
  struct in_addr a4;
  struct in6_addr a6;
  if (!strcmp(h, "localhost"))
    return true;
  if (inet_pton(AF_INET, h, &a4) == 1)
    return (ntohl(a4.s_addr) >> 24) == 127;
  if (inet_pton(AF_INET6, h, &a6) == 1)
    return IN6_IS_ADDR_LOOPBACK(&a6) || (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
  return false;
}

int eng_qmp_addr_check(struct qmig_migration *m, const char *name, const char *addr, char *err,
                       size_t errlen)
{
  char host[256];
  if (strncmp(addr, "tcp:", 4) != 0)
    return 0;
  eng_tcp_host(addr, host, sizeof host);
  if (loopback(host))
    return 0;
  if (!m->cfg.qmp.insecure_tcp) {
    errbuf_setf(err, errlen,
                "%s QMP %s is unauthenticated, plaintext control of that QEMU; "
                "use a TLS QMP socket (tls:HOST:PORT with qmp-tls-dir) or the tunnel agent, "
                "or insecure-qmp-tcp on to accept the risk",
                name, addr);
    return -1;
  }
  /* Accepted: said once per address in the report's warnings (which the
   * CLI prints as they come). */
  char w[600];
  snprintf(w, sizeof w,
           "insecure-qmp-tcp: %s QMP %s is unauthenticated, plaintext control of "
           "that QEMU: anyone on the path can read and drive it",
           name, addr);
  if (!strstr(m->report.warnings, addr))
    eng_warn(m, w);
  return 0;
}

/* Join forwarders that have ended, so reconnections never run out of room. */
static void reap(struct eng_qmp_tls *q)
{
  unsigned k = 0;
  for (unsigned i = 0; i < q->nfwd; i++) {
    if (tp_fwd_done(q->fwd[i]))
      tp_fwd_join(q->fwd[i], NULL);
    else
      q->fwd[k++] = q->fwd[i];
  }
  q->nfwd = k;
}

static struct qmp_conn *tls_connect(struct qmig_migration *m, const char *name, const char *addr,
                                    char *err, size_t errlen)
{
  const struct eng_config *c = &m->cfg;
  const char *hostport = addr + 4;
  int t = (int)c->qmp.timeout_ms;
  char host[256], port[16], label[320], e[512];
  if (tp_split_hostport(hostport, host, sizeof host, port, sizeof port) < 0) {
    errbuf_setf(err, errlen, "%s QMP %s: not tls:HOST:PORT", name, addr);
    return NULL;
  }
  if (!c->qmp.tls_dir) {
    errbuf_setf(err, errlen,
                "%s QMP %s: a tls: address needs qmp-tls-dir (ca-cert.pem, "
                "client-cert.pem, client-key.pem)",
                name, addr);
    return NULL;
  }
  struct eng_qmp_tls *q = m->qmp_tls;
  if (!q && !(q = m->qmp_tls = calloc(1, sizeof *q))) {
    errbuf_setf(err, errlen, "out of memory");
    return NULL;
  }
  if (!q->tls) {
    struct tp_tls_opts o = { .mode = TP_TLS_X509,
                             .dir = c->qmp.tls_dir,
                             .peer_name = c->qmp.tls_name };
    if (!(q->tls = tp_tls_new(&o, e, sizeof e))) {
      errbuf_setf(err, errlen, "QMP TLS credentials in %s: %s", c->qmp.tls_dir, e);
      return NULL;
    }
  }
  reap(q);
  if (q->nfwd == MAX_FWD) {
    errbuf_setf(err, errlen, "%s QMP %s: too many TLS QMP connections open", name, addr);
    return NULL;
  }
  snprintf(label, sizeof label, "%s QMP %s", name, addr);
  int fd = tp_tcp_connect(hostport, t, e, sizeof e);
  if (fd < 0) {
    errbuf_setf(err, errlen, "%s: %s", label, e);
    return NULL;
  }
  struct tp_conn *conn = tp_conn_new(fd, q->tls, host, label);
  if (!conn || tp_conn_handshake(conn, t) < 0) {
    errbuf_setf(err, errlen, "%s", conn ? tp_conn_error(conn) : "out of memory");
    tp_conn_free(conn);
    return NULL;
  }
  tp_conn_split_last_byte(conn, true); /* QEMU 7.2's TLS monitor, see there */
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
    errbuf_setf(err, errlen, "%s: socketpair: %s", label, strerror(errno));
    tp_conn_free(conn);
    return NULL;
  }
  struct tp_fwd *f = tp_fwd_start(sv[1], conn, e, sizeof e); /* takes sv[1] and conn */
  if (!f) {
    errbuf_setf(err, errlen, "%s: %s", label, e);
    close(sv[0]);
    return NULL;
  }
  q->fwd[q->nfwd++] = f;
  struct qmp_conn *qc = qmp_open_fd(name, sv[0], t, e, sizeof e);
  if (!qc) {
    /* In TLS 1.3 QEMU judges our certificate after our side of the
     * handshake is done: its refusal reaches the forwarder, and the QMP
     * client only sees the close.  Say both. */
    struct tp_fwd_stats st;
    for (int i = 0; i < 50 && !tp_fwd_done(f); i++)
      usleep(10000);
    tp_fwd_peek(f, &st);
    bool closed = st.failed && strstr(st.error, "close_notify");
    errbuf_setf(err, errlen, "%s%s%s%s", e, st.failed ? "; " : "", st.failed ? st.error : "",
                closed ? " (QEMU closes without a word when it rejects our client "
                         "certificate: is client-cert.pem signed by the CA QEMU trusts?)"
                       : "");
  }
  return qc;
}

struct qmp_conn *eng_qmp_connect(struct qmig_migration *m, const char *name, const char *addr,
                                 char *err, size_t errlen)
{
  if (eng_qmp_addr_check(m, name, addr, err, errlen) < 0)
    return NULL;
  if (strncmp(addr, "tls:", 4) == 0)
    return tls_connect(m, name, addr, err, errlen);
  return qmp_connect(name, addr, (int)m->cfg.qmp.timeout_ms, err, errlen);
}

/* The "status" of `cmd`'s reply (query-status: run state; query-migrate:
 * migration status, "none" when absent) into out. */
int eng_status(struct qmig_migration *m, struct qmp_conn *c, const char *cmd, char *out, size_t len)
{
  json_t *r = NULL;
  if (qmp_cmd(c, &r, QMP_TIMEOUT_DEFAULT, cmd, NULL) < 0)
    return eng_errorf(m, "%s", qmp_error(c));
  snprintf(out, len, "%s", json_string_value(json_object_get(r, "status")) ?: "none");
  json_decref(r);
  return 0;
}

void eng_qmp_end(struct qmig_migration *m)
{
  struct eng_qmp_tls *q = m->qmp_tls;
  if (!q)
    return;
  /* Our QMP ends are closed by now: each forwarder passes the close on
   * and ends when QEMU closes too; one that does not is stopped. */
  int64_t until = tp_mono_ms() + END_WAIT_MS;
  for (unsigned i = 0; i < q->nfwd; i++) {
    while (!tp_fwd_done(q->fwd[i]) && tp_mono_ms() < until)
      usleep(10000);
    if (!tp_fwd_done(q->fwd[i]))
      tp_fwd_abort(q->fwd[i]);
    tp_fwd_join(q->fwd[i], NULL);
  }
  tp_tls_free(q->tls);
  free(q);
  m->qmp_tls = NULL;
}
