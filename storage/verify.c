/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* storage/verify.c - qmig_verify_disks(): are two disk images the same,
 * byte for byte, as a guest would read them?
 *
 * Both sides are read through NBD in chunks, a few chunks in flight on each
 * connection, driven by one poll() over both (libnbd's aio interface; the
 * library owns no loop).  Each chunk is compared by SHA-256 digest, the unit
 * a remote side could one day send instead of its data; when the digests
 * differ the chunk is compared byte by byte in 4 KiB blocks to find the
 * exact ranges.  Chunks that both servers report as reading zero
 * (base:allocation) are not read at all.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "common/errbuf.h"
#include "qmig.h"
#include "storage/nbdlib.h"
#include "storage/storage.h"

#define VD_CHUNK (4u << 20) /* bytes per read and per digest */
#define VD_BLOCK 4096u      /* granularity of the byte-by-byte narrowing */
#define VD_DEPTH 4          /* chunks in flight on each connection */
#define VD_IDLE_MS 60000    /* a server silent this long has failed */
#define VD_NRANGES \
  (sizeof((struct qmig_diskdiff *)0)->ranges / sizeof((struct qmig_diskdiff *)0)->ranges[0])

struct vd_slot {
  uint64_t off;
  size_t len;
  int64_t cookie[2]; /* read in flight on side k; 0 once it completed */
  unsigned char *buf[2];
};

struct vd {
  struct stg_src side[2]; /* 0 source, 1 destination */
  struct qmig_diskdiff *r;
  size_t chunk;
  struct vd_slot slot[VD_DEPTH];
  unsigned head, nbusy;                        /* oldest slot in use, slots in use */
  uint64_t next;                               /* offset of the next chunk to issue */
  uint64_t skipped;                            /* bytes zero on both sides, not read */
  double hash_s;                               /* spent in SHA-256 */
  bool open;                                   /* a range of differing blocks is open... */
  uint64_t open_start, open_end, open_blk_end; /* ...its bytes, its last block's end */
};

static double mono_s(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- differing ranges ---- */

static void range_close(struct vd *v)
{
  struct qmig_diskdiff *r = v->r;

  if (!v->open)
    return;
  if (r->nranges < VD_NRANGES) {
    r->ranges[r->nranges].offset = v->open_start;
    r->ranges[r->nranges].length = v->open_end - v->open_start;
  }
  r->nranges++;
  v->open = false;
}

/* Block [b, b + len) differs; a run of adjacent differing blocks is one
 * range, trimmed to its first and last differing byte. */
static void block_differs(struct vd *v, uint64_t b, const unsigned char *x, const unsigned char *y,
                          size_t len)
{
  size_t first = len, last = 0, n = 0;

  for (size_t i = 0; i < len; i++)
    if (x[i] != y[i]) {
      if (first == len)
        first = i;
      last = i;
      n++;
    }
  v->r->bytes_differing += n;
  if (v->open && v->open_blk_end == b) {
    v->open_end = b + last + 1;
  } else {
    range_close(v);
    v->open = true;
    v->open_start = b + first;
    v->open_end = b + last + 1;
  }
  v->open_blk_end = b + len;
}

static void compare_slot(struct vd *v, struct vd_slot *s)
{
  unsigned char md[2][EVP_MAX_MD_SIZE];
  unsigned mdlen[2] = { 0, 0 };
  double t0 = mono_s();

  for (int k = 0; k < 2; k++)
    if (!EVP_Digest(s->buf[k], s->len, md[k], &mdlen[k], EVP_sha256(), NULL))
      mdlen[k] = 0; /* cannot hash: fall through to the byte comparison */
  v->hash_s += mono_s() - t0;
  v->r->bytes_compared += s->len;
  if (mdlen[0] && mdlen[0] == mdlen[1] && !memcmp(md[0], md[1], mdlen[0]))
    return;
  for (size_t o = 0; o < s->len; o += VD_BLOCK) {
    size_t n = s->len - o < VD_BLOCK ? s->len - o : VD_BLOCK;
    if (memcmp(s->buf[0] + o, s->buf[1] + o, n))
      block_differs(v, s->off + o, s->buf[0] + o, s->buf[1] + o, n);
  }
}

/* ---- reading both sides ---- */

/* Bytes from off that read as zero on both sides (up to len). */
static uint64_t both_zero(struct vd *v, uint64_t off, uint64_t len)
{
  uint64_t end = off + len;

  for (int k = 0; k < 2; k++) {
    uint64_t z = off;
    for (;;) {
      uint64_t z2 = stg_zero_until(&v->side[k], z);
      if (z2 <= z || z2 >= end) {
        z = z2 > z ? z2 : z;
        break;
      }
      z = z2;
    }
    if (z < end)
      end = z;
    if (end == off)
      break; /* no need to ask the other side */
  }
  return end - off;
}

/* Issue reads until VD_DEPTH chunks are in flight or all is issued.  Whole
 * chunks that are zero on both sides count as compared without a read. */
static int issue(struct vd *v, char *err, size_t errlen)
{
  uint64_t size = v->r->size_src;

  while (v->nbusy < VD_DEPTH && v->next < size) {
    uint64_t len = size - v->next < v->chunk ? size - v->next : v->chunk;
    if (both_zero(v, v->next, len) == len) {
      v->next += len;
      v->skipped += len;
      v->r->bytes_compared += len;
      continue;
    }
    struct vd_slot *s = &v->slot[(v->head + v->nbusy) % VD_DEPTH];
    s->off = v->next;
    s->len = (size_t)len;
    for (int k = 0; k < 2; k++) {
      s->cookie[k] = v->side[k].lib->aio_pread(v->side[k].nbd, s->buf[k], s->len, s->off,
                                               NBD_NULL_COMPLETION, 0);
      if (s->cookie[k] < 0) {
        errbuf_setf(err, errlen, "%s: read of %zu bytes at %" PRIu64 ": %s", v->side[k].what,
                    s->len, s->off, v->side[k].lib->get_error());
        return -1;
      }
    }
    v->nbusy++;
    v->next += len;
  }
  return 0;
}

/* One round of the loop: wait for either connection, let libnbd move. */
static int pump(struct vd *v, char *err, size_t errlen)
{
  struct pollfd p[2];

  for (int k = 0; k < 2; k++) {
    unsigned dir = v->side[k].lib->aio_get_direction(v->side[k].nbd);
    p[k].fd = v->side[k].lib->aio_get_fd(v->side[k].nbd);
    p[k].events = (dir & LIBNBD_AIO_DIRECTION_READ ? POLLIN : 0) |
                  (dir & LIBNBD_AIO_DIRECTION_WRITE ? POLLOUT : 0);
    p[k].revents = 0;
    if (p[k].fd < 0) {
      errbuf_setf(err, errlen, "%s: connection lost: %s", v->side[k].what,
                  v->side[k].lib->get_error());
      return -1;
    }
  }
  int n = poll(p, 2, VD_IDLE_MS);
  if (n < 0 && errno == EINTR)
    return 0;
  if (n < 0) {
    errbuf_setf(err, errlen, "poll: %s", strerror(errno));
    return -1;
  }
  if (n == 0) {
    errbuf_setf(err, errlen, "no data from either side for %d s", VD_IDLE_MS / 1000);
    return -1;
  }
  for (int k = 0; k < 2; k++) {
    int rc = 0;
    if (p[k].revents & (POLLIN | POLLHUP | POLLERR))
      rc = v->side[k].lib->aio_notify_read(v->side[k].nbd);
    else if (p[k].revents & POLLOUT)
      rc = v->side[k].lib->aio_notify_write(v->side[k].nbd);
    if (rc < 0) {
      errbuf_setf(err, errlen, "%s: %s", v->side[k].what, v->side[k].lib->get_error());
      return -1;
    }
  }
  return 0;
}

/* Wait for the oldest slot's two reads, then compare it. */
static int retire(struct vd *v, char *err, size_t errlen)
{
  struct vd_slot *s = &v->slot[v->head];

  for (;;) {
    for (int k = 0; k < 2; k++) {
      if (!s->cookie[k])
        continue;
      int rc = v->side[k].lib->aio_command_completed(v->side[k].nbd, (uint64_t)s->cookie[k]);
      if (rc < 0) {
        errbuf_setf(err, errlen, "%s: read of %zu bytes at %" PRIu64 ": %s", v->side[k].what,
                    s->len, s->off, v->side[k].lib->get_error());
        return -1;
      }
      if (rc == 1)
        s->cookie[k] = 0;
    }
    if (!s->cookie[0] && !s->cookie[1])
      break;
    if (pump(v, err, errlen) < 0)
      return -1;
  }
  compare_slot(v, s);
  v->head = (v->head + 1) % VD_DEPTH;
  v->nbusy--;
  return 0;
}

static int compare_all(struct vd *v, char *err, size_t errlen)
{
  v->chunk = VD_CHUNK;
  for (int k = 0; k < 2; k++) {
    uint64_t m = v->side[k].max_read;
    if (m && m < v->chunk)
      v->chunk = m >= VD_BLOCK ? m / VD_BLOCK * VD_BLOCK : m;
  }
  for (unsigned i = 0; i < VD_DEPTH; i++)
    for (int k = 0; k < 2; k++) {
      v->slot[i].buf[k] = malloc(v->chunk);
      if (!v->slot[i].buf[k]) {
        errbuf_setf(err, errlen, "out of memory for %zu-byte read buffers", v->chunk);
        return -1;
      }
    }
  for (;;) {
    if (issue(v, err, errlen) < 0)
      return -1;
    if (!v->nbusy)
      break;
    if (retire(v, err, errlen) < 0)
      return -1;
  }
  range_close(v);
  return 0;
}

static void describe(struct vd *v, int rc)
{
  struct qmig_diskdiff *r = v->r;

  if (rc == 1 && r->size_src != r->size_dst) {
    errbuf_setf(r->detail, sizeof r->detail,
                "sizes differ: source %" PRIu64 " bytes, destination %" PRIu64 " bytes; contents "
                "not compared",
                r->size_src, r->size_dst);
  } else if (rc == 1) {
    errbuf_setf(r->detail, sizeof r->detail,
                "%" PRIu64 " of %" PRIu64
                " bytes differ in %u range%s, the first at offset %" PRIu64 " (%" PRIu64 " bytes)",
                r->bytes_differing, r->bytes_compared, r->nranges, r->nranges == 1 ? "" : "s",
                r->ranges[0].offset, r->ranges[0].length);
  } else {
    errbuf_setf(r->detail, sizeof r->detail,
                "identical: %" PRIu64 " bytes compared (%" PRIu64 " zero on both sides, not read); "
                "%.3f s, %.3f s of it hashing",
                r->bytes_compared, v->skipped, r->seconds, v->hash_s);
  }
}

int qmig_verify_disks(const char *src, const char *src_format, const char *dst,
                      const char *dst_format, struct qmig_diskdiff *r, char *err, size_t errlen)
{
  struct vd v;
  double t0 = mono_s();
  int rc = -1;

  if (!r) {
    errbuf_setf(err, errlen, "qmig_verify_disks: no result struct");
    return -1;
  }
  memset(r, 0, sizeof *r);
  memset(&v, 0, sizeof v);
  v.r = r;
  if (stg_src_open(&v.side[0], "source", src, src_format, err, errlen) < 0)
    goto out;
  if (stg_src_open(&v.side[1], "destination", dst, dst_format, err, errlen) < 0)
    goto out;
  r->size_src = v.side[0].size;
  r->size_dst = v.side[1].size;
  if (r->size_src != r->size_dst)
    rc = 1;
  else if (compare_all(&v, err, errlen) == 0)
    rc = r->nranges ? 1 : 0;

out:
  /* Close before freeing: reads may still be in flight into the buffers. */
  stg_src_close(&v.side[0]);
  stg_src_close(&v.side[1]);
  for (unsigned i = 0; i < VD_DEPTH; i++)
    for (int k = 0; k < 2; k++)
      free(v.slot[i].buf[k]);
  r->seconds = mono_s() - t0;
  if (rc >= 0)
    describe(&v, rc);
  return rc;
}
