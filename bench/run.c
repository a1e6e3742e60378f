/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* run.c - one run of a scenario: a fresh lab pair, the migration with its
 * progress samples, the memory (and disk) check on the side that runs the
 * guest, the QEMUs' CPU time, and a record that says what happened. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "bench/bench.h"
#include "lab/lab.h"

#define MAX_SAMPLES 100000

struct sampler {
  struct qmig_bench *b;
  json_t *samples;
};

/* Progress samples: [elapsed_s, transferred, rate, remaining, pass,
 * dirty rate]. */
static void on_progress(void *ud, const struct qmig_progress *p)
{
  struct sampler *sp = ud;
  json_t *samples = sp->samples;
  bench_status(sp->b, "migrating", p);
  if (json_array_size(samples) >= MAX_SAMPLES)
    return;
  json_array_append_new(samples,
                        json_pack("[f,I,f,I,i,f]", p->elapsed_s, (json_int_t)p->transferred_bytes,
                                  p->rate_bytes_per_s, (json_int_t)p->remaining_bytes, (int)p->pass,
                                  p->dirty_bytes_per_s));
}

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
  (void)st;
  (void)type;
  (void)ftw;
  remove(path);
  return 0;
}

/* A PSK file for QEMU-native TLS in dir/psk ("qmig:HEX", 0600). */
static int write_psk(const char *dir, char *out, size_t len, char *err, size_t errlen)
{
  unsigned char key[32];
  char line[80];
  snprintf(out, len, "%s/psk", dir);
  if (RAND_bytes(key, sizeof key) != 1) {
    snprintf(err, errlen, "qemu-tls: RAND_bytes failed");
    return -1;
  }
  int n = snprintf(line, sizeof line, "qmig:");
  for (size_t i = 0; i < sizeof key; i++)
    n += snprintf(line + n, sizeof line - (size_t)n, "%02x", key[i]);
  char path[4200];
  snprintf(path, sizeof path, "%s/keys.psk", out);
  int fd = -1;
  if (mkdir(out, 0700) < 0 ||
      (fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0 ||
      write(fd, line, (size_t)n) != n || write(fd, "\n", 1) != 1) {
    snprintf(err, errlen, "qemu-tls: %s: %s", path, strerror(errno));
    if (fd >= 0)
      close(fd);
    return -1;
  }
  return close(fd);
}

static double load1(void)
{
  double l = -1;
  FILE *f = fopen("/proc/loadavg", "re");
  if (f) {
    if (fscanf(f, "%lf", &l) != 1)
      l = -1;
    fclose(f);
  }
  return l;
}

/* The machine a run ran on, for whoever reads the numbers later. */
static json_t *machine(void)
{
  struct utsname u;
  if (uname(&u) < 0)
    return json_null();
  return json_pack("{s:s,s:i,s:s}", "host", u.nodename, "cores", (int)sysconf(_SC_NPROCESSORS_ONLN),
                   "kernel", u.release);
}

static json_t *num_or_null(double v)
{
  return v < 0 ? json_null() : json_real(v);
}

/* The memory check (and disk check with a disk) on the side running the
 * guest; fills the record, returns true when everything was right. */
static bool check_guest(const char *dir, bool migrated, json_t *bo, char *err, size_t errlen)
{
  struct qmig_lab_info li = QMIG_LAB_INFO_INIT;
  if (qmig_lab_info(dir, &li, err, errlen) < 0)
    return false;
  const char *side = migrated ? "dst" : "src";
  struct qmig_memcheck mc;
  char verr[512] = "";
  /* The Linux guest checks its own working set, asked on its serial. */
  int rc =
      !strcmp(li.guest, "linux")
          ? qmig_verify_guest_serial(migrated ? li.dst_serial : li.src_serial, 60000, &mc, verr,
                                     sizeof verr)
          : qmig_verify_memory(migrated ? li.dst_qmp : li.src_qmp, dir, &mc, verr, sizeof verr);
  json_object_set_new(bo, "memory",
                      json_pack("{s:s,s:i,s:I,s:I,s:s}", "side", side, "rc", rc, "pages_checked",
                                (json_int_t)(rc < 0 ? 0 : mc.pages_checked), "pages_bad",
                                (json_int_t)(rc < 0 ? 0 : mc.pages_bad), "detail",
                                rc < 0 ? verr : mc.detail));
  if (rc != 0) {
    snprintf(err, errlen, "memory check on %s: %s", side, rc < 0 ? verr : mc.detail);
    return false;
  }
  if (!li.disk_mib)
    return true;
  /* A copied disk is checked on the side that now runs the guest. */
  bool own = migrated && li.dst_disk[0];
  const char *img = own ? li.dst_disk : li.disk;
  struct qmig_diskcheck dc;
  rc = qmig_verify_disk_image(img, own ? li.dst_disk_format : li.disk_format, &dc, verr,
                              sizeof verr);
  json_object_set_new(bo, "disk",
                      json_pack("{s:s,s:i,s:I,s:I,s:s}", "image", img, "rc", rc, "units_checked",
                                (json_int_t)(rc < 0 ? 0 : dc.units_checked), "units_bad",
                                (json_int_t)(rc < 0 ? 0 : dc.units_bad), "detail",
                                rc < 0 ? verr : dc.detail));
  if (rc != 0) {
    snprintf(err, errlen, "disk check: %s", rc < 0 ? verr : dc.detail);
    return false;
  }
  return true;
}

/* Knob probe (udp|icmp): the engine's probe options aimed at the Linux
 * guest from its switch's client namespace (lab.json says where).  0, or
 * -1 with err. */
static int apply_probe(const struct bench_scenario *s, struct qmig_migration *m, const char *dir,
                       char *err, size_t errlen)
{
  const char *kind = bench_knob(s, "probe");
  if (!kind || !strcmp(kind, "off"))
    return 0;
  struct qmig_lab_info li = QMIG_LAB_INFO_INIT;
  if (qmig_lab_info(dir, &li, err, errlen) < 0)
    return -1;
  if (!li.client_netns[0] || !li.guest_addr[0]) {
    snprintf(err, errlen,
             "scenario '%s': knob 'probe' = '%s': the lab has no client namespace (needs "
             "guest linux and netns on)",
             s->name, kind);
    return -1;
  }
  char target[128];
  if (!strcmp(kind, "udp"))
    snprintf(target, sizeof target, "udp:%s:%u", li.guest_addr, li.guest_udp_echo_port);
  else
    snprintf(target, sizeof target, "icmp:%s", li.guest_addr);
  if (qmig_set(m, "probe", target) < 0 || qmig_set(m, "probe-netns", li.client_netns) < 0) {
    snprintf(err, errlen, "scenario '%s': knob 'probe' = '%s': %s", s->name, kind, qmig_error(m));
    return -1;
  }
  return 0;
}

/* Whatever the transport started; the agent's log goes into the record. */
static void stop_transport(struct bench_transport *tp, json_t *bo)
{
  bench_stunnel_stop(tp);
  json_t *log = bench_agent_stop(tp);
  if (log)
    json_object_set_new(bo, "agent_log", log);
}

/* Lab start, migration, checks; the lab is left for the caller to stop.
 * Returns the stage that failed ("" when none), err saying why. */
static const char *migrate_once(struct qmig_bench *b, const struct bench_scenario *s,
                                const char *dir, json_t *rec, char *err, size_t errlen)
{
  json_t *bo = json_object_get(rec, "bench");
  struct qmig_lab_options o = QMIG_LAB_OPTIONS_INIT;
  if (bench_lab_options(s, &o, err, errlen) < 0)
    return "lab";
  o.dir = dir;
  o.accel = b->accel;
  o.qemu = b->qemu;
  o.dst_qemu = b->dst_qemu; /* another version: the lab picks the source's machine type */
  o.guest = b->guest;
  const char *g = bench_knob(s, "guest");
  if (g && !strcmp(g, "linux"))
    o.guest = "linux";
  else if (g && b->guest && !strcmp(b->guest, "linux"))
    o.guest = NULL; /* guest lab: qmig's test guest, whatever the bench's --guest */
  bench_status(b, "lab", NULL);
  if (qmig_lab_start(&o, err, errlen) < 0)
    return "lab";
  const char *mode = bench_knob(s, "mode");
  bool update = mode && !strcmp(mode, "update");
  if (update && bench_update_prepare(dir, err, errlen) < 0)
    return "lab";
  double cpu0[2] = { lab_side_cpu_s(dir, 0), lab_side_cpu_s(dir, 1) };
  struct bench_transport tp = { .tls_dir = "" };
  const char *t = bench_knob(s, "transport");
  bool psk = t && (!strcmp(t, "qemu-tls") || !strcmp(t, "stunnel") || !strncmp(t, "tunnel", 6));
  if (psk && write_psk(dir, tp.tls_dir, sizeof tp.tls_dir, err, errlen) < 0)
    return "transport";
  snprintf(tp.psk_file, sizeof tp.psk_file, "%s/keys.psk", tp.tls_dir);
  const char *stage = "";
  if (t && !strcmp(t, "stunnel") && bench_stunnel_start(dir, tp.psk_file, &tp, err, errlen) < 0)
    stage = "transport";
  if (t && !strncmp(t, "tunnel", 6)) {
    struct qmig_lab_info li = QMIG_LAB_INFO_INIT;
    if (qmig_lab_info(dir, &li, err, errlen) < 0 ||
        bench_agent_start(dir, li.dst_qmp, tp.psk_file, &tp, err, errlen) < 0)
      stage = "transport";
  }
  struct qmig_migration *m = stage[0] ? NULL : qmig_new();
  json_t *samples = stage[0] ? NULL : json_array();
  if (!stage[0] && (!m || !samples)) {
    snprintf(err, errlen, "out of memory");
    stage = "migrate";
  }
  if (stage[0]) {
    qmig_free(m);
    json_decref(samples);
    stop_transport(&tp, bo);
    return stage;
  }
  json_object_set_new(rec, "samples_fields",
                      json_pack("[s,s,s,s,s,s]", "elapsed_s", "transferred_bytes",
                                "rate_bytes_per_s", "remaining_bytes", "pass",
                                "dirty_bytes_per_s"));
  json_object_set_new(rec, "samples", samples);
  /* The source stays up after success so its CPU time can be read; the
   * scenario may still say otherwise. */
  if (qmig_lab_apply(m, dir, err, errlen) < 0) {
    stage = "migrate";
  } else if (qmig_set(m, "quit-source", "off") < 0) {
    snprintf(err, errlen, "%s", qmig_error(m));
    stage = "migrate";
  } else if (bench_apply_migration(s, m, &tp, err, errlen) < 0 ||
             apply_probe(s, m, dir, err, errlen) < 0) {
    stage = "migrate";
  } else if (update && bench_update_apply(m, dir, err, errlen) < 0) {
    stage = "migrate";
  } else {
    struct sampler sp = { b, samples };
    qmig_on_progress(m, on_progress, &sp);
    bench_status(b, "migrating", NULL);
    atomic_store(&b->current, m);
    if (atomic_load(&b->cancelled))
      qmig_cancel(m);
    enum qmig_outcome out = qmig_run(m);
    atomic_store(&b->current, NULL);
    double cpu1[2] = { lab_side_cpu_s(dir, 0), lab_side_cpu_s(dir, 1) };
    /* The report goes into runs.jsonl whole (the file's format): its text
     * becomes a member of the record.  Figures are read from the typed
     * report below, never from this. */
    char *rj = qmig_report_json(m);
    json_t *rep = rj ? json_loads(rj, 0, NULL) : NULL;
    free(rj);
    json_object_set_new(rec, "report", rep ? rep : json_null());
    double dsrc = cpu0[0] >= 0 && cpu1[0] >= 0 ? cpu1[0] - cpu0[0] : -1;
    double ddst = cpu0[1] >= 0 && cpu1[1] >= 0 ? cpu1[1] - cpu0[1] : -1;
    const struct qmig_report *r = qmig_report(m);
    /* Every process the stream passes through: both QEMUs, this one (the
     * engine, and the agent's thread when tunnelled) and stunnel. */
    double dst_tunnel = bench_stunnel_cpu_s(&tp);
    json_object_set_new(bo, "cpu_s",
                        json_pack("{s:o,s:o,s:o,s:f}", "qemu_src", num_or_null(dsrc), "qemu_dst",
                                  num_or_null(ddst), "qmig", num_or_null(r->cpu_s), "stunnel",
                                  dst_tunnel));
    if (out == QMIG_MIGRATED && dsrc >= 0 && ddst >= 0 && r->cpu_s >= 0 && r->transferred_bytes > 0)
      json_object_set_new(bo, "cpu_s_per_gib",
                          json_real((dsrc + ddst + r->cpu_s + dst_tunnel) /
                                    ((double)r->transferred_bytes / 1073741824.0)));
    bool migrated = out == QMIG_MIGRATED;
    if (!migrated) {
      snprintf(err, errlen, "%s", qmig_error(m));
      stage = "migrate";
    }
    char cerr[1024] = "";
    bench_status(b, "checking", NULL);
    /* Checked after a failure too: the source must have kept its guest. */
    if (!check_guest(dir, migrated, bo, cerr, sizeof cerr) && migrated) {
      snprintf(err, errlen, "%s", cerr);
      stage = "verify";
    } else if (!migrated && cerr[0]) {
      size_t l = strlen(err);
      snprintf(err + l, errlen - l, "; and %s", cerr);
    }
  }
  qmig_free(m);
  stop_transport(&tp, bo);
  return stage;
}

json_t *bench_run_one(struct qmig_bench *b, const struct bench_scenario *s, unsigned index,
                      unsigned run, bool warmup)
{
  char dir[4096], err[2048] = "", date[32];
  snprintf(dir, sizeof dir, "%s/run-%u", b->rundir, index);
  time_t now = time(NULL);
  struct tm tm;
  strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
  json_t *rec =
      json_pack("{s:i,s:{s:s,s:i,s:i,s:b,s:s,s:f,s:s?,s:s?,s:I,s:i},s:o,s:n}", "schema",
                QMIG_REPORT_SCHEMA, "bench", "scenario", s->name, "index", (int)index, "run",
                (int)run, "warmup", warmup, "date", date, "load1", load1(), "baseline", b->baseline,
                "swept", b->swept, "seed", (json_int_t)b->seed, "resamples", (int)b->resamples,
                "scenario", bench_knobs_json(s->knobs, true), "report");
  if (!rec)
    return NULL;
  json_t *bo = json_object_get(rec, "bench");
  json_object_set_new(bo, "machine", machine());
  const char *stage;
  if (atomic_load(&b->cancelled)) {
    stage = "cancelled";
    snprintf(err, sizeof err, "the bench was cancelled before this run");
  } else {
    stage = migrate_once(b, s, dir, rec, err, sizeof err);
  }
  char serr[512] = "";
  bool left = qmig_lab_stop(dir, serr, sizeof serr) < 0;
  if (left) {
    json_object_set_new(bo, "lab_left_running", json_true());
    json_object_set_new(bo, "lab_dir", json_string(dir));
    if (!stage[0]) {
      stage = "lab-stop";
      snprintf(err, sizeof err, "lab stop: %s", serr);
    }
  } else {
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  }
  json_object_set_new(bo, "ok", json_boolean(!stage[0]));
  json_object_set_new(bo, "stage", json_string(stage));
  json_object_set_new(bo, "error", json_string(err));
  return rec;
}
