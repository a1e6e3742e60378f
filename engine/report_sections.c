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
  *s = (struct eng_sections){ 0 };
}

const struct qmig_report_preflight *qmig_report_preflight(const struct qmig_migration *m)
{
  return m->sec.preflight;
}

const struct qmig_report_prediction *qmig_report_prediction(const struct qmig_migration *m)
{
  return m->sec.prediction;
}

const struct qmig_report_announce *qmig_report_announce(const struct qmig_migration *m)
{
  return m->sec.announce;
}

const struct qmig_report_policy *qmig_report_policy(const struct qmig_migration *m)
{
  return m->sec.policy;
}

const struct qmig_report_postcopy *qmig_report_postcopy(const struct qmig_migration *m)
{
  return m->sec.postcopy;
}

const struct qmig_report_storage *qmig_report_storage(const struct qmig_migration *m)
{
  return m->sec.storage;
}

const struct qmig_report_tunnel *qmig_report_tunnel(const struct qmig_migration *m)
{
  return m->sec.tunnel;
}

const struct qmig_report_created_disks *qmig_report_created_disks(const struct qmig_migration *m)
{
  return m->sec.created_disks;
}

const struct qmig_report_recover *qmig_report_recover(const struct qmig_migration *m)
{
  return m->sec.recover;
}
