/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_nbdlib: libnbd is not linked into qmig but loaded by
 * storage/nbdlib.c the first time a disk is opened (its dependencies cost
 * every process ~22 ms of dynamic linking).  Checks that it is really not
 * loaded before, that every function resolves, and that the table drives
 * the real library.  (test_verifydisks reads real images through it.) */
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "storage/nbdlib.h"

static void not_loaded_before_use(void **state)
{
  (void)state;
  /* This test binary links libqmig-internal.a the way qmig does: if the
   * Makefile linked libnbd again, it would be in the process already. */
  void *h = dlopen("libnbd.so.0", RTLD_NOW | RTLD_NOLOAD);
  if (h)
    dlclose(h);
  assert_null(h);
}

static void loads_every_function(void **state)
{
  (void)state;
  char err[300] = "";
  const struct stg_nbd *lib = stg_nbd_lib(err, sizeof err);
  if (!lib)
    fail_msg("stg_nbd_lib: %s", err);
  assert_string_equal(err, "");
#define CHECK(name) assert_non_null((void *)lib->name);
  STG_NBD_FUNCS(CHECK)
#undef CHECK
  assert_ptr_equal(stg_nbd_lib(NULL, 0), lib); /* loaded once */
  void *h = dlopen("libnbd.so.0", RTLD_NOW | RTLD_NOLOAD);
  assert_non_null(h);
  dlclose(h);
}

static void drives_the_library(void **state)
{
  (void)state;
  const struct stg_nbd *lib = stg_nbd_lib(NULL, 0);
  assert_non_null(lib);
  struct nbd_handle *nbd = lib->create();
  assert_non_null(nbd);
  /* Not connected: libnbd refuses, and says why through the same table. */
  assert_int_equal(lib->get_size(nbd), -1);
  assert_non_null(lib->get_error());
  assert_true(strlen(lib->get_error()) > 0);
  assert_int_equal(lib->aio_is_ready(nbd), 0);
  assert_int_equal(lib->add_meta_context(nbd, LIBNBD_CONTEXT_BASE_ALLOCATION), 0);
  lib->close(nbd);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(not_loaded_before_use),
    cmocka_unit_test(loads_every_function),
    cmocka_unit_test(drives_the_library),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
