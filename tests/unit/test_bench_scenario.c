/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Scenarios through the public API: every unknown knob or bad value is
 * refused before anything runs, naming the scenario, the knob and why;
 * sweeps, presets and overrides produce the scenarios they say.  And the
 * outputs rendered from given run records (no QEMU needed): files written,
 * failed runs kept, everything HTML-escaped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "qmig.h"
#include "tests/unit/unit.h"

static void refused(const char *json, const char *const *want)
{
  struct qmig_bench *b = qmig_bench_new();
  assert_non_null(b);
  assert_int_equal(qmig_bench_load_text(b, json), -1);
  for (; *want; want++)
    if (!strstr(qmig_bench_error(b), *want))
      fail_msg("%s: '%s' lacks '%s'", json, qmig_bench_error(b), *want);
  assert_int_equal(qmig_bench_count(b), 0);
  qmig_bench_free(b);
}
#define REFUSED(json, ...) refused(json, (const char *const[]){ __VA_ARGS__, NULL })

static void test_refused(void **state)
{
  (void)state;
  REFUSED("[{\"name\":\"a\",\"fill\":64},{\"name\":\"b\",\"multifd-chanels\":2}]", "scenario 'b'",
          "unknown knob 'multifd-chanels'");
  REFUSED("{\"name\":\"x\",\"multifd-channels\":\"lots\"}", "scenario 'x'",
          "knob 'multifd-channels' = 'lots'", "not a number");
  REFUSED("{\"name\":\"x\",\"downtime-limit\":0}", "knob 'downtime-limit' = '0'");
  REFUSED("{\"name\":\"x\",\"xbzrle\":\"maybe\"}", "knob 'xbzrle' = 'maybe'");
  REFUSED("{\"name\":\"x\",\"fill\":-3}", "knob 'fill' = '-3'");
  REFUSED("{\"name\":\"x\",\"dirty\":\"fast\"}", "knob 'dirty' = 'fast'");
  REFUSED("{\"name\":\"x\",\"disk-format\":\"vmdk\"}", "knob 'disk-format'", "raw or qcow2");
  REFUSED("{\"name\":\"x\",\"dirty-pattern\":\"random\"}", "knob 'dirty-pattern'");
  REFUSED("{\"name\":\"x\",\"transport\":\"carrier-pigeon\"}", "knob 'transport'");
  if (!qmig_option_help("tunnel")) /* until the tunnel is in this build */
    REFUSED("{\"name\":\"t\",\"transport\":\"tunnel-tls\"}",
            "transport tunnel-tls: not available in this build");
  REFUSED("{\"name\":\"l\",\"link-rate\":\"fast\"}", "knob 'link-rate' = 'fast'", "not a rate");
  REFUSED("{\"name\":\"s\",\"link-rate\":\"1gbit\",\"transport\":\"stunnel\"}",
          "knob 'transport' = 'stunnel': not with netns or link-rate");
  REFUSED("{\"name\":\"x\",\"src\":\"unix:/tmp/x\"}", "knob 'src'", "set by the bench");
  REFUSED("{\"name\":\"x\",\"fill\":[64]}", "knob 'fill'", "string, number or boolean");
  REFUSED("[{\"name\":\"a\"},{\"name\":\"a\"}]", "two scenarios are named 'a'");
  REFUSED("{\"base\":{\"fill\":\"big\"},\"scenarios\":[{\"name\":\"a\"}]}", "scenario 'a'",
          "knob 'fill' = 'big'");
  REFUSED("{\"scenarios\":[{}],\"extra\":1}", "unknown top-level key 'extra'");
  REFUSED("[{\"name\":\"a\",", "line 1");
  REFUSED("[]", "0 scenarios");
  /* Rules between options, before anything runs. */
  REFUSED("{\"name\":\"z\",\"multifd-compression\":\"zstd\"}", "scenario 'z'",
          "multifd-compression zstd needs multifd-channels");
  REFUSED("{\"name\":\"p\",\"postcopy\":true,\"multifd-channels\":2}", "scenario 'p'",
          "postcopy and multifd");
  /* The probe needs the Linux guest's switch: a netns lab, and not the
   * test guest. */
  REFUSED("{\"name\":\"g\",\"guest\":\"windows\"}", "knob 'guest' = 'windows'");
  REFUSED("{\"name\":\"p\",\"probe\":\"tcp\"}", "knob 'probe' = 'tcp'");
  REFUSED("{\"name\":\"p\",\"guest\":\"linux\",\"probe\":\"udp\"}", "scenario 'p'",
          "knob 'probe' = 'udp': needs guest linux and netns on");
  REFUSED("{\"name\":\"p\",\"guest\":\"lab\",\"netns\":true,\"probe\":\"icmp\"}",
          "knob 'probe' = 'icmp': needs guest linux and netns on");
}

static void test_accepted(void **state)
{
  (void)state;
  struct qmig_bench *b = qmig_bench_new();
  assert_int_equal(
      qmig_bench_load_text(b, "{\"base\":{\"fill\":64,\"mem\":96},\"scenarios\":["
                              "{\"name\":\"plain\"},{\"multifd-channels\":4,\"xbzrle\":true},"
                              "{\"name\":\"tls\",\"transport\":\"qemu-tls\"}]}"),
      0);
  assert_int_equal(
      qmig_bench_load_text(b, "[{\"name\":\"udp\",\"guest\":\"linux\",\"netns\":\"yes\","
                              "\"probe\":\"udp\",\"probe-rate\":500},{\"name\":\"icmp\","
                              "\"link-rate\":\"1gbit\",\"probe\":\"icmp\"},{\"name\":\"off\","
                              "\"guest\":\"lab\",\"probe\":\"off\"}]"),
      0);
  assert_int_equal(qmig_bench_count(b), 6);
  assert_string_equal(qmig_bench_name(b, 1), "s2");
  assert_int_equal(qmig_bench_check(b), 0);
  qmig_bench_free(b);
}

static void test_sweep_override(void **state)
{
  (void)state;
  struct qmig_bench *b = qmig_bench_new();
  assert_int_equal(qmig_bench_sweep(b, "multifd-channels=1,2,4"), 0);
  assert_int_equal(qmig_bench_count(b), 3);
  assert_string_equal(qmig_bench_name(b, 2), "multifd-channels=4");
  assert_int_equal(qmig_bench_override(b, "fill", "huge"), 0);
  assert_int_equal(qmig_bench_check(b), -1);
  assert_non_null(strstr(qmig_bench_error(b), "knob 'fill' = 'huge'"));
  qmig_bench_free(b);

  b = qmig_bench_new();
  assert_int_equal(qmig_bench_sweep(b, "multifd-channels=1,x"), -1);
  assert_non_null(strstr(qmig_bench_error(b), "scenario 'multifd-channels=x'"));
  qmig_bench_free(b);

  b = qmig_bench_new();
  assert_int_equal(qmig_bench_load_text(b, "[{\"name\":\"a\"},{\"name\":\"b\"}]"), 0);
  assert_int_equal(qmig_bench_sweep(b, "dirty=1,2"), -1);
  assert_non_null(strstr(qmig_bench_error(b), "one base scenario"));
  assert_int_equal(qmig_bench_set(b, "baseline", "zzz"), 0);
  assert_int_equal(qmig_bench_check(b), -1);
  assert_non_null(strstr(qmig_bench_error(b), "baseline 'zzz'"));
  assert_int_equal(qmig_bench_set(b, "runs", "0"), -1);
  assert_non_null(strstr(qmig_bench_error(b), "'runs'"));
  assert_int_equal(qmig_bench_set(b, "colour", "red"), -1);
  assert_non_null(strstr(qmig_bench_error(b), "unknown bench setting 'colour'"));
  qmig_bench_free(b);
}

static void test_presets(void **state)
{
  (void)state;
  const char *const *p = qmig_bench_preset_names();
  int n = 0, usable = 0;
  for (; *p; p++, n++) {
    struct qmig_bench *b = qmig_bench_new();
    int rc = qmig_bench_preset(b, *p);
    /* Every preset either loads, or is refused only for what this build
     * lacks. */
    if (rc < 0 && !strstr(qmig_bench_error(b), "not available in this build"))
      fail_msg("preset %s: %s", *p, qmig_bench_error(b));
    usable += rc == 0;
    assert_non_null(qmig_bench_preset_help(*p));
    qmig_bench_free(b);
  }
  assert_true(n >= 9);
  assert_true(usable >= 7);
  struct qmig_bench *b = qmig_bench_new();
  assert_int_equal(qmig_bench_preset(b, "nope"), -1);
  assert_non_null(strstr(qmig_bench_error(b), "unknown preset 'nope'"));
  qmig_bench_free(b);
}

/* Two scenarios, one with a hostile name; a warm-up, two good runs and a
 * failed one. */
static const char *const lines[] = {
  "{\"bench\":{\"scenario\":\"a<script>x</script>\",\"index\":0,\"run\":0,\"warmup\":true,"
  "\"ok\":true,\"stage\":\"\",\"error\":\"\",\"date\":\"d\",\"load1\":0.5,"
  "\"baseline\":\"a<script>x</script>\",\"swept\":\"dirty\",\"seed\":1,\"resamples\":100},"
  "\"scenario\":{\"dirty\":\"0\"},\"report\":{\"total_ms\":900,\"setup_ms\":9,"
  "\"qemu_downtime_ms\":90,\"stop_to_resume_pause_ms\":95,\"guest_stall_ms\":99,"
  "\"throughput_bytes_per_s\":1048576},\"samples\":[[0.1,1,1048576,1,1]]}",
  "{\"bench\":{\"scenario\":\"a<script>x</script>\",\"index\":1,\"run\":1,\"warmup\":false,"
  "\"ok\":true,\"stage\":\"\",\"error\":\"\",\"date\":\"d\",\"load1\":0.5},"
  "\"scenario\":{\"dirty\":\"0\"},\"report\":{\"total_ms\":100,\"setup_ms\":10,"
  "\"qemu_downtime_ms\":10,\"stop_to_resume_pause_ms\":20,\"guest_stall_ms\":22,"
  "\"throughput_bytes_per_s\":104857600},\"samples\":[[0.1,1,104857600,1,1]]}",
  "{\"bench\":{\"scenario\":\"b&c\",\"index\":2,\"run\":1,\"warmup\":false,\"ok\":true,"
  "\"stage\":\"\",\"error\":\"\",\"date\":\"d\",\"load1\":0.5},\"scenario\":{\"dirty\":\"50\"},"
  "\"report\":{\"total_ms\":300,\"setup_ms\":10,\"qemu_downtime_ms\":30,"
  "\"stop_to_resume_pause_ms\":40,\"guest_stall_ms\":44,\"throughput_bytes_per_s\":52428800},"
  "\"samples\":[]}",
  "{\"bench\":{\"scenario\":\"b&c\",\"index\":3,\"run\":2,\"warmup\":false,\"ok\":false,"
  "\"stage\":\"migrate\",\"error\":\"boom <b>\",\"date\":\"d\",\"load1\":0.5},"
  "\"scenario\":{\"dirty\":\"50\"},\"report\":null}",
};

/* A probed run: the switchover's network gap 130 ms against a heartbeat
 * stall of 100 ms, and a longer gap in setup; and one without a probe. */
static const char *const probed[] = {
  "{\"bench\":{\"scenario\":\"p\",\"index\":0,\"run\":1,\"warmup\":false,\"ok\":true,"
  "\"stage\":\"\",\"error\":\"\",\"date\":\"d\",\"load1\":0.5},\"scenario\":{\"probe\":\"udp\"},"
  "\"report\":{\"total_ms\":900,\"guest_stall_ms\":100,\"stop_at_ms\":500,\"resume_at_ms\":560,"
  "\"stalls\":[{\"phase\":\"switchover\",\"start_ms\":490,\"duration_ms\":100}],"
  "\"network\":{\"max_gap_ms\":200,\"gaps\":[{\"phase\":\"setup\",\"start_ms\":10,"
  "\"duration_ms\":200},{\"phase\":\"switchover\",\"start_ms\":495,\"duration_ms\":130}]}},"
  "\"samples\":[[0.1,1,1048576,1,1,0]]}",
  "{\"bench\":{\"scenario\":\"q\",\"index\":1,\"run\":1,\"warmup\":false,\"ok\":true,"
  "\"stage\":\"\",\"error\":\"\",\"date\":\"d\",\"load1\":0.5},\"scenario\":{},"
  "\"report\":{\"total_ms\":800,\"guest_stall_ms\":90,\"stalls\":[]},\"samples\":[]}",
};

static char *slurp(const char *path)
{
  FILE *f = fopen(path, "r");
  if (!f)
    return NULL;
  static char buf[1 << 20];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  return buf;
}

/* records[] as runs.jsonl in a new directory dir (a mkdtemp template),
 * rendered there by a new bench; path gets the file's name. */
static struct qmig_bench *render_records(char *dir, char *path, size_t pathlen,
                                         const char *const *records, size_t n)
{
  assert_non_null(mkdtemp(dir));
  snprintf(path, pathlen, "%s/runs.jsonl", dir);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  for (size_t i = 0; i < n; i++)
    fprintf(f, "%s\n", records[i]);
  fclose(f);
  struct qmig_bench *b = qmig_bench_new();
  assert_int_equal(qmig_bench_set(b, "out", dir), 0);
  if (qmig_bench_render(b, path) != 0)
    fail_msg("render: %s", qmig_bench_error(b));
  return b;
}

static void test_render(void **state)
{
  (void)state;
  char dir[] = "/tmp/qmig-test-bench-XXXXXX", path[256];
  struct qmig_bench *b =
      render_records(dir, path, sizeof path, lines, sizeof lines / sizeof lines[0]);
  assert_int_equal(qmig_bench_count(b), 2);
  char *s = qmig_bench_summary(b);
  assert_non_null(strstr(s, "b&c: 2 runs, 1 failed"));
  assert_non_null(strstr(s, "ratio 3.000")); /* total 300 / 100 */
  free(s);
  qmig_bench_free(b);

  const char *html = slurp((snprintf(path, sizeof path, "%s/report.html", dir), path));
  assert_non_null(html);
  assert_null(strstr(html, "<script>"));
  assert_null(strstr(html, "<b>"));
  assert_non_null(strstr(html, "a&lt;script&gt;x&lt;/script&gt;"));
  assert_non_null(strstr(html, "b&amp;c"));
  assert_non_null(strstr(html, "boom &lt;b&gt;"));
  assert_non_null(strstr(html, "class='chart box-chart'"));
  assert_non_null(strstr(html, "class='chart throughput-chart'"));
  const char *csv = slurp((snprintf(path, sizeof path, "%s/summary.csv", dir), path));
  assert_non_null(strstr(csv, "\"b&c\",total_ms,ms,1,300,"));
  csv = slurp((snprintf(path, sizeof path, "%s/runs.csv", dir), path));
  assert_non_null(strstr(csv, "\"migrate\",\"boom <b>\""));
  const char *names[] = { "runs.jsonl", "report.html", "summary.csv", "runs.csv", "summary.txt" };
  for (size_t i = 0; i < 5; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    assert_int_equal(unlink(path), 0);
  }
  assert_int_equal(rmdir(dir), 0);
}

/* The network figures and the timeline's network gaps, from given records. */
static void test_render_network(void **state)
{
  (void)state;
  char dir[] = "/tmp/qmig-test-bench-XXXXXX", path[256];
  struct qmig_bench *b =
      render_records(dir, path, sizeof path, probed, sizeof probed / sizeof probed[0]);
  char *j = qmig_bench_summary_json(b);
  assert_non_null(j);
  /* p: the largest gap 200, switchover gap - stall = 30, no ratio; q: none. */
  json_t *sum = json_loads(j, 0, NULL);
  assert_non_null(sum);
  json_t *fp = json_object_get(json_array_get(json_object_get(sum, "scenarios"), 0), "figures");
  json_t *fq = json_object_get(json_array_get(json_object_get(sum, "scenarios"), 1), "figures");
  json_t *mg = json_object_get(fp, "net_max_gap_ms"),
         *ms = json_object_get(fp, "net_gap_minus_stall_ms");
  assert_int_equal(json_integer_value(json_object_get(mg, "n")), 1);
  assert_true(json_number_value(json_object_get(mg, "median")) == 200);
  assert_int_equal(json_integer_value(json_object_get(ms, "n")), 1);
  assert_true(json_number_value(json_object_get(ms, "median")) == 30);
  assert_true(json_is_null(json_object_get(ms, "ratio")));
  assert_int_equal(json_integer_value(json_object_get(json_object_get(fq, "net_max_gap_ms"), "n")),
                   0);
  json_decref(sum);
  free(j);
  qmig_bench_free(b);
  const char *html = slurp((snprintf(path, sizeof path, "%s/report.html", dir), path));
  assert_non_null(html);
  size_t gaps = 0, legends = 0;
  for (const char *p = html; (p = strstr(p, "class='net-gap'")); p++)
    gaps++;
  for (const char *p = html; (p = strstr(p, ">network gap</text>")); p++)
    legends++;
  assert_int_equal(gaps, 2);    /* p's two gaps; q has none */
  assert_int_equal(legends, 1); /* only p's timeline names them */
  assert_non_null(strstr(html, "network gap in switchover: 130.0 ms at 0.495 s"));
  assert_non_null(strstr(html, "largest network gap per scenario"));
  const char *names[] = { "runs.jsonl", "report.html", "summary.csv", "runs.csv", "summary.txt" };
  for (size_t i = 0; i < 5; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    assert_int_equal(unlink(path), 0);
  }
  assert_int_equal(rmdir(dir), 0);
}

UNIT_MAIN(cmocka_unit_test(test_refused), cmocka_unit_test(test_accepted),
          cmocka_unit_test(test_sweep_override), cmocka_unit_test(test_presets),
          cmocka_unit_test(test_render), cmocka_unit_test(test_render_network))
