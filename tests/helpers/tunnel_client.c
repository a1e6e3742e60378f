/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tunnel_client - a client of a qmig agent for the integration tests: the
 * library's protocol 2 client (transport/client.c: TLS 1.3 with the
 * credential, the session the agent issues, its key exported from the
 * control connection's TLS, every channel proved) behind a line interface,
 * so that shell tests can do what the engine never does (send a QMP command
 * the allow-list refuses, hold channels open, go silent).
 *
 * usage: tunnel_client HOST:PORT (--psk FILE [--identity ID] | --x509 DIR
 *                                  [--peer-name NAME] | --insecure-no-auth)
 *
 * Reads commands from stdin, one a line, and writes one line for each:
 *   session              open the session: "session HEX"
 *   open KIND [INDEX]    a channel of the session (qmp, main, multifd, nbd):
 *                        "channel N" (N counts from 1), or "failed: WHY"
 *                        (a refusal: WHY carries the agent's reason)
 *   qmp N JSON           send the QMP command JSON on channel N (the QMP
 *                        greeting is read and checked before the first) and
 *                        print "ID REPLY" for the reply carrying its id
 *                        (events skipped)
 *   close N              close channel N (0: the control connection)
 *   closed-within N MS   "closed" when the agent closes channel N (0: the
 *                        control connection) within MS ms, else "open"
 * Exit 0 when every command ran (a refused channel is a result, not an
 * error); 1 with the reason on stderr when one could not (no session, a
 * broken channel, a bad command). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "transport/transport.h"

#define MAX_CH 64
#define TIMEOUT_MS 10000
#define LINE_MAX_LEN 65536

struct client {
  const char *agent;
  struct tp_tls *tls;
  struct tp_session_info si;
  uint8_t key[TP_KEY_LEN];
  struct tp_conn *ch[MAX_CH]; /* [0]: the control connection */
  bool greeted[MAX_CH];
  int n; /* channels opened so far (numbers 1..n) */
};

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void die(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "tunnel_client: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  exit(1);
}

static struct tp_conn *channel(struct client *cl, const char *arg)
{
  char *end;
  long i = strtol(arg ? arg : "", &end, 10);
  if (!arg || end == arg || i < 0 || i >= MAX_CH || !cl->ch[i])
    die("no open channel '%s'", arg ? arg : "");
  return cl->ch[i];
}

static unsigned kind_of(const char *name)
{
  for (unsigned k = TP_K_QMP; k <= TP_K_MAX; k++)
    if (!strcmp(name, tp_kind_name(k)))
      return k;
  die("unknown channel kind '%s'", name);
  return 0;
}

static void cmd_session(struct client *cl)
{
  char err[600], hex[2 * TP_SESSION_LEN + 1];
  if (cl->ch[0])
    die("the session is already open");
  cl->ch[0] = tp_session_open(cl->agent, cl->tls, "control connection", &cl->si, cl->key,
                              TIMEOUT_MS, err, sizeof err);
  if (!cl->ch[0])
    die("%s", err);
  tp_hex(cl->si.session, TP_SESSION_LEN, hex);
  printf("session %s\n", hex);
}

static void cmd_open(struct client *cl, const char *kind, const char *index)
{
  char err[600], label[64];
  if (!cl->ch[0])
    die("open %s: no session", kind ? kind : "");
  if (!kind || cl->n + 1 >= MAX_CH)
    die("open: give a kind (at most %d channels)", MAX_CH - 1);
  struct tp_hello h = { .version = TP_HELLO_VERSION,
                        .kind = (uint8_t)kind_of(kind),
                        .index = (uint16_t)(index ? atoi(index) : 0) };
  memcpy(h.session, cl->si.session, TP_SESSION_LEN);
  snprintf(label, sizeof label, "%s channel %d", kind, cl->n + 1);
  /* Like the engine: qmp always over TLS, the data kinds too (tunnel-data tls). */
  struct tp_conn *c = tp_channel_open(cl->agent, cl->tls, label, &h, cl->tls ? cl->key : NULL, NULL,
                                      0, TIMEOUT_MS, err, sizeof err);
  if (!c) {
    printf("failed: %s\n", err);
    return;
  }
  cl->ch[++cl->n] = c;
  printf("channel %d\n", cl->n);
}

/* One line from c (without its newline) into a malloc'ed string. */
static char *read_line(struct tp_conn *c)
{
  char *b = malloc(LINE_MAX_LEN);
  size_t n = 0;
  while (b && n < LINE_MAX_LEN - 1) {
    ssize_t r = tp_conn_read_some(c, b + n, 1, TIMEOUT_MS);
    if (r <= 0)
      die("%s: %s", tp_conn_label(c), r == 0 ? "closed by the agent" : tp_conn_error(c));
    if (b[n] == '\n') {
      b[n] = '\0';
      return b;
    }
    n++;
  }
  die("%s: %s", tp_conn_label(c), b ? "line too long" : "out of memory");
}

static void cmd_qmp(struct client *cl, const char *num, const char *text)
{
  struct tp_conn *c = channel(cl, num);
  int i = atoi(num);
  json_error_t je;
  if (!cl->greeted[i]) {
    char *g = read_line(c);
    json_t *j = json_loads(g, 0, &je);
    if (!json_object_get(j, "QMP"))
      die("no QMP greeting: %s", g);
    json_decref(j);
    free(g);
    cl->greeted[i] = true;
  }
  json_t *cmd = json_loads(text ? text : "", 0, &je);
  if (!json_is_object(cmd))
    die("qmp: not a JSON object: %s", text ? text : "");
  json_t *id = json_object_get(cmd, "id");
  char line[LINE_MAX_LEN + 2];
  int n = snprintf(line, sizeof line, "%s\n", text);
  if (n >= (int)sizeof line || tp_conn_write_all(c, line, (size_t)n, TIMEOUT_MS) < 0)
    die("%s: %s", tp_conn_label(c), tp_conn_error(c));
  for (int lines = 0; lines < 1000; lines++) { /* events until the reply */
    char *r = read_line(c);
    json_t *rep = json_loads(r, 0, &je);
    if (!rep)
      die("not JSON from QMP: %s", r);
    json_t *rid = json_object_get(rep, "id");
    bool mine = id ? rid && json_equal(id, rid) : !rid && !json_object_get(rep, "event");
    if (mine) {
      char *ids = json_is_string(id) ? strdup(json_string_value(id))
                                     : json_dumps(id ? id : json_null(), JSON_ENCODE_ANY);
      printf("%s %s\n", ids ? ids : "?", r);
      free(ids);
      free(r);
      json_decref(rep);
      json_decref(cmd);
      return;
    }
    free(r);
    json_decref(rep);
  }
  die("no reply to %s", text);
}

static void cmd_close(struct client *cl, const char *num)
{
  struct tp_conn *c = channel(cl, num);
  tp_conn_free(c);
  cl->ch[atoi(num)] = NULL;
  printf("closed %s\n", num);
}

static void cmd_closed_within(struct client *cl, const char *num, const char *ms)
{
  struct tp_conn *c = channel(cl, num);
  int64_t deadline = tp_mono_ms() + (ms ? atoi(ms) : 0);
  for (;;) {
    int64_t left = deadline - tp_mono_ms();
    struct pollfd p = { .fd = tp_conn_fd(c), .events = POLLIN };
    int rc = left > 0 ? poll(&p, 1, (int)left) : 0;
    if (rc < 0 && errno == EINTR)
      continue;
    if (rc <= 0) {
      printf("open\n");
      return;
    }
    char b[4096];
    ssize_t r = tp_conn_read_some(c, b, sizeof b, 1000);
    if (r == 0 || r < 0) { /* an orderly end, or a reset / end without close_notify */
      if (r < 0)
        fprintf(stderr, "tunnel_client: %s\n", tp_conn_error(c));
      printf("closed\n");
      return;
    }
  }
}

int main(int argc, char **argv)
{
  struct client cl = { .agent = NULL };
  struct tp_tls_opts o = { .mode = TP_TLS_NONE };
  bool insecure = false;
  signal(SIGPIPE, SIG_IGN);
  setvbuf(stdout, NULL, _IOLBF, 0);
  for (int i = 1; i < argc; i++) {
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(argv[i], "--psk") && v)
      o.mode = TP_TLS_PSK, o.psk_file = v, i++;
    else if (!strcmp(argv[i], "--identity") && v)
      o.psk_identity = v, i++;
    else if (!strcmp(argv[i], "--x509") && v)
      o.mode = TP_TLS_X509, o.dir = v, i++;
    else if (!strcmp(argv[i], "--peer-name") && v)
      o.peer_name = v, i++;
    else if (!strcmp(argv[i], "--insecure-no-auth"))
      insecure = true;
    else if (argv[i][0] != '-' && !cl.agent)
      cl.agent = argv[i];
    else
      die("usage: tunnel_client HOST:PORT (--psk FILE [--identity ID] | --x509 DIR "
          "[--peer-name NAME] | --insecure-no-auth) < commands");
  }
  if (!cl.agent || (o.mode == TP_TLS_NONE) != insecure)
    die("give HOST:PORT and one of --psk, --x509, --insecure-no-auth");
  char err[512];
  if (o.mode != TP_TLS_NONE && !(cl.tls = tp_tls_new(&o, err, sizeof err)))
    die("TLS: %s", err);

  char *line = NULL;
  size_t cap = 0;
  while (getline(&line, &cap, stdin) > 0) {
    line[strcspn(line, "\r\n")] = '\0';
    char *rest = line + strspn(line, " ");
    if (!*rest || *rest == '#')
      continue;
    char *op = rest;
    rest += strcspn(rest, " ");
    if (*rest)
      *rest++ = '\0';
    char *a1 = *rest ? rest : NULL, *a2 = NULL;
    if (a1) { /* the first word, and the rest (qmp's JSON has spaces) */
      char *sp = strchr(a1, ' ');
      if (sp) {
        *sp = '\0';
        a2 = sp + 1;
      }
    }
    if (!strcmp(op, "session"))
      cmd_session(&cl);
    else if (!strcmp(op, "open") && a1)
      cmd_open(&cl, a1, a2);
    else if (!strcmp(op, "qmp") && a1 && a2)
      cmd_qmp(&cl, a1, a2);
    else if (!strcmp(op, "close") && a1)
      cmd_close(&cl, a1);
    else if (!strcmp(op, "closed-within") && a1 && a2)
      cmd_closed_within(&cl, a1, a2);
    else
      die("unknown command '%s'", op);
  }
  free(line);
  for (int i = 0; i < MAX_CH; i++)
    tp_conn_free(cl.ch[i]);
  tp_tls_free(cl.tls);
  return 0;
}
