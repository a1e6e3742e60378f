/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* update_probe.c - what the running source and a new binary offer for a
 * live update, and the choice of mechanism with its reason and advice
 * (engine/update.c has the overview; docs/UPDATE.md).  Nothing is changed
 * on the source: QMP queries only (query-qmp-schema,
 * query-migrate-capabilities, qom-get, query-memory-size-summary); a new
 * binary is started alone with -machine none and ended. */
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

static const char *const mech_name[] = {
  [ENG_UPD_CPR] = "cpr_transfer", [ENG_UPD_SHARED] = "ignore_shared", [ENG_UPD_MIGRATE] = "migrate"
};

const char *eng_update_mech_name(int mech)
{
  return mech_name[mech];
}

/* What one QEMU offers (probe_qemu). */
struct qemu_offers {
  bool cpr, ignore_shared;
  json_t *machines; /* query-machines (only for a new binary) */
};

/* What the source's RAM is. */
struct ram_info {
  char backend[128]; /* its id, "" when RAM is not a -object backend */
  char type[64];     /* memory-backend-memfd, -file, -ram */
  char mem_path[PATH_MAX];
  bool share, aux_ram_share;
  uint64_t size;
  char machine[128]; /* the running machine type, e.g. pc-i440fx-7.2 */
};

/* Whether a value of an enum in the schema is `value` (7.2: "values";
 * newer: "members" too).  Type names are masked in the schema, so the
 * value itself is what is looked for: only MigMode has cpr-transfer. */
static bool schema_has_enum_value(json_t *schema, const char *value)
{
  size_t i, k;
  json_t *t, *v;
  json_array_foreach(schema, i, t)
  {
    const char *mt = json_string_value(json_object_get(t, "meta-type"));
    if (!mt || strcmp(mt, "enum"))
      continue;
    json_array_foreach(json_object_get(t, "values"), k, v)
    {
      if (json_is_string(v) && !strcmp(json_string_value(v), value))
        return true;
    }
    json_array_foreach(json_object_get(t, "members"), k, v)
    {
      const char *n = json_string_value(json_object_get(v, "name"));
      if (n && !strcmp(n, value))
        return true;
    }
  }
  return false;
}

static int probe_qemu(struct qmp_conn *c, bool machines, struct qemu_offers *o, char *err,
                      size_t errlen)
{
  json_t *schema = NULL, *caps = NULL;
  if (qmp_cmd(c, &schema, QMP_TIMEOUT_DEFAULT, "query-qmp-schema", NULL) < 0 ||
      qmp_cmd(c, &caps, QMP_TIMEOUT_DEFAULT, "query-migrate-capabilities", NULL) < 0 ||
      (machines && qmp_cmd(c, &o->machines, QMP_TIMEOUT_DEFAULT, "query-machines", NULL) < 0)) {
    json_decref(schema);
    json_decref(caps);
    snprintf(err, errlen, "%s", qmp_error(c));
    return -1;
  }
  o->cpr = schema_has_enum_value(schema, "cpr-transfer");
  o->ignore_shared = eng_json_find(caps, "capability", "x-ignore-shared");
  json_decref(schema);
  json_decref(caps);
  return 0;
}

static void qom_str(struct qmp_conn *c, const char *path, const char *prop, char *out, size_t len)
{
  json_t *r = NULL;
  out[0] = '\0';
  if (qmp_cmd(c, &r, QMP_TIMEOUT_DEFAULT, "qom-get", "{s:s,s:s}", "path", path, "property", prop) ==
          0 &&
      json_is_string(r))
    snprintf(out, len, "%s", json_string_value(r));
  json_decref(r);
}

static bool qom_bool(struct qmp_conn *c, const char *path, const char *prop)
{
  json_t *r = NULL;
  bool b = qmp_cmd(c, &r, QMP_TIMEOUT_DEFAULT, "qom-get", "{s:s,s:s}", "path", path, "property",
                   prop) == 0 &&
           json_is_true(r);
  json_decref(r);
  return b;
}

static void probe_ram(struct qmp_conn *c, struct ram_info *ri)
{
  char path[200];
  json_t *r = NULL;
  qom_str(c, "/machine", "memory-backend", ri->backend, sizeof ri->backend);
  qom_str(c, "/machine", "type", ri->machine, sizeof ri->machine);
  char *suffix = strstr(ri->machine, "-machine");
  if (suffix && !suffix[8])
    *suffix = '\0';
  ri->aux_ram_share = qom_bool(c, "/machine", "aux-ram-share");
  if (qmp_cmd(c, &r, QMP_TIMEOUT_DEFAULT, "query-memory-size-summary", NULL) == 0)
    ri->size = (uint64_t)json_integer_value(json_object_get(r, "base-memory"));
  json_decref(r);
  if (!ri->backend[0])
    return;
  /* A link: "/objects/ram0" (an id in older QEMUs). */
  if (ri->backend[0] == '/')
    snprintf(path, sizeof path, "%s", ri->backend);
  else
    snprintf(path, sizeof path, "/objects/%s", ri->backend);
  const char *slash = strrchr(path, '/');
  snprintf(ri->backend, sizeof ri->backend, "%s", slash + 1);
  qom_str(c, path, "type", ri->type, sizeof ri->type);
  ri->share = qom_bool(c, path, "share");
  if (!strcmp(ri->type, "memory-backend-file"))
    qom_str(c, path, "mem-path", ri->mem_path, sizeof ri->mem_path);
}

/* Start the new binary alone (-machine none) to ask what it offers. */
static int probe_binary(struct eng_upd *u, const char *bin, struct qemu_offers *o, char *err,
                        size_t errlen)
{
  struct eng_spawned sp = { 0 };
  struct eng_strv av = { 0 };
  char qmp[4200];
  snprintf(sp.qmp, sizeof sp.qmp, "unix:%s/%s-probe.qmp", u->dir, u->name);
  snprintf(sp.log, sizeof sp.log, "%s/%s-probe.log", u->dir, u->name);
  snprintf(sp.pidfile, sizeof sp.pidfile, "%s/%s-probe.pid", u->dir, u->name);
  snprintf(qmp, sizeof qmp, "%s,server=on,wait=off", sp.qmp);
  const char *args[] = { bin,  "-machine", "none", "-nodefaults", "-display", "none",
                         "-S", "-qmp",     qmp };
  for (size_t i = 0; i < sizeof args / sizeof args[0]; i++)
    if (eng_strv_push(&av, args[i]) < 0) {
      eng_strv_free(&av);
      return snprintf(err, errlen, "out of memory"), -1;
    }
  int rc = eng_spawn_start(&sp, &av, 0, sp.qmp + 5, false, 30000, err, errlen);
  eng_strv_free(&av);
  if (rc < 0)
    return -1;
  char e[512];
  struct qmp_conn *c = qmp_connect("new QEMU (probe)", sp.qmp, 10000, e, sizeof e);
  if (!c) {
    snprintf(err, errlen, "%s", e);
    rc = -1;
  } else {
    rc = probe_qemu(c, true, o, err, errlen);
    qmp_cmd(c, NULL, 2000, "quit", NULL);
    qmp_close(c);
  }
  eng_spawn_kill(&sp, 5000);
  unlink(sp.qmp + 5);
  unlink(sp.log);
  return rc;
}

static bool has_machine(json_t *machines, const char *type)
{
  return eng_json_find(machines, "name", type);
}

/* The mechanism for what was found; the reason and advice into sec. */
static int choose(struct qmig_migration *m, const struct qemu_offers *src,
                  const struct qemu_offers *dst, const struct ram_info *ri,
                  struct qmig_report_update *sec)
{
  int want = m->cfg.spawn.update;
  bool shared = ri->share && (!strcmp(ri->type, "memory-backend-memfd") ||
                              !strcmp(ri->type, "memory-backend-file"));
  bool cpr = src->cpr && dst->cpr && shared && ri->aux_ram_share;
  bool ign = src->ignore_shared && dst->ignore_shared && ri->share &&
             !strcmp(ri->type, "memory-backend-file");
  char why_not[400];
  if (!src->cpr || !dst->cpr)
    snprintf(why_not, sizeof why_not, "no_cpr_transfer: %s QEMU has no migration mode cpr-transfer",
             !src->cpr ? "the source" : "the new");
  else if (!shared)
    snprintf(why_not, sizeof why_not, "ram_not_shared: guest RAM %s%s%s is not shared memory",
             ri->backend[0] ? ri->backend : "(no -object backend)", ri->type[0] ? " is a " : "",
             ri->type);
  else
    snprintf(why_not, sizeof why_not,
             "no_aux_ram_share: -machine aux-ram-share is off (QEMU's other RAM, ROMs and "
             "video memory, is then not compatible with CPR)");
  /* The backend's size must be -m's exactly: MiB when it is a multiple. */
  char size[32];
  if (ri->size % (1u << 20))
    snprintf(size, sizeof size, "%lluK", (unsigned long long)(ri->size >> 10));
  else
    snprintf(size, sizeof size, "%lluM", (unsigned long long)(ri->size >> 20));
  if (src->cpr && dst->cpr)
    snprintf(sec->advice, sizeof sec->advice,
             "for cpr-transfer next time start the guest with -object "
             "memory-backend-memfd,id=ram0,size=%s,share=on -machine "
             "%s,aux-ram-share=on,memory-backend=ram0",
             size, ri->machine[0] ? ri->machine : "pc");
  else if (src->ignore_shared && dst->ignore_shared)
    snprintf(sec->advice, sizeof sec->advice,
             "for x-ignore-shared next time start the guest with -object "
             "memory-backend-file,id=ram0,size=%s,mem-path=/dev/shm/GUEST.ram,share=on "
             "-machine %s,memory-backend=ram0",
             size, ri->machine[0] ? ri->machine : "pc");
  if ((want == ENG_UPD_AUTO || want == ENG_UPD_CPR) && cpr) {
    snprintf(sec->reason, sizeof sec->reason,
             "cpr_transfer_available: both QEMUs have cpr-transfer, RAM %s is a shared %s and "
             "aux-ram-share is on: the new process maps the same RAM",
             ri->backend, ri->type);
    sec->advice[0] = '\0';
    return ENG_UPD_CPR;
  }
  if (want == ENG_UPD_CPR)
    return eng_errorf(m, "live-update cpr-transfer is not possible: %s%s%s", why_not,
                      sec->advice[0] ? "; " : "", sec->advice);
  if ((want == ENG_UPD_AUTO || want == ENG_UPD_SHARED) && ign) {
    snprintf(sec->reason, sizeof sec->reason,
             "ram_shared_file: RAM %s is memory-backend-file share=on (%s), both QEMUs have "
             "x-ignore-shared, so the new process maps it and it is not sent (%s)",
             ri->backend, ri->mem_path, why_not);
    if (!(src->cpr && dst->cpr))
      sec->advice[0] = '\0';
    return ENG_UPD_SHARED;
  }
  if (want == ENG_UPD_SHARED)
    return eng_errorf(m, "live-update ignore-shared is not possible: %s%s%s",
                      !(src->ignore_shared && dst->ignore_shared)
                          ? "x-ignore-shared missing in a QEMU"
                          : "ram_not_shared: guest RAM is not a shared memory-backend-file",
                      sec->advice[0] ? "; " : "", sec->advice);
  snprintf(sec->reason, sizeof sec->reason, "%s: %s; %s",
           want == ENG_UPD_MIGRATE ? "asked" : "ram_not_shared",
           want == ENG_UPD_MIGRATE ? "live-update migrate given" : "all of RAM is copied",
           ri->share ? "RAM is a shared memfd, which x-ignore-shared cannot reopen" : why_not);
  return ENG_UPD_MIGRATE;
}

int eng_update_probe(struct qmig_migration *m, struct eng_upd *u, struct qmig_report_update *sec)
{
  char e[600];
  struct qemu_offers so = { 0 }, no = { 0 };
  struct ram_info ri = { 0 };
  struct qmp_conn *c = eng_qmp_connect(m, "source", m->cfg.src, e, sizeof e);
  if (!c)
    return eng_errorf(m, "%s", e);
  int rc = probe_qemu(c, false, &so, e, sizeof e);
  if (rc == 0)
    probe_ram(c, &ri);
  qmp_close(c);
  if (rc < 0)
    return eng_errorf(m, "source: %s", e);
  no = so;
  if (m->cfg.spawn.binary) {
    no.machines = NULL;
    if (probe_binary(u, m->cfg.spawn.binary, &no, e, sizeof e) < 0)
      return eng_errorf(m, "new QEMU %s: %s", m->cfg.spawn.binary, e);
    bool ok = !ri.machine[0] || has_machine(no.machines, ri.machine);
    json_decref(no.machines);
    if (!ok)
      return eng_errorf(m,
                        "new QEMU %s has no machine type %s, which the guest runs on: it "
                        "cannot take this guest (query-machines)",
                        m->cfg.spawn.binary, ri.machine);
  }
  snprintf(u->machine, sizeof u->machine, "%s", ri.machine);
  int mech = choose(m, &so, &no, &ri, sec);
  if (mech < 0)
    return -1;
  u->mech = mech;
  sec->mechanism = mech_name[mech];
  return 0;
}

void eng_update_machine(struct qmp_conn *c, char *out, size_t len)
{
  struct ram_info ri = { 0 };
  probe_ram(c, &ri);
  snprintf(out, len, "%s", ri.machine);
}
