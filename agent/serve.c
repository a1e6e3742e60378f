/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* serve.c - one accepted tunnel connection: TLS handshake (or plain, told
 * by its first byte), hello, then its channel.  control (TLS only): issues
 * the session and its key, answers clock probes until it closes.  Every
 * other channel first proves it belongs to the session (a challenge
 * answered with an HMAC under the session key, tp_auth_challenge).  qmp:
 * relayed to the destination QMP.  main: connected to QEMU's incoming
 * socket.  multifd: connected only after main was (QEMU 7.2 takes
 * the first connection it accepts as the main channel).  Every refusal is
 * answered with a reason and logged. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "agent/agent.h"
#include "agent/qmpfilter.h"

#define MAIN_WAIT_S 30

static void refuse(struct qmig_agent *a, struct tp_conn *c, const char *peer, uint8_t st,
                   const char *why)
{
  agt_log(a, "refused %s: %s", peer, why);
  tp_reply_send(c, st, why, (int)a->handshake_ms);
}

static int64_t agent_wall_us(const struct qmig_agent *a)
{
  return tp_wall_us() + (int64_t)a->skew_ms * 1000;
}

/* Appended to every line of a session of an agent without credential. */
static const char *insecure_note(const struct qmig_agent *a)
{
  return a->insecure ? " [UNAUTHENTICATED: insecure-no-auth, anyone could have opened it]" : "";
}

/* The control connection's messages: one JSON object per line
 * (tp_control_parse).
 *   {"op":"clock","t1":US} -> {"t1":US,"t2":US,"t3":US} (agent wall clock) */
static void control_loop(struct qmig_agent *a, struct tp_conn *c)
{
  char buf[4096], why[200];
  size_t have = 0;
  for (;;) {
    unsigned idle_ms = a->bound[AGT_B_IDLE];
    int64_t t0 = tp_mono_ms();
    ssize_t r = tp_conn_read_some(c, buf + have, sizeof buf - 1 - have, (int)idle_ms);
    int64_t t2 = agent_wall_us(a);
    bool silent = r < 0 && tp_mono_ms() - t0 >= idle_ms;
    if (silent && agt_session_busy(a))
      continue; /* silent, but its channels are working */
    if (silent) {
      agt_log(a,
              "control: silent for %u ms and no channel of the session open "
              "(control-idle-timeout): closing",
              a->bound[AGT_B_IDLE]);
      return;
    }
    if (r <= 0) {
      if (r < 0)
        agt_log(a, "control: %s", tp_conn_error(c));
      return;
    }
    have += (size_t)r;
    buf[have] = '\0';
    char *nl;
    while ((nl = memchr(buf, '\n', have))) {
      struct tp_control_msg msg;
      if (tp_control_parse(buf, (size_t)(nl - buf), &msg, why, sizeof why) < 0) {
        agt_log(a, "control: ignored a message: %s", why);
      } else if (msg.op == TP_CTL_HANDOFF) {
        bool on = false;
        json_t *j = agt_handoff_answer(a, &on);
        char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
        if (on) {
          pthread_mutex_lock(&a->lock);
          a->s.handoff = true;
          pthread_mutex_unlock(&a->lock);
        }
        agt_log(a, "control: socket handoff asked for: %s", text ? text : "out of memory");
        bool oom = !text;
        int rc = oom ? -1 : tp_conn_write_all(c, text, strlen(text), (int)a->handshake_ms);
        if (rc == 0)
          rc = tp_conn_write_all(c, "\n", 1, (int)a->handshake_ms);
        free(text);
        if (rc < 0) {
          agt_log(a, "control: %s", oom ? "out of memory" : tp_conn_error(c));
          return;
        }
      } else if (msg.op == TP_CTL_CLOCK) {
        char out[160];
        int n = snprintf(out, sizeof out, "{\"t1\":%lld,\"t2\":%lld,\"t3\":%lld}\n",
                         (long long)msg.t1, (long long)t2, (long long)agent_wall_us(a));
        if (tp_conn_write_all(c, out, (size_t)n, (int)a->handshake_ms) < 0) {
          agt_log(a, "control: %s", tp_conn_error(c));
          return;
        }
      }
      size_t used = (size_t)(nl + 1 - buf);
      memmove(buf, nl + 1, have - used + 1);
      have -= used;
    }
    if (have >= sizeof buf - 1) {
      agt_log(a, "control: message longer than %zu bytes, closing", sizeof buf - 1);
      return;
    }
  }
}

/* A control connection (TLS with our credential, or insecure-no-auth)
 * opens the session: we issue its id, and both ends export its key from
 * this connection's TLS. */
static void serve_control(struct qmig_agent *a, struct tp_conn *c, const char *peer)
{
  struct agt_session *s = &a->s;
  uint8_t id[TP_SESSION_LEN], key[TP_KEY_LEN] = { 0 };
  if (RAND_bytes(id, sizeof id) != 1) {
    refuse(a, c, peer, TP_ST_UNAVAILABLE, "no random bytes for a session id");
    return;
  }
  if (!a->insecure && tp_conn_export_key(c, id, key) < 0) {
    refuse(a, c, peer, TP_ST_UNAVAILABLE, tp_conn_error(c));
    return;
  }
  pthread_mutex_lock(&a->lock);
  if (s->active || a->stopping) {
    pthread_mutex_unlock(&a->lock);
    OPENSSL_cleanse(key, sizeof key);
    refuse(a, c, peer, TP_ST_BUSY, "busy: another session is running on this agent");
    return;
  }
  memset(s, 0, sizeof *s);
  s->active = true;
  a->control_fd = tp_conn_fd(c);
  memcpy(s->id, id, TP_SESSION_LEN);
  memcpy(s->key, key, TP_KEY_LEN);
  OPENSSL_cleanse(key, sizeof key);
  tp_hex(id, TP_SESSION_LEN, s->hex);
  snprintf(s->incoming, sizeof s->incoming, "%s/incoming-%.8s.sock", a->run_dir, s->hex);
  snprintf(s->nbd, sizeof s->nbd, "%s/nbd-%.8s.sock", a->run_dir, s->hex);
  unlink(s->incoming);
  unlink(s->nbd);
  char hex[sizeof s->hex], incoming[sizeof s->incoming], nbd[sizeof s->nbd];
  memcpy(hex, s->hex, sizeof hex);
  memcpy(incoming, s->incoming, sizeof incoming);
  memcpy(nbd, s->nbd, sizeof nbd);
  pthread_mutex_unlock(&a->lock);

  struct tp_session_info si;
  char msg[TP_REPLY_MAX_MSG + 1], desc[96];
  memset(&si, 0, sizeof si);
  memcpy(si.session, id, TP_SESSION_LEN);
  snprintf(si.incoming, sizeof si.incoming, "unix:%s", incoming);
  snprintf(si.nbd, sizeof si.nbd, "unix:%s", nbd);
  snprintf(si.agent, sizeof si.agent, "qmig %s", QMIG_VERSION);
  snprintf(si.auth, sizeof si.auth, "%s",
           a->insecure             ? "none"
           : a->tls == TP_TLS_X509 ? "x509"
                                   : "psk");
  si.plain_data = a->insecure || !a->refuse_plain_data;
  si.handoff = agt_handoff_refusal(a) == NULL;
  tp_conn_describe(c, desc, sizeof desc);
  if (tp_session_encode(&si, msg, sizeof msg) < 0) {
    refuse(a, c, peer, TP_ST_UNAVAILABLE,
           "the session reply does not fit (run dir path too long?)");
  } else if (tp_reply_send(c, TP_ST_OK, msg, (int)a->handshake_ms) < 0) {
    agt_log(a, "session %.8s: %s", hex, tp_conn_error(c));
  } else {
    agt_log(a, "session %.8s opened by %s (%s), incoming unix:%s%s", hex, peer, desc, incoming,
            insecure_note(a));
    control_loop(a, c);
  }
  pthread_mutex_lock(&a->lock);
  s->active = false;
  OPENSSL_cleanse(s->key, sizeof s->key);
  a->control_fd = -1;
  a->sessions_ended++;
  pthread_cond_broadcast(&a->cond);
  pthread_mutex_unlock(&a->lock);
  unlink(incoming);
  unlink(nbd);
  agt_log(a, "session %.8s ended (control connection closed)%s", hex, insecure_note(a));
}

/* Wait until the session's main channel is connected; false after
 * MAIN_WAIT_S or when the session ended.  Called with the lock held. */
static bool wait_main(struct qmig_agent *a)
{
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += MAIN_WAIT_S;
  while (a->s.active && !a->s.main_connected && !a->stopping)
    if (pthread_cond_timedwait(&a->cond, &a->lock, &until) != 0)
      break;
  return a->s.active && a->s.main_connected && !a->stopping;
}

/* Takes c. */
static void serve_data(struct qmig_agent *a, struct tp_conn *c, const struct tp_hello *h,
                       const char *peer)
{
  char what[64], e[512], incoming[256], nbd[256];
  snprintf(what, sizeof what,
           h->kind == TP_K_MULTIFD || h->kind == TP_K_NBD ? "%s channel %u" : "%s channel",
           tp_kind_name(h->kind), h->index);
  /* The session's key, then the proof (outside the lock: the peer may be slow). */
  uint8_t key[TP_KEY_LEN];
  pthread_mutex_lock(&a->lock);
  bool known = a->s.active && memcmp(a->s.id, h->session, TP_SESSION_LEN) == 0;
  memcpy(key, a->s.key, sizeof key);
  pthread_mutex_unlock(&a->lock);
  if (!known) {
    OPENSSL_cleanse(key, sizeof key);
    refuse(a, c, peer, TP_ST_UNKNOWN_SESSION,
           "unknown session id (no open control connection created it)");
    goto out;
  }
  int proved = a->insecure ? 0 : tp_auth_challenge(c, h, key, (int)a->handshake_ms, e, sizeof e);
  OPENSSL_cleanse(key, sizeof key);
  if (proved < 0) {
    refuse(a, c, peer, TP_ST_UNKNOWN_SESSION, e);
    goto out;
  }
  pthread_mutex_lock(&a->lock);
  known = a->s.active && memcmp(a->s.id, h->session, TP_SESSION_LEN) == 0;
  bool ok = known && (h->kind != TP_K_MULTIFD || wait_main(a));
  /* Only the session's first main channel: a later one (post-copy's
   * resume after migrate-recover) goes to the incoming socket as always. */
  bool handoff = known && h->kind == TP_K_MAIN && a->s.handoff && !a->s.main_connected;
  snprintf(incoming, sizeof incoming, "%s", a->s.incoming);
  snprintf(nbd, sizeof nbd, "%s", a->s.nbd);
  char hex[2 * TP_SESSION_LEN + 1];
  memcpy(hex, a->s.hex, sizeof hex);
  pthread_mutex_unlock(&a->lock);
  if (!known) {
    refuse(a, c, peer, TP_ST_UNKNOWN_SESSION, "the session ended");
    goto out;
  }
  if (!ok) {
    refuse(a, c, peer, TP_ST_UNAVAILABLE, "multifd channel before any main channel");
    goto out;
  }
  if (agt_channel_enter(a, h->session, h->kind, h->index, e, sizeof e) < 0) {
    refuse(a, c, peer, TP_ST_UNAVAILABLE, e);
    goto out;
  }
  /* Socket handoff: we start the incoming migration, on this very socket
   * when QEMU can take it. */
  char reply[600] = "ok";
  struct agt_qmp_relay *qr = NULL; /* the allow-list, between us and QMP */
  if (handoff) {
    int hr = agt_handoff_main(a, c, h->session, hex, incoming, e, sizeof e);
    if (hr < 0) {
      char why[700];
      snprintf(why, sizeof why, "destination QEMU unavailable for the %s: %s", what, e);
      refuse(a, c, peer, TP_ST_UNAVAILABLE, why);
      goto leave;
    }
    if (hr == 1) {
      pthread_mutex_lock(&a->lock);
      a->s.main_connected = true;
      pthread_cond_broadcast(&a->cond);
      pthread_mutex_unlock(&a->lock);
      if (tp_reply_send(c, TP_ST_OK, "handoff", (int)a->handshake_ms) < 0)
        agt_log(a, "session %.8s %s: %s", hex, what, tp_conn_error(c));
      else
        agt_log(a,
                "session %.8s %s: socket handed to QEMU (migrate-incoming fd:), 0 bytes "
                "through the agent%s",
                hex, what, insecure_note(a));
      goto leave; /* our copy closes below: QEMU holds the connection */
    }
    snprintf(reply, sizeof reply, "forwarded: %.500s", e);
    agt_log(a, "session %.8s %s: forwarded, not handed off: %s", hex, what, e);
  }
  /* Only ever the configured QEMU: its QMP, or its sockets in our run dir
   * (the migration stream, the NBD server of a disk copy). */
  const char *target = h->kind == TP_K_QMP ? a->qmp : h->kind == TP_K_NBD ? nbd : incoming;
  int fd = tp_unix_connect(target, (int)a->handshake_ms, e, sizeof e);
  if (fd >= 0 && h->kind == TP_K_QMP && a->skew_ms)
    fd = agt_skew_qmp(fd, a->skew_ms, e, sizeof e);
  if (fd >= 0 && h->kind == TP_K_QMP &&
      !(qr = agt_qmp_attach(a, hex, incoming, nbd, &fd, e, sizeof e)))
    fd = -1;
  if (fd < 0) {
    char why[600];
    snprintf(why, sizeof why, "destination QEMU unavailable for the %s: %s", what, e);
    refuse(a, c, peer, TP_ST_UNAVAILABLE, why);
    goto leave;
  }
  if (h->kind == TP_K_MAIN) {
    pthread_mutex_lock(&a->lock);
    a->s.main_connected = true;
    pthread_cond_broadcast(&a->cond);
    pthread_mutex_unlock(&a->lock);
  }
  if (qr)
    agt_relay_add(a, h->session, qr);
  if (tp_reply_send(c, TP_ST_OK, reply, (int)a->handshake_ms) < 0) {
    agt_log(a, "session %.8s %s: %s", hex, what, tp_conn_error(c));
    close(fd);
    goto leave;
  }
  struct tp_fwd *f = tp_fwd_start(fd, c, e, sizeof e); /* takes fd and c */
  c = NULL;
  if (!f) {
    agt_log(a, "session %.8s %s: %s", hex, what, e);
    goto leave;
  }
  /* Out of the set before tp_fwd_join frees f: the stop path aborts only
   * what is in the set, under the same lock. */
  int slot = agt_fwd_add(a, f);
  tp_fwd_wait(f);
  agt_fwd_remove(a, slot);
  struct tp_fwd_stats st;
  tp_fwd_join(f, &st);
  agt_log(a, "session %.8s %s ended: %llu bytes to QEMU, %llu from QEMU, %.3f CPU s%s%s%s", hex,
          what, (unsigned long long)st.bytes_in, (unsigned long long)st.bytes_out, st.cpu_s,
          st.failed ? "; " : "", st.failed ? st.error : "", insecure_note(a));
leave:
  agt_relay_remove(a, qr); /* no handoff uses it any more */
  agt_qmp_relay_join(qr);  /* ends: the forwarder closed its socket */
  agt_channel_leave(a, h->session, h->kind);
out:
  tp_conn_free(c);
}

/* Which connections an agent with a credential takes in plaintext: data
 * channels (authenticated by the session proof) unless plain-data refuse;
 * never control or qmp.  NULL when allowed, else why not. */
static const char *plain_refusal(const struct qmig_agent *a, unsigned kind)
{
  if (kind == TP_K_CONTROL || kind == TP_K_QMP)
    return kind == TP_K_CONTROL
               ? "plaintext control connection: this agent requires TLS with its credential"
               : "plaintext qmp channel: this agent requires TLS with its credential";
  if (a->refuse_plain_data)
    return "plaintext data channel: this agent refuses them (plain-data refuse); use "
           "tunnel-data tls";
  return NULL;
}

void agt_serve(struct qmig_agent *a, int fd)
{
  char peer[80], label[160], why[300];
  tp_peer_name(fd, peer, sizeof peer);
  snprintf(label, sizeof label, "connection from %s", peer);
  /* TLS or plain, told by the first byte; without a credential plain only. */
  int tls = a->tls_ctx ? tp_peek_tls(fd, (int)a->handshake_ms) : 0;
  if (tls < 0) {
    agt_log(a, "refused %s: closed or silent for %u ms before its first byte", peer,
            a->handshake_ms);
    close(fd);
    return;
  }
  struct tp_conn *c = tp_conn_new(fd, tls ? a->tls_ctx : NULL, NULL, label);
  if (!c) {
    agt_log(a, "refused %s: out of memory", peer);
    return;
  }
  uint8_t b[TP_HELLO_LEN];
  struct tp_hello h;
  const char *plain_no = NULL;
  if (tp_conn_handshake(c, (int)a->handshake_ms) < 0) {
    agt_log(a, "refused %s", tp_conn_error(c));
  } else if (tp_conn_read_exact(c, b, sizeof b, (int)a->handshake_ms) < 0) {
    agt_log(a, "refused %s (no complete hello)", tp_conn_error(c));
  } else if (tp_hello_parse(b, sizeof b, &h, why, sizeof why) < 0) {
    if (!a->tls_ctx && b[0] == 0x16)
      snprintf(why, sizeof why,
               "a TLS client, but this agent runs without a credential "
               "(insecure-no-auth)");
    refuse(a, c, peer, TP_ST_BAD_HELLO, why);
  } else if (!tls && !a->insecure && (plain_no = plain_refusal(a, h.kind))) {
    refuse(a, c, peer, TP_ST_BAD_HELLO, plain_no);
  } else if (h.kind == TP_K_CONTROL) {
    serve_control(a, c, peer);
  } else {
    snprintf(label, sizeof label, "%s channel %u from %s", tp_kind_name(h.kind), h.index, peer);
    tp_conn_set_label(c, label);
    serve_data(a, c, &h, peer);
    return;
  }
  tp_conn_free(c);
}
