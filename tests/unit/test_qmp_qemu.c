/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tests/unit/test_qmp_qemu.c - the QMP client against a real QEMU (started
 * here with -S, no guest; skipped when qemu-system-x86_64 is missing).  The
 * cases a real QEMU will not produce are in test_qmp.c, test_qmp_faults.c
 * and test_qmp_connect.c (a scripted fake server).  Also the schema kept as
 * text (qmp_execute_text, engine/schema.c) against that QEMU's whole parsed
 * query-qmp-schema. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine/internal.h"
#include "qmp/qmp.h"

#define T 5000 /* ms: generous timeout for calls that should succeed */

struct qemu_fx {
  char dir[64], sock[128], pidfile[128];
  struct qmp_conn *c;
};

static bool in_path(const char *prog)
{
  const char *path = getenv("PATH");
  char buf[4096];
  for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
    size_t n = strcspn(p, ":");
    snprintf(buf, sizeof buf, "%.*s/%s", (int)n, p, prog);
    if (access(buf, X_OK) == 0)
      return true;
    p += n + (p[n] == ':');
  }
  return false;
}

static int qemu_setup(void **state)
{
  struct qemu_fx *q = calloc(1, sizeof *q);
  if (!q)
    return -1;
  snprintf(q->dir, sizeof q->dir, "/tmp/qmig-test-qemu-XXXXXX");
  if (!mkdtemp(q->dir)) {
    free(q);
    return -1;
  }
  snprintf(q->sock, sizeof q->sock, "%s/qmp.sock", q->dir);
  snprintf(q->pidfile, sizeof q->pidfile, "%s/qemu.pid", q->dir);
  /* Become the parent of the daemonized QEMU (it double-forks away from
   * us) so that teardown can reap it instead of relying on pid 1. */
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  *state = q;
  return 0;
}

static bool alive(pid_t pid)
{
  char path[64], st[256];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "r");
  if (!f)
    return false;
  size_t n = fread(st, 1, sizeof st - 1, f);
  fclose(f);
  st[n] = '\0';
  const char *rp = strrchr(st, ')'); /* "pid (comm) S ..." */
  return rp && rp[1] == ' ' && rp[2] != 'Z';
}

static int qemu_teardown(void **state)
{
  struct qemu_fx *q = *state;
  qmp_close(q->c);
  FILE *f = fopen(q->pidfile, "r");
  int pid = 0;
  if (f) {
    if (fscanf(f, "%d", &pid) != 1)
      pid = 0;
    fclose(f);
  }
  char comm[64] = "", path[64];
  snprintf(path, sizeof path, "/proc/%d/comm", pid);
  if (pid > 1 && (f = fopen(path, "r"))) {
    if (!fgets(comm, sizeof comm, f))
      comm[0] = '\0';
    fclose(f);
  }
  if (strncmp(comm, "qemu", 4) == 0) { /* never kill a recycled pid */
    kill(pid, SIGTERM);
    for (int i = 0; i < 300 && alive(pid); i++)
      usleep(10000);
    if (alive(pid))
      kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
  }
  while (waitpid(-1, NULL, WNOHANG) > 0) /* daemonize's middle process */
    ;
  prctl(PR_SET_CHILD_SUBREAPER, 0);
  unlink(q->sock);
  unlink(q->pidfile);
  rmdir(q->dir);
  free(q);
  return 0;
}

static void test_real_qemu(void **state)
{
  struct qemu_fx *q = *state;
  const char *qemu = "qemu-system-x86_64";
  if (!in_path(qemu)) {
    print_message("skipping: %s not found in PATH\n", qemu);
    skip();
  }
  char qmparg[200];
  snprintf(qmparg, sizeof qmparg, "unix:%s,server=on,wait=off", q->sock);
  char *argv[] = { (char *)qemu, "-machine", "none",       "-nodefaults", "-display", "none",
                   "-qmp",       qmparg,     "-daemonize", "-pidfile",    q->pidfile, NULL };
  pid_t pid;
  assert_int_equal(posix_spawnp(&pid, qemu, NULL, NULL, argv, environ), 0);
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  /* -daemonize: the parent exits once the monitor socket listens. */
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

  char addr[160], err[512] = "";
  snprintf(addr, sizeof addr, "unix:%s", q->sock);
  q->c = qmp_connect("qemu", addr, T, err, sizeof err);
  if (!q->c)
    fail_msg("%s", err);
  const struct qmp_version *v = qmp_version(q->c);
  print_message("    QEMU %d.%d.%d (%s)\n", v->major, v->minor, v->micro, v->package);
  assert_true(v->major > 0);

  json_t *ret = NULL;
  assert_int_equal(qmp_cmd(q->c, &ret, T, "query-status", NULL), 0);
  assert_true(json_is_string(json_object_get(ret, "status")));
  assert_true(json_is_boolean(json_object_get(ret, "running")));
  json_decref(ret);

  /* A real error reply, and the connection goes on. */
  assert_int_equal(qmp_execute(q->c, "no-such-command", NULL, NULL, T), -1);
  assert_string_equal(qmp_error_class(q->c), "CommandNotFound");
  assert_false(qmp_broken(q->c));
  assert_int_equal(qmp_cmd(q->c, &ret, T, "query-version", NULL), 0);
  assert_int_equal(json_integer_value(json_object_get(json_object_get(ret, "qemu"), "major")),
                   v->major);
  json_decref(ret);

  /* query-qmp-schema as text: the same array as the parsed reply, and
   * every entity of it found by name, equal to the parsed one. */
  json_t *full = NULL;
  assert_int_equal(qmp_cmd(q->c, &full, T, "query-qmp-schema", NULL), 0);
  char *text = NULL;
  size_t len = 0;
  assert_int_equal(qmp_execute_text(q->c, "query-qmp-schema", NULL, &text, &len, T), 0);
  json_t *again = json_loadb(text, len, 0, NULL);
  assert_true(json_equal(again, full));
  json_decref(again);
  struct eng_schema *s = eng_schema_from_text(text, len);
  assert_non_null(s);
  size_t i, found = 0;
  json_t *e;
  json_array_foreach(full, i, e)
  {
    const char *name = json_string_value(json_object_get(e, "name"));
    assert_non_null(name);
    json_t *got = eng_schema_entity(s, name);
    if (!got || !json_equal(got, e))
      fail_msg("schema entity %s: %s", name, got ? "differs" : "not found");
    found++;
  }
  print_message("    %zu schema entities, each found by name\n", found);
  assert_true(found > 500);
  assert_true(eng_schema_cmd_has_arg(s, "migrate", "uri"));
  assert_false(eng_schema_cmd_has_arg(s, "migrate", "no-such-arg"));
  assert_null(eng_schema_entity(s, "no-such-entity"));
  eng_schema_free(s);
  json_decref(full);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_real_qemu, qemu_setup, qemu_teardown),
  };
  return cmocka_run_group_tests_name("qmp against QEMU", tests, NULL, NULL);
}
