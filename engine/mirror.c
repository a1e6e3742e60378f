/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mirror.c - the NBD mirror sequence of engine/mirror.h.
 *
 * Job progress and completion are read with query-block-jobs (jobs are
 * created with auto-dismiss off, so a finished job stays "concluded" with
 * its error until dismissed): the phases that wait for jobs never take
 * events from the QMP queues that the follow loop reads.  During the RAM
 * migration the follow loop hands the source's job events to
 * eng_mirror_event(), so a failing mirror stops the migration at once. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/internal.h"
#include "engine/mirror.h"
#include "engine/nbdfwd.h"
#include "engine/session.h"

bool eng_mirror_wanted(const struct eng_config *c)
{
  return c->disks.copy || c->disks.copy_all;
}

static void job_id(size_t i, char *out, size_t len)
{
  snprintf(out, len, ENG_MIRROR_JOB "%zu", i);
}
static void node_id(size_t i, char *out, size_t len)
{
  snprintf(out, len, ENG_MIRROR_NODE "%zu", i);
}
static void export_id(size_t i, char *out, size_t len)
{
  snprintf(out, len, ENG_MIRROR_EXPORT "%zu", i);
}

/* SocketAddress (blockdev-add's flat form) or, legacy, nbd-server-start's. */
static json_t *sock_json(const char *a, bool legacy)
{
  if (!strncmp(a, "unix:", 5))
    return legacy ? json_pack("{s:s,s:{s:s}}", "type", "unix", "data", "path", a + 5)
                  : json_pack("{s:s,s:s}", "type", "unix", "path", a + 5);
  char host[256], port[16];
  eng_split_tcp(a, host, sizeof host, port, sizeof port);
  return legacy ? json_pack("{s:s,s:{s:s,s:s}}", "type", "inet", "data", "host", host, "port", port)
                : json_pack("{s:s,s:s,s:s}", "type", "inet", "host", host, "port", port);
}

int eng_mirror_server_at(struct qmig_migration *m, const char *addr)
{
  json_t *a = json_pack("{s:o}", "addr", sock_json(addr, true));
  if (m->cfg.disks.nbd_tls)
    json_object_set_new(a, "tls-creds", json_string(ENG_TLS_ID));
  if (qmp_execute(m->dst, "nbd-server-start", a, NULL, QMP_TIMEOUT_DEFAULT) < 0)
    return -1;
  m->mirror->server_started = true;
  return 0;
}

/* Export, client node and mirror job of copied disk i. */
static int start_disk(struct qmig_migration *m, size_t i)
{
  struct eng_mirror_disk *md = &m->mirror->d[i];
  const struct eng_config *c = &m->cfg;
  char job[32], node[32], exp[32];
  job_id(i, job, sizeof job);
  node_id(i, node, sizeof node);
  export_id(i, exp, sizeof exp);

  if (qmp_cmd(m->dst, NULL, QMP_TIMEOUT_DEFAULT, "block-export-add", "{s:s,s:s,s:s,s:s,s:b}",
              "type", "nbd", "id", exp, "node-name", md->dst.node, "name", md->src.name, "writable",
              1) < 0)
    return eng_errorf(m, "%s: destination export of node %s: %s", md->src.name, md->dst.node,
                      qmp_error(m->dst));
  md->export_added = true;

  json_t *a = json_pack("{s:s,s:s,s:o,s:s}", "driver", "nbd", "node-name", node, "server",
                        sock_json(m->mirror->connect, false), "export", md->src.name);
  if (c->disks.nbd_tls) {
    json_object_set_new(a, "tls-creds", json_string(ENG_TLS_ID));
    char host[256] = "", port[16];
    /* Through our forwarder QEMU sees a unix socket: the name its x509
     * check needs is the one it would have used over TCP. */
    if (!c->tls.hostname && m->mirror->fwd_to[0]) {
      char tcp[310];
      snprintf(tcp, sizeof tcp, "tcp:%s", m->mirror->fwd_to);
      eng_split_tcp(tcp, host, sizeof host, port, sizeof port);
    }
    if (c->tls.hostname || host[0])
      json_object_set_new(a, "tls-hostname", json_string(c->tls.hostname ?: host));
  }
  /* A command whose connection broke may have been done: the abort then
   * removes what may be there. */
  if (qmp_execute(m->src, "blockdev-add", a, NULL, QMP_TIMEOUT_DEFAULT) < 0) {
    md->node_added = qmp_broken(m->src);
    return eng_errorf(m, "%s: source NBD connection to %s: %s", md->src.name, m->mirror->connect,
                      qmp_error(m->src));
  }
  md->node_added = true;

  a = json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:b}", "job-id", job, "device", md->src.name, "target",
                node, "sync", c->disks.sync == ENG_SYNC_TOP ? "top" : "full", "copy-mode",
                /* auto starts in background (mirror_mode.c) */
                c->disks.copy_mode == ENG_COPY_WRITE_BLOCKING ? "write-blocking" : "background",
                "auto-finalize", 1, "auto-dismiss", 0);
  if (c->disks.bandwidth)
    json_object_set_new(a, "speed", json_integer((json_int_t)c->disks.bandwidth));
  md->start_mono_ns = eng_mono_ns();
  if (qmp_execute(m->src, "blockdev-mirror", a, NULL, QMP_TIMEOUT_DEFAULT) < 0) {
    md->job_started = qmp_broken(m->src);
    return eng_errorf(m, "%s: blockdev-mirror: %s", md->src.name, qmp_error(m->src));
  }
  md->job_started = true;
  return 0;
}

static struct eng_mirror_disk *disk_of_job(struct eng_mirror *mi, const char *job)
{
  unsigned long i;
  char *end;
  if (!job || strncmp(job, "qmig-mirror-", 12))
    return NULL;
  i = strtoul(job + 12, &end, 10);
  return *end == '\0' && i < mi->n ? &mi->d[i] : NULL;
}

static void set_error(struct qmig_migration *m, struct eng_mirror_disk *md, const char *why)
{
  if (!md->error[0])
    snprintf(md->error, sizeof md->error, "%s", why);
  if (!m->mirror->failed) {
    m->mirror->failed = true;
    eng_errorf(m, "disk %s: mirror failed: %s", md->src.name, why);
  }
}

int eng_mirror_poll(struct qmig_migration *m)
{
  json_t *r = NULL, *j;
  size_t k;
  if (qmp_cmd(m->src, &r, QMP_TIMEOUT_DEFAULT, "query-block-jobs", NULL) < 0)
    return eng_errorf(m, "query-block-jobs: %s", qmp_error(m->src));
  json_array_foreach(r, k, j)
  {
    struct eng_mirror_disk *md =
        disk_of_job(m->mirror, json_string_value(json_object_get(j, "device")));
    if (!md)
      continue;
    const char *st = json_string_value(json_object_get(j, "status")) ?: "";
    const char *err = json_string_value(json_object_get(j, "error"));
    md->offset = (uint64_t)json_integer_value(json_object_get(j, "offset"));
    md->len = (uint64_t)json_integer_value(json_object_get(j, "len"));
    json_t *as = json_object_get(j, "actively-synced"); /* mirror jobs, QEMU 8.2+ */
    if (json_is_boolean(as) && !m->mirror->at_switchover) {
      md->synced_known = true;
      md->actively_synced = json_is_true(as);
    }
    if (!md->ready && json_is_true(json_object_get(j, "ready"))) {
      md->ready = true;
      md->ready_bytes = md->offset;
      md->ready_mono_ns = eng_mono_ns();
    }
    if (!strcmp(st, "concluded") || !strcmp(st, "null")) {
      if (err)
        set_error(m, md, err);
      else if (!md->completed) {
        md->completed = true;
        md->done_mono_ns = eng_mono_ns();
      }
    } else if (!strcmp(st, "aborting")) {
      set_error(m, md, err ? err : "job aborting");
    }
  }
  json_decref(r);
  return 0;
}

static void progress(struct qmig_migration *m)
{
  if (!m->progress_fn)
    return;
  struct qmig_progress p = { .status = "mirroring" };
  p.elapsed_s = (eng_mono_ns() - m->facts.t0_mono_ns) / 1e9;
  for (size_t i = 0; i < m->mirror->n; i++) {
    p.transferred_bytes += m->mirror->d[i].offset;
    p.total_bytes += m->mirror->d[i].len;
  }
  p.remaining_bytes = p.total_bytes - p.transferred_bytes;
  m->progress_fn(m->progress_ud, &p);
}

enum wait_for { W_READY, W_COMPLETED };

/* The copy's stall watchdog (stall-timeout, as for the stream): a disk not
 * yet in sync whose job has not moved for that long fails the copy (a dead
 * link leaves NBD requests waiting for TCP's retransmission timeout). */
static int check_stall(struct qmig_migration *m)
{
  unsigned s = m->cfg.stall_timeout_s;
  int64_t now = eng_mono_ns();
  for (size_t i = 0; i < m->mirror->n; i++) {
    struct eng_mirror_disk *md = &m->mirror->d[i];
    if (!md->copy || md->ready)
      continue;
    if (!md->moved_mono_ns || md->offset != md->moved_offset) {
      md->moved_offset = md->offset;
      md->moved_mono_ns = now;
    } else if (s && now - md->moved_mono_ns >= (int64_t)s * 1000000000) {
      m->mirror->failed = true;
      return eng_errorf(m,
                        "disk %s: mirror stalled: no progress for %u s (%llu of %llu bytes "
                        "copied): the link to the NBD server at %s is down or blocked",
                        md->src.name, s, (unsigned long long)md->offset,
                        (unsigned long long)md->len,
                        m->mirror->fwd_to[0] ? m->mirror->fwd_to : m->mirror->connect);
    }
  }
  return 0;
}

/* Poll the jobs until every copied disk is ready (or completed), a job
 * fails, the user cancels or `deadline_ns` passes. */
static int wait_jobs(struct qmig_migration *m, enum wait_for w, int64_t deadline_ns, int period_ms)
{
  struct eng_mirror *mi = m->mirror;
  for (;;) {
    if (eng_mirror_poll(m) < 0)
      return -1;
    if (mi->failed)
      return -1;
    bool all = true;
    for (size_t i = 0; i < mi->n; i++)
      if (mi->d[i].copy)
        all &= w == W_READY ? mi->d[i].ready : mi->d[i].completed;
    if (all)
      return 0;
    if (w == W_READY && check_stall(m) < 0)
      return -1;
    if (w == W_READY)
      progress(m);
    if (atomic_load(&m->cancel_requested))
      return eng_errorf(m, "cancelled while copying disks");
    if (deadline_ns && eng_mono_ns() > deadline_ns)
      return eng_errorf(m, "disks not %s in time (%s)", w == W_READY ? "in sync" : "completed",
                        w == W_READY ? "timeout" : "qmp-timeout");
    struct pollfd p = { .fd = m->cancel_pipe[0], .events = POLLIN };
    poll(&p, 1, period_ms);
  }
}

int eng_mirror_start(struct qmig_migration *m)
{
  struct eng_mirror *mi = m->mirror;
  if (!mi)
    return 0;
  eng_mirror_sweep_stale(); /* debris of runs that died, before adding ours */
  if (m->session->nbd(m) < 0)
    return -1;
  eng_mirror_mode_start(m);
  for (size_t i = 0; i < mi->n; i++)
    if (mi->d[i].copy && start_disk(m, i) < 0)
      return -1;
  int64_t deadline =
      m->cfg.timeout_s ? m->facts.t0_mono_ns + (int64_t)m->cfg.timeout_s * 1000000000 : 0;
  int period = m->cfg.poll_ms < 50 ? (int)m->cfg.poll_ms : 50;
  int64_t t0 = eng_mono_ns();
  int rc = wait_jobs(m, W_READY, deadline, period);
  mi->sync_ms = (eng_mono_ns() - t0) / 1e6;
  return rc;
}

void eng_mirror_event(struct qmig_migration *m, const struct qmp_event *ev)
{
  if (!m->mirror || m->mirror->finished)
    return;
  struct eng_mirror_disk *md =
      disk_of_job(m->mirror, json_string_value(json_object_get(ev->data, "device")));
  if (!md)
    return;
  if (!strcmp(ev->name, "BLOCK_JOB_ERROR")) {
    /* A mirror reads the source disk and writes the NBD target. */
    char why[400];
    const char *op = json_string_value(json_object_get(ev->data, "operation")) ?: "";
    if (!strcmp(op, "write"))
      snprintf(why, sizeof why, "writing to the destination over NBD (%s) failed",
               m->mirror->connect);
    else
      snprintf(why, sizeof why, "reading the source disk failed");
    set_error(m, md, why);
  } else if (!strcmp(ev->name, "BLOCK_JOB_COMPLETED") || !strcmp(ev->name, "BLOCK_JOB_CANCELLED")) {
    const char *e = json_string_value(json_object_get(ev->data, "error"));
    if (e || !m->mirror->at_switchover)
      set_error(m, md, e ? e : "the job ended before the switchover");
  }
}

static bool usable(struct qmp_conn *c)
{
  return c && !qmp_broken(c);
}

/* Remove what the sequence added on both sides; a refusal is collected into
 * `why`.  A side that is gone (QMP broken or closed, e.g. a destination the
 * recovery quit) is skipped: what was added there went with it. */
static void teardown(struct qmig_migration *m, char *why, size_t len)
{
  struct eng_mirror *mi = m->mirror;
  char id[32];
  for (size_t i = 0; i < mi->n; i++) {
    struct eng_mirror_disk *md = &mi->d[i];
    job_id(i, id, sizeof id);
    if (md->job_started && !md->dismissed && usable(m->src) &&
        qmp_cmd(m->src, NULL, QMP_TIMEOUT_DEFAULT, "job-dismiss", "{s:s}", "id", id) == 0)
      md->dismissed = true;
    node_id(i, id, sizeof id);
    if (md->node_added && usable(m->src) &&
        qmp_cmd(m->src, NULL, QMP_TIMEOUT_DEFAULT, "blockdev-del", "{s:s}", "node-name", id) == 0)
      md->node_added = false;
    else if (md->node_added && usable(m->src))
      snprintf(why, len, "source blockdev-del %s: %s", id, qmp_error(m->src));
    export_id(i, id, sizeof id);
    if (md->export_added && usable(m->dst) &&
        qmp_cmd(m->dst, NULL, QMP_TIMEOUT_DEFAULT, "block-export-del", "{s:s,s:s}", "id", id,
                "mode", "hard") == 0)
      md->export_added = false;
    else if (md->export_added && usable(m->dst))
      snprintf(why, len, "destination block-export-del %s: %s", id, qmp_error(m->dst));
  }
  if (mi->server_started && usable(m->dst) &&
      qmp_cmd(m->dst, NULL, QMP_TIMEOUT_DEFAULT, "nbd-server-stop", NULL) == 0)
    mi->server_started = false;
  else if (mi->server_started && usable(m->dst))
    snprintf(why, len, "destination nbd-server-stop: %s", qmp_error(m->dst));
  /* The nodes and the server are gone: so are both ends of each forwarded
   * connection (bounded wait, then aborted). */
  eng_nbdfwd_end(mi->fwd, 2000);
  mi->fwd = NULL;
  if (mi->sockdir[0]) {
    char p[128];
    snprintf(p, sizeof p, "%s/nbd.sock", mi->sockdir);
    unlink(p);
    rmdir(mi->sockdir);
    mi->sockdir[0] = '\0';
  }
}

/* The destination must hold no export when it activates its disks at the
 * end of the migration (QEMU: permission conflict): wait until the exports
 * are gone (block-export-del finishes asynchronously). */
static int exports_gone(struct qmig_migration *m, int64_t deadline_ns)
{
  for (;;) {
    json_t *r = NULL;
    if (qmp_cmd(m->dst, &r, QMP_TIMEOUT_DEFAULT, "query-block-exports", NULL) < 0)
      return eng_errorf(m, "destination query-block-exports: %s", qmp_error(m->dst));
    size_t left = 0, k;
    json_t *e;
    json_array_foreach(r, k, e) left +=
        !strncmp(json_string_value(json_object_get(e, "id")) ?: "", "qmig-export-", 12);
    json_decref(r);
    if (left == 0)
      return 0;
    if (eng_mono_ns() > deadline_ns)
      return eng_errorf(m, "destination still has %zu NBD exports", left);
    usleep(1000);
  }
}

int eng_mirror_switchover(struct qmig_migration *m)
{
  struct eng_mirror *mi = m->mirror;
  int t = qmp_timeout(m->src);
  int64_t t0 = eng_mono_ns(), deadline = t0 + (int64_t)t * 1000000;
  char id[32], why[512] = "";
  mi->at_switchover = true;
  /* The source is stopped: cancelling a READY mirror completes it with a
   * point-in-time copy, which is now the final one. */
  for (size_t i = 0; i < mi->n; i++) {
    job_id(i, id, sizeof id);
    if (mi->d[i].copy && qmp_cmd(m->src, NULL, t, "block-job-cancel", "{s:s}", "device", id) < 0)
      return eng_errorf(m, "%s: finishing the mirror: %s", mi->d[i].src.name, qmp_error(m->src));
  }
  if (wait_jobs(m, W_COMPLETED, deadline, 1) < 0)
    return -1;
  teardown(m, why, sizeof why);
  if (why[0])
    return eng_errorf(m, "after the disks were copied: %s", why);
  if (exports_gone(m, deadline) < 0)
    return -1;
  mi->finished = true;
  if (qmp_cmd(m->src, NULL, t, "migrate-continue", "{s:s}", "state", "pre-switchover") < 0)
    return eng_errorf(m, "migrate-continue: %s", qmp_error(m->src));
  mi->switchover_ms = (eng_mono_ns() - t0) / 1e6;
  return 0;
}

void eng_mirror_abort(struct qmig_migration *m)
{
  struct eng_mirror *mi = m->mirror;
  if (!mi || mi->finished)
    return;
  int t = (int)m->cfg.qmp.timeout_ms;
  char id[32], why[512] = "";
  bool any = false;
  /* Forwarded NBD connections end now: QEMU's NBD client sees EOF at once
   * (a job waiting on a dead link could not be cancelled). */
  eng_nbdfwd_abort(mi->fwd);
  /* A source whose QMP broke (a timeout, garbage) still holds the jobs and
   * nodes: one fresh connection to remove them (it is always reached
   * directly, never through the tunnel). */
  bool left = false;
  for (size_t i = 0; i < mi->n; i++)
    left |= (mi->d[i].job_started && !mi->d[i].dismissed) || mi->d[i].node_added;
  if (left && m->src && qmp_broken(m->src) && m->cfg.src) {
    qmp_close(m->src);
    m->src = qmp_connect("source", m->cfg.src, t, NULL, 0);
  }
  for (size_t i = 0; i < mi->n; i++) {
    job_id(i, id, sizeof id);
    if (mi->d[i].job_started && !mi->d[i].dismissed && usable(m->src)) {
      qmp_cmd(m->src, NULL, t, "block-job-cancel", "{s:s,s:b}", "device", id, "force", 1);
      any = true;
    }
  }
  /* A forced cancel ends each job quickly ("concluded"); then dismiss. */
  for (int k = 0; any && k < 500 && usable(m->src); k++) {
    json_t *r = NULL, *j;
    size_t n, busy = 0;
    if (qmp_cmd(m->src, &r, t, "query-block-jobs", NULL) < 0)
      break;
    json_array_foreach(r, n, j) busy +=
        disk_of_job(mi, json_string_value(json_object_get(j, "device"))) &&
        strcmp(json_string_value(json_object_get(j, "status")) ?: "", "concluded");
    json_decref(r);
    if (!busy)
      break;
    usleep(10000);
  }
  teardown(m, why, sizeof why);
  mi->finished = true;
  for (size_t i = 0; i < mi->n; i++)
    mi->src_left |= (mi->d[i].job_started && !mi->d[i].dismissed) || mi->d[i].node_added;
  if (why[0])
    eng_warn(m, why);
}

_Static_assert(ENG_MAX_DISKS <= QMIG_MAX_DISKS, "the storage section holds every disk");

void eng_mirror_report(struct qmig_migration *m)
{
  struct eng_mirror *mi = m->mirror;
  struct qmig_report_storage *o = mi ? ENG_SECTION(m, storage) : NULL;
  if (!o)
    return;
  *o = (struct qmig_report_storage){ .ndisks = (unsigned)mi->n };
  for (size_t i = 0; i < mi->n; i++) {
    const struct eng_mirror_disk *md = &mi->d[i];
    struct qmig_storage_disk *d = &o->disks[i];
    snprintf(d->name, sizeof d->name, "%s", md->src.name);
    d->copy = md->copy;
    snprintf(d->format, sizeof d->format, "%s", md->src.format);
    d->size = md->src.size;
    snprintf(d->source_file, sizeof d->source_file, "%s", md->src.file);
    d->have_destination = md->dst_found;
    if (md->dst_found)
      snprintf(d->destination_file, sizeof d->destination_file, "%s", md->dst.file);
    d->job_started = md->copy && md->job_started;
    d->bytes = md->offset;
    d->ready = md->ready;
    if (md->ready) {
      double s = (md->ready_mono_ns - md->start_mono_ns) / 1e9;
      d->time_to_ready_ms = s * 1e3;
      d->rate_bytes_per_s = s > 0 ? md->ready_bytes / s : 0;
    }
    d->completed = md->completed;
    d->synced_known = md->copy && md->synced_known;
    d->actively_synced = md->actively_synced;
    snprintf(d->error, sizeof d->error, "%s", md->error);
  }
  if (mi->listen[0]) {
    snprintf(o->nbd_listen, sizeof o->nbd_listen, "%s", mi->listen);
    snprintf(o->nbd_connect, sizeof o->nbd_connect, "%s", mi->connect);
    snprintf(o->nbd_forwarded_to, sizeof o->nbd_forwarded_to, "%s", mi->fwd_to);
    o->sync = m->cfg.disks.sync == ENG_SYNC_TOP ? "top" : "full";
    o->nbd_tls = m->cfg.disks.nbd_tls;
    eng_mirror_mode_report(m, o);
  }
  o->sync_ms = mi->sync_ms > 0 ? mi->sync_ms : -1;
  o->switchover_ms = mi->finished && !mi->failed && mi->switchover_ms > 0 ? mi->switchover_ms : -1;
}

void eng_mirror_free(struct eng_mirror *mi)
{
  if (mi && mi->fwd) { /* not torn down: a failure before anything was added */
    eng_nbdfwd_end(mi->fwd, 0);
    char p[128];
    snprintf(p, sizeof p, "%s/nbd.sock", mi->sockdir);
    unlink(p);
    rmdir(mi->sockdir);
  }
  free(mi);
}
