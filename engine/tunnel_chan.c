/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tunnel_chan.c - the channels of a tunnel session (engine/tunnel.h).
 *
 * Incoming: migrate-incoming with the agent's URI on the destination; the
 * source gets a private unix socket (0600 in a 0700 dir).  An acceptor
 * thread reads the first bytes of each connection the source QEMU opens,
 * tells main from multifd (and its id), opens one tunnel connection per
 * QEMU channel and hands both to an io_uring forwarder (transport/fwd.c).
 * Post-copy's resume does the same with migrate-recover; disk copy gets a
 * socket of its own whose connections become nbd channels
 * (engine/nbdfwd.c). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "engine/internal.h"
#include "engine/mirror.h"
#include "engine/nbdfwd.h"
#include "engine/tunnel.h"

#define CLASSIFY_MS 10000

void eng_tunnel_record(struct eng_tunnel *t, const char *msg)
{
  pthread_mutex_lock(&t->lock);
  if (!t->error[0])
    snprintf(t->error, sizeof t->error, "%s", msg);
  pthread_mutex_unlock(&t->lock);
}

static void count_offload(struct eng_tunnel *t, bool k, const char *why)
{
  pthread_mutex_lock(&t->lock);
  if (k)
    t->n_ktls++;
  else if (t->n_user++ == 0)
    snprintf(t->offload_why, sizeof t->offload_why, "%s", why);
  pthread_mutex_unlock(&t->lock);
}

void eng_tunnel_note_offload(struct eng_tunnel *t, struct tp_conn *c)
{
  char why[200];
  if (tp_conn_is_tls(c))
    count_offload(t, tp_tls_offload_ktls(c, why, sizeof why) == 0, why);
}

void eng_tunnel_note_user(struct eng_tunnel *t, const char *why)
{
  count_offload(t, false, why);
}

void eng_tunnel_add_chan(struct eng_tunnel *t, unsigned kind, unsigned index, size_t prefix,
                         struct tp_fwd *f, const char *why)
{
  pthread_mutex_lock(&t->lock);
  if (t->nch < MAX_CH) {
    struct chan *c = &t->ch[t->nch++];
    *c = (struct chan){ .kind = kind, .index = index, .prefix = prefix, .fwd = f };
    snprintf(c->why, sizeof c->why, "%s", why ? why : "");
  } else {
    tp_fwd_abort(f); /* cannot track it: do not let it run unseen */
  }
  pthread_mutex_unlock(&t->lock);
}

struct tp_conn *eng_tunnel_open_channel(struct eng_tunnel *t, unsigned kind, unsigned index,
                                        char *err, size_t errlen)
{
  return eng_tunnel_open_channel_msg(t, kind, index, NULL, 0, err, errlen);
}

struct tp_conn *eng_tunnel_open_channel_msg(struct eng_tunnel *t, unsigned kind, unsigned index,
                                            char *msg, size_t msglen, char *err, size_t errlen)
{
  char label[200];
  if (kind == TP_K_MULTIFD)
    snprintf(label, sizeof label, "multifd channel %u to %s", index, t->agent);
  else
    snprintf(label, sizeof label, "%s channel to %s", tp_kind_name(kind), t->agent);
  /* QMP always over TLS; migration and NBD per tunnel-data. */
  bool plain = t->data_plain && kind != TP_K_QMP;
  struct tp_hello h = { .version = TP_HELLO_VERSION,
                        .kind = (uint8_t)kind,
                        .index = (uint16_t)index };
  memcpy(h.session, t->session, TP_SESSION_LEN);
  return tp_channel_open(t->agent, plain ? NULL : t->tls, label, &h, t->have_key ? t->key : NULL,
                         msg, msglen, t->timeout_ms, err, errlen);
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
      snprintf(e, elen,
               "the source opened a connection that is neither a main nor a "
               "multifd channel (it starts %02x%02x%02x%02x)",
               b[0], b[1], b[2], b[3]);
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
    eng_tunnel_record(t, e);
    close(fd);
    return;
  }
  /* The main channel the agent already took (handoff on its side only). */
  pthread_mutex_lock(&t->lock);
  struct tp_conn *c = kind == TP_K_MAIN ? t->pre_main : NULL;
  if (c)
    t->pre_main = NULL;
  pthread_mutex_unlock(&t->lock);
  if (!c)
    c = eng_tunnel_open_channel(t, kind, index, e, sizeof e);
  if (!c) {
    eng_tunnel_record(t, e);
    close(fd);
    return;
  }
  /* What we read to classify goes first. */
  if (tp_conn_write_all(c, b, n, t->timeout_ms) < 0) {
    eng_tunnel_record(t, tp_conn_error(c));
    tp_conn_free(c);
    close(fd);
    return;
  }
  eng_tunnel_note_offload(t, c);
  struct tp_fwd *f = tp_fwd_start(fd, c, e, sizeof e);
  if (!f) {
    eng_tunnel_record(t, e);
    return;
  }
  eng_tunnel_add_chan(t, kind, index, n, f, t->fwd_why);
}

static void *acceptor(void *p)
{
  struct eng_tunnel *t = p;
  while (!atomic_load(&t->stop)) {
    int fd = tp_accept(t->lfd, 200, NULL, 0);
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
  return eng_tunnel_open_channel(ctx, TP_K_NBD, index, err, errlen);
}

static void nbd_add(void *ctx, unsigned index, struct tp_fwd *f)
{
  eng_tunnel_add_chan(ctx, TP_K_NBD, index, 0, f,
                      "disk copy: QEMU's NBD connections are forwarded (no handoff for them yet)");
}

static void nbd_fail(void *ctx, const char *why)
{
  eng_tunnel_record(ctx, why);
}

/* Disk copy through the tunnel: the destination's NBD server listens at the
 * agent's socket, the source connects to our private socket whose
 * connections become nbd channels. */
int eng_tunnel_nbd(struct qmig_migration *m)
{
  struct eng_tunnel *t = m->tunnel;
  struct eng_mirror *mi = m->mirror;
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
  snprintf(mi->listen, sizeof mi->listen, "%s", t->nbd);
  snprintf(mi->connect, sizeof mi->connect, "unix:%s", t->nbd_path);
  if (eng_mirror_server_at(m, mi->listen) < 0)
    return eng_errorf(m, "destination NBD server at %s (through the tunnel): %s", mi->listen,
                      qmp_error(m->dst));
  return 0;
}

/* `cmd` (migrate-incoming, or migrate-recover to resume post-copy) with the
 * agent's URI on the destination (NULL: the agent started it); m->uri
 * becomes our private socket, whose connections the acceptor forwards. */
static int listen_source(struct qmig_migration *m, const char *cmd)
{
  struct eng_tunnel *t = m->tunnel;
  char e[512];
  if (cmd && qmp_cmd(m->dst, NULL, QMP_TIMEOUT_DEFAULT, cmd, "{s:s}", "uri", t->incoming) < 0)
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
  int rc = eng_tunnel_handoff(m);
  if (rc < 0 || (rc == 0 && !m->tunnel->pre_main))
    return rc; /* failed, or handed off on our side: m->uri is fd:NAME */
  /* Forwarded on our side: the destination listens already (rc 0, the
   * agent started it), or we start it as always (rc 1). */
  return listen_source(m, rc == 1 ? "migrate-incoming" : NULL);
}

/* Post-copy's resume through the session opened by connect_dst:
 * migrate-recover with the agent's URI on the destination, our socket for
 * the source's `migrate resume` (its one connection forwarded as the main
 * channel, unclassified). */
int eng_tunnel_resume(struct qmig_migration *m, char *uri, size_t ulen, char *why, size_t wlen)
{
  struct eng_tunnel *t = m->tunnel;
  char keep[sizeof m->err];
  snprintf(keep, sizeof keep, "%s", m->err);
  int rc;
  if (!t || !t->control || t->acceptor_started)
    rc = eng_errorf(m, "tunnel: no fresh session to resume post-copy through");
  else {
    t->resume = true;
    snprintf(t->fwd_why, sizeof t->fwd_why,
             "post-copy recovery: the resumed stream is forwarded (no handoff for it yet)");
    rc = listen_source(m, "migrate-recover");
  }
  if (rc < 0) {
    snprintf(why, wlen, "%s", m->err);
    snprintf(m->err, sizeof m->err, "%s", keep);
    return -1;
  }
  snprintf(uri, ulen, "%s", m->uri);
  return 0;
}
