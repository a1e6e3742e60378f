/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The typed option tables (common/opttab.h): every type sets its field
 * and refuses what it must with the words the handles print, defaults,
 * JSON, help lines; and the agent's and lab's tables through the public
 * API. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/opttab.h"
#include "qmig.h"
#include "tests/unit/unit.h"

struct obj {
  bool on;
  unsigned n;
  int pct;
  uint64_t big, size;
  char *name;
  const char *borrowed;
  int mode;
  char *addr;
  unsigned lo, hi;
};

static int check_even(const char *v, char *why, size_t len)
{
  if (strlen(v) % 2) {
    snprintf(why, len, "odd");
    return -1;
  }
  return 0;
}

static int parse_pair(void *o, const char *v, char *why, size_t len)
{
  struct obj *x = o;
  if (sscanf(v, "%u-%u", &x->lo, &x->hi) != 2) {
    snprintf(why, len, "not LO-HI");
    return -1;
  }
  return 0;
}

static json_t *json_pair(const void *o)
{
  const struct obj *x = o;
  return json_sprintf("%u-%u", x->lo, x->hi);
}

#define O(f) offsetof(struct obj, f)
/* One row per option, laid out as a table reads. */
/* clang-format off */
static const struct opt_row rows[] = {
  { .key = "on", .type = OPT_BOOL, .off = O(on), .flags = OPT_F_FLAG, .help = "a flag" },
  { .key = "n", .type = OPT_UINT, .off = O(n), .min = 1, .max = 99, .def = "7", .arg = "N",
    .help = "a number\nover two lines" },
  { .key = "pct", .type = OPT_INT, .off = O(pct), .min = 1, .max = 99, .def = "-1" },
  { .key = "big", .type = OPT_U64, .off = O(big), .min = 0, .max = UINT64_C(1) << 40 },
  { .key = "size", .type = OPT_SIZE, .off = O(size), .min = 4096, .max = UINT64_C(1) << 50,
    .def = "64M" },
  { .key = "name", .type = OPT_STR, .off = O(name), .check = check_even },
  { .key = "borrowed", .type = OPT_CSTR, .off = O(borrowed), .flags = OPT_F_NOJSON },
  { .key = "mode", .type = OPT_ENUM, .off = O(mode), .choices = "none|x509|psk", .arg = "M",
    .help = "\nunder the label", .label = "--mode M, --other" },
  { .key = "addr", .type = OPT_ADDR, .off = O(addr), .addr = OPT_A_UNIX | OPT_A_TCP,
    .bad = "not tcp:HOST:PORT or unix:PATH" },
  { .key = "pair", .type = OPT_CUSTOM, .parse = parse_pair, .json = json_pair, .def = "1-2",
    .arg = "A-LONG-ARGUMENT", .help = "longer than the column", .note = "A note." },
};
/* clang-format on */
static const struct opt_table tab = { rows, sizeof rows / sizeof rows[0], OPT_RANGE_FROM_TO, 14 };

static void refused(const struct opt_table *t, const char *key, const char *v, enum opt_err want,
                    const char *why_has)
{
  struct obj o = { 0 };
  char why[256] = "";
  enum opt_err e = opt_set(t, &o, key, v, why, sizeof why);
  if (e != want)
    fail_msg("%s=%s: %d, want %d (%s)", key, v, e, want, why);
  if (why_has && !strstr(why, why_has))
    fail_msg("%s=%s: '%s' lacks '%s'", key, v, why, why_has);
  opt_free(t, &o);
}

static void test_types(void **state)
{
  (void)state;
  struct obj o = { 0 };
  char why[256];
  opt_defaults(&tab, &o);
  assert_int_equal(o.n, 7);
  assert_int_equal(o.pct, -1);
  assert_true(o.size == UINT64_C(64) << 20);
  assert_int_equal(o.lo, 1);
  assert_int_equal(o.hi, 2);
  assert_int_equal(opt_set(&tab, &o, "on", "yes", why, sizeof why), OPT_OK);
  assert_true(o.on);
  assert_int_equal(opt_set(&tab, &o, "on", "OFF", why, sizeof why), OPT_OK);
  assert_false(o.on);
  assert_int_equal(opt_set(&tab, &o, "n", "99", why, sizeof why), OPT_OK);
  assert_int_equal(o.n, 99);
  assert_int_equal(opt_set(&tab, &o, "pct", "50", why, sizeof why), OPT_OK);
  assert_int_equal(o.pct, 50);
  /* 64-bit fields whole, no truncation to 32 bits */
  assert_int_equal(opt_set(&tab, &o, "big", "1099511627776", why, sizeof why), OPT_OK);
  assert_true(o.big == UINT64_C(1) << 40);
  assert_int_equal(opt_set(&tab, &o, "size", "5GiB", why, sizeof why), OPT_OK);
  assert_true(o.size == UINT64_C(5) << 30);
  assert_int_equal(opt_set(&tab, &o, "name", "abcd", why, sizeof why), OPT_OK);
  assert_string_equal(o.name, "abcd");
  assert_int_equal(opt_set(&tab, &o, "name", "wxyz", why, sizeof why), OPT_OK); /* replaced */
  assert_string_equal(o.name, "wxyz");
  const char *value = "kept";
  assert_int_equal(opt_set(&tab, &o, "borrowed", value, why, sizeof why), OPT_OK);
  assert_ptr_equal(o.borrowed, value);
  assert_int_equal(opt_set(&tab, &o, "mode", "psk", why, sizeof why), OPT_OK);
  assert_int_equal(o.mode, 2);
  assert_int_equal(opt_set(&tab, &o, "addr", "tcp:[::1]:4444", why, sizeof why), OPT_OK);
  assert_int_equal(opt_set(&tab, &o, "addr", "unix:/run/x", why, sizeof why), OPT_OK);
  assert_string_equal(o.addr, "unix:/run/x");
  assert_int_equal(opt_set(&tab, &o, "pair", "3-9", why, sizeof why), OPT_OK);
  assert_int_equal(o.hi, 9);
  opt_free(&tab, &o);
  assert_null(o.name);
  assert_null(o.addr);
}

static void test_refused(void **state)
{
  (void)state;
  refused(&tab, "nope", "1", OPT_E_UNKNOWN, NULL);
  refused(&tab, "on", "maybe", OPT_E_VALUE, "not on or off");
  refused(&tab, "n", "0", OPT_E_VALUE, "not a number from 1 to 99");
  refused(&tab, "n", "100", OPT_E_VALUE, "not a number from 1 to 99");
  refused(&tab, "n", "-1", OPT_E_VALUE, "not a number");
  refused(&tab, "n", "4x", OPT_E_VALUE, "not a number");
  refused(&tab, "n", "", OPT_E_VALUE, "not a number");
  refused(&tab, "pct", "-1", OPT_E_VALUE, "not a number from 1 to 99"); /* only a default */
  refused(&tab, "big", "1099511627777", OPT_E_VALUE, "not a number");
  refused(&tab, "big", "99999999999999999999", OPT_E_VALUE, "not a number");
  refused(&tab, "size", "1K", OPT_E_VALUE, "not a size from 4096 to");
  refused(&tab, "size", "12Q", OPT_E_VALUE, "not a size");
  refused(&tab, "size", "20000000T", OPT_E_VALUE, "not a size");
  refused(&tab, "name", "", OPT_E_EMPTY, NULL);
  refused(&tab, "name", "odd", OPT_E_VALUE, "odd");
  refused(&tab, "mode", "kerberos", OPT_E_VALUE, "not one of none|x509|psk");
  refused(&tab, "mode", "", OPT_E_VALUE, "not one of");
  refused(&tab, "addr", "tls:h:1", OPT_E_VALUE, "not tcp:HOST:PORT or unix:PATH");
  refused(&tab, "addr", "tcp:host", OPT_E_VALUE, "not tcp:");
  refused(&tab, "addr", "tcp:host:65536", OPT_E_VALUE, "not tcp:");
  refused(&tab, "addr", "unix:", OPT_E_VALUE, "not tcp:");
  refused(&tab, "pair", "x", OPT_E_VALUE, "not LO-HI");
  /* The dash form of ranges (the agent's words) */
  const struct opt_table dash = { rows, 2, OPT_RANGE_DASH, 14 };
  refused(&dash, "n", "0", OPT_E_VALUE, "not a number in 1-99");
  refused(&dash, "pct", "1", OPT_E_UNKNOWN, NULL); /* only the first two rows */
}

static void test_addr(void **state)
{
  (void)state;
  assert_true(opt_addr_ok("h:1", OPT_A_HOSTPORT));
  assert_true(opt_addr_ok("[::1]:65535", OPT_A_HOSTPORT));
  assert_false(opt_addr_ok("h:0", OPT_A_HOSTPORT));
  assert_false(opt_addr_ok(":1", OPT_A_HOSTPORT));
  assert_false(opt_addr_ok("tcp:h:1", OPT_A_HOSTPORT));
  assert_true(opt_addr_ok("tls:h:1", OPT_A_TLS));
  assert_false(opt_addr_ok("tls:h:1", OPT_A_TCP | OPT_A_UNIX));
}

static void test_json(void **state)
{
  (void)state;
  struct obj o = { 0 };
  char why[64];
  opt_defaults(&tab, &o);
  opt_set(&tab, &o, "big", "1099511627776", why, sizeof why);
  opt_set(&tab, &o, "mode", "x509", why, sizeof why);
  opt_set(&tab, &o, "borrowed", "x", why, sizeof why);
  json_t *j = opt_json(&tab, &o);
  assert_non_null(j);
  char *s = json_dumps(j, JSON_COMPACT);
  assert_string_equal(s, "{\"on\":false,\"n\":7,\"pct\":null,\"big\":1099511627776,"
                         "\"size\":67108864,\"name\":null,\"mode\":\"x509\",\"addr\":null,"
                         "\"pair\":\"1-2\"}");
  free(s);
  json_decref(j);
  opt_free(&tab, &o);
}

static void test_help(void **state)
{
  (void)state;
  char *h = opt_help_text(&tab);
  assert_non_null(h);
  assert_string_equal(h, "  --on        a flag\n"
                         "  --n N       a number\n"
                         "              over two lines\n"
                         "  --mode M, --other\n"
                         "              under the label\n"
                         "  --pair A-LONG-ARGUMENT longer than the column\n"
                         "A note.\n");
  free(h);
  char keys[64];
  const struct opt_table two = { rows, 2, OPT_RANGE_FROM_TO, 14 };
  opt_key_list(&two, keys, sizeof keys);
  assert_string_equal(keys, "on, n");
  opt_key_list(&tab, keys, 8); /* truncated, terminated */
  assert_true(strlen(keys) < 8);
}

/* The handles' tables through the public API. */
static void test_lab_and_agent(void **state)
{
  (void)state;
  struct qmig_lab_options o = QMIG_LAB_OPTIONS_INIT;
  char err[256];
  assert_int_equal(qmig_lab_set(&o, "fill", "128", err, sizeof err), 0);
  assert_int_equal(o.fill_mib, 128);
  assert_int_equal(qmig_lab_set(&o, "netns", "on", err, sizeof err), 0);
  assert_true(o.netns);
  assert_int_equal(qmig_lab_set(&o, "disk-format", "qcow2", err, sizeof err), 0);
  assert_string_equal(o.disk_format, "qcow2");
  assert_int_equal(qmig_lab_set(&o, "accel", "xen", err, sizeof err), -1);
  assert_non_null(strstr(err, "option 'accel': 'xen' is not kvm, tcg or auto"));
  assert_int_equal(qmig_lab_set(&o, "fill", "lots", err, sizeof err), -1);
  assert_non_null(strstr(err, "option 'fill'"));
  assert_int_equal(qmig_lab_set(&o, "colour", "red", err, sizeof err), -1);
  assert_non_null(strstr(err, "unknown lab option 'colour'"));
  /* Size-tagged: a struct without its size is refused; an older caller's
   * smaller struct cannot have fields past its end set. */
  struct qmig_lab_options bare = { .fill_mib = 1 };
  assert_int_equal(qmig_lab_set(&bare, "fill", "128", err, sizeof err), -1);
  assert_non_null(strstr(err, "QMIG_LAB_OPTIONS_INIT"));
  assert_int_equal(qmig_lab_start(&bare, err, sizeof err), -1);
  assert_non_null(strstr(err, "QMIG_LAB_OPTIONS_INIT"));
  struct qmig_lab_options old = { .size = offsetof(struct qmig_lab_options, netns) };
  assert_int_equal(qmig_lab_set(&old, "fill", "128", err, sizeof err), 0);
  assert_int_equal(qmig_lab_set(&old, "netns", "on", err, sizeof err), -1);
  assert_false(old.netns);
  struct qmig_lab_info li = { .size = 0 };
  assert_int_equal(qmig_lab_info("/nonexistent", &li, err, sizeof err), -1);
  assert_non_null(strstr(err, "QMIG_LAB_INFO_INIT"));
  bool flag_seen = false, dir_seen = false;
  for (const struct qmig_optkey *k = qmig_lab_option_keys(); k->key; k++) {
    flag_seen |= !strcmp(k->key, "exact-mem") && k->flag;
    dir_seen |= !strcmp(k->key, "dir") && !k->flag;
  }
  assert_true(flag_seen && dir_seen);
  char *h = qmig_lab_help();
  assert_non_null(h);
  /* the first row with help */
  assert_true(!strncmp(h, "  --guest G       the guest: the qmig test guest", 48));
  assert_null(strstr(h, "--dir ")); /* in the usage line only */
  free(h);

  struct qmig_agent *a = qmig_agent_new();
  assert_non_null(a);
  assert_int_equal(qmig_agent_set(a, "once", "on"), 0);
  assert_int_equal(qmig_agent_set(a, "plain-data", "sometimes"), -1);
  assert_non_null(strstr(qmig_agent_error(a), "'sometimes' is not allow or refuse"));
  assert_int_equal(qmig_agent_set(a, "qmp", "/run/x.qmp"), -1);
  assert_non_null(strstr(qmig_agent_error(a), "is not unix:PATH"));
  assert_int_equal(qmig_agent_set(a, "handshake-timeout", "99"), -1);
  assert_non_null(strstr(qmig_agent_error(a), "not a number in range"));
  h = qmig_agent_help();
  assert_non_null(h);
  assert_non_null(strstr(h, "  --once                      exit after one session\n"));
  free(h);
  qmig_agent_free(a);
}

UNIT_MAIN(cmocka_unit_test(test_types), cmocka_unit_test(test_refused), cmocka_unit_test(test_addr),
          cmocka_unit_test(test_json), cmocka_unit_test(test_help),
          cmocka_unit_test(test_lab_and_agent))
