/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* control.c - the JSON the control connection carries (docs/TUNNEL.md):
 * the agent's OK reply that issues the session, the engine's requests (one
 * object per line) and the agent's clock answers.  Pure functions over
 * untrusted text: a message that parses has every field the reader uses,
 * of the right type and within bounds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "common/errbuf.h"
#include "transport/transport.h"

#define CLEANUP_JSON __attribute__((cleanup(json_cleanup)))
static void json_cleanup(json_t **j)
{
  json_decref(*j);
}

static json_t *load_object(const char *text, size_t len, const char *what, char *err, size_t errlen)
{
  json_error_t je;
  json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
  if (!j) {
    errbuf_setf(err, errlen, "%s is not JSON: %s", what, je.text);
    return NULL;
  }
  if (!json_is_object(j)) {
    json_decref(j);
    errbuf_setf(err, errlen, "%s is not a JSON object", what);
    return NULL;
  }
  return j;
}

static int int_field(json_t *j, const char *key, int64_t *out, const char *what, char *err,
                     size_t errlen)
{
  json_t *v = json_object_get(j, key);
  if (!json_is_integer(v)) {
    errbuf_setf(err, errlen, "%s: '%s' is missing or not an integer", what, key);
    return -1;
  }
  *out = json_integer_value(v);
  return 0;
}

int tp_control_parse(const char *line, size_t len, struct tp_control_msg *m, char *err,
                     size_t errlen)
{
  CLEANUP_JSON json_t *j = load_object(line, len, "control message", err, errlen);
  if (!j)
    return -1;
  const char *op = json_string_value(json_object_get(j, "op"));
  if (!op) {
    errbuf_setf(err, errlen, "control message has no 'op'");
    return -1;
  }
  memset(m, 0, sizeof *m);
  if (strcmp(op, "clock") == 0) {
    m->op = TP_CTL_CLOCK;
    return int_field(j, "t1", &m->t1, "clock request", err, errlen);
  }
  if (strcmp(op, "handoff") == 0) {
    m->op = TP_CTL_HANDOFF;
    return 0;
  }
  errbuf_setf(err, errlen, "unknown control operation '%.40s'", op);
  return -1;
}

int tp_clock_reply_parse(const char *line, size_t len, int64_t t[3], char *err, size_t errlen)
{
  static const char *const keys[3] = { "t1", "t2", "t3" };
  CLEANUP_JSON json_t *j = load_object(line, len, "clock reply", err, errlen);
  if (!j)
    return -1;
  for (int i = 0; i < 3; i++)
    if (int_field(j, keys[i], &t[i], "clock reply", err, errlen) < 0)
      return -1;
  return 0;
}

void tp_hex(const uint8_t *b, size_t n, char *out)
{
  static const char d[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = d[b[i] >> 4];
    out[2 * i + 1] = d[b[i] & 15];
  }
  out[2 * n] = '\0';
}

static int unhex(char c)
{
  return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int tp_session_encode(const struct tp_session_info *s, char *out, size_t cap)
{
  char hex[2 * TP_SESSION_LEN + 1];
  tp_hex(s->session, TP_SESSION_LEN, hex);
  json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:b}", "session", hex, "incoming", s->incoming,
                        "nbd", s->nbd, "agent", s->agent, "auth", s->auth, "plain_data",
                        s->plain_data, "handoff", s->handoff);
  char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
  json_decref(j);
  int rc = text && strlen(text) < cap && strlen(text) <= TP_REPLY_MAX_MSG ? 0 : -1;
  if (rc == 0)
    memcpy(out, text, strlen(text) + 1);
  free(text);
  return rc;
}

static int str_field(json_t *j, const char *key, bool unix_uri, char *out, size_t cap, char *err,
                     size_t errlen)
{
  json_t *v = json_object_get(j, key);
  const char *s = json_string_value(v);
  if (!s || strlen(s) >= cap || strlen(s) != json_string_length(v) ||
      (unix_uri && (strncmp(s, "unix:", 5) != 0 || !s[5]))) {
    errbuf_setf(err, errlen, "session reply: '%s' is missing or not %s", key,
                unix_uri ? "a unix: URI" : "a short string");
    return -1;
  }
  memcpy(out, s, strlen(s) + 1);
  return 0;
}

int tp_session_parse(const char *msg, size_t len, struct tp_session_info *s, char *err,
                     size_t errlen)
{
  CLEANUP_JSON json_t *j = load_object(msg, len, "session reply", err, errlen);
  if (!j)
    return -1;
  memset(s, 0, sizeof *s);
  const char *hex = json_string_value(json_object_get(j, "session"));
  if (!hex || strlen(hex) != 2 * TP_SESSION_LEN) {
    errbuf_setf(err, errlen, "session reply: no session id (an agent older than protocol 2?)");
    return -1;
  }
  for (int i = 0; i < TP_SESSION_LEN; i++) {
    int hi = unhex(hex[2 * i]), lo = unhex(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      errbuf_setf(err, errlen, "session reply: the session id is not lower-case hex");
      return -1;
    }
    s->session[i] = (uint8_t)(hi << 4 | lo);
  }
  if (str_field(j, "incoming", true, s->incoming, sizeof s->incoming, err, errlen) < 0 ||
      str_field(j, "nbd", true, s->nbd, sizeof s->nbd, err, errlen) < 0 ||
      str_field(j, "agent", false, s->agent, sizeof s->agent, err, errlen) < 0 ||
      str_field(j, "auth", false, s->auth, sizeof s->auth, err, errlen) < 0)
    return -1;
  json_t *pd = json_object_get(j, "plain_data");
  if (!json_is_boolean(pd)) {
    errbuf_setf(err, errlen, "session reply: 'plain_data' is missing or not a boolean");
    return -1;
  }
  s->plain_data = json_is_true(pd);
  /* Optional: agents before socket handoff do not send it. */
  json_t *ho = json_object_get(j, "handoff");
  if (ho && !json_is_boolean(ho)) {
    errbuf_setf(err, errlen, "session reply: 'handoff' is not a boolean");
    return -1;
  }
  s->handoff = json_is_true(ho);
  return 0;
}

int tp_handoff_reply_parse(const char *line, size_t len, struct tp_handoff_reply *r, char *err,
                           size_t errlen)
{
  CLEANUP_JSON json_t *j = load_object(line, len, "handoff reply", err, errlen);
  if (!j)
    return -1;
  *r = (struct tp_handoff_reply){ .offload = TP_OFFLOAD_UNKNOWN };
  json_t *v = json_object_get(j, "handoff");
  if (!json_is_boolean(v)) {
    errbuf_setf(err, errlen, "handoff reply: 'handoff' is missing or not a boolean");
    return -1;
  }
  r->on = json_is_true(v);
  const char *w = json_string_value(json_object_get(j, "why"));
  snprintf(r->why, sizeof r->why, "%s", w ? w : (r->on ? "" : "the agent gave no reason"));
  /* Optional: agents before kernel TLS handoff do not send it. */
  json_t *o = json_object_get(j, "offload");
  const char *os = json_string_value(o);
  if (o && !(os && (!strcmp(os, "ktls") || !strcmp(os, "user")))) {
    errbuf_setf(err, errlen, "handoff reply: 'offload' is neither \"ktls\" nor \"user\"");
    return -1;
  }
  if (os)
    r->offload = !strcmp(os, "ktls") ? TP_OFFLOAD_KTLS : TP_OFFLOAD_USER;
  const char *ow = json_string_value(json_object_get(j, "offload_why"));
  if (r->offload == TP_OFFLOAD_USER)
    snprintf(r->offload_why, sizeof r->offload_why, "%s", ow ? ow : "the agent gave no reason");
  return 0;
}
