/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lab/memcheck.c - check the qmig test guest's memory, page by page.
 *
 * mc_check() judges a copy of the region; qmig_verify_memory() gets that copy
 * from a live QEMU: stop, pmemsave, mmap, check.  The expected contents come
 * from guest/pattern.h, the same code the guest writes them with.
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
#include "guest/pattern.h"
#include "lab/memcheck.h"
#include "qmp/qmp.h"

#define MC_QMP_TIMEOUT_MS 10000
/* pmemsave goes through QEMU's slow physical-memory path: be generous. */
#define MC_DUMP_TIMEOUT_MS(bytes) (int)(60000 + (bytes) / (1u << 30) * 60000)

/* Validate the control page at the start of `region` and copy it to *ctl.
 * Returns 0, or -1 with the reason in detail. */
static int mc_read_ctl(const void *region, size_t len, struct qg_ctl *ctl, char *detail,
                       size_t detail_len)
{
  if (!region || len < QG_PAGE_SIZE) {
    errbuf_setf(detail, detail_len, "region is %zu bytes, smaller than the %u-byte control page",
                len, QG_PAGE_SIZE);
    return -1;
  }
  memcpy(ctl, region, sizeof *ctl);
  if (ctl->magic != QG_CTL_MAGIC) {
    errbuf_setf(detail, detail_len,
                "no control page magic at guest-physical 0x%x (found 0x%08" PRIx32
                ", want 0x%08x): not the qmig test guest, or it has not booted",
                QMIG_GUEST_BASE, ctl->magic, QG_CTL_MAGIC);
    return -1;
  }
  if (ctl->version != QG_CTL_VERSION) {
    errbuf_setf(detail, detail_len, "control page version %" PRIu32 ", this checker knows %u",
                ctl->version, QG_CTL_VERSION);
    return -1;
  }
  if (ctl->npages == 0 || ctl->npages > QG_MAX_PAGES) {
    errbuf_setf(detail, detail_len, "control page says npages=%" PRIu32 " (must be 1..%u)",
                ctl->npages, QG_MAX_PAGES);
    return -1;
  }
  return 0;
}

static uint64_t mc_region_bytes(uint32_t npages)
{
  return (uint64_t)QG_PAGE_SIZE * (1 + (uint64_t)npages);
}

/* Explain why page i does not hold generation `gen`. */
static void mc_describe(const uint32_t *p, uint32_t i, uint32_t gen, uint32_t seed, char *detail,
                        size_t detail_len)
{
  uint64_t gpa = QMIG_GUEST_BASE + (uint64_t)QG_PAGE_SIZE * (1 + (uint64_t)i);
  uint32_t w;

  if (qg_page_mismatch(p, 0, i, 0, seed) == QG_PAGE_WORDS) {
    errbuf_setf(detail, detail_len,
                "data page %" PRIu32 " (guest-physical 0x%" PRIx64
                ") is all zero (never written); expected generation %" PRIu32,
                i, gpa, gen);
    return;
  }
  if (p[0] == QG_PAGE_MAGIC && p[3] == seed && p[2] != 0 &&
      qg_page_mismatch(p, 0, p[1], p[2], seed) == QG_PAGE_WORDS) {
    if (p[1] == i)
      errbuf_setf(detail, detail_len,
                  "data page %" PRIu32 " (guest-physical 0x%" PRIx64
                  ") is %s: it holds generation %" PRIu32 " where %" PRIu32 " was expected",
                  i, gpa, p[2] < gen ? "stale" : "newer than pos allows", p[2], gen);
    else
      errbuf_setf(detail, detail_len,
                  "data page %" PRIu32 " (guest-physical 0x%" PRIx64
                  ") holds the content of page %" PRIu32 " generation %" PRIu32
                  " (misplaced); expected its own generation %" PRIu32,
                  i, gpa, p[1], p[2], gen);
    return;
  }
  w = qg_page_mismatch(p, 0, i, gen, seed);
  errbuf_setf(detail, detail_len,
              "data page %" PRIu32 " (guest-physical 0x%" PRIx64 "), generation %" PRIu32
              ": corrupt word at byte offset 0x%" PRIx32 " in the page: found 0x%08" PRIx32
              ", expected 0x%08" PRIx32,
              i, gpa, gen, w * 4, p[w], qg_expected_word(i, gen, seed, w));
}

int mc_check(const void *region, size_t len, struct qmig_memcheck *r)
{
  const uint32_t *words = region;
  struct qg_ctl ctl;
  uint32_t full, cur, i;

  memset(r, 0, sizeof *r);
  if (mc_read_ctl(region, len, &ctl, r->detail, sizeof r->detail) < 0)
    return -1;
  if (len < mc_region_bytes(ctl.npages)) {
    errbuf_setf(r->detail, sizeof r->detail,
                "region is %zu bytes but the control page says %" PRIu32 " data pages (%" PRIu64
                " bytes with the control page)",
                len, ctl.npages, mc_region_bytes(ctl.npages));
    return -1;
  }
  r->pos = ctl.pos;
  r->npages = ctl.npages;
  r->dpos = ctl.dpos;
  full = ctl.pos / ctl.npages;
  cur = ctl.pos % ctl.npages;

  /* The guest sets ready once, after pos reached npages. */
  if (ctl.ready > 1 || (ctl.ready == 0 && ctl.pos > ctl.npages) ||
      (ctl.ready == 1 && ctl.pos < ctl.npages)) {
    errbuf_setf(r->detail, sizeof r->detail,
                "control page inconsistent: ready=%" PRIu32 " with pos=%" PRIu32
                " and npages=%" PRIu32,
                ctl.ready, ctl.pos, ctl.npages);
    r->pages_bad = 1; /* counted as a bad page: the control page */
    r->first_bad_page = UINT64_MAX;
  }

  for (i = 0; i < ctl.npages; i++) {
    const uint32_t *p = words + (size_t)QG_PAGE_WORDS * (1 + (size_t)i);
    uint32_t gen = i < cur ? full + 1 : full;
    uint32_t k = 0;

    r->pages_checked++;
    if (qg_page_mismatch(p, 0, i, gen, ctl.seed) == QG_PAGE_WORDS)
      continue;
    if (i == cur) {
      /* Longest prefix of the new generation; the rest must be the old one.
       * (Any valid split point lies within that prefix, where the words of
       * both generations agree, so this finds it if there is one.) */
      k = qg_page_mismatch(p, 0, i, full + 1, ctl.seed);
      if (qg_page_mismatch(p, k, i, full, ctl.seed) == QG_PAGE_WORDS) {
        r->excused = true;
        continue;
      }
    }
    if (r->pages_bad++ == 0) {
      r->first_bad_page = i;
      if (i == cur) {
        uint32_t w = qg_page_mismatch(p, k, i, full, ctl.seed);
        errbuf_setf(
            r->detail, sizeof r->detail,
            "data page %" PRIu32 " (being written at the stop, pos=%" PRIu32
            ") is not a valid partial write: its first %" PRIu32 " words match generation %" PRIu32
            ", then word %" PRIu32 " (byte offset 0x%" PRIx32 ") is 0x%08" PRIx32
            " where generation %" PRIu32 " has 0x%08" PRIx32,
            i, ctl.pos, k, full + 1, w, w * 4, p[w], full, qg_expected_word(i, full, ctl.seed, w));
      } else {
        mc_describe(p, i, gen, ctl.seed, r->detail, sizeof r->detail);
      }
    } else if (r->first_bad_page == UINT64_MAX) {
      r->first_bad_page = i; /* the control page came first in detail */
    }
  }

  if (r->pages_bad == 0) {
    errbuf_setf(r->detail, sizeof r->detail,
                "all %" PRIu32 " data pages match pos=%" PRIu32 " (generation %" PRIu32
                " below page %" PRIu32 ", %" PRIu32 " from it)%s",
                ctl.npages, ctl.pos, full + 1, cur, full,
                r->excused ? "; the page being written was a valid partial write" : "");
    return 0;
  }
  if (r->pages_bad > 1) {
    size_t n = strlen(r->detail);
    errbuf_setf(r->detail + n, sizeof r->detail - n, " (%" PRIu64 " bad in total)", r->pages_bad);
  }
  return 1;
}

/* ---- qmig_verify_memory: dump a live guest with pmemsave ---- */

static int mc_pmemsave(struct qmp_conn *c, uint64_t size, const char *path, char *err,
                       size_t errlen)
{
  if (qmp_cmd(c, NULL, MC_DUMP_TIMEOUT_MS(size), "pmemsave", "{s:I, s:I, s:s}", "val",
              (json_int_t)QMIG_GUEST_BASE, "size", (json_int_t)size, "filename", path) < 0) {
    errbuf_setf(err, errlen, "memcheck: pmemsave of %" PRIu64 " bytes at 0x%x to %s: %s", size,
                QMIG_GUEST_BASE, path, qmp_error(c));
    return -1;
  }
  return 0;
}

/* Map `path`, which must be exactly `size` bytes, read-only. */
static const void *mc_map(const char *path, uint64_t size, char *err, size_t errlen)
{
  struct stat st;
  void *p;
  int fd = open(path, O_RDONLY | O_CLOEXEC);

  if (fd < 0) {
    errbuf_setf(err, errlen, "memcheck: open %s: %s", path, strerror(errno));
    return NULL;
  }
  if (fstat(fd, &st) < 0) {
    errbuf_setf(err, errlen, "memcheck: fstat %s: %s", path, strerror(errno));
    close(fd);
    return NULL;
  }
  if ((uint64_t)st.st_size != size) {
    errbuf_setf(err, errlen,
                "memcheck: %s is %lld bytes, expected %" PRIu64
                " (guest RAM smaller than the region?)",
                path, (long long)st.st_size, size);
    close(fd);
    return NULL;
  }
  if (size > SIZE_MAX) {
    errbuf_setf(err, errlen, "memcheck: %" PRIu64 " bytes do not fit the address space", size);
    close(fd);
    return NULL;
  }
  p = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (p == MAP_FAILED) {
    errbuf_setf(err, errlen, "memcheck: mmap %s (%" PRIu64 " bytes): %s", path, size,
                strerror(errno));
    return NULL;
  }
  madvise(p, (size_t)size, MADV_SEQUENTIAL);
  return p;
}

int qmig_verify_memory(const char *qmp_addr, const char *tmpdir, struct qmig_memcheck *r, char *err,
                       size_t errlen)
{
  /* dir is shorter so that the file names appended to it always fit */
  char absdir[PATH_MAX], dir[PATH_MAX - 32], ctl_path[PATH_MAX], dump_path[PATH_MAX];
  char cerr[512];
  struct qmp_conn *c = NULL;
  struct qg_ctl ctl;
  const void *map = NULL;
  uint64_t size = 0;
  int rc = -1;

  if (err && errlen)
    err[0] = '\0';
  if (!qmp_addr || !tmpdir || !r) {
    errbuf_setf(err, errlen, "memcheck: missing QMP address, directory or result");
    return -1;
  }
  memset(r, 0, sizeof *r);
  /* pmemsave resolves relative names against QEMU's cwd, not ours. */
  if (!realpath(tmpdir, absdir)) {
    errbuf_setf(err, errlen, "memcheck: directory %s: %s", tmpdir, strerror(errno));
    return -1;
  }
  /* A private directory: QEMU opens the name we give it, following links. */
  if (snprintf(dir, sizeof dir, "%s/qmig-memcheck.XXXXXX", absdir) >= (int)sizeof dir ||
      !mkdtemp(dir)) {
    errbuf_setf(err, errlen, "memcheck: cannot create a directory in %s: %s", absdir,
                strerror(errno));
    return -1;
  }
  snprintf(ctl_path, sizeof ctl_path, "%s/control.bin", dir);
  snprintf(dump_path, sizeof dump_path, "%s/region.bin", dir);

  c = qmp_connect("memcheck", qmp_addr, MC_QMP_TIMEOUT_MS, cerr, sizeof cerr);
  if (!c) {
    errbuf_setf(err, errlen, "%s", cerr); /* names "memcheck" and the address */
    goto out_dir;
  }
  if (qmp_cmd(c, NULL, MC_QMP_TIMEOUT_MS, "stop", NULL) < 0) {
    errbuf_setf(err, errlen, "memcheck: stop the guest at %s: %s", qmp_addr, qmp_error(c));
    goto out_close;
  }

  /* The control page first: it says how big the region is. */
  if (mc_pmemsave(c, QG_PAGE_SIZE, ctl_path, err, errlen) < 0)
    goto out_files; /* QEMU may have created the file before failing */
  map = mc_map(ctl_path, QG_PAGE_SIZE, err, errlen);
  if (!map)
    goto out_files;
  rc = mc_read_ctl(map, QG_PAGE_SIZE, &ctl, r->detail, sizeof r->detail);
  munmap((void *)map, QG_PAGE_SIZE);
  map = NULL;
  if (rc < 0) {
    errbuf_setf(err, errlen, "memcheck: guest at %s: %s", qmp_addr, r->detail);
    goto out_files;
  }
  rc = -1;

  size = mc_region_bytes(ctl.npages);
  if (mc_pmemsave(c, size, dump_path, err, errlen) < 0)
    goto out_files;
  map = mc_map(dump_path, size, err, errlen);
  if (!map)
    goto out_files;
  rc = mc_check(map, (size_t)size, r);
  if (rc < 0)
    errbuf_setf(err, errlen, "memcheck: guest at %s: %s", qmp_addr, r->detail);
  munmap((void *)map, (size_t)size);

out_files:
  unlink(dump_path);
  unlink(ctl_path);
out_close:
  qmp_close(c);
out_dir:
  rmdir(dir);
  return rc;
}
