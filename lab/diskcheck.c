/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lab/diskcheck.c - check the qmig test guest's disk, unit by unit.
 *
 * dc_check() judges a raw image in memory; qmig_verify_disk_image() maps an
 * image file (a qcow2 converted to raw first) and calls it.  The expected
 * sectors come from guest/pattern.h, the code the guest writes them with.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/errbuf.h"
#include "common/run.h"
#include "guest/pattern.h"
#include "lab/diskcheck.h"
#include "lab/lab.h"

static uint64_t dc_unit_off(uint32_t i)
{
  return (uint64_t)QG_UNIT_SIZE * (1 + (uint64_t)i);
}

/* Does sector s of unit i at `p` hold generation gen?  If not, *byte gets
 * the first differing byte within the sector and *want the byte expected. */
static bool dc_sector_ok(const unsigned char *p, uint32_t i, uint32_t gen, uint32_t s,
                         uint32_t seed, uint32_t *byte, unsigned *want)
{
  uint32_t exp[QG_SECTOR_WORDS];
  const unsigned char *e = (const unsigned char *)exp;
  uint32_t b;

  qg_fill_sector(exp, i, gen, s, seed);
  if (!memcmp(p, exp, QG_SECTOR_SIZE))
    return true;
  for (b = 0; p[b] == e[b]; b++)
    ;
  *byte = b;
  *want = e[b];
  return false;
}

/* Sectors [from, 8) of unit i all hold generation gen?  *bad: the first that
 * does not, or 8. */
static bool dc_unit_ok(const unsigned char *u, uint32_t i, uint32_t gen, uint32_t from,
                       uint32_t seed, uint32_t *bad, uint32_t *byte, unsigned *want)
{
  for (uint32_t s = from; s < QG_UNIT_SECTORS; s++) {
    if (!dc_sector_ok(u + (size_t)s * QG_SECTOR_SIZE, i, gen, s, seed, byte, want)) {
      *bad = s;
      return false;
    }
  }
  *bad = QG_UNIT_SECTORS;
  return true;
}

/* Explain why sector s of unit i is not generation gen (it is not). */
static void dc_describe(const unsigned char *u, uint32_t i, uint32_t gen, uint32_t s, uint32_t seed,
                        const char *what, char *detail, size_t len)
{
  const unsigned char *p = u + (size_t)s * QG_SECTOR_SIZE;
  uint32_t h[QG_SEC_HDR_WORDS], lba = QG_UNIT_SECTORS * (1 + i) + s, byte = 0;
  uint64_t off = dc_unit_off(i) + (uint64_t)s * QG_SECTOR_SIZE;
  unsigned want = 0;

  memcpy(h, p, sizeof h);
  if (dc_sector_ok(p, i, 0, s, seed, &byte, &want)) {
    errbuf_setf(detail, len,
                "data unit %" PRIu32 " (LBA %" PRIu32 ", byte offset %" PRIu64
                ")%s: sector %" PRIu32 " is all zero (never written); expected generation %" PRIu32,
                i, lba - s, off - (uint64_t)s * QG_SECTOR_SIZE, what, s, gen);
    return;
  }
  if (h[0] == QG_SECTOR_MAGIC && h[4] == seed && h[2] != 0 &&
      dc_sector_ok(p, h[1], h[2], h[3], seed, &byte, &want)) {
    char whose[64] = "";
    if (h[1] != i || h[3] != s)
      snprintf(whose, sizeof whose, " of unit %" PRIu32 " sector %" PRIu32 " (misplaced)", h[1],
               h[3]);
    errbuf_setf(detail, len,
                "data unit %" PRIu32 " (LBA %" PRIu32 ", byte offset %" PRIu64
                ")%s: sector %" PRIu32 " holds generation %" PRIu32 "%s where generation %" PRIu32
                " was expected%s",
                i, lba - s, off - (uint64_t)s * QG_SECTOR_SIZE, what, s, h[2], whose, gen,
                whose[0]     ? ""
                : h[2] < gen ? " (stale)"
                             : " (newer than dpos allows)");
    return;
  }
  dc_sector_ok(p, i, gen, s, seed, &byte, &want);
  errbuf_setf(detail, len,
              "data unit %" PRIu32 " (LBA %" PRIu32 ")%s, generation %" PRIu32
              ": corrupt byte at image offset %" PRIu64 " (sector %" PRIu32 " at LBA %" PRIu32
              ", byte %" PRIu32 "): found 0x%02x, expected 0x%02x",
              i, lba - s, what, gen, off + byte, s, lba, byte, p[byte], want);
}

/* Validate the control sector; 0, or -1 with the reason in r->detail. */
static int dc_read_ctl(const void *img, size_t len, struct qg_dctl *c, struct qmig_diskcheck *r)
{
  if (!img || len < QG_SECTOR_SIZE) {
    errbuf_setf(r->detail, sizeof r->detail,
                "image is %zu bytes, smaller than its %u-byte control sector", len, QG_SECTOR_SIZE);
    return -1;
  }
  memcpy(c, img, sizeof *c);
  if (c->magic != QG_DCTL_MAGIC) {
    errbuf_setf(r->detail, sizeof r->detail,
                "no disk control magic at LBA 0 (found 0x%08" PRIx32 ", want 0x%08x): not the "
                "qmig test guest's disk, or the guest has not written it yet",
                c->magic, QG_DCTL_MAGIC);
    return -1;
  }
  if (c->version != QG_DCTL_VERSION) {
    errbuf_setf(r->detail, sizeof r->detail,
                "disk control sector version %" PRIu32 ", this checker knows %u", c->version,
                QG_DCTL_VERSION);
    return -1;
  }
  if (c->nunits == 0 || c->nunits > QG_MAX_DISK_MIB * QG_UNITS_PER_MIB - 1) {
    errbuf_setf(r->detail, sizeof r->detail,
                "disk control sector says nunits=%" PRIu32 " (must be 1..%u)", c->nunits,
                QG_MAX_DISK_MIB * QG_UNITS_PER_MIB - 1);
    return -1;
  }
  if (len < dc_unit_off(c->nunits)) {
    errbuf_setf(r->detail, sizeof r->detail,
                "image is %zu bytes but its control sector says %" PRIu32 " data units (%" PRIu64
                " bytes with the control unit)",
                len, c->nunits, dc_unit_off(c->nunits));
    return -1;
  }
  return 0;
}

/* Count one bad area outside the data units; the first one described. */
static void dc_bad_area(struct qmig_diskcheck *r, const char *what, uint64_t off, unsigned found)
{
  if (r->units_bad++ == 0)
    errbuf_setf(r->detail, sizeof r->detail,
                "%s: byte at image offset %" PRIu64 " is 0x%02x, expected 0x00", what, off, found);
}

static const unsigned char *dc_nonzero(const unsigned char *p, const unsigned char *end)
{
  for (; p < end; p++)
    if (*p)
      return p;
  return NULL;
}

int dc_check(const void *img, size_t len, struct qmig_diskcheck *r)
{
  const unsigned char *b = img, *nz;
  struct qg_dctl c;
  uint32_t full, cur, i;

  memset(r, 0, sizeof *r);
  if (dc_read_ctl(img, len, &c, r) < 0)
    return -1;
  r->dpos = c.dpos;
  r->nunits = c.nunits;
  r->first_bad_unit = UINT64_MAX;
  full = c.dpos / c.nunits;
  cur = c.dpos % c.nunits;

  /* The control unit past struct qg_dctl is zero, as is all past the data. */
  nz = dc_nonzero(b + sizeof c, b + QG_UNIT_SIZE);
  if (nz)
    dc_bad_area(r, "control unit (LBA 0-7) past its header", (uint64_t)(nz - b), *nz);

  for (i = 0; i < c.nunits; i++) {
    const unsigned char *u = b + dc_unit_off(i);
    uint32_t gen = i < cur ? full + 1 : full, bad = 0, k = 0, byte;
    unsigned want;

    r->units_checked++;
    if (dc_unit_ok(u, i, gen, 0, c.seed, &bad, &byte, &want))
      continue;
    if (i == cur) {
      /* The longest prefix of new sectors; the rest must be old.  (A valid
       * split lies within that prefix, where both generations would have to
       * agree; sectors of two generations never do.) */
      dc_unit_ok(u, i, full + 1, 0, c.seed, &k, &byte, &want);
      if (dc_unit_ok(u, i, full, k, c.seed, &bad, &byte, &want)) {
        r->excused = true;
        continue;
      }
    }
    if (r->first_bad_unit == UINT64_MAX)
      r->first_bad_unit = i;
    if (r->units_bad++ == 0) { /* detail: the first problem only */
      if (i == cur && k > 0) {
        char what[128];
        snprintf(what, sizeof what,
                 " (being written at the stop, dpos=%" PRIu32 "; its first %" PRIu32
                 " sectors are generation %" PRIu32 ", the rest must be the old one)",
                 c.dpos, k, full + 1);
        dc_describe(u, i, full, bad, c.seed, what, r->detail, sizeof r->detail);
      } else {
        dc_describe(u, i, gen, bad, c.seed, "", r->detail, sizeof r->detail);
      }
    }
  }

  nz = dc_nonzero(b + dc_unit_off(c.nunits), b + len);
  if (nz)
    dc_bad_area(r, "past the last data unit", (uint64_t)(nz - b), *nz);

  if (r->units_bad == 0) {
    r->first_bad_unit = 0;
    errbuf_setf(r->detail, sizeof r->detail,
                "all %" PRIu32 " data units match dpos=%" PRIu32 " (generation %" PRIu32
                " below unit %" PRIu32 ", %" PRIu32 " from it)%s",
                c.nunits, c.dpos, full + 1, cur, full,
                r->excused ? "; the unit being written held a valid prefix of new sectors" : "");
    return 0;
  }
  if (r->units_bad > 1) {
    size_t n = strlen(r->detail);
    errbuf_setf(r->detail + n, sizeof r->detail - n, " (%" PRIu64 " bad in total)", r->units_bad);
  }
  return 1;
}

/* ---- qmig_verify_disk_image: map a raw image, or a qcow2 converted ---- */

static int dc_check_file(const char *path, const char *shown, struct qmig_diskcheck *r, char *err,
                         size_t errlen)
{
  struct stat st;
  void *p;
  int rc, fd = open(path, O_RDONLY | O_CLOEXEC);

  if (fd < 0) {
    errbuf_setf(err, errlen, "diskcheck: open %s: %s", path, strerror(errno));
    return -1;
  }
  if (fstat(fd, &st) < 0) {
    errbuf_setf(err, errlen, "diskcheck: fstat %s: %s", path, strerror(errno));
    close(fd);
    return -1;
  }
  if ((uint64_t)st.st_size > SIZE_MAX || st.st_size < QG_SECTOR_SIZE) {
    errbuf_setf(err, errlen, "diskcheck: %s is %lld bytes: %s", shown, (long long)st.st_size,
                st.st_size < QG_SECTOR_SIZE ? "too small to be the lab guest's disk"
                                            : "does not fit the address space");
    close(fd);
    return -1;
  }
  p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (p == MAP_FAILED) {
    errbuf_setf(err, errlen, "diskcheck: mmap %s (%lld bytes): %s", path, (long long)st.st_size,
                strerror(errno));
    return -1;
  }
  madvise(p, (size_t)st.st_size, MADV_SEQUENTIAL);
  rc = dc_check(p, (size_t)st.st_size, r);
  munmap(p, (size_t)st.st_size);
  if (rc < 0)
    errbuf_setf(err, errlen, "diskcheck: %s: %s", shown, r->detail);
  return rc;
}

/* A private temporary file for the raw copy: beside the image (same
 * filesystem, room for a copy of it), else in $TMPDIR or /tmp.  Returns 0
 * with its name in `out`. */
static int dc_tmpfile(const char *image, char *out, size_t len)
{
  const char *slash = strrchr(image, '/'), *tmp = getenv("TMPDIR");
  int fd;

  if (slash)
    snprintf(out, len, "%.*s/.qmig-diskcheck.XXXXXX", (int)(slash - image), image);
  else
    snprintf(out, len, ".qmig-diskcheck.XXXXXX");
  fd = mkostemp(out, O_CLOEXEC);
  if (fd < 0) {
    snprintf(out, len, "%s/qmig-diskcheck.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    fd = mkostemp(out, O_CLOEXEC);
  }
  if (fd < 0)
    return -1;
  close(fd);
  return 0;
}

int qmig_verify_disk_image(const char *path, const char *format, struct qmig_diskcheck *r,
                           char *err, size_t errlen)
{
  char tmp[PATH_MAX], why[512];
  int rc;

  if (err && errlen)
    err[0] = '\0';
  if (!path || !r) {
    errbuf_setf(err, errlen, "diskcheck: missing image path or result");
    return -1;
  }
  memset(r, 0, sizeof *r);
  if (!format || (strcmp(format, "raw") && strcmp(format, "qcow2"))) {
    errbuf_setf(err, errlen,
                "diskcheck: %s: format %s%s%s (qmig never probes a format; give "
                "raw or qcow2)",
                path, format ? "'" : "", format ? format : "missing",
                format ? "' is not supported" : "");
    return -1;
  }
  if (!strcmp(format, "raw"))
    return dc_check_file(path, path, r, err, errlen);

  if (dc_tmpfile(path, tmp, sizeof tmp) < 0) {
    errbuf_setf(err, errlen, "diskcheck: no temporary file for a raw copy of %s: %s", path,
                strerror(errno));
    return -1;
  }
  /* -U: a stopped QEMU may still hold the image's locks; it writes nothing. */
  const char *argv[] = { "qemu-img", "convert", "-U", "-f", "qcow2", "-O", "raw", path, tmp, NULL };
  /* Bounded like every child, by a time no lab disk conversion nears. */
  if (run_argv_timeout(argv, 600000, why, sizeof why) < 0) {
    errbuf_setf(err, errlen, "diskcheck: %s to raw: %s", path, why);
    rc = -1;
  } else {
    rc = dc_check_file(tmp, path, r, err, errlen);
  }
  unlink(tmp);
  return rc;
}
