/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sshagent.c - tunnel ssh://[USER@]HOST[:PORT]: the destination's agent,
 * started over ssh for this one migration, so nothing has to run there
 * beforehand.
 *
 * A PSK is made for the session (32 random bytes), written to a private
 * file here for the engine, and sent to the remote side on ssh's stdin: a
 * small sh script there stores it in a private directory (mktemp -d, umask
 * 077), runs `qmig agent --once --tls psk` on it in the background, and
 * waits for its own stdin to close; then it stops the agent (if still
 * running) and removes the directory.  So the agent ends with the
 * migration (--once), when qmig closes ssh's stdin (eng_ssh_stop), or when
 * this process dies and ssh with it.  The agent listens on the ssh host at
 * tunnel-ssh-agent-port; its "listening" log line, read from ssh's stderr
 * within the QMP timeout, says it is ready. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/errbuf.h"
#include "common/opttab.h"
#include "engine/internal.h"
#include "engine/update.h"

extern char **environ;

struct eng_ssh {
  pid_t pid;
  int in_fd, err_fd; /* ssh's stdin (the PSK, then held open), its stderr */
  char dir[64];      /* local private dir: the PSK file */
  char log[4096];    /* the tail of what ssh and the agent printed */
  size_t loglen;
  char agent[300]; /* HOST:PORT the agent listens on */
};

/* Keep the tail of ssh's output; false at EOF or error. */
static bool read_log(struct eng_ssh *s)
{
  char buf[1024];
  ssize_t n = read(s->err_fd, buf, sizeof buf);
  if (n <= 0)
    return n < 0 && errno == EINTR;
  if (s->loglen + (size_t)n >= sizeof s->log) { /* drop the oldest half */
    size_t keep = sizeof s->log / 2;
    memmove(s->log, s->log + s->loglen - keep, keep);
    s->loglen = keep;
  }
  size_t take =
      (size_t)n < sizeof s->log - 1 - s->loglen ? (size_t)n : sizeof s->log - 1 - s->loglen;
  memcpy(s->log + s->loglen, buf, take);
  s->loglen += take;
  s->log[s->loglen] = '\0';
  return true;
}

/* The last line of ssh's output, for messages. */
static const char *last_line(struct eng_ssh *s)
{
  while (s->loglen && (s->log[s->loglen - 1] == '\n' || s->log[s->loglen - 1] == '\r'))
    s->log[--s->loglen] = '\0';
  const char *nl = strrchr(s->log, '\n');
  return nl ? nl + 1 : s->log[0] ? s->log : "(ssh printed nothing)";
}

/* USER@HOST:PORT, [V6]:PORT, HOST into ssh's -l/-p and the host. */
static void split_target(const char *t, char *user, char *host, char *port, size_t len)
{
  user[0] = port[0] = '\0';
  const char *at = strchr(t, '@');
  if (at) {
    snprintf(user, len, "%.*s", (int)(at - t), t);
    t = at + 1;
  }
  if (*t == '[') { /* [v6]:port */
    const char *e = strchr(t, ']');
    snprintf(host, len, "%.*s", e ? (int)(e - t - 1) : (int)strlen(t + 1), t + 1);
    if (e && e[1] == ':')
      snprintf(port, len, "%s", e + 2);
    return;
  }
  const char *c = strchr(t, ':');
  snprintf(host, len, "%.*s", c && !strchr(c + 1, ':') ? (int)(c - t) : (int)strlen(t), t);
  if (c && !strchr(c + 1, ':'))
    snprintf(port, len, "%s", c + 1);
}

/* A private dir holding "qmig:HEX" in psk, for the engine's tunnel. */
static int make_psk(struct eng_ssh *s, char *line, size_t llen, char *err, size_t elen)
{
  unsigned char key[32];
  if (RAND_bytes(key, sizeof key) != 1)
    return errbuf_setf(err, elen, "no random bytes for the session PSK");
  int n = snprintf(line, llen, "qmig:");
  for (size_t i = 0; i < sizeof key; i++)
    n += snprintf(line + n, llen - (size_t)n, "%02x", key[i]);
  snprintf(s->dir, sizeof s->dir, "/tmp/qmig-ssh.XXXXXX");
  if (!mkdtemp(s->dir)) {
    s->dir[0] = '\0';
    return errbuf_setf(err, elen, "mkdtemp: %s", strerror(errno));
  }
  char path[128];
  snprintf(path, sizeof path, "%s/psk", s->dir);
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    return errbuf_setf(err, elen, "%s: %s", path, strerror(errno));
  bool ok = write(fd, line, strlen(line)) == (ssize_t)strlen(line) && write(fd, "\n", 1) == 1;
  close(fd);
  return ok ? 0 : errbuf_setf(err, elen, "%s: short write", path);
}

/* The remote script (run by the user's login shell through ssh), malloc'd;
 * with a destination to spawn there, its start and end around the agent
 * (sshspawn.c).  NULL when a value cannot be carried (a quote). */
static char *remote_script(const struct qmig_migration *m, const char *listen)
{
  const struct eng_config *c = &m->cfg;
  const struct eng_upd *u = m->upd && m->upd->remote ? m->upd : NULL;
  const char *qmig = c->tunnel.ssh_qmig ? c->tunnel.ssh_qmig : "qmig";
  const char *vals[] = { qmig, listen, c->dst };
  for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
    if (strchr(vals[i], '\''))
      return NULL;
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f)
    return NULL;
  fputs("umask 077; d=$(mktemp -d) || exit 1; IFS= read -r k || exit 1; "
        "printf '%s\\n' \"$k\" > \"$d/psk\"; ",
        f);
  if (u)
    eng_sshspawn_script_start(f, u, (int)c->qmp.timeout_ms * 3);
  fprintf(f,
          "'%s' agent --listen '%s' --qmp '%s' --once --tls psk "
          "--tls-psk-file \"$d/psk\" --run-dir \"$d\" </dev/null & a=$!; ",
          qmig, listen, c->dst);
  fputs(u ? "v=; while IFS= read -r l; do v=$l; done; " : "cat >/dev/null; ", f);
  fputs("kill $a 2>/dev/null; wait $a; r=$?; ", f);
  if (u)
    eng_sshspawn_script_end(f);
  fputs("rm -rf \"$d\"; exit $r", f);
  if (fclose(f) != 0) {
    free(buf);
    return NULL;
  }
  return buf;
}

static int spawn_ssh(struct eng_ssh *s, const struct eng_config *c, const char *script, char *err,
                     size_t elen)
{
  char user[128], host[256], port[16];
  split_target(c->tunnel.ssh, user, host, port, sizeof host);
  const char *argv[20];
  int n = 0;
  argv[n++] = "ssh";
  argv[n++] = "-T";
  argv[n++] = "-o";
  argv[n++] = "BatchMode=yes";
  if (c->tunnel.ssh_config) {
    argv[n++] = "-F";
    argv[n++] = c->tunnel.ssh_config;
  }
  if (user[0]) {
    argv[n++] = "-l";
    argv[n++] = user;
  }
  if (port[0]) {
    argv[n++] = "-p";
    argv[n++] = port;
  }
  argv[n++] = "--";
  argv[n++] = host;
  argv[n++] = script;
  argv[n] = NULL;
  int in[2] = { -1, -1 }, out[2] = { -1, -1 };
  if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) {
    errbuf_setf(err, elen, "pipe: %s", strerror(errno));
    goto fail;
  }
  fcntl(out[0], F_SETPIPE_SZ, 1 << 20); /* the agent's log, read at the end */
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, out[1], 2);
  int rc = posix_spawnp(&s->pid, "ssh", &fa, NULL, (char *const *)argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    errbuf_setf(err, elen, "cannot run ssh: %s", strerror(rc));
    goto fail;
  }
  close(in[0]);
  close(out[1]);
  s->in_fd = in[1];
  s->err_fd = out[0];
  return 0;
fail:
  for (int i = 0; i < 2; i++) {
    if (in[i] >= 0)
      close(in[i]);
    if (out[i] >= 0)
      close(out[i]);
  }
  return -1;
}

/* Wait until the agent logs that it listens (or ssh ends, or time). */
static int wait_listening(struct eng_ssh *s, int timeout_ms)
{
  int64_t until = eng_mono_ns() + (int64_t)timeout_ms * 1000000;
  for (;;) {
    if (strstr(s->log, "listening on "))
      return 0;
    int left = (int)((until - eng_mono_ns()) / 1000000);
    if (left <= 0)
      return -1;
    struct pollfd p = { .fd = s->err_fd, .events = POLLIN };
    if (poll(&p, 1, left) > 0 && !read_log(s))
      return -1; /* ssh ended */
  }
}

int eng_ssh_start(struct qmig_migration *m)
{
  struct eng_config *c = &m->cfg;
  struct eng_ssh *s = calloc(1, sizeof *s);
  if (!s)
    return eng_errorf(m, "out of memory");
  s->pid = -1;
  s->in_fd = s->err_fd = -1;
  m->ssh = s;
  char host[256], user[128], port[16], e[512], psk[128], path[128];
  split_target(c->tunnel.ssh, user, host, port, sizeof host);
  snprintf(s->agent, sizeof s->agent, strchr(host, ':') ? "[%s]:%u" : "%s:%u", host,
           c->tunnel.ssh_agent_port);
  bool spawn = m->upd && m->upd->remote;
  char *script = remote_script(m, s->agent);
  if (!script)
    return eng_errorf(m,
                      "tunnel ssh://: the agent's command line cannot carry dst '%s' or "
                      "tunnel-ssh-qmig (a quote, or out of memory)",
                      c->dst);
  if (make_psk(s, psk, sizeof psk, e, sizeof e) < 0) {
    free(script);
    return eng_errorf(m, "tunnel ssh://: %s", e);
  }
  int rc = spawn_ssh(s, c, script, e, sizeof e);
  free(script);
  if (rc < 0)
    return eng_errorf(m, "tunnel ssh://%s: %s", c->tunnel.ssh, e);
  eng_log(m, "tunnel: starting %sqmig agent on %s over ssh (pid %d)",
          spawn ? "the destination QEMU and " : "", c->tunnel.ssh, (int)s->pid);
  size_t pl = strlen(psk);
  psk[pl] = '\n';
  bool sent = write(s->in_fd, psk, pl + 1) == (ssize_t)(pl + 1);
  OPENSSL_cleanse(psk, sizeof psk);
  /* With a QEMU to start first: its own bound (3 QMP timeouts), then the
   * agent's. */
  unsigned wait_ms = c->qmp.timeout_ms * (spawn ? 4 : 1);
  bool up = sent && wait_listening(s, (int)wait_ms) == 0;
  if (spawn) {
    (void)last_line(s); /* the log's trailing newlines off */
    if (eng_sshspawn_result(m, s->log, e, sizeof e) < 0) {
      bool said = strstr(s->log, "qmig-spawn: failed: ") != NULL;
      return eng_errorf(m, "tunnel ssh://%s: the destination QEMU was not started there: %s%s%s%s",
                        c->tunnel.ssh, e, said ? "" : " (", said ? "" : last_line(s),
                        said ? "" : ")");
    }
    eng_log(m, "tunnel: the destination QEMU runs on %s (pid %d)", c->tunnel.ssh, m->upd->sp.pid);
  }
  if (!up)
    return eng_errorf(m, "tunnel ssh://%s: the agent did not start within %u ms: %s", c->tunnel.ssh,
                      wait_ms, last_line(s));
  snprintf(path, sizeof path, "%s/psk", s->dir);
  if (opt_replace_str(&c->tunnel.agent, s->agent) || opt_replace_str(&c->tunnel.psk_file, path) ||
      opt_replace_str(&c->tunnel.psk_identity, "qmig"))
    return eng_errorf(m, "out of memory");
  c->tunnel.tls = ENG_TLS_PSK;
  eng_log(m, "tunnel: the agent listens on %s", s->agent);
  return 0;
}

void eng_ssh_verdict(struct qmig_migration *m, const char *line)
{
  struct eng_ssh *s = m->ssh;
  if (!s || s->in_fd < 0)
    return;
  char buf[64];
  int n = snprintf(buf, sizeof buf, "%s\n", line);
  if (write(s->in_fd, buf, (size_t)n) != n)
    eng_warn(m, "tunnel ssh://: the verdict on the destination QEMU could not be sent (ssh is "
                "gone): the remote script keeps it running");
}

void eng_ssh_stop(struct qmig_migration *m)
{
  struct eng_ssh *s = m->ssh;
  if (!s)
    return;
  m->ssh = NULL;
  if (s->in_fd >= 0)
    close(s->in_fd); /* the remote script stops the agent and cleans up */
  if (s->pid > 0) {
    int st;
    int64_t until = eng_mono_ns() + 5 * (int64_t)1000000000;
    while (waitpid(s->pid, &st, WNOHANG) == 0) {
      if (eng_mono_ns() >= until) {
        kill(s->pid, SIGTERM); /* ours: the ssh client */
        waitpid(s->pid, &st, 0);
        break;
      }
      struct pollfd p = { .fd = s->err_fd, .events = POLLIN };
      if (poll(&p, 1, 50) > 0)
        read_log(s);
    }
  }
  if (s->err_fd >= 0)
    close(s->err_fd);
  if (s->dir[0]) {
    char path[128];
    snprintf(path, sizeof path, "%s/psk", s->dir);
    unlink(path);
    rmdir(s->dir);
  }
  free(s);
}
