/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* disks.c - which disks move and whether the destination can take them.
 *
 * Both sides' disks come from query-block (storage/inventory.c).  A disk is
 * copied when copy-disks names it or copy-all-disks is on (and shared-disks
 * does not name it); every other disk is shared storage both hosts open.
 * Before anything moves, every copied disk must exist on the destination
 * with the same format driver and the same virtual size (QEMU's mirror
 * refuses any other size), writable; all problems are reported at once.
 * Formats are compared as QEMU opened them: a qcow2 image that the
 * destination opened as raw is refused, never mirrored into. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "common/errbuf.h"
#include "common/run.h"
#include "engine/internal.h"
#include "engine/mirror.h"

/* Is `name` an element of the comma-separated `list`? */
static bool in_list(const char *list, const char *name)
{
  size_t n = strlen(name);
  for (const char *p = list; p && *p;) {
    const char *e = strchr(p, ',');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    if (len == n && !strncmp(p, name, n))
      return true;
    p = e ? e + 1 : NULL;
  }
  return false;
}

/* Every element of `list` must name a source disk. */
static void check_names(struct eng_mirror *mi, const char *opt, const char *list, char *probs,
                        size_t plen)
{
  for (const char *p = list; p && *p;) {
    const char *e = strchr(p, ',');
    int len = e ? (int)(e - p) : (int)strlen(p);
    bool found = false;
    for (size_t i = 0; i < mi->n && !found; i++)
      found = (int)strlen(mi->d[i].src.name) == len && !strncmp(mi->d[i].src.name, p, (size_t)len);
    if (!found)
      errbuf_appendf(probs, plen, "%s: the source has no disk '%.*s'", opt, len, p);
    p = e ? e + 1 : NULL;
  }
}

static int inventory(struct qmig_migration *m, struct qmp_conn *c, struct stg_disk *d, size_t *n)
{
  json_t *r = NULL;
  char e[256];
  if (qmp_cmd(c, &r, QMP_TIMEOUT_DEFAULT, "query-block", NULL) < 0)
    return eng_errorf(m, "%s", qmp_error(c));
  int rc = stg_inventory(r, d, ENG_MAX_DISKS, n, e, sizeof e);
  json_decref(r);
  return rc < 0 ? eng_errorf(m, "%s disks: %s", qmp_name(c), e) : 0;
}

/* The checks of one copied disk against the destination's. */
static void check_disk(const struct eng_config *c, const struct eng_mirror_disk *md,
                       const struct stg_disk *dst, char *probs, size_t plen)
{
  const struct stg_disk *s = &md->src;
  if (!dst) {
    errbuf_appendf(probs, plen,
                   "%s: the destination QEMU has no disk '%s' (start it with the disk "
                   "attached: a %s image of %llu bytes)",
                   s->name, s->name, s->format, (unsigned long long)s->size);
    return;
  }
  if (strcmp(s->format, dst->format))
    errbuf_appendf(probs, plen, "%s: format differs: source %s, destination %s%s", s->name,
                   s->format, dst->format,
                   !strcmp(dst->format, "raw") ? " (the destination would take the "
                                                 "source's image metadata for guest data)"
                                               : "");
  if (dst->size < s->size)
    errbuf_appendf(probs, plen, "%s: destination disk too small: %llu bytes, the source has %llu",
                   s->name, (unsigned long long)dst->size, (unsigned long long)s->size);
  else if (dst->size > s->size)
    errbuf_appendf(probs, plen,
                   "%s: destination disk larger (%llu bytes, source %llu): QEMU's "
                   "mirror needs equal sizes",
                   s->name, (unsigned long long)dst->size, (unsigned long long)s->size);
  if (dst->read_only)
    errbuf_appendf(probs, plen, "%s: the destination opened it read-only", s->name);
  if (c->disks.sync == ENG_SYNC_TOP && s->backing_depth > 0 && dst->backing_depth == 0)
    errbuf_appendf(probs, plen,
                   "%s: disk-sync top needs the backing chain on the destination; its "
                   "disk there has no backing image",
                   s->name);
}

/* Which of the source's disks the options copy; unknown names into probs. */
static void classify(const struct eng_config *c, struct eng_mirror *mi, const struct stg_disk *src,
                     size_t ns, char *probs, size_t plen)
{
  for (size_t i = 0; i < ns; i++) {
    struct eng_mirror_disk *md = &mi->d[mi->n++];
    md->src = src[i];
    md->copy = c->disks.copy_all ? !src[i].read_only && !in_list(c->disks.shared, src[i].name)
                                 : in_list(c->disks.copy, src[i].name);
  }
  check_names(mi, "copy-disks", c->disks.copy, probs, plen);
  check_names(mi, "shared-disks", c->disks.shared, probs, plen);
}

int eng_disks_probe(struct qmig_migration *m)
{
  const struct eng_config *c = &m->cfg;
  if (!eng_mirror_wanted(c))
    return 0;
  struct eng_mirror *mi = calloc(1, sizeof *mi);
  if (!mi)
    return eng_errorf(m, "out of memory");
  eng_mirror_free(m->mirror);
  m->mirror = mi;
  struct stg_disk src[ENG_MAX_DISKS], dst[ENG_MAX_DISKS];
  size_t ns, nd;
  if (inventory(m, m->src, src, &ns) < 0 || inventory(m, m->dst, dst, &nd) < 0)
    return -1;
  char probs[2048] = "";
  classify(c, mi, src, ns, probs, sizeof probs);
  size_t ncopy = 0;
  for (size_t i = 0; i < mi->n; i++) {
    struct eng_mirror_disk *md = &mi->d[i];
    const struct stg_disk *d = stg_find(dst, nd, md->src.name);
    if (d)
      md->dst = *d;
    md->dst_found = d != NULL;
    if (!md->copy)
      continue;
    ncopy++;
    if (md->src.read_only)
      errbuf_appendf(probs, sizeof probs, "%s: read-only on the source: share it instead",
                     md->src.name);
    check_disk(c, md, d, probs, sizeof probs);
  }
  if (!probs[0] && ncopy == 0)
    errbuf_appendf(probs, sizeof probs, "no disk to copy: the source has %s",
                   ns ? "only read-only "
                        "or shared disks"
                      : "no disks");
  eng_mirror_report(m);
  if (probs[0])
    return eng_errorf(m, "disks: %s", probs);
  return 0;
}

/* qmig_create_disks: for every disk the options copy, an empty image of the
 * same format and virtual size in dir, created on this host with qemu-img
 * (explicit format; an existing file is never overwritten), and the
 * -blockdev options that attach it to the destination QEMU under the
 * source's disk name.  Only the source is needed. */
static void safe_name(const char *name, char *out, size_t len)
{
  size_t i;
  for (i = 0; name[i] && i + 1 < len; i++)
    out[i] = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", name[i])
                 ? name[i]
                 : '_';
  out[i] = '\0';
}

static int create_one(struct qmig_migration *m, const char *dir, const struct stg_disk *s,
                      struct qmig_report_created_disks *list)
{
  char base[128], path[sizeof list->disks[0].path], size[32], why[512];
  char bd[sizeof list->disks[0].blockdev];
  safe_name(s->name, base, sizeof base);
  if (strcmp(s->format, "raw") && strcmp(s->format, "qcow2"))
    return eng_errorf(m, "%s: format %s: qmig creates raw and qcow2 images only", s->name,
                      s->format);
  snprintf(path, sizeof path, "%s/%s.%s", dir, base, s->format);
  if (access(path, F_OK) == 0)
    return eng_errorf(m, "%s: %s exists; qmig never overwrites an image", s->name, path);
  if (strchr(path, ','))
    return eng_errorf(m, "%s: %s has a ',' (cannot go into -blockdev)", s->name, path);
  snprintf(size, sizeof size, "%llu", (unsigned long long)s->size);
  const char *argv[] = { "qemu-img", "create", "-q", "-f", s->format, path, size, NULL };
  if (run_argv(argv, why, sizeof why) < 0)
    return eng_errorf(m, "%s: creating %s: %s", s->name, path, why);
  snprintf(bd, sizeof bd,
           "-blockdev driver=file,filename=%s,node-name=%s-file "
           "-blockdev driver=%s,file=%s-file,node-name=%s",
           path, base, s->format, base, s->name);
  if (list->ndisks < QMIG_MAX_DISKS) { /* one per disk of the source: always */
    struct qmig_created_disk *d = &list->disks[list->ndisks++];
    snprintf(d->name, sizeof d->name, "%s", s->name);
    snprintf(d->path, sizeof d->path, "%s", path);
    snprintf(d->format, sizeof d->format, "%s", s->format);
    d->size = s->size;
    snprintf(d->blockdev, sizeof d->blockdev, "%s", bd);
  }
  return 0;
}

enum qmig_outcome qmig_create_disks(struct qmig_migration *m, const char *dir)
{
  if (eng_begin(m) < 0)
    return QMIG_USAGE;
  const struct eng_config *c = &m->cfg;
  enum qmig_outcome out = QMIG_NOT_STARTED;
  struct qmig_report_created_disks *list = ENG_SECTION(m, created_disks);
  struct eng_mirror *mi = calloc(1, sizeof *mi);
  struct stg_disk src[ENG_MAX_DISKS];
  size_t ns, ncreated = 0;
  char probs[2048] = "", e[512];
  if (!list || !mi) {
    eng_errorf(m, "create-disks: out of memory");
    goto done;
  }
  if (!dir || !c->src || !eng_mirror_wanted(c)) {
    eng_errorf(m, "create-disks needs a source (src), a directory and the disks to copy "
                  "(copy-disks or copy-all-disks)");
    out = QMIG_USAGE;
    goto done;
  }
  m->src = eng_qmp_connect(m, "source", c->src, e, sizeof e);
  if (!m->src) {
    eng_errorf(m, "%s", e);
    goto done;
  }
  if (inventory(m, m->src, src, &ns) < 0)
    goto done;
  classify(c, mi, src, ns, probs, sizeof probs);
  if (probs[0]) {
    eng_errorf(m, "disks: %s", probs);
    goto done;
  }
  for (size_t i = 0; i < mi->n; i++) {
    if (!mi->d[i].copy)
      continue;
    if (create_one(m, dir, &mi->d[i].src, list) < 0)
      goto done; /* the ones created so far are listed in the report */
    ncreated++;
  }
  out = ncreated ? QMIG_MIGRATED : QMIG_NOT_STARTED;
  if (!ncreated)
    eng_errorf(m, "no disk to create: the source has only read-only or shared disks");
done:
  free(mi);
  return eng_end(m, out);
}
