/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sock.c - TCP and unix sockets for the tunnel: connect with a timeout,
 * listen, accept with a timeout, and the options that bound how long a dead
 * link can go unnoticed. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "common/errbuf.h"
#include "transport/transport.h"

/* Unacknowledged data older than this fails the connection (TCP_USER_TIMEOUT);
 * an idle connection is probed after KEEPIDLE s, every KEEPINTVL s, KEEPCNT
 * times: a dead link is noticed within about 10-11 s either way. */
#define USER_TIMEOUT_MS 10000
#define KEEPIDLE 5
#define KEEPINTVL 2
#define KEEPCNT 3

int64_t tp_mono_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t tp_wall_us(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int tp_split_hostport(const char *s, char *host, size_t hostlen, char *port, size_t portlen)
{
  const char *colon, *h = s;
  size_t hl;
  if (s[0] == '[') {
    const char *rb = strchr(s, ']');
    if (!rb || rb[1] != ':')
      return -1;
    h = s + 1;
    hl = (size_t)(rb - h);
    colon = rb + 1;
  } else {
    colon = strrchr(s, ':');
    if (!colon)
      return -1;
    hl = (size_t)(colon - s);
  }
  size_t pl = strlen(colon + 1);
  if (hl == 0 || hl >= hostlen || pl == 0 || pl >= portlen || strspn(colon + 1, "0123456789") != pl)
    return -1;
  memcpy(host, h, hl);
  host[hl] = '\0';
  memcpy(port, colon + 1, pl + 1);
  return 0;
}

void tp_tcp_tune(int fd)
{
  int one = 1, ut = USER_TIMEOUT_MS, idle = KEEPIDLE, intvl = KEEPINTVL, cnt = KEEPCNT;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
  setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ut, sizeof ut);
}

static int resolve(const char *hostport, bool passive, struct addrinfo **res, char *err,
                   size_t errlen)
{
  char host[256], port[16];
  if (tp_split_hostport(hostport, host, sizeof host, port, sizeof port) < 0) {
    errbuf_setf(err, errlen, "'%s' is not HOST:PORT", hostport);
    return -1;
  }
  struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
                            .ai_flags = (passive ? AI_PASSIVE : 0) | AI_NUMERICSERV };
  int rc = getaddrinfo(host, port, &hints, res);
  if (rc != 0) {
    errbuf_setf(err, errlen, "%s: %s", hostport, gai_strerror(rc));
    return -1;
  }
  return 0;
}

/* Connect the non-blocking fd to sa within timeout_ms; 0, or -1 with
 * "connecting to NAME: why" in err. */
static int connect_fd(int fd, const struct sockaddr *sa, socklen_t sl, int timeout_ms,
                      const char *name, char *err, size_t errlen)
{
  if (connect(fd, sa, sl) == 0)
    return 0;
  int e = errno;
  if (e == EINPROGRESS) {
    struct pollfd p = { .fd = fd, .events = POLLOUT };
    int rc = poll(&p, 1, timeout_ms);
    socklen_t el = sizeof e;
    if (rc == 0)
      e = ETIMEDOUT;
    else if (rc < 0)
      e = errno;
    else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0)
      e = errno;
    if (e == 0)
      return 0;
  }
  return errbuf_setf(err, errlen, "connecting to %s: %s", name, strerror(e));
}

/* Back to blocking: the forwarder and the setup code expect it. */
static void set_blocking(int fd)
{
  int fl = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
}

int tp_tcp_connect(const char *hostport, int timeout_ms, char *err, size_t errlen)
{
  struct addrinfo *res, *ai;
  if (resolve(hostport, false, &res, err, errlen) < 0)
    return -1;
  int fd = -1;
  for (ai = res; ai; ai = ai->ai_next) { /* the message of the last address tried */
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
      errbuf_setf(err, errlen, "connecting to %s: %s", hostport, strerror(errno));
      continue;
    }
    tp_tcp_tune(fd);
    if (connect_fd(fd, ai->ai_addr, ai->ai_addrlen, timeout_ms, hostport, err, errlen) == 0)
      break;
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0)
    return -1;
  set_blocking(fd);
  return fd;
}

int tp_tcp_listen(const char *hostport, char *err, size_t errlen)
{
  struct addrinfo *res;
  if (resolve(hostport, true, &res, err, errlen) < 0)
    return -1;
  int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
      bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 64) < 0) {
    errbuf_setf(err, errlen, "listening on %s: %s", hostport, strerror(errno));
    if (fd >= 0)
      close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  return fd;
}

static int unix_addr(const char *path, struct sockaddr_un *sa, char *err, size_t errlen)
{
  memset(sa, 0, sizeof *sa);
  sa->sun_family = AF_UNIX;
  if (strlen(path) >= sizeof sa->sun_path) {
    errbuf_setf(err, errlen, "unix socket path too long: %s", path);
    return -1;
  }
  strcpy(sa->sun_path, path);
  return 0;
}

int tp_unix_listen(const char *path, char *err, size_t errlen)
{
  struct sockaddr_un sa;
  if (unix_addr(path, &sa, err, errlen) < 0)
    return -1;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  unlink(path);
  /* Created 0600 from the start: no window where others may connect.
   * Linux's bind() gives the socket file the socket inode's mode (less
   * the umask), so fchmod before bind does it without umask(), which is
   * process-wide and would race with the embedder's other threads. */
  int rc = fd < 0 || fchmod(fd, 0600) < 0 ? -1 : bind(fd, (struct sockaddr *)&sa, sizeof sa);
  if (rc < 0 || listen(fd, 64) < 0) {
    errbuf_setf(err, errlen, "listening on %s: %s", path, strerror(errno));
    if (fd >= 0)
      close(fd);
    return -1;
  }
  return fd;
}

int tp_unix_connect(const char *path, int timeout_ms, char *err, size_t errlen)
{
  struct sockaddr_un sa;
  if (unix_addr(path, &sa, err, errlen) < 0)
    return -1;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return errbuf_setf(err, errlen, "connecting to %s: %s", path, strerror(errno));
  if (connect_fd(fd, (struct sockaddr *)&sa, sizeof sa, timeout_ms, path, err, errlen) < 0) {
    close(fd);
    return -1;
  }
  set_blocking(fd);
  return fd;
}

int tp_accept(int lfd, int timeout_ms, char *err, size_t errlen)
{
  struct pollfd p = { .fd = lfd, .events = POLLIN };
  int rc = poll(&p, 1, timeout_ms);
  if (rc == 0)
    return errbuf_setf(err, errlen, "accepting: nobody connected within %d ms", timeout_ms);
  int fd = rc < 0 ? -1 : accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
  if (fd < 0)
    return errbuf_setf(err, errlen, "accepting: %s", strerror(errno));
  return fd;
}

void tp_peer_name(int fd, char *out, size_t len)
{
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  char h[INET6_ADDRSTRLEN] = "?";
  unsigned port = 0;
  if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0) {
    if (ss.ss_family == AF_INET) {
      struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
      inet_ntop(AF_INET, &s4->sin_addr, h, sizeof h);
      port = ntohs(s4->sin_port);
    } else if (ss.ss_family == AF_INET6) {
      struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
      inet_ntop(AF_INET6, &s6->sin6_addr, h, sizeof h);
      port = ntohs(s6->sin6_port);
    } else {
      snprintf(out, len, "local peer");
      return;
    }
  }
  snprintf(out, len, ss.ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u", h, port);
}
