/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* preflight_net.c - the preflight's "data-port" finding: can the
 * destination listen where the stream will go, and can the source reach it?
 * Checked from the host qmig runs on: a bind() when the destination QEMU
 * runs here (it disturbs nobody), else a TCP connect with a 1 s timeout
 * (refused = reachable and free). */
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "engine/internal.h"
#include "engine/session.h"

#define CONNECT_TIMEOUT_MS 1000
#define REMOTE_BUDGET_NS 2000000000LL /* probing a remote port range */
static int resolve(const char *host, struct sockaddr_storage *sa, socklen_t *len, char *why,
                   size_t wlen)
{
  char h[256];
  size_t n = strlen(host);
  if (host[0] == '[' && n > 2 && host[n - 1] == ']')
    snprintf(h, sizeof h, "%.*s", (int)(n - 2), host + 1);
  else
    snprintf(h, sizeof h, "%s", host);
  struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
  int e = getaddrinfo(h, NULL, &hints, &ai);
  if (e)
    return snprintf(why, wlen, "cannot resolve %s: %s", h, gai_strerror(e)), -1;
  memcpy(sa, ai->ai_addr, ai->ai_addrlen);
  *len = ai->ai_addrlen;
  freeaddrinfo(ai);
  return 0;
}

static void set_port(struct sockaddr_storage *sa, unsigned port)
{
  if (sa->ss_family == AF_INET6)
    ((struct sockaddr_in6 *)sa)->sin6_port = htons((uint16_t)port);
  else
    ((struct sockaddr_in *)sa)->sin_port = htons((uint16_t)port);
}

/* 0 when a listener could bind sa, else the errno (EADDRINUSE; EADDRNOTAVAIL:
 * not an address of this host). */
static int try_bind(const struct sockaddr_storage *sa, socklen_t len)
{
  int fd = socket(sa->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
  if (fd < 0)
    return errno;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one); /* as QEMU listens */
  int e = bind(fd, (const struct sockaddr *)sa, len) < 0 ? errno : 0;
  close(fd);
  return e;
}

/* 0 when something accepts on sa, else the errno (ECONNREFUSED: nothing
 * listens; ETIMEDOUT after timeout_ms). */
static int try_connect(const struct sockaddr *sa, socklen_t len, int timeout_ms)
{
  int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), e = 0;
  if (fd < 0)
    return errno;
  if (connect(fd, sa, len) < 0 && (e = errno) == EINPROGRESS) {
    struct pollfd p = { .fd = fd, .events = POLLOUT };
    socklen_t el = sizeof e;
    int n = poll(&p, 1, timeout_ms);
    if (n <= 0)
      e = n == 0 ? ETIMEDOUT : errno;
    else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0)
      e = errno;
  }
  close(fd);
  return e;
}

static bool host_is_local(const char *host)
{
  struct sockaddr_storage sa;
  socklen_t len;
  char why[300];
  return resolve(host, &sa, &len, why, sizeof why) == 0 && try_bind(&sa, len) != EADDRNOTAVAIL;
}

/* The destination QEMU runs on this host: its QMP is a unix socket or a
 * tcp address of this host. */
bool eng_pf_dst_local(const struct eng_config *c)
{
  char host[256];
  eng_tcp_host(c->dst, host, sizeof host);
  return strncmp(c->dst, "unix:", 5) == 0 || (host[0] && host_is_local(host));
}

static void check_unix(struct qmig_migration *m, struct qmig_report_preflight *arr,
                       const char *path)
{
  char dir[PATH_MAX];
  struct stat st;
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (!slash)
    snprintf(dir, sizeof dir, ".");
  else
    slash[slash == dir] = '\0';
  if (!eng_pf_dst_local(&m->cfg))
    eng_pf_add(arr, "data-port", ENG_PF_SKIP, "not checked: unix:%s is on the destination's host",
               path);
  else if (stat(dir, &st) < 0)
    eng_pf_add(arr, "data-port", ENG_PF_FAIL, "directory %s of the stream socket: %s", dir,
               strerror(errno));
  else if (!S_ISDIR(st.st_mode))
    eng_pf_add(arr, "data-port", ENG_PF_FAIL, "%s (for the stream socket) is not a directory", dir);
  else if (lstat(path, &st) < 0)
    eng_pf_add(arr, "data-port", ENG_PF_OK, "unix:%s is free", path);
  else if (!S_ISSOCK(st.st_mode))
    eng_pf_add(arr, "data-port", ENG_PF_FAIL,
               "unix:%s exists and is not a socket (QEMU would "
               "replace it)",
               path);
  else {
    struct sockaddr_un su = { .sun_family = AF_UNIX };
    snprintf(su.sun_path, sizeof su.sun_path, "%s", path);
    bool used = try_connect((struct sockaddr *)&su, sizeof su, CONNECT_TIMEOUT_MS) == 0;
    eng_pf_add(arr, "data-port", used ? ENG_PF_FAIL : ENG_PF_OK,
               used ? "unix:%s: something listens there already"
                    : "unix:%s is a stale socket "
                      "(QEMU replaces it)",
               path);
  }
}

static bool is_wildcard(const struct sockaddr_storage *sa)
{
  if (sa->ss_family == AF_INET6)
    return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)sa)->sin6_addr);
  return ((const struct sockaddr_in *)sa)->sin_addr.s_addr == htonl(INADDR_ANY);
}

/* From a host that is not this one, only a connection can tell: refused
 * means reachable with nothing listening. */
static void check_remote(struct qmig_report_preflight *arr, const char *host,
                         struct sockaddr_storage *sa, socklen_t len, unsigned lo, unsigned hi,
                         const char *from)
{
  int64_t end = eng_mono_ns() + REMOTE_BUDGET_NS;
  unsigned p, used = 0;
  for (p = lo; p <= hi && eng_mono_ns() < end; p++) {
    set_port(sa, p);
    int e = try_connect((struct sockaddr *)sa, len, CONNECT_TIMEOUT_MS);
    if (e == ECONNREFUSED) {
      eng_pf_add(arr, "data-port", ENG_PF_OK, "%s:%u reachable from %s, nothing listens", host, p,
                 from);
      return;
    }
    if (e != 0) {
      eng_pf_add(arr, "data-port", ENG_PF_FAIL,
                 "%s:%u unreachable from %s (%s): a "
                 "firewall or routing problem?",
                 host, p, from, strerror(e));
      return;
    }
    used++;
  }
  if (lo == hi)
    eng_pf_add(arr, "data-port", ENG_PF_FAIL, "%s:%u is in use", host, lo);
  else
    eng_pf_add(arr, "data-port", ENG_PF_FAIL, "no free port on %s: %u of %u-%u tried, all in use",
               host, used, lo, hi);
}

struct port_job {
  struct qmig_migration *m;
  struct qmig_report_preflight *arr;
  bool dst_here;    /* the destination QEMU shares the checking thread's network */
  const char *from; /* where the check runs, for messages */
};

static void check_port(void *arg)
{
  struct port_job *j = arg;
  struct qmig_migration *m = j->m;
  struct qmig_report_preflight *arr = j->arr;
  const struct eng_config *c = &m->cfg;
  unsigned lo = c->stream.port_lo, hi = c->stream.port_hi, p;
  char host[256], why[300];
  if (c->stream.uri && strncmp(c->stream.uri, "unix:", 5) == 0) {
    check_unix(m, arr, c->stream.uri + 5);
    return;
  }
  if (c->stream.uri) {
    eng_tcp_host(c->stream.uri, host, sizeof host);
    lo = hi = (unsigned)atoi(strrchr(c->stream.uri, ':') + 1);
  } else {
    eng_data_host(c, host, sizeof host);
  }
  if (strchr(host, ':') && host[0] != '[') { /* IPv6: [::1]:PORT in messages */
    char v6[sizeof host];
    snprintf(v6, sizeof v6, "[%s]", host);
    snprintf(host, sizeof host, "%s", v6);
  }
  struct sockaddr_storage sa;
  socklen_t len;
  if (resolve(host, &sa, &len, why, sizeof why) < 0) {
    eng_pf_add(arr, "data-port", ENG_PF_FAIL, "%s", why);
    return;
  }
  if (!j->dst_here) {
    if (is_wildcard(&sa))
      eng_pf_add(arr, "data-port", ENG_PF_SKIP,
                 "not checked: %s is every address of the "
                 "destination's host",
                 host);
    else
      check_remote(arr, host, &sa, len, lo, hi, j->from);
    return;
  }
  /* The destination listens on this host: a bind tells, disturbing nobody. */
  set_port(&sa, lo);
  int first = try_bind(&sa, len);
  if (first == EADDRNOTAVAIL) {
    eng_pf_add(arr, "data-port", ENG_PF_FAIL,
               "%s is not an address of this host, where the "
               "destination QEMU runs: it cannot listen there (%s)",
               host, strerror(first));
    return;
  }
  for (p = lo; p <= hi; p++) {
    set_port(&sa, p);
    if ((p == lo ? first : try_bind(&sa, len)) == 0)
      break;
  }
  if (p <= hi)
    eng_pf_add(arr, "data-port", ENG_PF_OK,
               lo == hi ? "%s:%u is free"
                        : "%s:%u is free (first "
                          "free port of %u-%u)",
               host, p, lo, hi);
  else if (lo == hi)
    eng_pf_add(arr, "data-port", ENG_PF_FAIL, "%s:%u %s", host, lo,
               first == EADDRINUSE ? "is in use" : strerror(first));
  else
    eng_pf_add(arr, "data-port", ENG_PF_FAIL, "no free port in %u-%u on %s (%s)", lo, hi, host,
               strerror(first));
}

/* The check runs where the source QEMU connects from: in its network
 * namespace when that is not qmig's (a thread enters it), and binds only
 * when the destination QEMU shares that namespace too. */
void eng_pf_port(struct qmig_migration *m, struct qmig_report_preflight *arr)
{
  char self[64], src[64], dst[64], why[300];
  const char *agent = m->session->agent(m);
  if (agent) { /* reaching the agent was the check (connecting) */
    eng_pf_add(arr, "data-port", ENG_PF_SKIP,
               "not checked: the stream goes through the "
               "tunnel agent at %s",
               agent);
    return;
  }
  eng_netns_id(NULL, self, sizeof self);
  eng_netns_id(m->src, src, sizeof src);
  eng_netns_id(m->dst, dst, sizeof dst);
  const char *from = src[0] ? src : self;
  struct port_job j = { m, arr, eng_pf_dst_local(&m->cfg) && (!dst[0] || !strcmp(dst, from)),
                        "this host" };
  if (!src[0] || !strcmp(src, self)) {
    check_port(&j);
    return;
  }
  j.from = "the source QEMU's network namespace";
  if (eng_netns_run(m->src, check_port, &j, why, sizeof why) < 0)
    eng_pf_add(arr, "data-port", ENG_PF_SKIP, "not checked: %s", why);
}
