/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tunnel_handoff.c - socket handoff in a tunnel session (engine/tunnel.h,
 * docs/TUNNEL.md "Socket handoff").
 *
 * An authenticated plain main channel is a TCP connection between the
 * engine (on the source's host) and the agent (on the destination's host)
 * that carries QEMU's stream unchanged after the handshake.  Instead of
 * forwarding it on both ends, each end gives the socket to its QEMU: the
 * agent with getfd + migrate-incoming fd: (it starts the incoming side
 * itself, asked by op "handoff" on the control connection, since its
 * allow-list never lets us send fd: URIs), we with getfd + migrate fd: on
 * the source.  Both read exactly the handshake's bytes (plain connections
 * never read ahead, tp_conn_can_hand_off), and we send nothing of QEMU's
 * stream before the agent's reply, so the whole stream stays in the kernel.
 * Where either side cannot, that side forwards as before and the report
 * says why.  A TLS data channel joins when kernel TLS does its TLS on both
 * ends (ours: tp_ktls_available, then tp_conn_can_hand_off on the
 * connection; the agent's: "offload" in its handoff reply): then its fd is
 * a plain socket to QEMU and goes the same way. */
#include <stdio.h>
#include <string.h>

#include "engine/internal.h"
#include "engine/tunnel.h"

/* The type of object `type`'s member `member`, through an array to its
 * element type. */
static const char *member_type(struct eng_schema *schema, const char *type, const char *member)
{
  const char *t =
      json_string_value(json_object_get(eng_schema_member(schema, type, member), "type"));
  json_t *arr = eng_schema_entity(schema, t);
  const char *meta = json_string_value(json_object_get(arr, "meta-type"));
  if (meta && strcmp(meta, "array") == 0)
    t = json_string_value(json_object_get(arr, "element-type"));
  return t;
}

/* What the source QEMU's `migrate` can take besides a socket address, from
 * its schema (never from its version): 7.2 only a uri, 8.2+ a `channels`
 * list too, whose channel types say whether a multifd channel could be
 * given.  QEMU opens multifd channels itself from the main channel's socket
 * address, which a descriptor does not have: why says so, naming what the
 * schema offers. */
static void multifd_why(void *user_data, char *why, size_t whylen)
{
  struct qmig_migration *m = user_data;
  char types[120] = "";
  struct eng_schema *schema = eng_schema_query(m->src);
  if (schema) {
    json_t *cmd = eng_schema_entity(schema, "migrate");
    const char *args = json_string_value(json_object_get(cmd, "arg-type"));
    const char *chan = args ? member_type(schema, args, "channels") : NULL;
    json_t *en = chan ? eng_schema_entity(schema, member_type(schema, chan, "channel-type")) : NULL;
    json_t *vals = json_object_get(en, "members"), *v; /* 7.2+: members, older: values */
    bool named = vals != NULL;
    if (!vals)
      vals = json_object_get(en, "values");
    size_t i;
    json_array_foreach(vals, i, v)
    {
      const char *n = json_string_value(named ? json_object_get(v, "name") : v);
      size_t l = strlen(types);
      snprintf(types + l, sizeof types - l, "%s%s", l ? ", " : "", n ? n : "?");
    }
  }
  eng_schema_free(schema);
  if (strstr(types, "multifd"))
    snprintf(why, whylen,
             "multifd: the source QEMU offers migrate channels of type %s, which "
             "qmig does not hand off yet",
             types);
  else if (!types[0])
    snprintf(why, whylen,
             "multifd: the source QEMU's migrate takes only a uri, and QEMU opens the multifd "
             "channels itself from its socket address; a descriptor (fd:) has none");
  else
    snprintf(why, whylen,
             "multifd: the source QEMU's migrate channels are of type %s, none for multifd: QEMU "
             "opens the multifd channels itself from the main channel's socket address, which "
             "a descriptor (fd) does not have",
             types);
}

bool eng_handoff_decide(const struct eng_handoff_in *in, char *why, size_t whylen)
{
  const struct tp_handoff_reply *d = in->dst;
  if (in->handoff == ENG_HANDOFF_OFF)
    snprintf(why, whylen, "tunnel-handoff off");
  else if (in->kind == TP_K_NBD)
    snprintf(why, whylen,
             "disk copy: QEMU's NBD connections are forwarded (no handoff for "
             "them yet)");
  else if (in->kind != TP_K_MAIN && in->kind != TP_K_MULTIFD)
    snprintf(why, whylen, "QMP always goes through the agent's allow-list (TLS)");
  else if (in->tls && !in->src_ktls)
    snprintf(why, whylen, "tls: source offload user: %s", in->src_offload_why);
  else if (in->tls && d && d->offload != TP_OFFLOAD_KTLS)
    snprintf(why, whylen, "tls: destination offload user: %s",
             d->offload == TP_OFFLOAD_USER
                 ? d->offload_why
                 : "the agent does not report kernel TLS (an older qmig agent)");
  else if (in->multifd && in->multifd_why)
    in->multifd_why(in->user_data, why, whylen);
  else if (in->multifd)
    snprintf(why, whylen,
             "multifd: QEMU opens the multifd channels itself from the main channel's socket "
             "address, which a descriptor (fd) does not have");
  else if (strncmp(in->src_qmp, "unix:", 5) != 0)
    snprintf(why, whylen,
             "the source's QMP (%.80s) is not a unix socket: no descriptor can "
             "be passed to it",
             in->src_qmp);
  else if (!in->agent_handoff)
    snprintf(why, whylen,
             "the agent at %s does not offer socket handoff (an older qmig "
             "agent, or one that cannot)",
             in->agent);
  else
    return true;
  return false;
}

bool eng_tunnel_can_hand_off(struct qmig_migration *m, unsigned kind,
                             const struct tp_handoff_reply *dst, char *why, size_t whylen)
{
  struct eng_tunnel *t = m->tunnel;
  char kwhy[200] = "";
  bool tls = t->tls && !t->data_plain;
  struct eng_handoff_in in = {
    .handoff = t->opts->handoff,
    .kind = kind,
    .tls = tls,
    .src_ktls = tls && tp_ktls_available(kwhy, sizeof kwhy),
    .src_offload_why = kwhy,
    .dst = dst,
    .multifd = m->cfg.stream.multifd_channels > 0,
    .multifd_why = multifd_why,
    .user_data = m,
    .src_qmp = m->cfg.src,
    .agent_handoff = t->agent_handoff,
    .agent = t->agent,
  };
  return eng_handoff_decide(&in, why, whylen);
}

/* Ask the agent to start the incoming side on our main channel: 0 with its
 * answer in r, or -1 (recorded on m). */
static int ask_agent(struct qmig_migration *m, struct eng_tunnel *t, struct tp_handoff_reply *r)
{
  static const char req[] = "{\"op\":\"handoff\"}\n";
  char line[800], e[300];
  if (tp_conn_write_all(t->control, req, sizeof req - 1, t->timeout_ms) < 0 ||
      eng_tunnel_control_line(t, line, sizeof line) < 0)
    return eng_errorf(m, "tunnel: asking for socket handoff: %s",
                      tp_conn_error(t->control)[0] ? tp_conn_error(t->control)
                                                   : "bad reply from the agent");
  if (tp_handoff_reply_parse(line, strlen(line), r, e, sizeof e) < 0)
    return eng_errorf(m, "tunnel: asking for socket handoff: %s", e);
  return 0;
}

int eng_tunnel_handoff(struct qmig_migration *m)
{
  struct eng_tunnel *t = m->tunnel;
  char why[300], msg[TP_REPLY_MAX_MSG + 1], e[512];
  bool must = t->opts->handoff == ENG_HANDOFF_ON;
  if (t->resume || !eng_tunnel_can_hand_off(m, TP_K_MAIN, NULL, why, sizeof why)) {
    snprintf(t->fwd_why, sizeof t->fwd_why, "%s", why);
    if (must)
      return eng_errorf(m, "tunnel-handoff on, but the main channel cannot be handed off: %s", why);
    return 1;
  }
  struct tp_handoff_reply r;
  if (ask_agent(m, t, &r) < 0)
    return -1;
  if (!r.on) {
    snprintf(t->fwd_why, sizeof t->fwd_why, "destination: %s", r.why);
    if (must)
      return eng_errorf(m, "tunnel-handoff on, but the agent at %s declines it: %s", t->agent,
                        r.why);
    return 1;
  }
  /* From here the agent starts the destination's incoming side.  With TLS
   * data its answer says whether its side can be kernel TLS. */
  bool both = eng_tunnel_can_hand_off(m, TP_K_MAIN, &r, why, sizeof why);
  if (!both && must)
    return eng_errorf(m, "tunnel-handoff on, but the main channel cannot be handed off: %s", why);
  struct tp_conn *c = eng_tunnel_open_channel_msg(t, TP_K_MAIN, 0, msg, sizeof msg, e, sizeof e);
  if (!c) {
    eng_tunnel_record(t, e);
    return eng_errorf(m, "tunnel: %s", e);
  }
  m->facts.incoming_issued = true;
  char dst_why[300] = "";
  if (strcmp(msg, "handoff") != 0)
    snprintf(dst_why, sizeof dst_why, "destination: %s",
             strncmp(msg, "forwarded: ", 11) == 0 ? msg + 11 : msg);
  if (!both) { /* the agent forwards its side in user-space TLS: so do we */
    snprintf(t->fwd_why, sizeof t->fwd_why, "%s", why);
    eng_tunnel_note_user(t, strncmp(why, "tls: ", 5) == 0 ? why + 5 : why);
    t->pre_main = c;
    return 0;
  }
  if (must && dst_why[0]) {
    tp_conn_free(c);
    return eng_errorf(m, "tunnel-handoff on, but the agent forwarded the main channel: %s",
                      dst_why);
  }
  if (dst_why[0] && tp_conn_is_tls(c))
    eng_tunnel_note_user(t, dst_why); /* its forwarder does the TLS there */
  /* Our side: the same socket to the source. */
  snprintf(t->src_fd, sizeof t->src_fd, "qmig-out-%.8s", t->session_hex);
  if (tp_conn_can_hand_off(c, why, sizeof why) &&
      qmp_execute_fd(m->src, "getfd", json_pack("{s:s}", "fdname", t->src_fd), tp_conn_fd(c), NULL,
                     QMP_TIMEOUT_DEFAULT) == 0) {
    eng_tunnel_note_offload(t, c); /* kernel TLS, when TLS */
    tp_conn_free(c);               /* QEMU holds the connection now */
    snprintf(m->uri, sizeof m->uri, "fd:%s", t->src_fd);
    eng_tunnel_add_chan(t, TP_K_MAIN, 0, 0, NULL, dst_why);
    return 0;
  }
  if (qmp_broken(m->src)) {
    tp_conn_free(c);
    return eng_errorf(m, "%s", qmp_error(m->src));
  }
  snprintf(t->fwd_why, sizeof t->fwd_why, "source: %s%s%s",
           qmp_error(m->src)[0] ? qmp_error(m->src) : why, dst_why[0] ? "; " : "", dst_why);
  t->src_fd[0] = '\0';
  if (must) {
    tp_conn_free(c);
    return eng_errorf(m, "tunnel-handoff on, but the source QEMU cannot take the socket: %s",
                      t->fwd_why);
  }
  t->pre_main = c; /* the acceptor forwards the source's main channel into it */
  return 0;
}

void eng_tunnel_handoff_unused(struct qmig_migration *m)
{
  struct eng_tunnel *t = m->tunnel;
  if (!t || !t->src_fd[0] || m->facts.migrate_issued || !m->src || qmp_broken(m->src))
    return;
  /* Unused, it would keep the destination waiting on a live connection. */
  qmp_cmd(m->src, NULL, QMP_TIMEOUT_DEFAULT, "closefd", "{s:s}", "fdname", t->src_fd);
  t->src_fd[0] = '\0';
}
