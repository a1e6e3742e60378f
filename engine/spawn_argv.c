/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* spawn_argv.c - the rewrite of a running QEMU's argv into its successor's
 * (engine/spawn.h), pure: no file, process or clock is looked at.
 *
 * Rules, in the order they are checked for each argument:
 * - refused: a file descriptor the source inherited from its parent (keys
 *   fd=, fds=, vhostfd=, vhostfds=, /dev/fdset/ paths, -add-fd): the new
 *   process cannot get it; -readconfig (a file not rewritten); -snapshot
 *   (the writes are in a temporary overlay only the source can open);
 *   -chroot; TCP listeners the source holds (-vnc, -spice, -gdb, chardev
 *   host=/port=, tcp: monitors, hostfwd=): the port is taken;
 * - dropped: -incoming, -daemonize (the new process is detached by
 *   spawn.c instead, so its pid is known and its log kept), -pidfile,
 *   -loadvm (the state comes from the migration);
 * - rewritten: the QMP monitor to DIR/NAME.qmp, the first serial socket to
 *   DIR/NAME.serial, other unix sockets to DIR/NAME-ID.sock, chardev files
 *   and -D logs to DIR/NAME-ID.log; disk paths (file=, filename=) through
 *   the map; a shared memory-backend-file's mem-path kept or given a file
 *   of the new process's own (spec->keep_shared_ram);
 * - appended: -pidfile DIR/NAME.pid and the -incoming arguments.
 * Everything else (-uuid, -name, -machine, devices) is kept as it is.
 *
 * The pieces of QEMU's command line these rules work on (option strings,
 * options without an argument, the disk path map): spawn_cmdline.c. */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/spawn.h"

struct rw {
  const struct eng_spawn_spec *s;
  char *err;
  size_t errlen;
  size_t argn;     /* index of the argument being looked at */
  const char *arg; /* it, as the source had it */
  const char *of;  /* the option whose value it is, or "" */
  bool have_qmp, have_serial, have_machine;
  const char *serial_id; /* chardev of the first -serial chardev:ID */
  const char *qmp_id;    /* chardev of the first -mon chardev=ID,mode=control */
};

static int refuse(struct rw *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int refuse(struct rw *r, const char *fmt, ...)
{
  char why[600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  snprintf(r->err, r->errlen,
           "cannot make the destination from the source's command line: "
           "argument %zu '%.300s'%s%s: %s",
           r->argn, r->arg, r->of[0] ? " of " : "", r->of, why);
  return -1;
}

static bool fd_key(const char *k)
{
  return !strcmp(k, "fd") || !strcmp(k, "fds") || !strcmp(k, "vhostfd") || !strcmp(k, "vhostfds");
}

/* Refuse inherited descriptors anywhere in a key=value string. */
static int check_fds(struct rw *r, const char *s)
{
  static const char *const keys[] = { "fd", "fds", "vhostfd", "vhostfds" };
  char v[64];
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
    if (eng_cmdline_opt_get(s, keys[i], v, sizeof v, NULL, NULL))
      return refuse(r,
                    "%s=%s is a file descriptor the source inherited from the process that "
                    "started it; a new process cannot get it (give the device a path or "
                    "name instead, e.g. tap ifname=, or start the destination yourself)",
                    keys[i], v);
  if (strstr(s, "/dev/fdset/"))
    return refuse(r, "a /dev/fdset/ path names descriptors passed to the source (-add-fd); a "
                     "new process does not have them");
  return 0;
}

/* One JSON argument (-blockdev, -object, -netdev, -device in JSON form),
 * walked: descriptors refused, filenames mapped, a shared mem-path handled. */
static int json_walk(struct rw *r, json_t *o);

static int mem_path(struct rw *r, const char *path, bool share, char *out, size_t olen)
{
  if (!share || r->s->keep_shared_ram || (r->s->is_dir && r->s->is_dir(path))) {
    snprintf(out, olen, "%s", path);
    return 0;
  }
  /* Beside the source's file (same filesystem: /dev/shm stays tmpfs). */
  return snprintf(out, olen, "%s.%s", path, r->s->name) >= (int)olen ? -1 : 0;
}

static int json_walk(struct rw *r, json_t *o)
{
  const char *k;
  json_t *v;
  size_t i;
  if (json_is_array(o)) {
    json_array_foreach(o, i, v) if (json_walk(r, v) < 0) return -1;
    return 0;
  }
  if (!json_is_object(o))
    return 0;
  const char *qt = json_string_value(json_object_get(o, "qom-type"));
  json_object_foreach(o, k, v)
  {
    char nv[4200];
    if (fd_key(k))
      return refuse(r,
                    "\"%s\" is a file descriptor the source inherited from the process that "
                    "started it; a new process cannot get it",
                    k);
    if (json_is_string(v) && strstr(json_string_value(v), "/dev/fdset/"))
      return refuse(r, "a /dev/fdset/ path names descriptors passed to the source (-add-fd)");
    if (!strcmp(k, "filename") && json_is_string(v) &&
        eng_cmdline_map_path(r->s->map, json_string_value(v), nv, sizeof nv)) {
      json_string_set(v, nv);
      if (r->s->mapped && eng_strv_push(r->s->mapped, nv) < 0)
        return refuse(r, "out of memory");
    }
    if (!strcmp(k, "mem-path") && json_is_string(v) && qt && !strcmp(qt, "memory-backend-file")) {
      if (mem_path(r, json_string_value(v), json_is_true(json_object_get(o, "share")), nv,
                   sizeof nv) < 0)
        return refuse(r, "mem-path too long");
      json_string_set(v, nv);
    }
    if (json_walk(r, v) < 0)
      return -1;
  }
  return 0;
}

static int push_json(struct rw *r, struct eng_strv *out, const char *opt, const char *arg)
{
  json_error_t je;
  json_t *o = json_loads(arg, 0, &je);
  if (!o)
    return refuse(r, "not JSON QEMU accepts (%s)", je.text);
  char *s = NULL;
  int rc = json_walk(r, o);
  if (rc == 0 && !(s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER)))
    rc = refuse(r, "out of memory");
  json_decref(o);
  if (rc == 0 && (eng_strv_push(out, opt) < 0 || eng_strv_push(out, s) < 0))
    rc = refuse(r, "out of memory");
  free(s);
  return rc;
}

/* Replace key's value in a key=value arg; *arg is freed and replaced. */
static int set_key(struct rw *r, char **arg, const char *key, const char *val)
{
  char cur[8];
  size_t at, len;
  if (!eng_cmdline_opt_get(*arg, key, cur, sizeof cur, &at, &len))
    return 0;
  char *n = eng_cmdline_splice(*arg, at, len, val);
  if (!n)
    return refuse(r, "out of memory");
  free(*arg);
  *arg = n;
  return 0;
}

static void path_in_dir(const struct rw *r, char *out, size_t olen, const char *suffix)
{
  snprintf(out, olen, "%s/%s%s", r->s->dir, r->s->name, suffix);
}

/* -chardev BACKEND,id=ID,...: unix socket paths and files rewritten. */
static int chardev(struct rw *r, char **arg)
{
  char be[32], id[128] = "", path[4200], v[8];
  eng_cmdline_opt_first(*arg, be, sizeof be);
  eng_cmdline_opt_get(*arg, "id", id, sizeof id, NULL, NULL);
  if (!strcmp(be, "socket") || !strcmp(be, "udp")) {
    if (eng_cmdline_opt_get(*arg, "host", v, sizeof v, NULL, NULL) ||
        eng_cmdline_opt_get(*arg, "port", v, sizeof v, NULL, NULL))
      return refuse(r, "a TCP/UDP chardev: the source holds its port (use a unix socket, path=)");
    if (!eng_cmdline_opt_get(*arg, "path", path, sizeof path, NULL, NULL))
      return 0;
    if (r->qmp_id && !strcmp(id, r->qmp_id) && !r->have_qmp) {
      r->have_qmp = true;
      path_in_dir(r, path, sizeof path, ".qmp");
    } else if (r->serial_id && !strcmp(id, r->serial_id) && !r->have_serial) {
      r->have_serial = true;
      path_in_dir(r, path, sizeof path, ".serial");
    } else {
      char suf[160];
      snprintf(suf, sizeof suf, "-%s.sock", id);
      path_in_dir(r, path, sizeof path, suf);
    }
    return set_key(r, arg, "path", path);
  }
  if (!strcmp(be, "file") || !strcmp(be, "pipe")) {
    char suf[160];
    snprintf(suf, sizeof suf, "-%s.log", id);
    path_in_dir(r, path, sizeof path, suf);
    return set_key(r, arg, "path", path);
  }
  return 0;
}

/* -qmp/-monitor/-serial/... "unix:PATH,server..." and friends. */
static int chr_spec(struct rw *r, const char *opt, char **arg, unsigned *nth)
{
  char path[4200], suf[64];
  if (!strncmp(*arg, "tcp:", 4) || !strncmp(*arg, "telnet:", 7) || !strncmp(*arg, "udp:", 4))
    return refuse(r, "a TCP/UDP %s: the source holds its port (use unix:PATH)", opt);
  if (!strncmp(*arg, "unix:", 5)) {
    bool qmp = !strcmp(opt, "qmp") || !strcmp(opt, "qmp-pretty");
    if (qmp && !r->have_qmp) {
      r->have_qmp = true;
      path_in_dir(r, path, sizeof path, ".qmp");
    } else if (!strcmp(opt, "serial") && !r->have_serial) {
      r->have_serial = true;
      path_in_dir(r, path, sizeof path, ".serial");
    } else {
      snprintf(suf, sizeof suf, "-%s%u.sock", opt, (*nth)++);
      path_in_dir(r, path, sizeof path, suf);
    }
    size_t len = strcspn(*arg + 5, ",");
    while ((*arg)[5 + len] == ',' && (*arg)[6 + len] == ',') /* a doubled comma */
      len += 2 + strcspn(*arg + 7 + len, ",");
    char *n = eng_cmdline_splice(*arg, 5, len, path);
    if (!n)
      return refuse(r, "out of memory");
    free(*arg);
    *arg = n;
  } else if (!strncmp(*arg, "file:", 5)) {
    snprintf(suf, sizeof suf, "-%s%u.log", opt, (*nth)++);
    path_in_dir(r, path, sizeof path, suf);
    char *n = malloc(strlen(path) + 6);
    if (!n)
      return refuse(r, "out of memory");
    sprintf(n, "file:%s", path);
    free(*arg);
    *arg = n;
  }
  return 0;
}

/* file=/filename= through the map (-drive, -blockdev key=value form). */
static int map_disk(struct rw *r, char **arg)
{
  static const char *const keys[] = { "file", "filename" };
  for (size_t i = 0; i < 2; i++) {
    char cur[4200], nv[4200];
    if (eng_cmdline_opt_get(*arg, keys[i], cur, sizeof cur, NULL, NULL) &&
        eng_cmdline_map_path(r->s->map, cur, nv, sizeof nv) &&
        (set_key(r, arg, keys[i], nv) < 0 || (r->s->mapped && eng_strv_push(r->s->mapped, nv) < 0)))
      return -1;
  }
  return 0;
}

/* -machine TYPE,... (or type=TYPE): the type pinned to what the source
 * runs. */
static int machine(struct rw *r, char **arg)
{
  char first[128], cur[8];
  r->have_machine = true;
  if (!r->s->machine)
    return 0;
  if (eng_cmdline_opt_get(*arg, "type", cur, sizeof cur, NULL, NULL))
    return set_key(r, arg, "type", r->s->machine);
  eng_cmdline_opt_first(*arg, first, sizeof first);
  size_t skip = first[0] ? strlen(first) : 0;
  const char *rest = *arg + skip;
  char *n = malloc(strlen(r->s->machine) + strlen(rest) + 2);
  if (!n)
    return refuse(r, "out of memory");
  sprintf(n, "%s%s%s", r->s->machine, skip || !rest[0] ? "" : ",", rest);
  free(*arg);
  *arg = n;
  return 0;
}

static int object(struct rw *r, char **arg)
{
  char qt[64], path[4200], share[8] = "", nv[4200];
  eng_cmdline_opt_first(*arg, qt, sizeof qt);
  if (strcmp(qt, "memory-backend-file") ||
      !eng_cmdline_opt_get(*arg, "mem-path", path, sizeof path, NULL, NULL))
    return 0;
  eng_cmdline_opt_get(*arg, "share", share, sizeof share, NULL, NULL);
  bool sh = !strcmp(share, "on") || !strcmp(share, "yes") || !strcmp(share, "true");
  if (mem_path(r, path, sh, nv, sizeof nv) < 0)
    return refuse(r, "mem-path too long");
  return set_key(r, arg, "mem-path", nv);
}

/* Which chardevs the first serial and the first control monitor use. */
static void prescan(struct rw *r, char *const *argv, size_t argc)
{
  for (size_t i = 1; i + 1 < argc; i++) {
    const char *o = argv[i] + (argv[i][0] == '-' && argv[i][1] == '-');
    if (!r->serial_id && !strcmp(o, "-serial") && !strncmp(argv[i + 1], "chardev:", 8))
      r->serial_id = argv[i + 1] + 8;
    if (!r->qmp_id && !strcmp(o, "-mon") && strstr(argv[i + 1], "mode=control")) {
      static char id[128];
      if (eng_cmdline_opt_get(argv[i + 1], "chardev", id, sizeof id, NULL, NULL))
        r->qmp_id = id;
    }
  }
}

static int one(struct rw *r, struct eng_strv *out, const char *opt, const char *val, unsigned *nth)
{
  static const char *const refused[] = { "add-fd", "readconfig", "chroot", "spice", "gdb" };
  for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
    if (!strcmp(opt, refused[i]))
      return refuse(r, "-%s cannot be rewritten for a second process (%s)", opt,
                    !strcmp(opt, "add-fd")       ? "descriptors passed by the parent"
                    : !strcmp(opt, "readconfig") ? "a configuration file is not rewritten"
                    : !strcmp(opt, "chroot")     ? "paths are inside the chroot"
                                                 : "the source holds its port");
  if (!strcmp(opt, "snapshot"))
    return refuse(r, "-snapshot keeps the disks' writes in a temporary overlay only the source "
                     "can open");
  if (!strcmp(opt, "incoming") || !strcmp(opt, "daemonize") || !strcmp(opt, "pidfile") ||
      !strcmp(opt, "loadvm"))
    return 0;
  if (!val)
    return eng_strv_push(out, opt - 1) < 0 ? refuse(r, "out of memory") : 0;
  if (!strcmp(opt, "vnc") && strcmp(val, "none"))
    return refuse(r, "the source holds the VNC display (use -vnc none)");
  if (val[0] == '{')
    return push_json(r, out, opt - 1, val);
  if (check_fds(r, val) < 0)
    return -1;
  char *a = strdup(val), v[8];
  if (!a)
    return refuse(r, "out of memory");
  int rc = 0;
  if (!strcmp(opt, "netdev") && eng_cmdline_opt_get(a, "hostfwd", v, sizeof v, NULL, NULL))
    rc = refuse(r, "hostfwd= ports are held by the source");
  else if (!strcmp(opt, "chardev"))
    rc = chardev(r, &a);
  else if (!strcmp(opt, "qmp") || !strcmp(opt, "qmp-pretty") || !strcmp(opt, "monitor") ||
           !strcmp(opt, "serial") || !strcmp(opt, "parallel") || !strcmp(opt, "debugcon"))
    rc = chr_spec(r, opt, &a, nth);
  else if (!strcmp(opt, "drive") || !strcmp(opt, "blockdev"))
    rc = map_disk(r, &a);
  else if (!strcmp(opt, "object"))
    rc = object(r, &a);
  else if (!strcmp(opt, "machine") || !strcmp(opt, "M"))
    rc = machine(r, &a);
  else if (!strcmp(opt, "D")) {
    char p[4200];
    path_in_dir(r, p, sizeof p, "-qemu.log");
    free(a);
    rc = (a = strdup(p)) ? 0 : refuse(r, "out of memory");
  }
  if (rc == 0 && (eng_strv_push(out, opt - 1) < 0 || eng_strv_push(out, a) < 0))
    rc = refuse(r, "out of memory");
  free(a);
  return rc;
}

int eng_spawn_rewrite(char *const *argv, size_t argc, const struct eng_spawn_spec *s,
                      struct eng_strv *out, char *err, size_t errlen)
{
  struct rw r = { .s = s, .err = err, .errlen = errlen, .of = "" };
  unsigned nth = 1;
  *out = (struct eng_strv){ 0 };
  if (argc < 1 || !argv[0][0]) {
    snprintf(err, errlen, "the source's command line is empty");
    return -1;
  }
  prescan(&r, argv, argc);
  r.arg = argv[0];
  if (eng_strv_push(out, s->binary ? s->binary : argv[0]) < 0)
    goto nomem;
  for (size_t i = 1; i < argc; i++) {
    r.argn = i;
    r.arg = argv[i];
    r.of = "";
    if (argv[i][0] != '-' || !argv[i][1]) {
      refuse(&r, "not an option where one was expected (the command line was not understood)");
      goto fail;
    }
    /* "--opt" is "-opt"; `opt` keeps the one dash before it for output. */
    const char *opt = argv[i] + 1 + (argv[i][1] == '-');
    char dashed[128];
    snprintf(dashed, sizeof dashed, "-%s", opt);
    const char *val = NULL;
    if (!eng_cmdline_is_flag(opt)) {
      if (i + 1 >= argc) {
        refuse(&r, "option without its argument");
        goto fail;
      }
      val = argv[++i];
      r.argn = i; /* a refusal names the value and its option */
      r.arg = val;
      r.of = argv[i - 1];
    }
    if (one(&r, out, dashed + 1, val, &nth) < 0)
      goto fail;
  }
  if (!r.have_qmp) {
    snprintf(err, errlen,
             "cannot make the destination from the source's command line: it has "
             "no unix QMP monitor (-qmp unix:PATH or -mon on a socket chardev) to "
             "give the new process");
    goto fail;
  }
  if (!r.have_machine && s->machine &&
      (eng_strv_push(out, "-machine") < 0 || eng_strv_push(out, s->machine) < 0))
    goto nomem;
  char pid[4200];
  path_in_dir(&r, pid, sizeof pid, ".pid");
  if (eng_strv_push(out, "-pidfile") < 0 || eng_strv_push(out, pid) < 0)
    goto nomem;
  for (int k = 0; k < 2; k++)
    if (s->incoming[k] &&
        (eng_strv_push(out, "-incoming") < 0 || eng_strv_push(out, s->incoming[k]) < 0))
      goto nomem;
  return 0;
nomem:
  snprintf(err, errlen, "rewriting the source's command line: out of memory");
fail:
  eng_strv_free(out);
  return -1;
}
