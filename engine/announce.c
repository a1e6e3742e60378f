/* announce.c - placeholder until announce-self lands. */
#include "engine/internal.h"

int eng_announce(struct qmig_migration *m)
{
  (void)m;
  return 0;
}
