/* preflight.c - placeholder until the preflight checks land: passes. */
#include "engine/internal.h"

int eng_preflight(struct qmig_migration *m)
{
  (void)m;
  return 0;
}
