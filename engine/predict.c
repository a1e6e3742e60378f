/* predict.c - placeholder until dirty-rate prediction lands. */
#include "engine/internal.h"

int eng_predict(struct qmig_migration *m)
{
  (void)m;
  return 0;
}
