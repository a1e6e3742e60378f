/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* storage/inventory.c - a QEMU's disks, read from its query-block reply.
 *
 * A disk is named by its drive id (-drive id=, query-block "device") or,
 * for a device attached to a -blockdev node, by that root node's
 * node-name.  Removable drives without a medium (empty CD-ROMs) are not
 * disks.  The format is QEMU's driver of the root node: qmig never probes
 * one. */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "common/errbuf.h"
#include "storage/storage.h"

static const char *jstr(json_t *o, const char *k)
{
  return json_string_value(json_object_get(o, k)) ?: "";
}

static void copy(char *dst, size_t len, const char *src)
{
  snprintf(dst, len, "%s", src);
}

/* One query-block entry; 0 = a disk filled in, 1 = not a disk (no medium). */
static int parse_one(json_t *b, struct stg_disk *d, char *err, size_t errlen)
{
  json_t *in = json_object_get(b, "inserted");
  memset(d, 0, sizeof *d);
  if (!json_is_object(in))
    return 1;
  const char *dev = jstr(b, "device"), *node = jstr(in, "node-name");
  copy(d->name, sizeof d->name, dev[0] ? dev : node);
  copy(d->node, sizeof d->node, node);
  copy(d->qdev, sizeof d->qdev, jstr(b, "qdev"));
  copy(d->format, sizeof d->format, jstr(in, "drv"));
  copy(d->file, sizeof d->file, jstr(in, "file"));
  d->read_only = json_is_true(json_object_get(in, "ro"));
  d->removable = json_is_true(json_object_get(b, "removable"));
  json_t *img = json_object_get(in, "image");
  json_t *vs = json_object_get(img, "virtual-size");
  if (!d->name[0] || !d->format[0] || !json_is_integer(vs) || json_integer_value(vs) < 0) {
    errbuf_setf(err, errlen, "query-block entry '%s' lacks a name, driver or virtual size",
                d->name[0] ? d->name : "?");
    return -1;
  }
  d->size = (uint64_t)json_integer_value(vs);
  /* The backing chain, top to bottom: its depth and the first image. */
  for (json_t *bk = json_object_get(img, "backing-image"); json_is_object(bk);
       bk = json_object_get(bk, "backing-image")) {
    if (d->backing_depth++ == 0) {
      copy(d->backing, sizeof d->backing, jstr(bk, "filename"));
      copy(d->backing_format, sizeof d->backing_format, jstr(bk, "format"));
    }
  }
  return 0;
}

int stg_inventory(json_t *query_block, struct stg_disk *disks, size_t max, size_t *n, char *err,
                  size_t errlen)
{
  size_t i;
  json_t *b;
  *n = 0;
  if (!json_is_array(query_block))
    return errbuf_setf(err, errlen, "query-block did not return a list"), -1;
  json_array_foreach(query_block, i, b)
  {
    struct stg_disk d;
    int r = parse_one(b, &d, err, errlen);
    if (r < 0)
      return -1;
    if (r > 0)
      continue;
    if (*n == max)
      return errbuf_setf(err, errlen, "more than %zu disks", max), -1;
    disks[(*n)++] = d;
  }
  return 0;
}

const struct stg_disk *stg_find(const struct stg_disk *disks, size_t n, const char *name)
{
  for (size_t i = 0; i < n; i++)
    if (!strcmp(disks[i].name, name))
      return &disks[i];
  return NULL;
}
