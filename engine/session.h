/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* engine/session.h - the engine's transport session: how the destination's
 * QMP is reached, where the migration stream and the disk copy go, and what
 * is left to stop and report at the end.  Two implementations behind one
 * table, as redis's connection.h has tcp and tls behind ConnectionType:
 * native.c (QMP, stream and NBD straight to the destination QEMU) and
 * tunnel.c (all of them through a qmig agent, docs/TUNNEL.md).  eng_begin
 * (frame.c) picks one into m->session, once; no other place looks at the
 * mode.
 *
 * Every hook takes the migration; errors are 0/-1 with the message recorded
 * on it (eng_errorf) unless the hook says otherwise. */
#ifndef QMIG_ENGINE_SESSION_H
#define QMIG_ENGINE_SESSION_H

#include <stddef.h>

struct qmig_migration;
struct qmp_conn;

struct eng_session_ops {
  const char *name; /* "native", "tunnel" */
  /* Refuse the destination's address before anything connects: -1 with the
   * reason in err (nothing recorded on m). */
  int (*check_dst)(struct qmig_migration *m, char *err, size_t errlen);
  /* Open m->dst. */
  int (*connect_dst)(struct qmig_migration *m);
  /* A fresh QMP connection to the destination (recovery), NULL with the
   * reason in err; a reason already in err may be kept. */
  struct qmp_conn *(*reconnect_dst)(struct qmig_migration *m, char *err, size_t errlen);
  /* migrate-incoming on the destination; m->uri becomes what the source's
   * `migrate` uses; m->incoming_issued once the destination listens. */
  int (*incoming)(struct qmig_migration *m);
  /* Post-copy's resume: migrate-recover on the destination, the URI for
   * the source's `migrate resume` into uri.  -1 with the cause in why;
   * m->err is left as it was. */
  int (*resume)(struct qmig_migration *m, char *uri, size_t ulen, char *why, size_t wlen);
  /* Disk copy: start the destination's NBD server (eng_mirror_server_at)
   * and fill m->mirror->listen and ->connect (where the source's NBD client
   * goes). */
  int (*nbd)(struct qmig_migration *m);
  /* Append to m->err the transport failure behind a failed run, if any. */
  void (*blame)(struct qmig_migration *m);
  /* After QMP is closed: stop what still forwards, add the report section,
   * free.  Called again (qmig_free) it does nothing. */
  void (*end)(struct qmig_migration *m);
  /* The agent (HOST:PORT) that QMP and the stream go through, for
   * messages; NULL when they go straight to the destination. */
  const char *(*agent)(const struct qmig_migration *m);
  /* The options of `qmig recover` that address this pair, " --src ...". */
  void (*recover_args)(const struct qmig_migration *m, char *out, size_t len);
};

extern const struct eng_session_ops eng_native_session; /* native.c */
extern const struct eng_session_ops eng_tunnel_session; /* tunnel.c */

#endif
