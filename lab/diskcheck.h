/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lab/diskcheck.h - the checker behind qmig_verify_disk_image().
 *
 * Internal to libqmig (tests link it from libqmig.a).  What every sector
 * must hold is defined in guest/pattern.h, shared with the guest itself.
 */
#ifndef QMIG_LAB_DISKCHECK_H
#define QMIG_LAB_DISKCHECK_H

#include <stddef.h>

#include "qmig.h"

#define DC_INTERNAL __attribute__((visibility("hidden")))

/* Check a raw image of the guest's disk, `len` bytes from LBA 0: the
 * control unit, every data unit against the generation the control
 * sector's dpos gives it, and that every byte past the data units is zero.
 * Only unit dpos % nunits may be a partial write (new sectors, then old
 * ones); r->excused says it held new ones.  Fills *r (cleared first).
 * Returns 0 when everything matches, 1 when something is wrong (the first
 * problem in r->detail, the count in r->units_bad), -1 when the image is
 * not the lab guest's disk (no control magic, bad version or size, `len`
 * too small; r->detail says which).  On success r->detail summarises. */
DC_INTERNAL int dc_check(const void *img, size_t len, struct qmig_diskcheck *r);

#endif
