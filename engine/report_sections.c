/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* report_sections.c - the report's typed sections (include/qmig.h): where
 * they live and the accessors.  Each section is filled by one module
 * (struct eng_sections says which); report_json.c turns them into JSON. */
#include <stdlib.h>

#include "engine/internal.h"

void *eng_section(struct eng_sections *s, void **slot, size_t size)
{
  if (*slot)
    return *slot;
  if (s->norder == ENG_NSECTIONS || !(*slot = calloc(1, size)))
    return NULL;
  s->order[s->norder++] = slot;
  return *slot;
}

void eng_sections_free(struct eng_sections *s)
{
  if (s->tunnel)
    free((void *)s->tunnel->channels);
  /* policy->steps belongs to the policy state (m->policy), freed with it */
  free(s->preflight);
  free(s->prediction);
  free(s->announce);
  free(s->recover);
  free(s->created_disks);
  free(s->storage);
  free(s->policy);
  free(s->postcopy);
  free(s->tunnel);
  free(s->stalls);
  free(s->network);
  free(s->update);
  *s = (struct eng_sections){ 0 };
}

/* The accessors of include/qmig.h: the section, or NULL when the run had
 * none. */
#define ACCESSOR(name)                                                                \
  const struct qmig_report_##name *qmig_report_##name(const struct qmig_migration *m) \
  {                                                                                   \
    return m->sec.name;                                                               \
  }
ACCESSOR(preflight)
ACCESSOR(prediction)
ACCESSOR(announce)
ACCESSOR(policy)
ACCESSOR(postcopy)
ACCESSOR(storage)
ACCESSOR(tunnel)
ACCESSOR(created_disks)
ACCESSOR(recover)
ACCESSOR(stalls)
ACCESSOR(network)
ACCESSOR(update)
