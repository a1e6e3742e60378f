/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* storage/nbdlib.c - libnbd loaded on first use (storage/nbdlib.h says why). */
#include <dlfcn.h>
#include <pthread.h>

#include "common/errbuf.h"
#include "storage/nbdlib.h"

/* The library's soname: the ABI the prototypes in libnbd.h describe. */
#define NBD_SONAME "libnbd.so.0"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static struct stg_nbd lib;
static const struct stg_nbd *loaded; /* &lib once every symbol resolved */
static char why[300];

static void load(void)
{
  /* RTLD_LOCAL: libnbd's symbols (and GnuTLS's) stay out of the global
   * scope, so they cannot interpose on anything the process links. */
  void *h = dlopen(NBD_SONAME, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    errbuf_setf(why, sizeof why, "libnbd (%s) could not be loaded: %s", NBD_SONAME, dlerror());
    return;
  }
#define STG_NBD_SYM(name)                                                                   \
  if (!(*(void **)&lib.name = dlsym(h, "nbd_" #name))) {                                    \
    errbuf_setf(why, sizeof why, "libnbd (%s) has no nbd_%s: too old for qmig", NBD_SONAME, \
                #name);                                                                     \
    return; /* the handle stays open: unloading what failed gains nothing */                \
  }
  STG_NBD_FUNCS(STG_NBD_SYM)
#undef STG_NBD_SYM
  loaded = &lib;
}

const struct stg_nbd *stg_nbd_lib(char *err, size_t errlen)
{
  pthread_once(&once, load);
  if (!loaded && err)
    errbuf_setf(err, errlen, "%s", why);
  return loaded;
}
