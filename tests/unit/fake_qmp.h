/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fake_qmp.h - the scripted fake QMP server of test_qmp.c,
 * test_qmp_faults.c, test_qmp_connect.c and test_qmp_text.c and its cmocka
 * fixture (one fake server thread and one client per test).  Each includes
 * it after the system headers it needs; its functions are static inline so
 * that each test uses what it needs.
 *
 * The fake server runs in a thread so that the client can block.  It never
 * calls cmocka asserts (they longjmp on the wrong stack); it records its
 * first failure in fake.fail, which the test checks after joining it. */
#ifndef QMIG_TESTS_FAKE_QMP_H
#define QMIG_TESTS_FAKE_QMP_H

#define T 5000 /* ms: generous timeout for calls that should succeed */

#define GREETING                                                      \
  "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, " \
  "\"major\": 7}, \"package\": \"Debian 1:7.2+dfsg-7\"}, "            \
  "\"capabilities\": [\"oob\"]}}\r\n"

extern char **environ;

/* ---- fake server (runs in its own thread) ---- */

struct fake;
typedef void fake_script(struct fake *f);

struct fake {
  int fd;        /* server end */
  int listen_fd; /* if >= 0, accept fd from it first */
  pthread_t thread;
  fake_script *script;
  const void *param;
  bool hangup;    /* script closed on purpose: don't wait for EOF */
  char fail[256]; /* first failure seen by the script */
  json_t *last;   /* last command received */
  char id[64];    /* its id */
  char ids[8][64];
  int nids;
  int passed_fd; /* received with SCM_RIGHTS */
  char fd_data[64];
};

static inline int __attribute__((format(printf, 2, 3)))
fake_fail(struct fake *f, const char *fmt, ...)
{
  if (!f->fail[0]) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->fail, sizeof f->fail, fmt, ap);
    va_end(ap);
  }
  return -1;
}

static inline void sleep_ms(long ms)
{
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
    ;
}

static inline long now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* quiet: the client may legitimately have gone (oversized test). */
static inline int fake_write(struct fake *f, const char *p, size_t n, bool quiet)
{
  while (n > 0) {
    ssize_t r = send(f->fd, p, n, MSG_NOSIGNAL);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return quiet ? -1 : fake_fail(f, "send: %s", strerror(errno));
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

static inline int __attribute__((format(printf, 2, 3)))
fake_say(struct fake *f, const char *fmt, ...)
{
  char *s;
  va_list ap;
  va_start(ap, fmt);
  int n = vasprintf(&s, fmt, ap);
  va_end(ap);
  if (n < 0)
    return fake_fail(f, "vasprintf failed");
  int r = fake_write(f, s, (size_t)n, false);
  free(s);
  return r;
}

/* One byte per send, with a pause so that the client sees them apart. */
static inline int fake_say_bytewise(struct fake *f, const char *s)
{
  for (; *s; s++) {
    if (fake_write(f, s, 1, false) < 0)
      return -1;
    struct timespec ts = { 0, 100000 };
    nanosleep(&ts, NULL);
  }
  return 0;
}

/* Read one command (byte by byte, to catch SCM_RIGHTS on any byte). */
static inline int fake_recv(struct fake *f, const char *want)
{
  char buf[8192];
  size_t n = 0;
  int depth = 0;
  bool in_str = false, esc = false;
  json_decref(f->last);
  f->last = NULL;
  for (;;) {
    struct pollfd p = { .fd = f->fd, .events = POLLIN };
    if (poll(&p, 1, 5000) != 1)
      return fake_fail(f, "no command within 5 s (want %s)", want);
    char ch;
    struct iovec iov = { &ch, 1 };
    union {
      struct cmsghdr align;
      char b[CMSG_SPACE(sizeof(int))];
    } u;
    struct msghdr mh = {
      .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = sizeof u.b
    };
    ssize_t r = recvmsg(f->fd, &mh, MSG_CMSG_CLOEXEC);
    if (r <= 0)
      return fake_fail(f, "recv: %s", r == 0 ? "EOF" : strerror(errno));
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
      if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
        if (f->passed_fd >= 0)
          close(f->passed_fd);
        memcpy(&f->passed_fd, CMSG_DATA(cm), sizeof(int));
      }
    }
    if (n == 0 && (ch == ' ' || ch == '\r' || ch == '\n'))
      continue;
    if (n == sizeof buf)
      return fake_fail(f, "command too long");
    buf[n++] = ch;
    if (in_str) {
      if (esc)
        esc = false;
      else if (ch == '\\')
        esc = true;
      else if (ch == '"')
        in_str = false;
    } else if (ch == '"') {
      in_str = true;
    } else if (ch == '{') {
      depth++;
    } else if (ch == '}' && --depth == 0) {
      break;
    }
  }
  json_error_t err;
  f->last = json_loadb(buf, n, 0, &err);
  if (!f->last)
    return fake_fail(f, "client sent bad JSON: %s", err.text);
  const char *cmd = json_string_value(json_object_get(f->last, "execute"));
  const char *id = json_string_value(json_object_get(f->last, "id"));
  if (!cmd || !id)
    return fake_fail(f, "command without execute or id");
  snprintf(f->id, sizeof f->id, "%s", id);
  if (f->nids < 8)
    snprintf(f->ids[f->nids++], sizeof f->ids[0], "%s", id);
  if (want && strcmp(cmd, want) != 0)
    return fake_fail(f, "expected '%s', got '%s'", want, cmd);
  return 0;
}

static inline int fake_reply(struct fake *f, const char *ret_json)
{
  return fake_say(f, "{\"return\": %s, \"id\": \"%s\"}\r\n", ret_json, f->id);
}

static inline int fake_handshake(struct fake *f)
{
  if (fake_say(f, GREETING) < 0 || fake_recv(f, "qmp_capabilities") < 0)
    return -1;
  if (json_object_get(f->last, "arguments"))
    return fake_fail(f, "qmp_capabilities with arguments");
  return fake_reply(f, "{}");
}

/* Keep the connection open until the client closes it. */
static inline void fake_wait_eof(struct fake *f)
{
  char buf[4096];
  long end = now_ms() + 10000;
  while (now_ms() < end) {
    struct pollfd p = { .fd = f->fd, .events = POLLIN };
    if (poll(&p, 1, 1000) == 1 && recv(f->fd, buf, sizeof buf, 0) <= 0)
      return;
  }
  fake_fail(f, "client did not close within 10 s");
}

static inline void *fake_main(void *arg)
{
  struct fake *f = arg;
  if (f->listen_fd >= 0) {
    struct pollfd p = { .fd = f->listen_fd, .events = POLLIN };
    if (poll(&p, 1, 5000) != 1 || (f->fd = accept4(f->listen_fd, NULL, NULL, SOCK_CLOEXEC)) < 0) {
      fake_fail(f, "accept: no connection");
      return NULL;
    }
  }
  f->script(f);
  if (!f->hangup)
    fake_wait_eof(f);
  close(f->fd);
  f->fd = -1;
  return NULL;
}

/* ---- fixture: one fake server and one client per test ---- */

struct fx {
  struct fake f;
  struct qmp_conn *c;
  int client_fd; /* until handed to qmp_open_fd */
  bool running;
};

static inline int fx_setup(void **state)
{
  struct fx *x = calloc(1, sizeof *x);
  if (!x)
    return -1;
  x->f.param = *state; /* prestate, if any */
  x->f.fd = x->f.listen_fd = x->f.passed_fd = x->client_fd = -1;
  *state = x;
  return 0;
}

static inline int fx_teardown(void **state)
{
  struct fx *x = *state;
  qmp_close(x->c);
  if (x->client_fd >= 0)
    close(x->client_fd);
  if (x->running)
    pthread_join(x->f.thread, NULL);
  if (x->f.listen_fd >= 0)
    close(x->f.listen_fd);
  if (x->f.passed_fd >= 0)
    close(x->f.passed_fd);
  json_decref(x->f.last);
  free(x);
  return 0;
}

static inline void fx_start_thread(struct fx *x, fake_script *script)
{
  x->f.script = script;
  assert_int_equal(pthread_create(&x->f.thread, NULL, fake_main, &x->f), 0);
  x->running = true;
}

static inline void fx_start(struct fx *x, fake_script *script)
{
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  x->f.fd = sv[0];
  x->client_fd = sv[1];
  fx_start_thread(x, script);
}

static inline struct qmp_conn *fx_open(struct fx *x, fake_script *script)
{
  char err[512] = "";
  fx_start(x, script);
  x->c = qmp_open_fd("test", x->client_fd, T, err, sizeof err);
  x->client_fd = -1;
  if (!x->c)
    fail_msg("qmp_open_fd: %s", err);
  return x->c;
}

/* Close the client, join the server, check what it saw. */
static inline void fx_finish(struct fx *x)
{
  qmp_close(x->c);
  x->c = NULL;
  if (x->running) {
    pthread_join(x->f.thread, NULL);
    x->running = false;
  }
  if (x->f.fail[0])
    fail_msg("fake server: %s", x->f.fail);
}

#define FX ((struct fx *)*state)

#define FXT(t) cmocka_unit_test_setup_teardown(t, fx_setup, fx_teardown)
#define FXP(t, p) cmocka_unit_test_prestate_setup_teardown(t, fx_setup, fx_teardown, (void *)(p))

/* The script of tests that need only a connected client. */
static inline void script_handshake(struct fake *f)
{
  fake_handshake(f);
}

#endif
