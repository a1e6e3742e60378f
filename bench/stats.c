/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* stats.c - medians, percentiles and bootstrap intervals: pure functions
 * of their inputs (the bootstrap's generator is seeded by the caller, so
 * the same inputs give the same interval). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

void bench_sort(double *v, size_t n)
{
  qsort(v, n, sizeof *v, cmp_double);
}

double bench_quantile(const double *sorted, size_t n, double p)
{
  if (n == 1 || p <= 0)
    return sorted[0];
  if (p >= 1)
    return sorted[n - 1];
  double h = (double)(n - 1) * p;
  size_t lo = (size_t)floor(h);
  if (lo + 1 >= n)
    return sorted[n - 1];
  return sorted[lo] + (h - (double)lo) * (sorted[lo + 1] - sorted[lo]);
}

void bench_rng_seed(struct bench_rng *r, uint64_t seed)
{
  r->s = seed;
}

uint64_t bench_rng_next(struct bench_rng *r)
{
  uint64_t z = (r->s += UINT64_C(0x9e3779b97f4a7c15));
  z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
  return z ^ (z >> 31);
}

/* Median of a resample of v (n values drawn with replacement) in tmp. */
static double resample_median(const double *v, size_t n, double *tmp, struct bench_rng *r)
{
  for (size_t i = 0; i < n; i++)
    tmp[i] = v[bench_rng_next(r) % n];
  bench_sort(tmp, n);
  return bench_quantile(tmp, n, 0.5);
}

/* Copy of v, sorted; NULL when out of memory (or n is absurd). */
static double *sorted_copy(const double *v, size_t n)
{
  if (n == 0 || n > SIZE_MAX / sizeof(double))
    return NULL;
  double *s = malloc(n * sizeof *s);
  if (s) {
    memcpy(s, v, n * sizeof *s);
    bench_sort(s, n);
  }
  return s;
}

int bench_summarize(const double *v, size_t n, unsigned resamples, uint64_t seed,
                    struct bench_summary *out)
{
  double *s = sorted_copy(v, n);
  if (!s)
    return -1;
  out->n = n;
  out->min = s[0];
  out->max = s[n - 1];
  out->median = bench_quantile(s, n, 0.5);
  out->p5 = bench_quantile(s, n, 0.05);
  out->p95 = bench_quantile(s, n, 0.95);
  out->ci_lo = out->ci_hi = out->median;
  if (resamples == 0 || n == 1) {
    free(s);
    return 0;
  }
  double *tmp = malloc(n * sizeof *tmp), *meds = calloc(resamples, sizeof *meds);
  int rc = -1;
  if (tmp && meds) {
    struct bench_rng r;
    bench_rng_seed(&r, seed);
    for (unsigned i = 0; i < resamples; i++)
      meds[i] = resample_median(s, n, tmp, &r);
    bench_sort(meds, resamples);
    out->ci_lo = bench_quantile(meds, resamples, 0.025);
    out->ci_hi = bench_quantile(meds, resamples, 0.975);
    rc = 0;
  }
  free(tmp);
  free(meds);
  free(s);
  return rc;
}

int bench_ratio(const double *a, size_t na, const double *b, size_t nb, unsigned resamples,
                uint64_t seed, double *ratio, double *lo, double *hi)
{
  double *sa = sorted_copy(a, na), *sb = sorted_copy(b, nb);
  double *ta = sa ? malloc(na * sizeof *ta) : NULL, *tb = sb ? malloc(nb * sizeof *tb) : NULL;
  double *rs = calloc(resamples ? resamples : 1, sizeof *rs);
  int rc = -1;
  if (!sa || !sb || !ta || !tb || !rs)
    goto out;
  double mb = bench_quantile(sb, nb, 0.5);
  if (mb == 0)
    goto out;
  *ratio = bench_quantile(sa, na, 0.5) / mb;
  *lo = *hi = *ratio;
  struct bench_rng r;
  bench_rng_seed(&r, seed);
  unsigned k = 0;
  for (unsigned i = 0; i < resamples; i++) {
    double ma = resample_median(sa, na, ta, &r), mbb = resample_median(sb, nb, tb, &r);
    if (mbb != 0)
      rs[k++] = ma / mbb;
  }
  if (k > 0) {
    bench_sort(rs, k);
    *lo = bench_quantile(rs, k, 0.025);
    *hi = bench_quantile(rs, k, 0.975);
  }
  rc = 0;
out:
  free(sa);
  free(sb);
  free(ta);
  free(tb);
  free(rs);
  return rc;
}
