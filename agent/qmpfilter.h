/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* agent/qmpfilter.h - the QMP allow-list of the agent's `qmp` channel (the
 * decision, pure: no I/O, no globals, so unit tests and a fuzz target call it
 * directly) and the relay that applies it between a tunnel channel and the
 * destination QEMU's QMP socket.  docs/TUNNEL.md "QMP allow-list" has the
 * table in prose. */
#ifndef QMIG_AGENT_QMPFILTER_H
#define QMIG_AGENT_QMPFILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#define AGT_QMP_MAX_CMD (64u << 10) /* one command's JSON, bytes */
#define AGT_QMP_TLS_ID "qmig-tls0"  /* the engine's ENG_TLS_ID */

/* What one session may name.  Strings are borrowed; NULL/"" = nothing. */
struct agt_qmp_rules {
  const char *incoming; /* the session's migration socket, "unix:PATH" */
  const char *nbd;      /* the session's NBD server socket path (no "unix:") */
  const char *tls_dir;  /* the only dir TLS credential objects may load from */
};

/* Decide one QMP command (the parsed object the client sent).  true: forward
 * it; false: refuse, with the rule that refused it in why ("uri 'exec:..' is
 * an exec: address ...").  Never fails otherwise. */
bool agt_qmp_check(const json_t *cmd, const struct agt_qmp_rules *r, char *why, size_t len);

/* The command's name for messages: "execute" (or "exec-oob"), else "?". */
const char *agt_qmp_name(const json_t *cmd);

/* ---- the relay (qmprelay.c) ---- */

struct agt_qmp_relay;
typedef void (*agt_qmp_log_fn)(void *ud, const char *line);
/* Start relaying qmp_fd (taken) through the rules (copied): *client_fd gets
 * the socket to hand to the forwarder.  Client bytes are split into JSON
 * objects (at most AGT_QMP_MAX_CMD each); allowed ones go to QEMU
 * re-serialised, refused ones are answered here with a GenericError naming
 * the rule (the id echoed) and logged through log(ud, line) (called on the
 * relay's thread; must stay valid until agt_qmp_relay_join returns).  QEMU's
 * bytes go back unchanged, refusals only between its messages.  Malformed or
 * oversized input gets an error reply and ends the channel.  NULL with a
 * message in err (qmp_fd then closed). */
struct agt_qmp_relay *agt_qmp_relay_start(int qmp_fd, const struct agt_qmp_rules *rules,
                                          const char *label, agt_qmp_log_fn log, void *ud,
                                          int *client_fd, char *err, size_t errlen);
/* The agent's own command `cmd` with args (stolen; may be NULL) on the
 * relay's QMP connection, sent between two of the client's commands, with
 * fd passed along (SCM_RIGHTS) when fd >= 0 (the caller keeps its copy);
 * its reply is kept from the client.  One at a time per relay; any thread
 * but the relay's.  0 when QEMU answered with a return; -1 with QEMU's
 * error, a timeout or the relay's end in err. */
int agt_qmp_relay_exec(struct agt_qmp_relay *q, const char *cmd, json_t *args, int fd,
                       int timeout_ms, char *err, size_t errlen);
/* The client negotiated capabilities on it: QEMU takes commands. */
bool agt_qmp_relay_ready(struct agt_qmp_relay *q);
/* Wait for the relay's end (either side closed) and free it; accepts NULL.
 * It ends once the client socket is closed (the forwarder's end). */
void agt_qmp_relay_join(struct agt_qmp_relay *q);

/* The agent's qmp channel: the relay with the session's rules (incoming and
 * nbd socket paths; the TLS dir from qemu-tls-dir, else the agent's own
 * credentials dir), logging refusals through the agent.  *fd: QEMU's QMP
 * socket in (taken), the forwarder's socket out.  NULL as above. */
struct qmig_agent;
struct agt_qmp_relay *agt_qmp_attach(struct qmig_agent *a, const char *hex, const char *incoming,
                                     const char *nbd, int *fd, char *err, size_t errlen);

#endif
