/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The rewrite of a running QEMU's argv into its successor's
 * (engine/spawn_argv.c) over argv fixtures: what is kept, rewritten,
 * dropped, appended, and every refusal naming the argument. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "engine/spawn.h"
#include "tests/unit/unit.h"

#define N(a) (sizeof a / sizeof a[0])

/* The lab's source, as lab/qemu.c starts it (with --ram-share on 7.2). */
static char *const lab_src[] = {
  "/usr/bin/qemu-system-x86_64",
  "-name",
  "qmig-lab-src",
  "-machine",
  "pc,memory-backend=ram0",
  "-object",
  "memory-backend-file,id=ram0,size=65544K,mem-path=/dev/shm/g.ram,share=on",
  "-m",
  "65544K",
  "-nodefaults",
  "-uuid",
  "58283944-d791-4248-a7f8-89522844a3fc",
  "-chardev",
  "socket,id=ser0,path=/run/a/src.serial,server=on,wait=off",
  "-serial",
  "chardev:ser0",
  "-qmp",
  "unix:/run/a/src.qmp,server=on,wait=off",
  "-pidfile",
  "/run/a/src.pid",
  "-blockdev",
  "driver=file,filename=/img/disk.raw,node-name=drive0-file",
  "-drive",
  "file=/img/other.qcow2,if=none,id=d1",
  "-daemonize",
  "-incoming",
  "defer",
};

static const char *find_after(const struct eng_strv *v, const char *opt, unsigned nth)
{
  for (size_t i = 0; i + 1 < v->n; i++)
    if (!strcmp(v->v[i], opt) && nth-- == 0)
      return v->v[i + 1];
  return NULL;
}

static size_t count(const struct eng_strv *v, const char *opt)
{
  size_t n = 0;
  for (size_t i = 0; i < v->n; i++)
    n += !strcmp(v->v[i], opt);
  return n;
}

static struct eng_spawn_spec spec(void)
{
  return (struct eng_spawn_spec){ .dir = "/run/b",
                                  .name = "dst",
                                  .map = "/img=/img2,/none=/x",
                                  .incoming = { "defer", NULL },
                                  .keep_shared_ram = true };
}

static void test_lab_source(void **state)
{
  (void)state;
  struct eng_strv out;
  char err[1024];
  struct eng_spawn_spec s = spec();
  struct eng_strv mapped = { 0 };
  s.mapped = &mapped;
  assert_int_equal(eng_spawn_rewrite(lab_src, N(lab_src), &s, &out, err, sizeof err), 0);
  assert_int_equal(mapped.n, 2); /* the images only the new process opens */
  assert_string_equal(mapped.v[0], "/img2/disk.raw");
  assert_string_equal(mapped.v[1], "/img2/other.qcow2");
  eng_strv_free(&mapped);
  s.mapped = NULL;
  assert_string_equal(out.v[0], "/usr/bin/qemu-system-x86_64");
  assert_string_equal(find_after(&out, "-uuid", 0), "58283944-d791-4248-a7f8-89522844a3fc");
  assert_string_equal(find_after(&out, "-name", 0), "qmig-lab-src");
  assert_string_equal(find_after(&out, "-qmp", 0), "unix:/run/b/dst.qmp,server=on,wait=off");
  assert_string_equal(find_after(&out, "-chardev", 0),
                      "socket,id=ser0,path=/run/b/dst.serial,server=on,wait=off");
  assert_string_equal(find_after(&out, "-serial", 0), "chardev:ser0");
  assert_string_equal(find_after(&out, "-blockdev", 0),
                      "driver=file,filename=/img2/disk.raw,node-name=drive0-file");
  assert_string_equal(find_after(&out, "-drive", 0), "file=/img2/other.qcow2,if=none,id=d1");
  /* shared RAM kept: the new process maps the same pages */
  assert_non_null(strstr(find_after(&out, "-object", 0), "mem-path=/dev/shm/g.ram,"));
  assert_int_equal(count(&out, "-daemonize"), 0);
  assert_int_equal(count(&out, "-pidfile"), 1);
  assert_string_equal(find_after(&out, "-pidfile", 0), "/run/b/dst.pid");
  assert_int_equal(count(&out, "-incoming"), 1);
  assert_string_equal(find_after(&out, "-incoming", 0), "defer");
  assert_string_equal(out.v[out.n - 1], "defer");
  assert_null(out.v[out.n]);
  eng_strv_free(&out);

  /* A new binary; a normal migration gets RAM of its own beside the
   * source's; cpr's two incoming channels in order. */
  s.binary = "/opt/qemu10/bin/qemu-system-x86_64";
  s.keep_shared_ram = false;
  s.incoming[0] = "unix:/run/b/dst-main.sock";
  s.incoming[1] = "{\"channel-type\":\"cpr\"}";
  assert_int_equal(eng_spawn_rewrite(lab_src, N(lab_src), &s, &out, err, sizeof err), 0);
  assert_string_equal(out.v[0], s.binary);
  /* no machine given: -machine as it was */
  assert_string_equal(find_after(&out, "-machine", 0), "pc,memory-backend=ram0");
  assert_non_null(strstr(find_after(&out, "-object", 0), "mem-path=/dev/shm/g.ram.dst,share=on"));
  assert_string_equal(find_after(&out, "-incoming", 0), "unix:/run/b/dst-main.sock");
  assert_string_equal(find_after(&out, "-incoming", 1), "{\"channel-type\":\"cpr\"}");
  eng_strv_free(&out);
}

/* The machine type pinned to the source's (an alias is a new binary's
 * newest type): the first item, type=, or appended when absent. */
static void test_machine(void **state)
{
  (void)state;
  struct eng_strv out;
  char err[1024];
  struct eng_spawn_spec s = spec();
  s.machine = "pc-i440fx-7.2";
  assert_int_equal(eng_spawn_rewrite(lab_src, N(lab_src), &s, &out, err, sizeof err), 0);
  assert_string_equal(find_after(&out, "-machine", 0), "pc-i440fx-7.2,memory-backend=ram0");
  eng_strv_free(&out);
  char *const typed[] = { "qemu", "-qmp", "unix:/q,server=on", "-M", "type=q35,accel=kvm" };
  assert_int_equal(eng_spawn_rewrite(typed, N(typed), &s, &out, err, sizeof err), 0);
  assert_string_equal(find_after(&out, "-M", 0), "type=pc-i440fx-7.2,accel=kvm");
  eng_strv_free(&out);
  char *const keys[] = { "qemu", "-qmp", "unix:/q,server=on", "-machine", "accel=tcg" };
  assert_int_equal(eng_spawn_rewrite(keys, N(keys), &s, &out, err, sizeof err), 0);
  assert_string_equal(find_after(&out, "-machine", 0), "pc-i440fx-7.2,accel=tcg");
  eng_strv_free(&out);
  char *const none[] = { "qemu", "-qmp", "unix:/q,server=on" };
  assert_int_equal(eng_spawn_rewrite(none, N(none), &s, &out, err, sizeof err), 0);
  assert_string_equal(find_after(&out, "-machine", 0), "pc-i440fx-7.2");
  eng_strv_free(&out);
}

/* JSON -blockdev: filename mapped; "--opt" spelling; a comma in a path. */
static void test_json_and_commas(void **state)
{
  (void)state;
  char *const argv[] = {
    "qemu",
    "--qmp",
    "unix:/a,,b/q.sock,server=on,wait=off",
    "-blockdev",
    "{\"driver\":\"file\",\"filename\":\"/img/d.raw\",\"node-name\":\"f\"}",
    "-monitor",
    "unix:/a/mon.sock,server=on,wait=off",
    "-object",
    "{\"qom-type\":\"memory-backend-file\",\"id\":\"m\",\"mem-path\":\"/dev/shm/x\",\"share\":true,\"size\":1024}",
  };
  struct eng_strv out;
  char err[1024];
  struct eng_spawn_spec s = spec();
  s.keep_shared_ram = false;
  assert_int_equal(eng_spawn_rewrite(argv, N(argv), &s, &out, err, sizeof err), 0);
  assert_string_equal(find_after(&out, "-qmp", 0), "unix:/run/b/dst.qmp,server=on,wait=off");
  assert_non_null(strstr(find_after(&out, "-blockdev", 0), "\"filename\":\"/img2/d.raw\""));
  assert_string_equal(find_after(&out, "-monitor", 0),
                      "unix:/run/b/dst-monitor1.sock,server=on,wait=off");
  assert_non_null(strstr(find_after(&out, "-object", 0), "\"mem-path\":\"/dev/shm/x.dst\""));
  eng_strv_free(&out);
}

struct refusal {
  const char *opt, *val; /* val NULL: a flag */
  const char *why;       /* substring of the message */
};

static void test_refusals(void **state)
{
  (void)state;
  static const struct refusal r[] = {
    { "-netdev", "tap,id=n0,fd=3", "fd=3 is a file descriptor the source inherited" },
    { "-netdev", "tap,id=n0,vhost=on,vhostfd=5", "vhostfd=5" },
    { "-add-fd", "fd=4,set=1", "-add-fd cannot be rewritten" },
    { "-drive", "file=/dev/fdset/1,if=none", "/dev/fdset/" },
    { "-blockdev", "{\"driver\":\"file\",\"filename\":\"/x\",\"fd\":3}",
      "\"fd\" is a file descriptor" },
    { "-chardev", "socket,id=c,host=127.0.0.1,port=4444,server=on", "holds its port" },
    { "-qmp", "tcp:127.0.0.1:4444,server=on", "holds its port" },
    { "-vnc", ":1", "VNC" },
    { "-netdev", "user,id=n,hostfwd=tcp::2222-:22", "hostfwd" },
    { "-readconfig", "/etc/q.cfg", "configuration file" },
    { "-snapshot", NULL, "temporary overlay" },
    { "-blockdev", "{not json", "not JSON" },
  };
  for (size_t i = 0; i < N(r); i++) {
    char *argv[8] = { "qemu", "-qmp", "unix:/a/q,server=on", (char *)r[i].opt, (char *)r[i].val };
    size_t argc = r[i].val ? 5 : 4;
    struct eng_strv out = { 0 };
    char err[1024] = "";
    struct eng_spawn_spec s = spec();
    assert_int_equal(eng_spawn_rewrite(argv, argc, &s, &out, err, sizeof err), -1);
    assert_null(out.v);
    char arg[300];
    snprintf(arg, sizeof arg, "argument %zu '%s'", argc - 1, r[i].val ? r[i].val : r[i].opt);
    if (!strstr(err, arg) || !strstr(err, r[i].why))
      fail_msg("%s %s: wanted '%s' and '%s' in: %s", r[i].opt, r[i].val ? r[i].val : "", arg,
               r[i].why, err);
  }
}

/* No QMP to connect to, an option without its value, an empty argv. */
static void test_unusable(void **state)
{
  (void)state;
  struct eng_strv out;
  char err[1024];
  struct eng_spawn_spec s = spec();
  char *const no_qmp[] = { "qemu", "-m", "1G" };
  assert_int_equal(eng_spawn_rewrite(no_qmp, N(no_qmp), &s, &out, err, sizeof err), -1);
  assert_non_null(strstr(err, "no unix QMP monitor"));
  char *const cut[] = { "qemu", "-qmp", "unix:/q,server=on", "-m" };
  assert_int_equal(eng_spawn_rewrite(cut, N(cut), &s, &out, err, sizeof err), -1);
  assert_non_null(strstr(err, "argument 3 '-m': option without its argument"));
  char *const stray[] = { "qemu", "-qmp", "unix:/q,server=on", "disk.img" };
  assert_int_equal(eng_spawn_rewrite(stray, N(stray), &s, &out, err, sizeof err), -1);
  assert_non_null(strstr(err, "argument 3 'disk.img'"));
  assert_int_equal(eng_spawn_rewrite(stray, 0, &s, &out, err, sizeof err), -1);
}

UNIT_MAIN(cmocka_unit_test(test_lab_source), cmocka_unit_test(test_machine),
          cmocka_unit_test(test_json_and_commas), cmocka_unit_test(test_refusals),
          cmocka_unit_test(test_unusable))
