/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* qmp/qmp_io.c - sockets for QMP: connect with a deadline, waits, sends. */
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "qmp/qmp_int.h"

static int64_t now_mono_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void qmp_deadline_init(struct qmp_deadline *d, int timeout_ms)
{
  d->timeout_ms = timeout_ms;
  d->end_mono_ns = timeout_ms < 0 ? -1 : now_mono_ns() + (int64_t)timeout_ms * 1000000;
}

int qmp_deadline_left_ms(const struct qmp_deadline *d)
{
  if (d->timeout_ms < 0)
    return -1;
  int64_t left_ns = d->end_mono_ns - now_mono_ns();
  if (left_ns <= 0)
    return 0;
  /* Round up: polling for 0 ms while time remains would spin. */
  int64_t left_ms = (left_ns + 999999) / 1000000;
  return left_ms > INT_MAX ? INT_MAX : (int)left_ms;
}

int qmp_io_wait(int fd, short events, const struct qmp_deadline *d)
{
  for (;;) {
    int left = qmp_deadline_left_ms(d);
    struct pollfd p = { .fd = fd, .events = events };
    int r = poll(&p, 1, left);
    if (r > 0)
      return 1;
    if (r < 0 && errno != EINTR)
      return -errno;
    if (r == 0 && qmp_deadline_left_ms(d) == 0)
      return 0;
  }
}

/* Connect one socket; returns the fd or -1 with `cause` set. */
static int connect_sa(int family, const struct sockaddr *sa, socklen_t salen,
                      const struct qmp_deadline *d, char *cause, size_t causelen)
{
  int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    snprintf(cause, causelen, "socket: %s", strerror(errno));
    return -1;
  }
  int r;
  do
    r = connect(fd, sa, salen);
  while (r < 0 && errno == EINTR);
  if (r < 0 && errno != EINPROGRESS) {
    snprintf(cause, causelen, "connect: %s", strerror(errno));
    goto fail;
  }
  if (r < 0) {
    r = qmp_io_wait(fd, POLLOUT, d);
    if (r == 0) {
      snprintf(cause, causelen, "connect: timed out after %d ms", d->timeout_ms);
      goto fail;
    }
    if (r < 0) {
      snprintf(cause, causelen, "poll: %s", strerror(-r));
      goto fail;
    }
    int err = 0;
    socklen_t errlen = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen) < 0)
      err = errno;
    if (err) {
      snprintf(cause, causelen, "connect: %s", strerror(err));
      goto fail;
    }
  }
  if (family != AF_UNIX) {
    /* One write per command, but replies should not wait on Nagle. */
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  return fd;
fail:
  close(fd);
  return -1;
}

static int connect_unix(const char *path, const struct qmp_deadline *d, char *cause,
                        size_t causelen)
{
  struct sockaddr_un sun = { .sun_family = AF_UNIX };
  size_t n = strlen(path);
  if (n == 0) {
    snprintf(cause, causelen, "empty socket path");
    return -1;
  }
  if (n >= sizeof sun.sun_path) {
    snprintf(cause, causelen, "socket path longer than %zu bytes", sizeof sun.sun_path - 1);
    return -1;
  }
  memcpy(sun.sun_path, path, n + 1);
  return connect_sa(AF_UNIX, (const struct sockaddr *)&sun, sizeof sun, d, cause, causelen);
}

static int connect_tcp(const char *hostport, const struct qmp_deadline *d, char *cause,
                       size_t causelen)
{
  CLEANUP_FREE char *host = strdup(hostport);
  if (!host) {
    snprintf(cause, causelen, "%s", strerror(ENOMEM));
    return -1;
  }
  char *colon = strrchr(host, ':');
  if (!colon || colon == host || colon[1] == '\0') {
    snprintf(cause, causelen, "expected tcp:HOST:PORT");
    return -1;
  }
  *colon = '\0';
  const char *port = colon + 1;
  char *h = host;
  size_t hl = strlen(h);
  if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') { /* [v6 literal] */
    h[hl - 1] = '\0';
    h++;
  }

  /* No AI_ADDRCONFIG: it hides 127.0.0.1/::1 on hosts whose only
   * addresses are loopback ones, a common place to reach QMP. */
  struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
  struct addrinfo *res = NULL;
  int r = getaddrinfo(h, port, &hints, &res);
  if (r != 0) {
    snprintf(cause, causelen, "getaddrinfo: %s",
             r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
    return -1;
  }
  int fd = -1;
  snprintf(cause, causelen, "getaddrinfo: no address");
  for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
    fd = connect_sa(ai->ai_family, ai->ai_addr, ai->ai_addrlen, d, cause, causelen);
    if (fd < 0 && qmp_deadline_left_ms(d) == 0)
      break;
  }
  freeaddrinfo(res);
  return fd;
}

int qmp_io_connect(const char *addr, const struct qmp_deadline *d, char *cause, size_t causelen)
{
  if (strncmp(addr, "unix:", 5) == 0)
    return connect_unix(addr + 5, d, cause, causelen);
  if (strncmp(addr, "tcp:", 4) == 0)
    return connect_tcp(addr + 4, d, cause, causelen);
  snprintf(cause, causelen, "unsupported address (expected unix:PATH or tcp:HOST:PORT)");
  return -1;
}

int qmp_io_send(int fd, const char *buf, size_t len, int pass_fd, const struct qmp_deadline *d)
{
  size_t off = 0;
  bool fd_sent = pass_fd < 0;
  while (off < len) {
    struct iovec iov = { .iov_base = (char *)buf + off, .iov_len = len - off };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
    union {
      struct cmsghdr align;
      char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    if (!fd_sent) {
      memset(&ctl, 0, sizeof ctl);
      mh.msg_control = ctl.buf;
      mh.msg_controllen = sizeof ctl.buf;
      struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
      cm->cmsg_level = SOL_SOCKET;
      cm->cmsg_type = SCM_RIGHTS;
      cm->cmsg_len = CMSG_LEN(sizeof(int));
      memcpy(CMSG_DATA(cm), &pass_fd, sizeof(int));
    }
    /* MSG_NOSIGNAL: a dead peer gives EPIPE, not a process-killing SIGPIPE. */
    ssize_t n = sendmsg(fd, &mh, MSG_NOSIGNAL);
    if (n > 0) {
      off += (size_t)n;
      fd_sent = true; /* the kernel attached it to the bytes just sent */
      continue;
    }
    if (n == 0)
      return -EIO;
    if (errno == EINTR)
      continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK)
      return -errno;
    int r = qmp_io_wait(fd, POLLOUT, d);
    if (r == 0)
      return -ETIMEDOUT;
    if (r < 0)
      return r;
  }
  return 0;
}
