/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tunnel.c - the tunnel session (engine/session.h, engine/tunnel.h): the
 * engine's side of a tunnelled migration (option `tunnel`).
 *
 * Connect: a control connection (TLS 1.3 with the credential) to the agent
 * opens the session: the agent issues its id and the destination's
 * incoming URI, both ends export the session key from that TLS, and every
 * other connection answers the agent's challenge with it (wire protocol 2,
 * docs/TUNNEL.md); data channels are TLS or plain (tunnel-data); NTP-style clock
 * probes over it give the offset of the destination's clock; a `qmp`
 * channel relays the destination QMP into a local socketpair that the
 * ordinary QMP client uses.  The source's channels: tunnel_chan.c.
 * End: waits (bounded) for the forwarders, then writes the "tunnel" report
 * section: channels, bytes, TLS, clock offset, forwarder CPU. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <openssl/crypto.h>

#include "common/errbuf.h"
#include "engine/nbdfwd.h"
#include "engine/session.h"
#include "engine/tunnel.h"

#define CLOCK_SAMPLES 8
#define END_WAIT_MS 10000

/* One line from the control connection (replies are one line each). */
int eng_tunnel_control_line(struct eng_tunnel *t, char *buf, size_t len)
{
  size_t have = 0;
  while (have < len - 1) {
    ssize_t r = tp_conn_read_some(t->control, buf + have, 1, t->timeout_ms);
    if (r <= 0)
      return -1;
    if (buf[have] == '\n') {
      buf[have] = '\0';
      return 0;
    }
    have++;
  }
  return -1;
}

/* NTP-style: t1 (ours) -> t2, t3 (agent) -> t4 (ours).  offset = ((t2-t1) +
 * (t3-t4))/2, wrong by at most rtt/2 where rtt = (t4-t1) - (t3-t2); the
 * sample with the smallest rtt wins. */
#define CLOCK_MAX_OFF_US (86400LL * 1000000)

static int clock_sync(struct qmig_migration *m, struct eng_tunnel *t)
{
  int64_t best_rtt = INT64_MAX, best_off = 0;
  for (int i = 0; i < CLOCK_SAMPLES; i++) {
    char line[256];
    int64_t t1 = tp_wall_us();
    int n = snprintf(line, sizeof line, "{\"op\":\"clock\",\"t1\":%lld}\n", (long long)t1);
    if (tp_conn_write_all(t->control, line, (size_t)n, t->timeout_ms) < 0 ||
        eng_tunnel_control_line(t, line, sizeof line) < 0)
      return eng_errorf(m, "tunnel clock probe: %s",
                        tp_conn_error(t->control)[0] ? tp_conn_error(t->control)
                                                     : "bad reply from the agent");
    int64_t t4 = tp_wall_us(), tt[3];
    char why[200];
    if (tp_clock_reply_parse(line, strlen(line), tt, why, sizeof why) < 0)
      return eng_errorf(m, "tunnel clock probe: %s", why);
    int64_t r1 = tt[0], t2 = tt[1], t3 = tt[2];
    if (r1 != t1 || t3 < t2)
      return eng_errorf(m, "tunnel clock probe: the agent's reply does not match the probe");
    /* Bound the agent's figures before any arithmetic (no signed overflow
     * from a hostile reply): a clock a day off is no clock to correct by. */
    if (t2 < t1 - CLOCK_MAX_OFF_US || t2 > t1 + CLOCK_MAX_OFF_US || t3 - t2 > CLOCK_MAX_OFF_US)
      return eng_errorf(m, "tunnel clock probe: the agent's clock is more than a day off ours");
    int64_t rtt = (t4 - t1) - (t3 - t2);
    if (rtt < best_rtt) {
      best_rtt = rtt;
      best_off = ((t2 - t1) + (t3 - t4)) / 2;
    }
    t->samples++;
  }
  t->offset_ms = best_off / 1000.0;
  t->uncertainty_ms = best_rtt / 2000.0;
  m->facts.dst_clock_offset_us = best_off;
  return 0;
}

/* A QMP client for the destination over a new qmp channel. */
static struct qmp_conn *open_qmp(struct qmig_migration *m, char *err, size_t errlen)
{
  struct eng_tunnel *t = m->tunnel;
  struct tp_conn *c = eng_tunnel_open_channel(t, TP_K_QMP, 0, err, errlen);
  int sv[2];
  if (!c)
    return NULL;
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
    snprintf(err, errlen, "socketpair: %s", strerror(errno));
    tp_conn_free(c);
    return NULL;
  }
  struct tp_fwd *f = tp_fwd_start(sv[1], c, err, errlen);
  if (!f) {
    close(sv[0]);
    return NULL;
  }
  eng_tunnel_add_chan(t, TP_K_QMP, 0, 0, f, "QMP always goes through the agent's allow-list (TLS)");
  return qmp_open_fd("destination", sv[0], t->timeout_ms, err, errlen);
}

/* Recovery's reconnect: a fresh qmp channel of the session connect_dst
 * opened (why it could not be opened is not kept: a reason already in err
 * is, else the agent is named). */
static struct qmp_conn *tunnel_reconnect_dst(struct qmig_migration *m, char *err, size_t errlen)
{
  struct eng_tunnel *t = m->tunnel;
  char e[512];
  struct qmp_conn *c = t && t->control ? open_qmp(m, e, sizeof e) : NULL;
  if (!c && !err[0])
    snprintf(err, errlen, "no QMP channel through the agent at %s", t ? t->agent : "?");
  return c;
}

int eng_tunnel_new(struct qmig_migration *m, const struct eng_tunnel_cfg *opts, int timeout_ms)
{
  struct eng_tunnel *t = calloc(1, sizeof *t);
  if (!t)
    return eng_errorf(m, "out of memory");
  m->tunnel = t;
  pthread_mutex_init(&t->lock, NULL);
  t->lfd = -1;
  t->opts = opts;
  t->agent = opts->agent ? opts->agent : opts->ssh; /* ssh: until its agent listens */
  t->timeout_ms = timeout_ms;
  return 0;
}

/* The agent is reached with the tunnel's credential: no address to refuse. */
static int tunnel_check_dst(struct qmig_migration *m, char *err, size_t errlen)
{
  (void)m, (void)err, (void)errlen;
  return 0;
}

static int tunnel_connect_dst(struct qmig_migration *m)
{
  struct eng_tunnel *t = m->tunnel;
  const struct eng_tunnel_cfg *o = t->opts;
  char e[512];
  if (o->ssh && !m->ssh && eng_ssh_start(m) < 0) /* tunnel ssh://: the agent there first */
    return -1;
  if (o->ssh) /* started here, or with the destination QEMU (dst-spawn, update.c) */
    t->agent = o->agent;
  if (o->tls != ENG_TLS_NONE) {
    struct tp_tls_opts to = { .mode = o->tls,
                              .dir = o->tls_dir,
                              .peer_name = o->peer_name,
                              .psk_file = o->psk_file,
                              .psk_identity = o->psk_identity };
    if (!(t->tls = tp_tls_new(&to, e, sizeof e)))
      return eng_errorc(m, QMIG_E_AUTH, "tunnel TLS: %s", e);
  }
  t->data_plain = o->data == ENG_TDATA_PLAIN;
  char label[300];
  snprintf(label, sizeof label, "control connection to %s", t->agent);
  struct tp_session_info si;
  t->control = tp_session_open(t->agent, t->tls, label, &si, t->key, t->timeout_ms, e, sizeof e);
  if (!t->control)
    return si.auth_refused ? eng_errorc(m, QMIG_E_AUTH, "tunnel: %s", e)
                           : eng_errorf(m, "tunnel: %s", e);
  t->have_key = t->tls != NULL;
  if (t->data_plain && !si.plain_data)
    return eng_errorc(m, QMIG_E_AUTH,
                      "tunnel: the agent at %s refuses plaintext data channels (it runs "
                      "with plain-data refuse): use tunnel-data tls",
                      t->agent);
  memcpy(t->session, si.session, TP_SESSION_LEN);
  tp_hex(t->session, TP_SESSION_LEN, t->session_hex);
  snprintf(t->incoming, sizeof t->incoming, "%s", si.incoming);
  snprintf(t->nbd, sizeof t->nbd, "%s", si.nbd);
  snprintf(t->auth, sizeof t->auth, "%s", si.auth);
  t->agent_handoff = si.handoff;
  char ctl[96];
  tp_conn_describe(t->control, ctl, sizeof ctl);
  if (!t->tls)
    snprintf(t->tls_desc, sizeof t->tls_desc, "plain, UNAUTHENTICATED (insecure-no-auth)");
  else
    snprintf(t->tls_desc, sizeof t->tls_desc, "%s; data %s", ctl,
             t->data_plain ? "plain (authenticated)" : "TLS");
  if (clock_sync(m, t) < 0)
    return -1;
  m->dst = open_qmp(m, e, sizeof e);
  if (!m->dst)
    return eng_errorf(m, "destination QMP through the tunnel: %s", e);
  return 0;
}

/* Whether the agent closed the control connection (it is gone, or ended the
 * session).  Nothing else is ever sent on it unasked. */
static bool control_closed(struct eng_tunnel *t)
{
  struct pollfd p = { .fd = tp_conn_fd(t->control), .events = POLLIN };
  char b[64];
  return poll(&p, 1, 0) == 1 && tp_conn_read_some(t->control, b, sizeof b, 10) <= 0;
}

/* The tunnel failure that explains a failed migration: the first channel
 * that could not be opened, else a failed data channel (given up to 1 s to
 * notice: QEMU may see the break first), else the QMP relay, else a control
 * connection the agent closed. */
static void tunnel_blame(struct qmig_migration *m)
{
  struct eng_tunnel *t = m->tunnel;
  if (!t)
    return;
  char why[512] = "", qmp_why[300] = "";
  int64_t until = tp_mono_ms() + 1000;
  for (bool settled = false; !settled && !why[0];) {
    settled = tp_mono_ms() >= until;
    pthread_mutex_lock(&t->lock);
    snprintf(why, sizeof why, "%s", t->error);
    bool running = false;
    for (unsigned i = 0; i < t->nch && !why[0]; i++) {
      struct tp_fwd_stats st;
      if (!t->ch[i].fwd)
        continue; /* handed off: QEMU itself says what broke */
      tp_fwd_peek(t->ch[i].fwd, &st);
      if (t->ch[i].kind == TP_K_QMP)
        snprintf(qmp_why, sizeof qmp_why, "%s", st.failed ? st.error : "");
      else if (st.failed)
        snprintf(why, sizeof why, "%s", st.error);
      else
        running |= !tp_fwd_done(t->ch[i].fwd);
    }
    pthread_mutex_unlock(&t->lock);
    settled |= !running;
    if (!why[0] && !settled)
      usleep(20000);
  }
  if (!why[0] && qmp_why[0])
    snprintf(why, sizeof why, "%s", qmp_why);
  eng_tunnel_handoff_unused(m);
  if (!why[0] && t->control && control_closed(t))
    snprintf(why, sizeof why, "%s: closed by the agent (is it still running?)",
             tp_conn_label(t->control));
  if (why[0] && !strstr(m->err, why))
    errbuf_appendf(m->err, sizeof m->err, "tunnel: %s", why);
}

/* The report's "tunnel" section; out of memory it stays absent. */
static void report_section(struct qmig_migration *m, struct eng_tunnel *t)
{
  struct qmig_report_tunnel *r = ENG_SECTION(m, tunnel);
  struct qmig_tunnel_channel *ch = t->nch ? calloc(t->nch, sizeof *ch) : NULL;
  if (!r || (t->nch && !ch)) {
    free(ch);
    return;
  }
  free((void *)r->channels); /* a second session of the handle replaces the first */
  *r = (struct qmig_report_tunnel){ .data = t->tls && !t->data_plain ? "tls" : "plain",
                                    .offset_ms = t->offset_ms,
                                    .uncertainty_ms = t->uncertainty_ms,
                                    .samples = t->samples,
                                    .nchannels = t->nch,
                                    .channels = ch };
  snprintf(r->agent, sizeof r->agent, "%s", t->agent);
  snprintf(r->session, sizeof r->session, "%s", t->session_hex);
  snprintf(r->incoming, sizeof r->incoming, "%s", t->incoming);
  snprintf(r->tls, sizeof r->tls, "%s", t->tls_desc[0] ? t->tls_desc : "none");
  snprintf(r->auth, sizeof r->auth, "%s", t->auth[0] ? t->auth : "none");
  if (t->tls && !t->data_plain) {
    /* "ktls" only when the kernel does every channel's TLS. */
    pthread_mutex_lock(&t->lock);
    r->offload = t->n_ktls && !t->n_user ? "ktls" : "user";
    snprintf(r->offload_why, sizeof r->offload_why, "%s", t->offload_why);
    pthread_mutex_unlock(&t->lock);
    if (!strcmp(r->offload, "user") && !r->offload_why[0] &&
        tp_ktls_available(r->offload_why, sizeof r->offload_why))
      snprintf(r->offload_why, sizeof r->offload_why, "no TLS channel was opened");
  }
  snprintf(r->error, sizeof r->error, "%s", t->error);
  for (unsigned i = 0; i < t->nch; i++) {
    const struct chan *c = &t->ch[i];
    ch[i] = (struct qmig_tunnel_channel){
      .kind = tp_kind_name(c->kind),
      .index = c->kind == TP_K_MULTIFD || c->kind == TP_K_NBD ? (int)c->index : -1,
      .bytes_to_dst = c->st.bytes_out,
      .bytes_from_dst = c->st.bytes_in,
      .cpu_s = c->st.cpu_s,
      .failed = c->st.failed,
      .path = c->fwd || c->why[0] ? "forwarded" : "handoff",
    };
    snprintf(ch[i].error, sizeof ch[i].error, "%s", c->st.error);
    snprintf(ch[i].why, sizeof ch[i].why, "%s", c->why);
    r->forwarder_cpu_s += c->st.cpu_s;
  }
}

void eng_tunnel_end(struct qmig_migration *m)
{
  struct eng_tunnel *t = m->tunnel;
  if (!t)
    return;
  atomic_store(&t->stop, true);
  if (t->acceptor_started)
    pthread_join(t->acceptor, NULL);
  eng_nbdfwd_end(t->nbd_fwd, 0); /* its forwarders are ours, below */
  t->nbd_fwd = NULL;
  if (t->lfd >= 0)
    close(t->lfd);
  if (t->path[0])
    unlink(t->path);
  if (t->dir[0])
    rmdir(t->dir);
  /* QEMU closes its channels when the migration ends; wait for that, then
   * stop whatever still runs. */
  int64_t until = tp_mono_ms() + END_WAIT_MS;
  tp_conn_free(t->pre_main); /* the source never connected */
  t->pre_main = NULL;
  for (unsigned i = 0; i < t->nch; i++) {
    if (!t->ch[i].fwd)
      continue; /* handed off */
    while (!tp_fwd_done(t->ch[i].fwd) && tp_mono_ms() < until)
      usleep(10000);
    if (!tp_fwd_done(t->ch[i].fwd))
      tp_fwd_abort(t->ch[i].fwd);
    tp_fwd_join(t->ch[i].fwd, &t->ch[i].st);
    t->ch[i].st.bytes_out += t->ch[i].prefix;
    t->ch[i].fwd = NULL;
  }
  if (t->control) {
    tp_conn_close(t->control, t->timeout_ms);
    tp_conn_free(t->control);
  }
  if (t->incoming[0] || t->error[0])
    report_section(m, t);
  tp_tls_free(t->tls);
  OPENSSL_cleanse(t->key, sizeof t->key);
  pthread_mutex_destroy(&t->lock);
  free(t);
  m->tunnel = NULL;
}

static const char *tunnel_agent(const struct qmig_migration *m)
{
  return m->tunnel ? m->tunnel->agent : NULL;
}

static void tunnel_recover_args(const struct qmig_migration *m, char *out, size_t len)
{
  const struct eng_tunnel *t = m->tunnel;
  snprintf(out, len, " --src %s --tunnel %s%s", m->cfg.src, t ? t->agent : "?",
           t && t->opts->tls ? " (and the same --tunnel-tls options)" : "");
}

const struct eng_session_ops eng_tunnel_session = {
  .name = "tunnel",
  .check_dst = tunnel_check_dst,
  .connect_dst = tunnel_connect_dst,
  .reconnect_dst = tunnel_reconnect_dst,
  .incoming = eng_tunnel_incoming,
  .resume = eng_tunnel_resume,
  .nbd = eng_tunnel_nbd,
  .blame = tunnel_blame,
  .end = eng_tunnel_end,
  .agent = tunnel_agent,
  .recover_args = tunnel_recover_args,
};
