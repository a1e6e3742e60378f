/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What --lab means, through the public API only: qmig_lab_apply() expands a
 * lab.json into the ordinary options (qmig_get reads them back), keeps what
 * the caller set for data-uri/data-host/qmp-tls-dir, leaves the report's
 * config as the old built-in expansion did, and qmig_validate() checks the
 * result the way qmig_run() would. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "qmig.h"

static char dir[] = "/tmp/qmig-test-lab-apply-XXXXXX";

static void write_lab(const char *extra)
{
  char path[128];
  snprintf(path, sizeof path, "%s/lab.json", dir);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fprintf(f,
          "{\"src_qmp\":\"unix:%s/src.qmp\",\"dst_qmp\":\"unix:%s/dst.qmp\","
          "\"src_serial\":\"%s/src.serial\",\"dst_serial\":\"%s/dst.serial\","
          "\"accel\":\"tcg\",\"mem_mib\":256,\"fill_mib\":64,\"dirty_mibps\":5,"
          "\"heartbeat_ms\":3%s}\n",
          dir, dir, dir, dir, extra);
  fclose(f);
}

/* qmig_get(m, key) is `want` (NULL: unset). */
static void has(struct qmig_migration *m, const char *key, const char *want)
{
  char *v = qmig_get(m, key);
  if (want == NULL ? v != NULL : v == NULL || strcmp(v, want) != 0)
    fail_msg("%s: '%s', expected '%s'", key, v ? v : "(unset)", want ? want : "(unset)");
  free(v);
}

static void test_get(void **state)
{
  (void)state;
  struct qmig_migration *m = qmig_new();
  has(m, "src", NULL);
  has(m, "downtime-limit", "300");
  has(m, "data-port", "49152-49215");
  has(m, "preflight", "on");
  has(m, "tls", "none");
  has(m, "cpu-throttle-initial", NULL);
  has(m, "no-such-key", NULL);
  assert_int_equal(qmig_set(m, "max-bandwidth", "1K"), 0);
  has(m, "max-bandwidth", "1024");
  qmig_free(m);
}

static void test_apply(void **state)
{
  (void)state;
  char want[160];
  write_lab(",\"dst_addr\":\"198.18.0.2\"");
  struct qmig_migration *m = qmig_new();
  char err[512];
  assert_int_equal(qmig_set(m, "quit-source", "off"), 0);
  if (qmig_lab_apply(m, dir, err, sizeof err) != 0)
    fail_msg("qmig_lab_apply: %s", err);
  snprintf(want, sizeof want, "unix:%s/src.qmp", dir);
  has(m, "src", want);
  snprintf(want, sizeof want, "unix:%s/dst.qmp", dir);
  has(m, "dst", want);
  snprintf(want, sizeof want, "%s/dst.serial", dir);
  has(m, "dst-serial", want);
  has(m, "lab", dir);
  has(m, "heartbeat-ms", "3");
  has(m, "quit-source", "on");
  has(m, "data-host", "198.18.0.2");
  has(m, "ram-in-use", "0"); /* the fill is a hint, not the option */
  assert_int_equal(qmig_validate(m), 0);
  /* Options given later override the lab's. */
  assert_int_equal(qmig_set(m, "quit-source", "off"), 0);
  has(m, "quit-source", "off");
  qmig_free(m);

  /* What the caller set for the stream's address stays. */
  m = qmig_new();
  assert_int_equal(qmig_set(m, "data-host", "198.18.0.9"), 0);
  assert_int_equal(qmig_lab_apply(m, dir, err, sizeof err), 0);
  has(m, "data-host", "198.18.0.9");
  qmig_free(m);
}

static void test_apply_tls(void **state)
{
  (void)state;
  char extra[400];
  snprintf(extra, sizeof extra,
           ",\"src_qmp_tls\":\"tls:127.0.0.1:4001\",\"dst_qmp_tls\":"
           "\"tls:127.0.0.1:4002\",\"qmp_tls_dir\":\"%s\",\"data_uri\":\"tcp:127.0.0.1:4003\"",
           dir);
  write_lab(extra);
  struct qmig_migration *m = qmig_new();
  char err[512];
  assert_int_equal(qmig_set(m, "data-uri", "unix:/tmp/x.sock"), 0);
  assert_int_equal(qmig_lab_apply(m, dir, err, sizeof err), 0);
  has(m, "src", "tls:127.0.0.1:4001");
  has(m, "dst", "tls:127.0.0.1:4002");
  has(m, "qmp-tls-dir", dir);
  has(m, "data-uri", "unix:/tmp/x.sock");
  assert_int_equal(qmig_validate(m), 0);
  qmig_free(m);
}

static void test_refused(void **state)
{
  (void)state;
  struct qmig_migration *m = qmig_new();
  char err[512] = "";
  assert_int_equal(qmig_lab_apply(m, "/nonexistent/lab", err, sizeof err), -1);
  assert_non_null(strstr(err, "lab: /nonexistent/lab"));
  has(m, "src", NULL); /* nothing half-applied */
  /* No lab.json in an existing directory. */
  char path[128];
  snprintf(path, sizeof path, "%s/lab.json", dir);
  unlink(path);
  assert_int_equal(qmig_lab_apply(m, dir, err, sizeof err), -1);
  assert_non_null(strstr(err, "no lab here"));
  /* qmig_validate: the rules between options, message in qmig_error. */
  assert_int_equal(qmig_validate(m), -1);
  assert_non_null(strstr(qmig_error(m), "both a source"));
  assert_int_equal(qmig_set(m, "src", "unix:/a"), 0);
  assert_int_equal(qmig_set(m, "dst", "unix:/b"), 0);
  assert_int_equal(qmig_set(m, "tls", "psk"), 0);
  assert_int_equal(qmig_validate(m), -1);
  assert_non_null(strstr(qmig_error(m), "tls psk needs tls-dir"));
  assert_int_equal(qmig_set_ram_in_use_hint(m, 1, ""), -1);
  qmig_free(m);
}

/* qmig_lab_info names the Linux guest, its address and the switch's client
 * namespace (what the bench's probe knob aims at); "" / 0 for the test
 * guest. */
static void test_info_guest(void **state)
{
  (void)state;
  char err[512];
  struct qmig_lab_info li = QMIG_LAB_INFO_INIT;
  write_lab(",\"guest\":\"linux\",\"guest_addr\":\"198.18.1.2\",\"guest_udp_echo_port\":7,"
            "\"client_netns\":\"qmig-0-cli\"");
  if (qmig_lab_info(dir, &li, err, sizeof err) != 0)
    fail_msg("qmig_lab_info: %s", err);
  assert_string_equal(li.guest, "linux");
  assert_string_equal(li.guest_addr, "198.18.1.2");
  assert_int_equal(li.guest_udp_echo_port, 7);
  assert_string_equal(li.client_netns, "qmig-0-cli");
  write_lab("");
  assert_int_equal(qmig_lab_info(dir, &li, err, sizeof err), 0);
  assert_string_equal(li.guest, "");
  assert_string_equal(li.guest_addr, "");
  assert_int_equal(li.guest_udp_echo_port, 0);
  assert_string_equal(li.client_netns, "");
}

static int setup(void **state)
{
  (void)state;
  return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
  (void)state;
  char path[128];
  snprintf(path, sizeof path, "%s/lab.json", dir);
  unlink(path);
  return rmdir(dir);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_get),        cmocka_unit_test(test_apply),
    cmocka_unit_test(test_apply_tls),  cmocka_unit_test(test_refused),
    cmocka_unit_test(test_info_guest),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
