/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_inventory: a QEMU's disks from query-block replies shaped like QEMU
 * 7.2's (a -drive disk, a -blockdev qcow2 overlay with a backing chain, an
 * empty CD-ROM), and malformed replies refused with the entry named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "storage/storage.h"
#include "tests/unit/unit.h"

static const char *reply =
    "[{\"io-status\":\"ok\",\"device\":\"ide0-hd0\",\"locked\":false,\"removable\":false,"
    "  \"qdev\":\"/machine/unattached/device[18]\",\"type\":\"unknown\","
    "  \"inserted\":{\"node-name\":\"#block148\",\"drv\":\"raw\",\"ro\":false,"
    "    \"file\":\"/img/a.raw\",\"backing_file_depth\":0,"
    "    \"image\":{\"virtual-size\":16777216,\"filename\":\"/img/a.raw\",\"format\":\"raw\"}}},"
    " {\"device\":\"\",\"qdev\":\"disk1\",\"removable\":false,\"locked\":false,"
    "  \"inserted\":{\"node-name\":\"drive1\",\"drv\":\"qcow2\",\"ro\":false,"
    "    \"file\":\"/img/top.qcow2\",\"backing_file_depth\":2,"
    "    \"image\":{\"virtual-size\":1073741824,\"filename\":\"/img/top.qcow2\",\"format\":\"qcow2\","
    "      \"backing-image\":{\"filename\":\"/img/mid.qcow2\",\"format\":\"qcow2\",\"virtual-size\":1073741824,"
    "        \"backing-image\":{\"filename\":\"/img/base.raw\",\"format\":\"raw\",\"virtual-size\":1073741824}}}}},"
    " {\"device\":\"ide1-cd0\",\"qdev\":\"/machine/unattached/device[19]\",\"removable\":true,"
    "  \"locked\":false,\"tray_open\":false}]";

static json_t *load(const char *s)
{
  json_error_t e;
  json_t *j = json_loads(s, 0, &e);
  assert_non_null(j);
  return j;
}

static void test_disks(void **state)
{
  (void)state;
  struct stg_disk d[4];
  size_t n = 99;
  char err[256] = "";
  json_t *j = load(reply);
  assert_int_equal(stg_inventory(j, d, 4, &n, err, sizeof err), 0);
  json_decref(j);
  assert_int_equal(n, 2); /* the empty CD-ROM is no disk */

  assert_string_equal(d[0].name, "ide0-hd0"); /* -drive: the drive id */
  assert_string_equal(d[0].node, "#block148");
  assert_string_equal(d[0].format, "raw");
  assert_int_equal(d[0].size, 16777216);
  assert_int_equal(d[0].backing_depth, 0);
  assert_string_equal(d[0].backing, "");

  assert_string_equal(d[1].name, "drive1"); /* -blockdev: the root node */
  assert_string_equal(d[1].qdev, "disk1");
  assert_string_equal(d[1].format, "qcow2");
  assert_string_equal(d[1].file, "/img/top.qcow2");
  assert_int_equal(d[1].size, 1073741824);
  assert_int_equal(d[1].backing_depth, 2);
  assert_string_equal(d[1].backing, "/img/mid.qcow2");
  assert_string_equal(d[1].backing_format, "qcow2");
  assert_false(d[1].read_only);

  assert_ptr_equal(stg_find(d, n, "drive1"), &d[1]);
  assert_null(stg_find(d, n, "drive"));
}

static void test_too_many(void **state)
{
  (void)state;
  struct stg_disk d[1];
  size_t n;
  char err[256] = "";
  json_t *j = load(reply);
  assert_int_equal(stg_inventory(j, d, 1, &n, err, sizeof err), -1);
  json_decref(j);
  assert_non_null(strstr(err, "more than 1 disks"));
}

static void test_malformed(void **state)
{
  (void)state;
  struct stg_disk d[2];
  size_t n;
  char err[256] = "";
  /* no virtual size: refused, the entry named */
  json_t *j = load("[{\"device\":\"d0\",\"inserted\":{\"node-name\":\"n\",\"drv\":\"raw\","
                   "\"image\":{}}}]");
  assert_int_equal(stg_inventory(j, d, 2, &n, err, sizeof err), -1);
  json_decref(j);
  assert_non_null(strstr(err, "'d0'"));
  /* no format driver */
  j = load(
      "[{\"device\":\"d0\",\"inserted\":{\"node-name\":\"n\",\"image\":{\"virtual-size\":1}}}]");
  assert_int_equal(stg_inventory(j, d, 2, &n, err, sizeof err), -1);
  json_decref(j);
  /* not a list */
  j = load("{\"return\":[]}");
  assert_int_equal(stg_inventory(j, d, 2, &n, err, sizeof err), -1);
  json_decref(j);
  assert_non_null(strstr(err, "not return a list"));
}

UNIT_MAIN(cmocka_unit_test(test_disks), cmocka_unit_test(test_too_many),
          cmocka_unit_test(test_malformed))
