/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* storage/ - disks: reading an image through NBD and comparing two of them.
 *
 * A source (struct stg_src) is one side of a comparison: an NBD connection
 * to a URI the user gave, or to a qemu-nbd that libnbd starts for an image
 * file by socket activation and reaps on close.  Formats are never probed:
 * a file is opened only with the format the caller names.
 */
#ifndef QMIG_STORAGE_H
#define QMIG_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nbd_handle;
struct stg_nbd;

struct stg_src {
  struct nbd_handle *nbd;
  /* libnbd's functions (storage/nbdlib.h), set before nbd */
  const struct stg_nbd *lib;
  char what[300];    /* "source disk.qcow2", for messages */
  uint64_t size;     /* virtual size in bytes */
  uint64_t max_read; /* largest read the server takes; 0 = unknown */
  bool zero_info;    /* server answers base:allocation; false after any
                        block-status failure (then everything is read) */
  /* One cached run of extents with the same zero-ness: [run_start, run_end). */
  uint64_t run_start, run_end;
  bool run_zero;
};

/* True when spec is an NBD URI (nbd://, nbds://, nbd+unix://, ...). */
bool stg_is_uri(const char *spec);

/* Open one side: spec is an NBD URI (format NULL or "raw") or an image file
 * (format "raw" or "qcow2", required; served read-only by qemu-nbd).  role
 * ("source", "destination") prefixes messages.  Returns 0, or -1 with a
 * message in err naming the side and the cause; s is then closed. */
int stg_src_open(struct stg_src *s, const char *role, const char *spec, const char *format,
                 char *err, size_t errlen);
/* Disconnects; a qemu-nbd started for a file exits and is reaped here.
 * Accepts a zeroed or already closed src. */
void stg_src_close(struct stg_src *s);

/* End of the run of bytes that read as zero starting at off, per the
 * server's base:allocation; off when not known to be zero.  Never fails: an
 * error just turns the information off. */
uint64_t stg_zero_until(struct stg_src *s, uint64_t off);

/* ---- inventory.c: a QEMU's disks (from its query-block reply) ---- */
typedef struct json_t json_t;
struct stg_disk {
  char name[128];  /* drive id, or the root node-name of a -blockdev disk */
  char node[128];  /* root node-name (block-export-add wants this) */
  char qdev[256];  /* the device it is attached to */
  char format[16]; /* driver of the root node: qcow2, raw, ... */
  char file[1024]; /* image file or device */
  uint64_t size;   /* virtual size in bytes */
  bool read_only, removable;
  unsigned backing_depth; /* length of the backing chain below it */
  char backing[1024];     /* first backing image, "" without one */
  char backing_format[16];
};
/* Parse query-block's return into at most max disks (drives without a
 * medium are skipped).  0, or -1 with a message in err. */
int stg_inventory(json_t *query_block, struct stg_disk *disks, size_t max, size_t *n, char *err,
                  size_t errlen);
const struct stg_disk *stg_find(const struct stg_disk *disks, size_t n, const char *name);

#endif
