/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lab/memcheck.h - the checker behind qmig_verify_memory().
 *
 * Internal to libqmig (tests link it from libqmig.a).  The page contents it
 * expects are defined in guest/pattern.h, shared with the guest itself.
 */
#ifndef QMIG_LAB_MEMCHECK_H
#define QMIG_LAB_MEMCHECK_H

#include <stddef.h>

#include "qmig.h"

#define MC_INTERNAL __attribute__((visibility("hidden")))

/* Check a copy of the guest's test region: `region` starts with the control
 * page, data page i follows at offset 4096 * (1 + i); `len` bytes are
 * readable (more than the region is fine).  Every data page is compared
 * with what the guest must have written given the control page's pos; only
 * the page being written at the stop may be a partial write, and it must be
 * a valid one (r->excused says it was).  Fills *r (cleared first).
 * Returns 0 when everything matches, 1 when something is wrong (the first
 * problem is in r->detail, the count in r->pages_bad), -1 when the region is
 * not a qmig guest region (no control magic, bad version or size, `len` too
 * small; r->detail says which).  An inconsistent control page (ready vs pos)
 * counts as one bad page; first_bad_page is then the first bad data page, or
 * UINT64_MAX if there is none.  On success r->detail summarises the check. */
MC_INTERNAL int mc_check(const void *region, size_t len, struct qmig_memcheck *r);

#endif
