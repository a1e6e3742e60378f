/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mirror_found.c - what a disk copy left behind, found by name rather than
 * remembered: for recovery after qmig itself died (qmig_recover), when no
 * struct eng_mirror describes it.  mirror.c names everything it creates
 * qmig-mirror-N (jobs), qmig-nbd-N (the source's NBD client nodes) and
 * qmig-export-N (the destination's exports). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "engine/internal.h"
#include "engine/mirror.h"

static bool ours(json_t *o, const char *key, const char *prefix)
{
  const char *v = json_string_value(json_object_get(o, key));
  return v && !strncmp(v, prefix, strlen(prefix));
}

/* The names in `cmd`'s reply under `key` that start with `prefix` into
 * out[] (up to max); their number, or -1 when QMP failed. */
static int names(struct qmp_conn *c, int t, const char *cmd, const char *key, const char *prefix,
                 char out[][48], int max)
{
  json_t *r = NULL, *o;
  size_t i;
  int n = 0;
  if (qmp_cmd(c, &r, t, cmd, NULL) < 0)
    return -1;
  json_array_foreach(r, i, o) if (ours(o, key, prefix) && n < max)
      snprintf(out[n++], 48, "%s", json_string_value(json_object_get(o, key)));
  json_decref(r);
  return n;
}

/* The unix socket of NBD client node `node` when it is a private directory
 * of mirror.c ("/tmp/qmig-nbd.XXXXXX/nbd.sock"), else "". */
static void node_socket(struct qmp_conn *c, int t, const char *node, char *out, size_t len)
{
  json_t *r = NULL, *o;
  size_t i;
  out[0] = '\0';
  if (qmp_cmd(c, &r, t, "query-named-block-nodes", NULL) < 0)
    return;
  json_array_foreach(r, i, o)
  {
    const char *n = json_string_value(json_object_get(o, "node-name"));
    const char *f = json_string_value(json_object_get(o, "file"));
    const char *p = f ? strstr(f, "socket=") : NULL;
    if (!n || strcmp(n, node) || !p)
      continue;
    p += 7;
    size_t plen = strcspn(p, "&");
    if (plen < len && !strncmp(p, ENG_MIRROR_SOCKDIR, strlen(ENG_MIRROR_SOCKDIR)) && plen > 9 &&
        !strncmp(p + plen - 9, "/nbd.sock", 9) &&
        !memchr(p + strlen(ENG_MIRROR_SOCKDIR), '/', plen - strlen(ENG_MIRROR_SOCKDIR) - 9))
      snprintf(out, len, "%.*s", (int)plen, p);
  }
  json_decref(r);
}

unsigned eng_mirror_found_src(struct qmp_conn *c)
{
  char x[ENG_MAX_DISKS * 2][48];
  int jobs =
      names(c, QMP_TIMEOUT_DEFAULT, "query-block-jobs", "device", ENG_MIRROR_JOB, x, ENG_MAX_DISKS);
  int nodes = names(c, QMP_TIMEOUT_DEFAULT, "query-named-block-nodes", "node-name", ENG_MIRROR_NODE,
                    x, ENG_MAX_DISKS * 2);
  return (unsigned)((jobs > 0 ? jobs : 0) + (nodes > 0 ? nodes : 0));
}

unsigned eng_mirror_found_dst(struct qmp_conn *c)
{
  char x[ENG_MAX_DISKS][48];
  int n = names(c, QMP_TIMEOUT_DEFAULT, "query-block-exports", "id", ENG_MIRROR_EXPORT, x,
                ENG_MAX_DISKS);
  return n > 0 ? (unsigned)n : 0;
}

int eng_mirror_clean_src(struct qmp_conn *c, char *why, size_t len)
{
  char jobs[ENG_MAX_DISKS][48], nodes[ENG_MAX_DISKS * 2][48];
  int t = qmp_timeout(c);
  int nj = names(c, t, "query-block-jobs", "device", ENG_MIRROR_JOB, jobs, ENG_MAX_DISKS);
  if (nj < 0)
    return snprintf(why, len, "source query-block-jobs: %s", qmp_error(c)), -1;
  for (int i = 0; i < nj; i++)
    qmp_cmd(c, NULL, t, "block-job-cancel", "{s:s,s:b}", "device", jobs[i], "force", 1);
  /* A forced cancel ends a job quickly ("concluded", kept: auto-dismiss
   * off); bounded by the QMP timeout. */
  int64_t until = eng_mono_ns() + (int64_t)t * 1000000;
  for (bool busy = nj > 0; busy && eng_mono_ns() < until;) {
    json_t *r = NULL, *j;
    size_t k;
    if (qmp_cmd(c, &r, t, "query-block-jobs", NULL) < 0)
      break;
    busy = false;
    json_array_foreach(r, k, j) busy |=
        ours(j, "device", ENG_MIRROR_JOB) &&
        strcmp(json_string_value(json_object_get(j, "status")) ?: "", "concluded");
    json_decref(r);
    if (busy)
      usleep(10000);
  }
  for (int i = 0; i < nj; i++)
    qmp_cmd(c, NULL, t, "job-dismiss", "{s:s}", "id", jobs[i]);
  int nn = names(c, t, "query-named-block-nodes", "node-name", ENG_MIRROR_NODE, nodes,
                 ENG_MAX_DISKS * 2);
  char sock[ENG_MAX_DISKS * 2][160];
  for (int i = 0; i < nn; i++) {
    node_socket(c, t, nodes[i], sock[i], sizeof sock[i]);
    if (qmp_cmd(c, NULL, t, "blockdev-del", "{s:s}", "node-name", nodes[i]) < 0)
      snprintf(why, len, "source blockdev-del %s: %s", nodes[i], qmp_error(c));
  }
  /* The dead run's private NBD socket directory (mirror.c: a local
   * destination's default), when this host has it: nothing else removes it. */
  for (int i = 0; i < nn; i++)
    if (sock[i][0] && unlink(sock[i]) == 0) {
      *strrchr(sock[i], '/') = '\0';
      rmdir(sock[i]);
    }
  unsigned left = eng_mirror_found_src(c);
  if (left && !why[0])
    snprintf(why, len, "the source still has %u of qmig's mirror jobs or NBD nodes", left);
  return left ? -1 : 0;
}

int eng_mirror_clean_dst(struct qmp_conn *c, char *why, size_t len)
{
  char exp[ENG_MAX_DISKS][48];
  int t = qmp_timeout(c);
  int n = names(c, t, "query-block-exports", "id", ENG_MIRROR_EXPORT, exp, ENG_MAX_DISKS);
  if (n < 0)
    return snprintf(why, len, "destination query-block-exports: %s", qmp_error(c)), -1;
  for (int i = 0; i < n; i++)
    if (qmp_cmd(c, NULL, t, "block-export-del", "{s:s,s:s}", "id", exp[i], "mode", "hard") < 0)
      snprintf(why, len, "destination block-export-del %s: %s", exp[i], qmp_error(c));
  /* Ours or nobody's: the destination was started for the migration.  "not
   * running" is no error here. */
  if (qmp_cmd(c, NULL, t, "nbd-server-stop", NULL) < 0 && qmp_broken(c))
    snprintf(why, len, "destination nbd-server-stop: %s", qmp_error(c));
  /* block-export-del finishes asynchronously: wait (bounded) until gone,
   * the destination must hold none when it activates its disks. */
  int64_t until = eng_mono_ns() + (int64_t)t * 1000000;
  unsigned left;
  while ((left = eng_mirror_found_dst(c)) && eng_mono_ns() < until && !qmp_broken(c))
    usleep(10000);
  if (left && !why[0])
    snprintf(why, len, "the destination still has %u NBD exports", left);
  return left || why[0] ? -1 : 0;
}

/* Nobody listens on the unix socket at path: connect() is refused (a
 * listener, even a busy one, would accept or leave it pending). */
static bool socket_dead(const char *path)
{
  struct sockaddr_un a = { .sun_family = AF_UNIX };
  if (strlen(path) >= sizeof a.sun_path)
    return false;
  strcpy(a.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return false;
  bool dead = connect(fd, (struct sockaddr *)&a, sizeof a) < 0 && errno == ECONNREFUSED;
  close(fd);
  return dead;
}

unsigned eng_mirror_sweep_stale(void)
{
  const char *base = ENG_MIRROR_SOCKDIR; /* "/tmp/qmig-nbd." */
  const char *slash = strrchr(base, '/');
  char dirpath[64];
  snprintf(dirpath, sizeof dirpath, "%.*s", (int)(slash - base), base);
  DIR *d = opendir(dirpath);
  if (!d)
    return 0;
  unsigned removed = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (strncmp(e->d_name, slash + 1, strlen(slash + 1)) || strlen(e->d_name) > 40)
      continue;
    char dir[128], sock[160];
    struct stat st;
    snprintf(dir, sizeof dir, "%s/%s", dirpath, e->d_name);
    if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid())
      continue;
    snprintf(sock, sizeof sock, "%s/nbd.sock", dir);
    struct stat ss;
    if (lstat(sock, &ss) == 0) {
      if (!S_ISSOCK(ss.st_mode) || !socket_dead(sock))
        continue;
      unlink(sock);
    } else if (time(NULL) - st.st_mtime < 600) {
      continue; /* a run between mkdtemp and its listener, or just done */
    }
    if (rmdir(dir) == 0)
      removed++;
  }
  closedir(d);
  return removed;
}
