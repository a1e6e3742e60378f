/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* storage/nbdlib.h - libnbd, loaded the first time a disk is opened.
 *
 * libnbd pulls in GnuTLS, libxml2 and ICU (with libstdc++): linking it made
 * every qmig process, the agent too, spend ~22 ms of CPU in the dynamic
 * linker before main (perf stat of `qmig --version`: 29 ms with libnbd
 * linked, 8 ms without), whether or not it ever reads a disk, and most
 * never do.  So qmig does not link it: storage/ calls libnbd through this
 * table, filled by dlopen("libnbd.so.0") on first use.  The prototypes are
 * libnbd.h's own (__typeof__), so every call is still type-checked. */
#ifndef QMIG_STORAGE_NBDLIB_H
#define QMIG_STORAGE_NBDLIB_H

#include <stddef.h>

#include <libnbd.h>

/* The libnbd functions storage/ calls (the symbol is nbd_NAME). */
#define STG_NBD_FUNCS(X)               \
  X(add_meta_context)                  \
  X(aio_command_completed)             \
  X(aio_get_direction)                 \
  X(aio_get_fd)                        \
  X(aio_in_flight)                     \
  X(aio_is_ready)                      \
  X(aio_notify_read)                   \
  X(aio_notify_write)                  \
  X(aio_pread)                         \
  X(block_status)                      \
  X(can_meta_context)                  \
  X(close)                             \
  X(connect_systemd_socket_activation) \
  X(connect_uri)                       \
  X(create)                            \
  X(get_block_size)                    \
  X(get_error)                         \
  X(get_size)                          \
  X(shutdown)

struct stg_nbd {
#define STG_NBD_PTR(name) __typeof__(nbd_##name) *name;
  STG_NBD_FUNCS(STG_NBD_PTR)
#undef STG_NBD_PTR
};

/* The table, loading libnbd on the first call (once per process, thread
 * safe; never unloaded).  NULL when libnbd cannot be loaded, with a message
 * naming the library and the cause in err (err may be NULL). */
const struct stg_nbd *stg_nbd_lib(char *err, size_t errlen);

#endif
