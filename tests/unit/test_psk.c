/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The keys.psk parser (transport/psk.c): identities and keys kept, the
 * client's filter, and each refusal with the line it names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "transport/transport.h"
#include "tests/unit/unit.h"

#define K16 "00112233445566778899aabbccddeeff"

static int parse(const char *text, const char *want, struct tp_psk *keys, size_t *n, char *err)
{
  return tp_psk_parse(text, strlen(text), want, keys, 4, n, err, 256);
}

static void test_keeps_keys(void **state)
{
  (void)state;
  struct tp_psk k[4];
  size_t n;
  char err[256];
  const char *f = "# keys\n\nqemu:" K16 K16 "\r\nother:" K16 "\nqemu2:" K16;
  assert_int_equal(parse(f, NULL, k, &n, err), 0);
  assert_int_equal(n, 3);
  assert_string_equal(k[0].id, "qemu");
  assert_int_equal(k[0].keylen, 32);
  assert_int_equal(k[0].key[1], 0x11);
  assert_string_equal(k[1].id, "other");
  assert_int_equal(k[1].keylen, 16);
  assert_string_equal(k[2].id, "qemu2"); /* last line without a newline */
  /* a client keeps its identity only: not a prefix match */
  assert_int_equal(parse(f, "qemu", k, &n, err), 0);
  assert_int_equal(n, 1);
  assert_string_equal(k[0].id, "qemu");
  assert_int_equal(k[0].keylen, 32);
}

static void test_refusals(void **state)
{
  (void)state;
  struct tp_psk k[4];
  size_t n;
  char err[256];
  assert_int_equal(parse("qemu:" K16 "\nshort:0011\n", NULL, k, &n, err), -1);
  assert_string_equal(err, "line 2: not IDENTITY:HEXKEY (16 to 64 bytes)");
  assert_int_equal(parse(":" K16 "\n", NULL, k, &n, err), -1);
  assert_string_equal(err, "line 1: not IDENTITY:HEXKEY (16 to 64 bytes)");
  assert_int_equal(parse("qemu" K16 "\n", NULL, k, &n, err), -1);
  assert_int_equal(parse("qemu:" K16 K16 K16 K16 "00\n", NULL, k, &n, err), -1); /* 65 bytes */
  assert_int_equal(parse("other:" K16 "\n", "qemu", k, &n, err), -1);
  assert_string_equal(err, "has no key for identity qemu");
  assert_int_equal(parse("# nothing\n", NULL, k, &n, err), -1);
  assert_string_equal(err, "has no key");
  char nul[] = "qemu:" K16 "\nx\0y:" K16 "\n";
  assert_int_equal(tp_psk_parse(nul, sizeof nul - 1, NULL, k, 4, &n, err, sizeof err), -1);
  assert_string_equal(err, "line 2: holds a NUL byte (not a text file?)");
  char longl[600];
  memset(longl, 'a', sizeof longl - 1);
  longl[sizeof longl - 1] = '\0';
  assert_int_equal(parse(longl, NULL, k, &n, err), -1);
  assert_string_equal(err, "line 1: longer than 511 characters");
}

static void test_at_most_max(void **state)
{
  (void)state;
  struct tp_psk k[2];
  size_t n;
  char err[256];
  const char *f = "a:" K16 "\nb:" K16 "\nc:" K16 "\n";
  assert_int_equal(tp_psk_parse(f, strlen(f), NULL, k, 2, &n, err, sizeof err), 0);
  assert_int_equal(n, 2);
  assert_string_equal(k[1].id, "b");
}

UNIT_MAIN(cmocka_unit_test(test_keeps_keys), cmocka_unit_test(test_refusals),
          cmocka_unit_test(test_at_most_max))
