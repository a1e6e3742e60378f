/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* update.c - a destination QEMU made from the source's own definition
 * (dst-spawn), and live update (live-update): the guest moved to a new
 * process on this host by the cheapest mechanism both QEMUs allow, chosen
 * by probing, never by version:
 * - cpr_transfer: QEMU has MigMode cpr-transfer, guest RAM is a shared
 *   memory backend (memfd or file, share=on) and aux-ram-share is on: the
 *   new process gets the RAM's descriptors over the cpr channel; nothing of
 *   RAM is copied;
 * - ignore_shared: both have x-ignore-shared and RAM is a shared
 *   memory-backend-file both can map: the RAM is not sent;
 * - migrate: a normal local migration of all of RAM (the new process gets
 *   its own RAM file if the source's is a shared one).
 * The choice and its reason go into the report's "update" section, with the
 * options that would allow a faster mechanism next time. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/errbuf.h"
#include "common/opttab.h"
#include "engine/internal.h"
#include "engine/spawn.h"
#include "engine/update.h"

static bool is_dir(const char *p)
{
  struct stat st;
  return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The network namespace of pid when it is not ours (0: ours). */
static pid_t netns_of(pid_t pid)
{
  char a[64], b[64], p[64];
  snprintf(p, sizeof p, "/proc/%d/ns/net", (int)pid);
  ssize_t na = readlink(p, a, sizeof a - 1), nb = readlink("/proc/self/ns/net", b, sizeof b - 1);
  if (na <= 0 || nb <= 0)
    return 0;
  a[na] = b[nb] = '\0';
  return strcmp(a, b) ? pid : 0;
}

/* The rewritten argv (out, taken) is started on the ssh host with the
 * agent (sshagent.c, sshspawn.c); its QMP there is the agent's dst. */
static int remote_begin(struct qmig_migration *m, struct eng_upd *u, struct qmig_report_update *sec,
                        struct eng_strv *argv, struct eng_strv *out)
{
  struct eng_config *c = &m->cfg;
  eng_strv_free(argv);
  u->rargv = *out;
  *out = (struct eng_strv){ 0 };
  snprintf(sec->new_host, sizeof sec->new_host, "ssh://%s", c->tunnel.ssh);
  snprintf(sec->new_binary, sizeof sec->new_binary, "%s", u->rargv.v[0]);
  snprintf(sec->new_qmp, sizeof sec->new_qmp, "%s", u->sp.qmp);
  if (opt_replace_str(&c->dst, u->sp.qmp))
    return eng_errorf(m, "out of memory");
  if (eng_ssh_start(m) < 0) {
    errbuf_appendf(m->err, sizeof m->err, "the source keeps running");
    return -1;
  }
  return 0;
}

int eng_update_begin(struct qmig_migration *m)
{
  struct eng_config *c = &m->cfg;
  char e[1200];
  struct eng_upd *u = m->upd = calloc(1, sizeof *m->upd);
  struct qmig_report_update *sec = ENG_SECTION(m, update);
  if (!u || !sec)
    return eng_errorf(m, "out of memory");
  const char *src_path = c->src + 5;
  if (c->spawn.dir)
    snprintf(u->dir, sizeof u->dir, "%s", c->spawn.dir);
  else {
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", src_path);
    snprintf(u->dir, sizeof u->dir, "%s", dirname(tmp));
  }
  snprintf(u->name, sizeof u->name, "%s", c->spawn.name ? c->spawn.name : "dst");
  /* tunnel ssh://: the new QEMU runs on the ssh host (sshspawn.c), with the
   * same paths there (spawn-dir, the binary, disks through map). */
  u->remote = c->tunnel.ssh != NULL;
  if (!u->remote && !is_dir(u->dir))
    return eng_errorf(m, "spawn-dir %s: not a directory", u->dir);
  u->old_pid = eng_spawn_peer_pid(src_path, e, sizeof e);
  if (u->old_pid < 0)
    return eng_errorf(m, "%s", e);
  sec->old_pid = (int)u->old_pid;
  struct eng_strv argv = { 0 }, out = { 0 };
  if (eng_spawn_read_cmdline(u->old_pid, &argv, e, sizeof e) < 0)
    return eng_errorf(m, "source QEMU (pid %d): %s", (int)u->old_pid, e);

  u->mech = ENG_UPD_MIGRATE;
  if (c->spawn.update != ENG_UPD_OFF) {
    if (eng_update_probe(m, u, sec) < 0)
      goto fail;
    c->quit_source = true; /* exactly one process is left */
  } else {
    /* The machine type only (the new process must not get a newer one). */
    struct qmp_conn *q = eng_qmp_connect(m, "source", c->src, e, sizeof e);
    if (!q) {
      eng_errorf(m, "%s", e);
      goto fail;
    }
    eng_update_machine(q, u->machine, sizeof u->machine);
    qmp_close(q);
    sec->mechanism = eng_update_mech_name(ENG_UPD_MIGRATE);
    snprintf(sec->reason, sizeof sec->reason,
             "dst_spawn: a normal migration to a destination "
             "started from the source's command line%s",
             u->remote ? " on the ssh host (tunnel ssh://)" : "");
  }
  struct eng_spawned *sp = &u->sp;
  snprintf(sp->qmp, sizeof sp->qmp, "unix:%s/%s.qmp", u->dir, u->name);
  snprintf(sp->log, sizeof sp->log, "%s/%s.log", u->dir, u->name);
  snprintf(sp->pidfile, sizeof sp->pidfile, "%s/%s.pid", u->dir, u->name);
  char exe[PATH_MAX] = "", link[64];
  snprintf(link, sizeof link, "/proc/%d/exe", (int)u->old_pid);
  ssize_t xn = readlink(link, exe, sizeof exe - 1);
  exe[xn > 0 ? xn : 0] = '\0';
  if (strstr(exe, " (deleted)")) /* replaced on disk: argv[0] then */
    exe[0] = '\0';
  struct eng_spawn_spec spec = { .binary = c->spawn.binary ? c->spawn.binary
                                           : exe[0]        ? exe
                                                           : NULL,
                                 .dir = u->dir,
                                 .name = u->name,
                                 .map = c->spawn.map,
                                 .incoming = { "defer", NULL },
                                 .keep_shared_ram = u->mech != ENG_UPD_MIGRATE,
                                 .machine = u->machine[0] ? u->machine : NULL,
                                 .is_dir = u->remote ? NULL : is_dir };
  char cpr_json[4400];
  if (u->mech == ENG_UPD_CPR) {
    snprintf(u->main_path, sizeof u->main_path, "%s/%s-main.sock", u->dir, u->name);
    snprintf(u->cpr_path, sizeof u->cpr_path, "%s/%s-cpr.sock", u->dir, u->name);
    snprintf(u->main_uri, sizeof u->main_uri, "unix:%s", u->main_path);
    json_t *j = json_pack("{s:s,s:{s:s,s:s,s:s}}", "channel-type", "cpr", "addr", "transport",
                          "socket", "type", "unix", "path", u->cpr_path);
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    snprintf(cpr_json, sizeof cpr_json, "%s", s ? s : "");
    free(s);
    json_decref(j);
    spec.incoming[0] = u->main_uri;
    spec.incoming[1] = cpr_json;
    unlink(u->main_path);
  }
  struct eng_strv mapped = { 0 };
  spec.mapped = &mapped;
  if (eng_spawn_rewrite(argv.v, argv.n, &spec, &out, e, sizeof e) < 0) {
    eng_strv_free(&mapped);
    eng_errorf(m, "%s", e);
    goto fail;
  }
  /* An image only the new process opens must be free: locked, it would
   * fail only at the switchover, when QEMU activates its disks. */
  for (size_t i = 0; !u->remote && i < mapped.n; i++)
    if (eng_spawn_image_locked(mapped.v[i], e, sizeof e) == 1) {
      eng_errorf(m,
                 "image %s (--map) is locked by another process (QEMU's image locks): a "
                 "QEMU still has it open; the new process could not take it over",
                 mapped.v[i]);
      eng_strv_free(&mapped);
      goto fail;
    }
  if (u->remote) { /* checked there, by the remote script (sshspawn.c) */
    u->rmapped = mapped;
    mapped = (struct eng_strv){ 0 };
  }
  eng_strv_free(&mapped);
  /* The serial socket the rewrite gave the new process, if the source had
   * one (the heartbeats follow the guest there). */
  for (size_t i = 0; i + 1 < out.n; i++)
    if (strstr(out.v[i + 1], "/") && strstr(out.v[i + 1], ".serial")) {
      snprintf(sp->serial, sizeof sp->serial, "%s/%s.serial", u->dir, u->name);
      break;
    }
  if (u->remote)
    return remote_begin(m, u, sec, &argv, &out);
  const char *wait_path = u->mech == ENG_UPD_CPR ? u->cpr_path : sp->qmp + 5;
  if (eng_spawn_start(sp, &out, netns_of(u->old_pid), wait_path, u->mech == ENG_UPD_CPR,
                      (int)c->qmp.timeout_ms * 3, e, sizeof e) < 0) {
    eng_errorf(m, "%s; the source keeps running", e);
    goto fail;
  }
  u->started = true;
  sec->new_pid = (int)sp->pid;
  snprintf(sec->new_binary, sizeof sec->new_binary, "%s", out.v[0]);
  snprintf(sec->new_qmp, sizeof sec->new_qmp, "%s", sp->qmp);
  eng_strv_free(&argv);
  eng_strv_free(&out);
  if (opt_replace_str(&c->dst, sp->qmp) ||
      (sp->serial[0] && c->src_serial && opt_replace_str(&c->dst_serial, sp->serial)))
    return eng_errorf(m, "out of memory");
  if (u->mech == ENG_UPD_SHARED)
    c->stream.ignore_shared = true;
  /* Both processes are on this host, in one namespace: the stream over a
   * unix socket beside the new one's (data-host, e.g. a lab's other
   * namespace, does not apply), unless data-uri says otherwise. */
  if (!c->stream.uri) {
    char uri[PATH_MAX + 32];
    snprintf(uri, sizeof uri, "unix:%s/%s-stream.sock", u->dir, u->name);
    snprintf(u->stream_path, sizeof u->stream_path, "%s", uri + 5);
    unlink(uri + 5);
    if (opt_replace_str(&c->stream.uri, uri))
      return eng_errorf(m, "out of memory");
  }
  return u->mech == ENG_UPD_CPR ? 1 : 0;
fail:
  eng_strv_free(&argv);
  eng_strv_free(&out);
  return -1;
}

void eng_update_end(struct qmig_migration *m, enum qmig_outcome out)
{
  struct eng_upd *u = m->upd;
  if (!u || !u->started)
    return;
  /* The channels' sockets: used once, by this run. */
  const char *socks[] = { u->stream_path, u->main_path, u->cpr_path };
  for (size_t i = 0; i < sizeof socks / sizeof socks[0]; i++)
    if (socks[i][0])
      unlink(socks[i]);
  if (u->remote) {
    /* Not ours to watch: the remote script ends it on "end" (sshspawn.c). */
    bool end = out != QMIG_MIGRATED && out != QMIG_UNCERTAIN;
    eng_ssh_verdict(m, end ? "end" : "keep");
    if (end)
      errbuf_appendf(m->err, sizeof m->err,
                     "the new QEMU on %s (pid %d) is ended; its log there: %s/%s.log",
                     m->cfg.tunnel.ssh, u->sp.pid, u->dir, u->name);
    return;
  }
  bool alive = eng_spawn_alive(&u->sp);
  if (out == QMIG_MIGRATED || out == QMIG_UNCERTAIN || !alive) {
    if (out == QMIG_MIGRATED && !alive)
      eng_warn(m, "the new QEMU is no longer running after the migration");
    return;
  }
  /* The guest is on the source: the new process holds nothing. */
  eng_spawn_kill(&u->sp, 5000);
  unlink(u->sp.qmp + 5);
  errbuf_appendf(m->err, sizeof m->err, "the new QEMU (pid %d) was ended; its log: %s", -u->sp.pid,
                 u->sp.log);
}

void eng_update_free(struct qmig_migration *m)
{
  if (m->upd) {
    eng_strv_free(&m->upd->rargv);
    eng_strv_free(&m->upd->rmapped);
  }
  free(m->upd);
  m->upd = NULL;
}
