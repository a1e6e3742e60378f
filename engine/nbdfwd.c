/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nbdfwd.c - the NBD forwarder of engine/nbdfwd.h: one unix listening
 * socket, one acceptor thread, one io_uring forwarder (transport/fwd.c) per
 * accepted connection.  NBD's client speaks second: nothing to read before
 * the remote side is opened. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/nbdfwd.h"
#include "transport/transport.h"

#define MAX_FWD 64
#define ABORT_WAIT_MS 2000

struct eng_nbdfwd {
  struct eng_nbdfwd_ops ops;
  void *ctx;
  char path[108];
  int lfd;
  pthread_t acceptor;
  atomic_bool stop;
  unsigned next;               /* index of the next connection */
  pthread_mutex_t lock;        /* fwd, n, error */
  struct tp_fwd *fwd[MAX_FWD]; /* kept when ops.add is NULL */
  unsigned n;
  char error[512];
  bool aborted; /* eng_nbdfwd_abort: no more connections */
};

static void fail(struct eng_nbdfwd *f, const char *why)
{
  if (f->ops.fail) {
    f->ops.fail(f->ctx, why);
    return;
  }
  pthread_mutex_lock(&f->lock);
  if (!f->error[0])
    snprintf(f->error, sizeof f->error, "%s", why);
  pthread_mutex_unlock(&f->lock);
}

static void keep(struct eng_nbdfwd *f, unsigned index, struct tp_fwd *fw)
{
  if (f->ops.add) {
    f->ops.add(f->ctx, index, fw);
    return;
  }
  pthread_mutex_lock(&f->lock);
  bool late = f->aborted, kept = f->n < MAX_FWD && !late;
  if (kept)
    f->fwd[f->n++] = fw;
  pthread_mutex_unlock(&f->lock);
  if (!kept) { /* cannot track it (or too late): do not let it run unseen */
    if (!late)
      fail(f, "too many NBD connections from the source");
    tp_fwd_abort(fw);
    tp_fwd_join(fw, NULL);
  }
}

static void *acceptor(void *p)
{
  struct eng_nbdfwd *f = p;
  char e[512];
  while (!atomic_load(&f->stop)) {
    int fd = tp_accept(f->lfd, 200, NULL, 0);
    if (fd < 0)
      continue;
    unsigned index = f->next++;
    struct tp_conn *c = f->ops.open(f->ctx, index, e, sizeof e);
    struct tp_fwd *fw = c ? tp_fwd_start(fd, c, e, sizeof e) : NULL;
    if (!c)
      close(fd);
    if (!fw)
      fail(f, e);
    else
      keep(f, index, fw);
  }
  return NULL;
}

struct eng_nbdfwd *eng_nbdfwd_start(const char *path, const struct eng_nbdfwd_ops *ops, void *ctx,
                                    char *err, size_t errlen)
{
  struct eng_nbdfwd *f = calloc(1, sizeof *f);
  if (!f) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  f->ops = *ops;
  f->ctx = ctx;
  snprintf(f->path, sizeof f->path, "%s", path);
  pthread_mutex_init(&f->lock, NULL);
  f->lfd = tp_unix_listen(f->path, err, errlen);
  if (f->lfd < 0) {
    pthread_mutex_destroy(&f->lock);
    free(f);
    return NULL;
  }
  int rc = pthread_create(&f->acceptor, NULL, acceptor, f);
  if (rc != 0) {
    snprintf(err, errlen, "NBD acceptor thread: %s", strerror(rc));
    close(f->lfd);
    unlink(f->path);
    pthread_mutex_destroy(&f->lock);
    free(f);
    return NULL;
  }
  return f;
}

void eng_nbdfwd_abort(struct eng_nbdfwd *f)
{
  if (!f)
    return;
  /* No new connection (QEMU's NBD client may try to reconnect). */
  unlink(f->path);
  pthread_mutex_lock(&f->lock);
  f->aborted = true;
  for (unsigned i = 0; i < f->n; i++)
    if (f->fwd[i])
      tp_fwd_abort(f->fwd[i]);
  /* A shutdown is not enough: QEMU blocked writing to a full socket is only
   * woken when ours is closed (its queued data freed): join, which closes. */
  int64_t until = tp_mono_ms() + ABORT_WAIT_MS;
  for (unsigned i = 0; i < f->n; i++) {
    while (f->fwd[i] && !tp_fwd_done(f->fwd[i]) && tp_mono_ms() < until)
      usleep(5000);
    if (f->fwd[i] && tp_fwd_done(f->fwd[i])) {
      tp_fwd_join(f->fwd[i], NULL);
      f->fwd[i] = NULL;
    }
  }
  pthread_mutex_unlock(&f->lock);
}

const char *eng_nbdfwd_error(struct eng_nbdfwd *f)
{
  if (!f)
    return "";
  pthread_mutex_lock(&f->lock);
  for (unsigned i = 0; i < f->n && !f->error[0]; i++) {
    struct tp_fwd_stats st;
    if (!f->fwd[i])
      continue;
    tp_fwd_peek(f->fwd[i], &st);
    if (st.failed)
      snprintf(f->error, sizeof f->error, "%s", st.error);
  }
  pthread_mutex_unlock(&f->lock);
  return f->error;
}

void eng_nbdfwd_end(struct eng_nbdfwd *f, int wait_ms)
{
  if (!f)
    return;
  atomic_store(&f->stop, true);
  pthread_join(f->acceptor, NULL);
  close(f->lfd);
  unlink(f->path);
  int64_t until = tp_mono_ms() + wait_ms;
  for (unsigned i = 0; i < f->n; i++) {
    if (!f->fwd[i])
      continue;
    while (!tp_fwd_done(f->fwd[i]) && tp_mono_ms() < until)
      usleep(10000);
    if (!tp_fwd_done(f->fwd[i]))
      tp_fwd_abort(f->fwd[i]);
    tp_fwd_join(f->fwd[i], NULL);
  }
  pthread_mutex_destroy(&f->lock);
  free(f);
}
