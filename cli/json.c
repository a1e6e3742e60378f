/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* json.c - the JSON documents of the commands without a report (lab
 * status, verify-memory, verify-disk-image): each with the report's "schema" and snake_case
 * keys (docs/REPORT.md). */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

int cli_write_text(char *s, const char *path, const char *who)
{
  bool to_stdout = !strcmp(path, "-");
  FILE *f = s ? (to_stdout ? stdout : fopen(path, "we")) : NULL;
  int rc = f && fprintf(f, "%s\n", s) > 0 ? 0 : -1;
  if (f && !to_stdout && fclose(f) != 0)
    rc = -1;
  if (rc < 0)
    fprintf(stderr, "qmig %s: cannot write the JSON to %s\n", who, path);
  free(s);
  return rc;
}

int cli_write_json(json_t *o, const char *path, const char *who)
{
  char *s = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
  json_decref(o);
  return cli_write_text(s, path, who);
}

static json_t *str_or_null(const char *s)
{
  return s[0] ? json_string(s) : json_null();
}

json_t *cli_lab_json(const char *dir, const struct qmig_lab_info *li)
{
  return json_pack(
      "{s:i,s:s,s:s,s:i,s:i,s:i,s:i,"
      "s:{s:s,s:o,s:i,s:b,s:o,s:o},s:{s:s,s:o,s:i,s:b,s:o,s:o},"
      "s:o,s:o,s:o,s:i,s:i,s:o,s:o,s:I,s:o}",
      "schema", QMIG_REPORT_SCHEMA, "dir", dir, "accel", li->accel, "mem_mib", (int)li->mem_mib,
      "fill_mib", (int)li->fill_mib, "dirty_mibps", (int)li->dirty_mibps, "heartbeat_ms",
      (int)li->heartbeat_ms, "src", "qmp", li->src_qmp, "qmp_tls", str_or_null(li->src_qmp_tls),
      "pid", li->src_pid, "running", li->src_pid != 0, "netns", str_or_null(li->src_netns), "addr",
      str_or_null(li->src_addr), "dst", "qmp", li->dst_qmp, "qmp_tls", str_or_null(li->dst_qmp_tls),
      "pid", li->dst_pid, "running", li->dst_pid != 0, "netns", str_or_null(li->dst_netns), "addr",
      str_or_null(li->dst_addr), "disk", str_or_null(li->disk), "disk_format",
      str_or_null(li->disk_format), "disk_cache", str_or_null(li->disk_cache), "disk_mib",
      (int)li->disk_mib, "disk_write_kibps", (int)li->disk_write_kibps, "dst_disk",
      str_or_null(li->dst_disk), "data_disk", str_or_null(li->data_disk), "link_rate_bps",
      (json_int_t)li->link_rate_bps, "qmp_tls_dir", str_or_null(li->qmp_tls_dir));
}

json_t *cli_memcheck_json(const char *qmp, int rc, const struct qmig_memcheck *r, const char *err)
{
  static const char *const results[] = { "ok", "bad" };
  if (rc < 0)
    return json_pack("{s:i,s:s,s:s,s:s}", "schema", QMIG_REPORT_SCHEMA, "qmp", qmp, "result",
                     "error", "error", err);
  return json_pack(
      "{s:i,s:s,s:s,s:I,s:I,s:o,s:i,s:i,s:i,s:b,s:o}", "schema", QMIG_REPORT_SCHEMA, "qmp", qmp,
      "result", results[rc ? 1 : 0], "pages_checked", (json_int_t)r->pages_checked, "pages_bad",
      (json_int_t)r->pages_bad, "first_bad_page",
      r->pages_bad ? json_integer((json_int_t)r->first_bad_page) : json_null(), "guest_page_writes",
      (int)r->pos, "npages", (int)r->npages, "disk_unit_writes", (int)r->dpos, "excused",
      r->excused, "detail", r->detail[0] ? json_string(r->detail) : json_null());
}

json_t *cli_diskcheck_json(const char *image, const char *format, int rc,
                           const struct qmig_diskcheck *r, const char *err)
{
  if (rc < 0)
    return json_pack("{s:i,s:s,s:s,s:s,s:s}", "schema", QMIG_REPORT_SCHEMA, "image", image,
                     "format", format, "result", "error", "error", err);
  return json_pack(
      "{s:i,s:s,s:s,s:s,s:I,s:I,s:o,s:i,s:i,s:b,s:o}", "schema", QMIG_REPORT_SCHEMA, "image", image,
      "format", format, "result", rc ? "bad" : "ok", "units_checked", (json_int_t)r->units_checked,
      "units_bad", (json_int_t)r->units_bad, "first_bad_unit",
      r->units_bad && r->first_bad_unit != UINT64_MAX ? json_integer((json_int_t)r->first_bad_unit)
                                                      : json_null(),
      "disk_unit_writes", (int)r->dpos, "nunits", (int)r->nunits, "excused", r->excused, "detail",
      r->detail[0] ? json_string(r->detail) : json_null());
}
