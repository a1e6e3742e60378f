/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* engine/nbdfwd.h - a private unix socket whose connections (the source
 * QEMU's NBD client) are each forwarded to a remote side the caller opens:
 * a tunnel channel (tunnel_chan.c) or a direct TCP connection to the
 * destination's NBD server (native.c).  Either remote side
 * fails in bounded time when the link dies (TCP_USER_TIMEOUT), the
 * forwarder then closes the unix side and QEMU's NBD client sees EOF at
 * once instead of waiting ~15 min in TCP retransmission. */
#ifndef QMIG_ENGINE_NBDFWD_H
#define QMIG_ENGINE_NBDFWD_H

#include <stddef.h>

struct tp_conn;
struct tp_fwd;

struct eng_nbdfwd_ops {
  /* The remote side of connection `index` (handshake done), or NULL with a
   * message in err. */
  struct tp_conn *(*open)(void *ctx, unsigned index, char *err, size_t errlen);
  /* Takes a started forwarder; NULL: the module keeps it (joined at end). */
  void (*add)(void *ctx, unsigned index, struct tp_fwd *f);
  /* A connection that could not be forwarded; NULL: the module keeps the
   * first message (eng_nbdfwd_error). */
  void (*fail)(void *ctx, const char *why);
};

struct eng_nbdfwd;
/* Listen on `path` (0600; the caller's private 0700 directory) and accept
 * on a thread; ops get ctx.  NULL with a message in err. */
struct eng_nbdfwd *eng_nbdfwd_start(const char *path, const struct eng_nbdfwd_ops *ops, void *ctx,
                                    char *err, size_t errlen);
/* Abort every forwarder the module keeps (QEMU's side sees EOF at once). */
void eng_nbdfwd_abort(struct eng_nbdfwd *f);
/* The first connection that could not be forwarded, or failed ("" if none). */
const char *eng_nbdfwd_error(struct eng_nbdfwd *f);
/* Stop accepting, remove the socket, wait up to wait_ms for the kept
 * forwarders to end, abort the rest, join; frees.  Accepts NULL. */
void eng_nbdfwd_end(struct eng_nbdfwd *f, int wait_ms);

#endif
