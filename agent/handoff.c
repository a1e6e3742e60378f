/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* handoff.c - socket handoff on the destination (docs/TUNNEL.md "Socket
 * handoff"): an authenticated plain main channel's TCP socket (or a TLS one
 * that OpenSSL switched to kernel TLS both ways, nothing pending:
 * tp_conn_can_hand_off) goes to the destination QEMU itself (SCM_RIGHTS + getfd, then migrate-incoming fd:),
 * so no byte of the stream crosses the agent.  These are the agent's own
 * QMP commands, never the engine's: the allow-list still refuses getfd and
 * fd: URIs on the qmp channel.  QEMU serves one QMP client at a time, so
 * they go over the session's qmp channel's relay when it is connected
 * (agt_qmp_relay_exec, between the engine's commands), else over a QMP
 * connection of our own. */
#include <stdio.h>
#include <string.h>

#include "agent/agent.h"
#include "agent/qmpfilter.h"
#include "common/errbuf.h"
#include "qmp/qmp.h"

/* Whether our side of a TLS data channel can be kernel TLS (the same
 * question tp_tls_new asked for our context); false with why. */
static bool our_ktls(const struct qmig_agent *a, char *why, size_t len)
{
  if (!a->tls_ctx)
    return errbuf_setf(why, len, "this agent has no TLS credential (insecure-no-auth)"), false;
  return tp_ktls_available(why, len);
}

const char *agt_handoff_refusal(const struct qmig_agent *a)
{
  char why[200];
  if (a->skew_ms)
    return "test-clock-skew-ms relays QMP through a byte copy: no descriptor can pass";
  /* Only TLS data channels come: handed off only where the kernel does
   * their TLS. */
  if (a->refuse_plain_data && !a->insecure && !our_ktls(a, why, sizeof why))
    return "plain-data refuse, and no kernel TLS here: only plain or kernel TLS channels can "
           "be handed off";
  return NULL;
}

json_t *agt_handoff_answer(const struct qmig_agent *a, bool *on)
{
  char kwhy[200];
  bool k = our_ktls(a, kwhy, sizeof kwhy);
  const char *no = agt_handoff_refusal(a);
  *on = no == NULL;
  json_t *j = json_pack("{s:b,s:s}", "handoff", *on, "offload", k ? "ktls" : "user");
  if (j && ((no && json_object_set_new(j, "why", json_string(no)) < 0) ||
            (!k && json_object_set_new(j, "offload_why", json_string(kwhy)) < 0))) {
    json_decref(j);
    return NULL;
  }
  return j;
}

void agt_relay_add(struct qmig_agent *a, const uint8_t *id, struct agt_qmp_relay *q)
{
  pthread_mutex_lock(&a->lock);
  for (unsigned i = 0; i < AGT_MAX_RELAYS; i++)
    if (!a->relay[i].q) {
      a->relay[i] = (struct agt_relay_ref){ .q = q };
      memcpy(a->relay[i].session, id, TP_SESSION_LEN);
      break;
    } /* all taken: this one is not used for handoff (an own connection is) */
  pthread_mutex_unlock(&a->lock);
}

void agt_relay_remove(struct qmig_agent *a, struct agt_qmp_relay *q)
{
  if (!q)
    return;
  pthread_mutex_lock(&a->lock);
  for (unsigned i = 0; i < AGT_MAX_RELAYS; i++)
    if (a->relay[i].q == q) {
      while (a->relay[i].users)
        pthread_cond_wait(&a->cond, &a->lock); /* bounded: exec has a timeout */
      a->relay[i].q = NULL;
    }
  pthread_mutex_unlock(&a->lock);
}

/* Where our commands go: a relay of the session whose client negotiated
 * QMP (its slot held until put_qmp), else our own connection. */
struct own_qmp {
  struct qmig_agent *a;
  int slot;
  struct qmp_conn *conn;
  int timeout_ms;
};

static int get_qmp(struct qmig_agent *a, const uint8_t *id, struct own_qmp *o, char *err,
                   size_t errlen)
{
  *o = (struct own_qmp){ .a = a, .slot = -1, .timeout_ms = (int)a->handshake_ms };
  pthread_mutex_lock(&a->lock);
  for (unsigned i = 0; i < AGT_MAX_RELAYS && o->slot < 0; i++)
    if (a->relay[i].q && memcmp(a->relay[i].session, id, TP_SESSION_LEN) == 0 &&
        agt_qmp_relay_ready(a->relay[i].q)) {
      a->relay[i].users++;
      o->slot = (int)i;
    }
  pthread_mutex_unlock(&a->lock);
  if (o->slot >= 0)
    return 0;
  char addr[300], e[400];
  snprintf(addr, sizeof addr, "unix:%s", a->qmp);
  o->conn = qmp_connect("destination", addr, o->timeout_ms, e, sizeof e);
  if (!o->conn)
    return errbuf_setf(err, errlen, "no QMP for the handoff: %s", e);
  return 0;
}

static void put_qmp(struct own_qmp *o)
{
  qmp_close(o->conn);
  if (o->slot < 0)
    return;
  pthread_mutex_lock(&o->a->lock);
  o->a->relay[o->slot].users--;
  pthread_cond_broadcast(&o->a->cond);
  pthread_mutex_unlock(&o->a->lock);
}

/* One command (args stolen), fd passed when >= 0.  -1 with the reason. */
static int run_cmd(struct own_qmp *o, const char *cmd, json_t *args, int fd, char *err,
                   size_t errlen)
{
  if (o->slot >= 0)
    return agt_qmp_relay_exec(o->a->relay[o->slot].q, cmd, args, fd, o->timeout_ms, err, errlen);
  int rc = fd >= 0 ? qmp_execute_fd(o->conn, cmd, args, fd, NULL, o->timeout_ms)
                   : qmp_execute(o->conn, cmd, args, NULL, o->timeout_ms);
  if (rc < 0)
    errbuf_setf(err, errlen, "%s", qmp_error(o->conn));
  return rc;
}

int agt_handoff_main(struct qmig_agent *a, struct tp_conn *c, const uint8_t *id, const char *hex,
                     const char *incoming, char *why, size_t whylen)
{
  struct own_qmp o;
  char e[600], name[40];
  if (get_qmp(a, id, &o, why, whylen) < 0)
    return -1;
  snprintf(name, sizeof name, "qmig-in-%.8s", hex);
  int rc = -1;
  bool can = tp_conn_can_hand_off(c, e, sizeof e);
  if (can &&
      run_cmd(&o, "getfd", json_pack("{s:s}", "fdname", name), tp_conn_fd(c), e, sizeof e) == 0) {
    char uri[64];
    snprintf(uri, sizeof uri, "fd:%s", name);
    if (run_cmd(&o, "migrate-incoming", json_pack("{s:s}", "uri", uri), -1, e, sizeof e) == 0)
      rc = 1;
    else { /* do not leave the descriptor in QEMU */
      char e2[300];
      run_cmd(&o, "closefd", json_pack("{s:s}", "fdname", name), -1, e2, sizeof e2);
    }
  }
  if (rc < 0) {
    /* Forward instead: QEMU listens on the session's socket, as when the
     * engine starts it. */
    snprintf(why, whylen, "%s", e);
    char uri[300];
    snprintf(uri, sizeof uri, "unix:%s", incoming);
    if (run_cmd(&o, "migrate-incoming", json_pack("{s:s}", "uri", uri), -1, e, sizeof e) == 0)
      rc = 0;
    else {
      char first[300];
      snprintf(first, sizeof first, "%s", why);
      errbuf_setf(why, whylen, "handoff failed (%s), and so did %s", first, e);
    }
  }
  put_qmp(&o);
  return rc;
}
