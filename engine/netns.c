/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* netns.c - which network namespace a QEMU runs in.  Two QEMUs on one
 * machine may still be two hosts to the network (the lab's --netns, or
 * containers): an address bindable here may not be bindable there, and a
 * port the source can reach may be unreachable from qmig's own namespace.
 * A unix QMP socket tells the QEMU's pid (SO_PEERCRED), and /proc/PID/ns/net
 * its namespace; over tcp QMP the namespace is unknown. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "engine/internal.h"

/* Pid of the QEMU behind a unix QMP connection, 0 when unknown. */
static pid_t qmp_peer_pid(struct qmp_conn *c)
{
  struct sockaddr_storage sa;
  socklen_t sl = sizeof sa;
  struct ucred cr;
  socklen_t cl = sizeof cr;
  int fd = qmp_fd(c);
  if (fd < 0 || getsockname(fd, (struct sockaddr *)&sa, &sl) < 0 || sa.ss_family != AF_UNIX ||
      getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) < 0)
    return 0;
  /* Our own pid: a socketpair whose other end is a forwarder of ours
   * (tls: QMP, the tunnel), not a QEMU. */
  return cr.pid > 0 && cr.pid != getpid() ? cr.pid : 0;
}

void eng_netns_id(struct qmp_conn *c, char *out, size_t len)
{
  char path[64];
  pid_t pid = c ? qmp_peer_pid(c) : 0;
  if (c && !pid) {
    out[0] = '\0';
    return;
  }
  if (c)
    snprintf(path, sizeof path, "/proc/%d/ns/net", (int)pid);
  else
    snprintf(path, sizeof path, "/proc/thread-self/ns/net");
  ssize_t n = readlink(path, out, len - 1);
  out[n > 0 ? n : 0] = '\0';
}

struct ns_job {
  int nsfd;
  void (*fn)(void *);
  void *arg;
  int err; /* errno of setns, 0 when fn ran */
};

static void *ns_thread(void *p)
{
  struct ns_job *j = p;
  if (setns(j->nsfd, CLONE_NEWNET) < 0) { /* this thread only */
    j->err = errno;
    return NULL;
  }
  j->fn(j->arg);
  return NULL;
}

int eng_netns_run(struct qmp_conn *c, void (*fn)(void *), void *arg, char *why, size_t len)
{
  char path[64];
  pid_t pid = qmp_peer_pid(c);
  if (!pid)
    return snprintf(why, len, "%s QEMU's pid unknown (QMP not a unix socket)", qmp_name(c)), -1;
  snprintf(path, sizeof path, "/proc/%d/ns/net", (int)pid);
  struct ns_job j = { .nsfd = open(path, O_RDONLY | O_CLOEXEC), .fn = fn, .arg = arg };
  if (j.nsfd < 0)
    return snprintf(why, len, "%s: %s", path, strerror(errno)), -1;
  pthread_t t;
  int e = pthread_create(&t, NULL, ns_thread, &j);
  if (e == 0)
    pthread_join(t, NULL);
  close(j.nsfd);
  if (e || j.err)
    return snprintf(why, len, "entering the network namespace of %s QEMU (%s): %s", qmp_name(c),
                    path, strerror(e ? e : j.err)),
           -1;
  return 0;
}
