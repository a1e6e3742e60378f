/* tunnel.c - the engine's side of a tunnelled migration (option `tunnel`).
 *
 * Connect: a control connection (TLS 1.3 with the credential) to the agent
 * opens the session: the agent issues its id and the destination's
 * incoming URI, both ends export the session key from that TLS, and every
 * other connection answers the agent's challenge with it (wire protocol 2,
 * docs/TUNNEL.md); data channels are TLS or plain (tunnel-data); NTP-style clock
 * probes over it give the offset of the destination's clock; a `qmp`
 * channel relays the destination QMP into a local socketpair that the
 * ordinary QMP client uses.
 * Incoming: migrate-incoming with the agent's URI on the destination; the
 * source gets a private unix socket (0600 in a 0700 dir).  An acceptor
 * thread reads the first bytes of each connection the source QEMU opens,
 * tells main from multifd (and its id), opens one tunnel connection per
 * QEMU channel and hands both to an io_uring forwarder (transport/fwd.c).
 * End: waits (bounded) for the forwarders, then writes the "tunnel" report
 * section: channels, bytes, TLS, clock offset, forwarder CPU. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <openssl/crypto.h>

#include "common/errbuf.h"
#include "engine/internal.h"
#include "engine/nbdfwd.h"
#include "transport/transport.h"

#define MAX_CH 300
#define CLOCK_SAMPLES 8
#define CLASSIFY_MS 10000
#define END_WAIT_MS 10000

struct chan {
  unsigned kind, index;
  size_t prefix;               /* header bytes sent before the forwarder ran */
  struct tp_fwd *fwd;
  struct tp_fwd_stats st;
};

struct eng_tunnel {
  struct tp_tls *tls;
  const char *agent;           /* cfg.tunnel.agent */
  bool data_plain;             /* tunnel-data plain: main/multifd/nbd without TLS */
  uint8_t session[TP_SESSION_LEN]; /* issued by the agent */
  uint8_t key[TP_KEY_LEN];     /* exported from the control connection's TLS */
  bool have_key;               /* false only with tunnel-insecure-no-auth */
  char session_hex[2 * TP_SESSION_LEN + 1];
  struct tp_conn *control;
  char incoming[256];          /* the agent's URI for migrate-incoming */
  char nbd[256];               /* the agent's socket for QEMU's NBD server */
  char nbd_path[96];           /* ours, that the source's NBD client uses */
  struct eng_nbdfwd *nbd_fwd;  /* its acceptor (engine/nbdfwd.c) */
  char tls_desc[160];
  char auth[16];               /* the agent's: psk, x509, none */
  int timeout_ms;
  double offset_ms, uncertainty_ms;
  unsigned samples;
  char dir[64], path[96];
  int lfd;
  pthread_t acceptor;
  bool acceptor_started;
  bool resume;                 /* post-copy resume: the source's one connection is main */
  atomic_bool stop;
  pthread_mutex_t lock;        /* ch, nch, error */
  struct chan ch[MAX_CH];
  unsigned nch;
  char error[512];             /* first channel that could not be opened */
};

static void record(struct eng_tunnel *t, const char *msg)
{
  pthread_mutex_lock(&t->lock);
  if (!t->error[0])
    snprintf(t->error, sizeof t->error, "%s", msg);
  pthread_mutex_unlock(&t->lock);
}

static void add_chan(struct eng_tunnel *t, unsigned kind, unsigned index, size_t prefix,
                     struct tp_fwd *f)
{
  pthread_mutex_lock(&t->lock);
  if (t->nch < MAX_CH)
    t->ch[t->nch++] = (struct chan){ kind, index, prefix, f, { 0 } };
  else
    tp_fwd_abort(f); /* cannot track it: do not let it run unseen */
  pthread_mutex_unlock(&t->lock);
}

/* A new data channel of the session: TCP, TLS, hello, the session proof. */
static struct tp_conn *open_channel(struct eng_tunnel *t, unsigned kind, unsigned index,
                                    char *err, size_t errlen)
{
  char label[200];
  if (kind == TP_K_MULTIFD)
    snprintf(label, sizeof label, "multifd channel %u to %s", index, t->agent);
  else
    snprintf(label, sizeof label, "%s channel to %s", tp_kind_name(kind), t->agent);
  /* QMP always over TLS; migration and NBD per tunnel-data. */
  bool plain = t->data_plain && kind != TP_K_QMP;
  struct tp_hello h = { .version = TP_HELLO_VERSION, .kind = (uint8_t)kind,
                        .index = (uint16_t)index };
  memcpy(h.session, t->session, TP_SESSION_LEN);
  return tp_channel_open(t->agent, plain ? NULL : t->tls, label, &h,
                         t->have_key ? t->key : NULL, NULL, 0, t->timeout_ms, err, errlen);
}

/* One line from the control connection (replies are one line each). */
static int control_line(struct eng_tunnel *t, char *buf, size_t len)
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
        control_line(t, line, sizeof line) < 0)
      return eng_errorf(m, "tunnel clock probe: %s", tp_conn_error(t->control)[0]
                                                         ? tp_conn_error(t->control)
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
  struct tp_conn *c = open_channel(t, TP_K_QMP, 0, err, errlen);
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
  add_chan(t, TP_K_QMP, 0, 0, f);
  return qmp_open_fd("destination", sv[0], (int)m->cfg.qmp.timeout_ms, err, errlen);
}

struct qmp_conn *eng_tunnel_qmp(struct qmig_migration *m)
{
  char e[512];
  return m->tunnel && m->tunnel->control ? open_qmp(m, e, sizeof e) : NULL;
}

int eng_tunnel_connect_dst(struct qmig_migration *m)
{
  const struct eng_config *c = &m->cfg;
  char e[512];
  struct eng_tunnel *t = calloc(1, sizeof *t);
  if (!t)
    return eng_errorf(m, "out of memory");
  m->tunnel = t;
  pthread_mutex_init(&t->lock, NULL);
  t->lfd = -1;
  t->agent = c->tunnel.agent;
  t->timeout_ms = (int)c->qmp.timeout_ms;
  if (c->tunnel.tls != ENG_TLS_NONE) {
    struct tp_tls_opts o = { .mode = c->tunnel.tls, .dir = c->tunnel.tls_dir,
                             .peer_name = c->tunnel.peer_name, .psk_file = c->tunnel.psk_file,
                             .psk_identity = c->tunnel.psk_identity };
    if (!(t->tls = tp_tls_new(&o, e, sizeof e)))
      return eng_errorf(m, "tunnel TLS: %s", e);
  }
  t->data_plain = c->tunnel.data == ENG_TDATA_PLAIN;
  char label[300];
  snprintf(label, sizeof label, "control connection to %s", t->agent);
  struct tp_session_info si;
  t->control = tp_session_open(t->agent, t->tls, label, &si, t->key, t->timeout_ms, e, sizeof e);
  if (!t->control)
    return eng_errorf(m, "tunnel: %s", e);
  t->have_key = t->tls != NULL;
  if (t->data_plain && !si.plain_data)
    return eng_errorf(m, "tunnel: the agent at %s refuses plaintext data channels (it runs "
                         "with plain-data refuse): use tunnel-data tls", t->agent);
  memcpy(t->session, si.session, TP_SESSION_LEN);
  tp_hex(t->session, TP_SESSION_LEN, t->session_hex);
  snprintf(t->incoming, sizeof t->incoming, "%s", si.incoming);
  snprintf(t->nbd, sizeof t->nbd, "%s", si.nbd);
  snprintf(t->auth, sizeof t->auth, "%s", si.auth);
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

/* Read QEMU's first bytes; the channel's kind and index.  0, or -1 with a
 * message. */
static int classify(int fd, uint8_t *b, size_t *n, unsigned *kind, unsigned *index, char *e,
                    size_t elen)
{
  int64_t deadline = tp_mono_ms() + CLASSIFY_MS;
  *n = 0;
  for (;;) {
    int rc = tp_classify(b, *n, kind, index);
    if (rc == 0)
      return 0;
    if (rc < 0) {
      snprintf(e, elen, "the source opened a connection that is neither a main nor a "
                        "multifd channel (it starts %02x%02x%02x%02x)", b[0], b[1], b[2], b[3]);
      return -1;
    }
    int64_t left = deadline - tp_mono_ms();
    struct pollfd p = { .fd = fd, .events = POLLIN };
    if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
      snprintf(e, elen, "the source's new channel sent no header within %d ms", CLASSIFY_MS);
      return -1;
    }
    ssize_t r = recv(fd, b + *n, TP_CLASSIFY_NEED - *n, 0);
    if (r <= 0) {
      snprintf(e, elen, "the source closed a new channel before its header");
      return -1;
    }
    *n += (size_t)r;
  }
}

/* One connection from the source QEMU: to the agent, forwarded. */
static void take_channel(struct eng_tunnel *t, int fd)
{
  uint8_t b[TP_CLASSIFY_NEED] = { 0 };
  size_t n;
  unsigned kind = TP_K_MAIN, index = 0;
  char e[512];
  /* A resumed post-copy stream starts with commands, not QEMU's stream
   * header: nothing to classify, it is the main channel. */
  if (t->resume)
    n = 0;
  else if (classify(fd, b, &n, &kind, &index, e, sizeof e) < 0) {
    record(t, e);
    close(fd);
    return;
  }
  struct tp_conn *c = open_channel(t, kind, index, e, sizeof e);
  if (!c) {
    record(t, e);
    close(fd);
    return;
  }
  /* What we read to classify goes first. */
  if (tp_conn_write_all(c, b, n, t->timeout_ms) < 0) {
    record(t, tp_conn_error(c));
    tp_conn_free(c);
    close(fd);
    return;
  }
  struct tp_fwd *f = tp_fwd_start(fd, c, e, sizeof e);
  if (!f) {
    record(t, e);
    return;
  }
  add_chan(t, kind, index, n, f);
}

static void *acceptor(void *p)
{
  struct eng_tunnel *t = p;
  while (!atomic_load(&t->stop)) {
    int fd = tp_accept(t->lfd, 200);
    if (fd >= 0)
      take_channel(t, fd);
  }
  return NULL;
}

/* The private 0700 directory of our unix sockets. */
static int private_dir(struct qmig_migration *m, struct eng_tunnel *t)
{
  if (t->dir[0])
    return 0;
  snprintf(t->dir, sizeof t->dir, "/tmp/qmig-tunnel.XXXXXX");
  if (!mkdtemp(t->dir)) {
    t->dir[0] = '\0';
    return eng_errorf(m, "tunnel: private directory: %s", strerror(errno));
  }
  return 0;
}

/* One NBD connection of the source QEMU (the client speaks second: nothing
 * to classify): to the agent as the next nbd channel, forwarded. */
static struct tp_conn *nbd_open(void *ctx, unsigned index, char *err, size_t errlen)
{
  return open_channel(ctx, TP_K_NBD, index, err, errlen);
}

static void nbd_add(void *ctx, unsigned index, struct tp_fwd *f)
{
  add_chan(ctx, TP_K_NBD, index, 0, f);
}

static void nbd_fail(void *ctx, const char *why)
{
  record(ctx, why);
}

int eng_tunnel_nbd(struct qmig_migration *m, char *listen, size_t llen, char *connect,
                   size_t clen)
{
  struct eng_tunnel *t = m->tunnel;
  char e[512];
  if (!t->nbd[0])
    return eng_errorf(m, "tunnel: the agent at %s does not serve NBD (an older qmig agent?)",
                      t->agent);
  if (private_dir(m, t) < 0)
    return -1;
  snprintf(t->nbd_path, sizeof t->nbd_path, "%s/nbd.sock", t->dir);
  static const struct eng_nbdfwd_ops ops = { nbd_open, nbd_add, nbd_fail };
  t->nbd_fwd = eng_nbdfwd_start(t->nbd_path, &ops, t, e, sizeof e);
  if (!t->nbd_fwd)
    return eng_errorf(m, "tunnel: %s", e);
  snprintf(listen, llen, "%s", t->nbd);
  snprintf(connect, clen, "unix:%s", t->nbd_path);
  return 0;
}

/* `cmd` (migrate-incoming, or migrate-recover to resume post-copy) with the
 * agent's URI on the destination; m->uri becomes our private socket, whose
 * connections the acceptor forwards. */
static int listen_source(struct qmig_migration *m, const char *cmd)
{
  struct eng_tunnel *t = m->tunnel;
  char e[512];
  if (qmp_cmd(m->dst, NULL, QMP_TIMEOUT_DEFAULT, cmd, "{s:s}", "uri", t->incoming) < 0)
    return eng_errorf(m, "%s", qmp_error(m->dst));
  m->facts.incoming_issued = true;
  if (private_dir(m, t) < 0)
    return -1;
  snprintf(t->path, sizeof t->path, "%s/source.sock", t->dir);
  t->lfd = tp_unix_listen(t->path, e, sizeof e);
  if (t->lfd < 0)
    return eng_errorf(m, "tunnel: %s", e);
  snprintf(m->uri, sizeof m->uri, "unix:%s", t->path);
  int rc = pthread_create(&t->acceptor, NULL, acceptor, t);
  if (rc != 0)
    return eng_errorf(m, "tunnel: acceptor thread: %s", strerror(rc));
  t->acceptor_started = true;
  return 0;
}

int eng_tunnel_incoming(struct qmig_migration *m)
{
  return listen_source(m, "migrate-incoming");
}

int eng_tunnel_recover(struct qmig_migration *m)
{
  if (!m->tunnel || !m->tunnel->control || m->tunnel->acceptor_started)
    return eng_errorf(m, "tunnel: no fresh session to resume post-copy through");
  m->tunnel->resume = true;
  return listen_source(m, "migrate-recover");
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
void eng_tunnel_blame(struct qmig_migration *m)
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
  if (!why[0] && t->control && control_closed(t))
    snprintf(why, sizeof why, "%s: closed by the agent (is it still running?)",
             tp_conn_label(t->control));
  if (why[0] && !strstr(m->err, why))
    errbuf_appendf(m->err, sizeof m->err, "tunnel: %s", why);
}

static json_t *report_section(struct eng_tunnel *t)
{
  json_t *chans = json_array();
  double cpu = 0;
  for (unsigned i = 0; i < t->nch; i++) {
    const struct chan *c = &t->ch[i];
    cpu += c->st.cpu_s;
    json_array_append_new(
        chans, json_pack("{s:s,s:o,s:I,s:I,s:f,s:o}", "kind", tp_kind_name(c->kind), "index",
                         c->kind == TP_K_MULTIFD || c->kind == TP_K_NBD ? json_integer(c->index)
                                                                        : json_null(),
                         "bytes_to_dst", (json_int_t)c->st.bytes_out, "bytes_from_dst",
                         (json_int_t)c->st.bytes_in, "cpu_s", c->st.cpu_s, "error",
                         c->st.failed ? json_string(c->st.error) : json_null()));
  }
  return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:{s:f,s:f,s:i},s:o,s:f,s:o}", "agent", t->agent,
                   "session", t->session_hex, "incoming", t->incoming, "tls",
                   t->tls_desc[0] ? t->tls_desc : "none", "auth", t->auth[0] ? t->auth : "none",
                   "data", t->tls && !t->data_plain ? "tls" : "plain", "clock", "offset_ms",
                   t->offset_ms,
                   "uncertainty_ms", t->uncertainty_ms, "samples", (int)t->samples,
                   "channels", chans, "forwarder_cpu_s", cpu, "error",
                   t->error[0] ? json_string(t->error) : json_null());
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
  for (unsigned i = 0; i < t->nch; i++) {
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
    json_object_set_new(m->report_extra, "tunnel", report_section(t));
  tp_tls_free(t->tls);
  OPENSSL_cleanse(t->key, sizeof t->key);
  pthread_mutex_destroy(&t->lock);
  free(t);
  m->tunnel = NULL;
}
