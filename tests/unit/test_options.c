/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Option validation through the public API: every bad key or value is
 * refused with a message naming the key, and cross-option rules stop a run
 * before anything is contacted (QMIG_USAGE). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "qmig.h"
#include "tests/unit/unit.h"

static void refused(const char *key, const char *value, const char *want)
{
  struct qmig_migration *m = qmig_new();
  assert_non_null(m);
  assert_int_equal(qmig_set(m, key, value), -1);
  if (!strstr(qmig_error(m), want))
    fail_msg("qmig_set(%s, %s): '%s' lacks '%s'", key, value, qmig_error(m), want);
  qmig_free(m);
}

static void accepted(const char *key, const char *value)
{
  struct qmig_migration *m = qmig_new();
  if (qmig_set(m, key, value) != 0)
    fail_msg("qmig_set(%s, %s) refused: %s", key, value, qmig_error(m));
  qmig_free(m);
}

static void test_bad_values(void **state)
{
  (void)state;
  refused("no-such-option", "1", "unknown option 'no-such-option'");
  refused("src", "/tmp/x.qmp", "'src'");
  refused("src", "tcp:host", "'src'");
  refused("src", "tcp:host:0", "'src'");
  refused("dst", "tcp:host:65536", "'dst'");
  refused("src", "", "empty");
  refused("multifd-channels", "256", "'multifd-channels'");
  refused("multifd-channels", "-1", "'multifd-channels'");
  refused("multifd-channels", "4x", "'multifd-channels'");
  refused("downtime-limit", "0", "'downtime-limit'");
  refused("max-bandwidth", "12Q", "'max-bandwidth'");
  refused("max-bandwidth", "99999999999999999999", "'max-bandwidth'");
  refused("max-bandwidth", "20000000T", "'max-bandwidth'");
  refused("xbzrle", "maybe", "'xbzrle'");
  refused("tls", "kerberos", "'tls'");
  refused("multifd-compression", "lz4", "'multifd-compression'");
  refused("data-port", "70000", "'data-port'");
  refused("data-port", "50000-40000", "'data-port'");
  refused("data-port", "-", "'data-port'");
  refused("data-uri", "rdma:1.2.3.4:5", "'data-uri'");
  refused("data-connect", "tcp:host", "'data-connect'");
  refused("cpu-throttle-initial", "100", "'cpu-throttle-initial'");
  refused("lab", "/nonexistent/lab", "lab");
  refused("src", "tls:host", "'src'");
  refused("data-uri", "tls:127.0.0.1:4444", "'data-uri'"); /* QMP addresses only */
  refused("tunnel", "host", "not HOST:PORT or ssh://");
  refused("tunnel", "ssh://", "not ssh://");
  refused("tunnel", "ssh://a b", "not ssh://");
  refused("tunnel", "ssh://h;rm", "not ssh://");
  refused("tunnel", "ssh://@h", "not ssh://");
  refused("tunnel", "ssh://u@v@h", "not ssh://");
  refused("postcopy-recover-window", "-1", "'postcopy-recover-window'");
}

static void test_good_values(void **state)
{
  (void)state;
  accepted("src", "unix:/run/a.qmp");
  accepted("dst", "tcp:[::1]:4444");
  accepted("src", "tls:qemu1.example:4444");
  accepted("dst", "tls:[::1]:4444");
  accepted("insecure-qmp-tcp", "on");
  accepted("max-bandwidth", "1G");
  accepted("max-bandwidth", "512MiB");
  accepted("max-bandwidth", "0");
  accepted("xbzrle", "on");
  accepted("data-port", "49152-49215");
  accepted("data-port", "5000");
  accepted("tls", "x509");
  accepted("multifd-compression", "zstd");
  accepted("tunnel", "198.18.0.2:7000");
  accepted("tunnel", "ssh://root@198.18.0.2:2222");
  accepted("tunnel", "ssh://host.example");
  accepted("postcopy-recover-window", "0");
}

/* Rules between options: refused by qmig_run before any connection. */
static void rule(const char *want, const char *const *kv)
{
  struct qmig_migration *m = qmig_new();
  for (; *kv; kv += 2)
    assert_int_equal(qmig_set(m, kv[0], kv[1]), 0);
  assert_int_equal(qmig_run(m), QMIG_USAGE);
  if (!strstr(qmig_error(m), want))
    fail_msg("'%s' lacks '%s'", qmig_error(m), want);
  assert_int_equal(qmig_report(m)->outcome, QMIG_USAGE);
  assert_int_equal(qmig_run(m), QMIG_USAGE); /* runs once */
  qmig_free(m);
}

static void test_rules(void **state)
{
  (void)state;
  rule("both a source", (const char *const[]){ "dst", "unix:/b", NULL });
  rule("same", (const char *const[]){ "src", "unix:/a", "dst", "unix:/a", NULL });
  rule("needs multifd-channels", (const char *const[]){ "src", "unix:/a", "dst", "unix:/b",
                                                        "multifd-compression", "zstd", NULL });
  rule("needs qmp-tls-dir",
       (const char *const[]){ "src", "tls:127.0.0.1:1", "dst", "unix:/b", NULL });
  rule("no QMP address is tls",
       (const char *const[]){ "src", "unix:/a", "dst", "unix:/b", "qmp-tls-dir", "/x", NULL });
  rule("needs tls-dir",
       (const char *const[]){ "src", "unix:/a", "dst", "unix:/b", "tls", "psk", NULL });
  rule("data-connect needs data-uri",
       (const char *const[]){ "src", "unix:/a", "dst", "unix:/b", "data-connect", "tcp:127.0.0.1:9",
                              NULL });
  rule("but tls is none",
       (const char *const[]){ "src", "unix:/a", "dst", "unix:/b", "tls-dir", "/x", NULL });
  rule("needs tls-hostname",
       (const char *const[]){ "src", "unix:/a", "dst", "unix:/b", "tls", "x509", "tls-dir", "/x",
                              "data-uri", "unix:/s", NULL });
  rule("xbzrle is off", (const char *const[]){ "src", "unix:/a", "dst", "unix:/b",
                                               "xbzrle-cache-size", "1G", NULL });
  rule("auto-converge is off", (const char *const[]){ "src", "unix:/a", "dst", "unix:/b",
                                                      "cpu-throttle-initial", "30", NULL });
  rule("tunnel ssh:// needs dst",
       (const char *const[]){ "src", "unix:/a", "tunnel", "ssh://h", NULL });
  rule("makes its own credential",
       (const char *const[]){ "src", "unix:/a", "dst", "unix:/b", "tunnel", "ssh://h", "tunnel-tls",
                              "psk", NULL });
  rule("need tunnel ssh://",
       (const char *const[]){ "src", "unix:/a", "dst", "unix:/b", "tunnel-ssh-qmig", "/q", NULL });
  rule("both src-serial and dst-serial",
       (const char *const[]){ "src", "unix:/a", "dst", "unix:/b", "src-serial", "/s", NULL });
}

static void test_keys_have_help(void **state)
{
  (void)state;
  size_t n = 0;
  for (const char *const *k = qmig_option_keys(); *k; k++, n++)
    assert_non_null(qmig_option_help(*k));
  assert_true(n >= 25);
  assert_null(qmig_option_help("nope"));
  for (int s = QMIG_S_INIT; s <= QMIG_S_UNCERTAIN; s++)
    assert_string_not_equal(qmig_state_name((enum qmig_state)s), "?");
}

/* QMP unreachable: exit 3, message names address and cause, and the JSON
 * report says the same. */
static void test_unreachable_report(void **state)
{
  (void)state;
  struct qmig_migration *m =
      unit_mig("src", "unix:/nonexistent/src.qmp", "dst", "unix:/nonexistent/dst.qmp", NULL);
  assert_int_equal(qmig_run(m), QMIG_NOT_STARTED);
  const struct qmig_report *r = qmig_report(m);
  assert_non_null(strstr(r->error, "unix:/nonexistent/src.qmp"));
  assert_non_null(strstr(r->error, "No such file"));
  assert_true(r->pause_ms < 0 && r->total_ms < 0);
  char *j = qmig_report_json(m);
  assert_non_null(j);
  assert_non_null(strstr(j, "\"outcome_name\": \"not-started\""));
  assert_non_null(strstr(j, "\"stop_to_resume_pause_ms\": null"));
  free(j);
  qmig_free(m);
}

/* A plain tcp: QMP address off loopback: refused before any connection
 * (exit 3) naming the risk and the ways out; with insecure-qmp-tcp the
 * connection is tried and the report warns.  0.0.0.0 is not loopback to
 * the check, yet a connection to it stays on this host (refused: port 1). */
static void test_insecure_tcp(void **state)
{
  (void)state;
  struct qmig_migration *m =
      unit_mig("src", "unix:/nonexistent/src.qmp", "dst", "tcp:0.0.0.0:1", NULL);
  assert_int_equal(qmig_run(m), QMIG_NOT_STARTED);
  const char *e = qmig_report(m)->error;
  assert_non_null(strstr(e, "destination QMP tcp:0.0.0.0:1 is unauthenticated, plaintext "
                            "control of that QEMU; use a TLS QMP socket (tls:HOST:PORT with "
                            "qmp-tls-dir) or the tunnel agent, or insecure-qmp-tcp on"));
  assert_null(strstr(e, "No such file")); /* refused before connecting anywhere */
  qmig_free(m);

  /* dst on loopback: no question */
  m = unit_mig("src", "tcp:0.0.0.0:1", "dst", "tcp:127.0.0.1:1", "insecure-qmp-tcp", "on", NULL);
  assert_int_equal(qmig_run(m), QMIG_NOT_STARTED);
  const struct qmig_report *r = qmig_report(m);
  assert_non_null(strstr(r->error, "tcp:0.0.0.0:1"));
  assert_non_null(strstr(r->error, "refused"));
  assert_non_null(strstr(r->warnings, "insecure-qmp-tcp: source QMP tcp:0.0.0.0:1 is "
                                      "unauthenticated"));
  assert_null(strstr(r->warnings, "127.0.0.1"));
  qmig_free(m);
}

UNIT_MAIN(cmocka_unit_test(test_bad_values), cmocka_unit_test(test_good_values),
          cmocka_unit_test(test_rules), cmocka_unit_test(test_keys_have_help),
          cmocka_unit_test(test_unreachable_report), cmocka_unit_test(test_insecure_tcp))
