/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* apply.c - what `--lab DIR` means, for the CLI and the bench alike: the
 * lab's lab.json expanded into the ordinary migration options through the
 * public API (the engine itself knows nothing of the lab). */
#include <stdio.h>
#include <stdlib.h>

#include "common/errbuf.h"
#include "lab/lab.h"

/* qmig_set(m, key, value), the engine's message into err on failure. */
static int set(struct qmig_migration *m, const char *key, const char *value, char *err,
               size_t errlen)
{
  if (qmig_set(m, key, value) == 0)
    return 0;
  errbuf_setf(err, errlen, "lab: %s", qmig_error(m));
  return -1;
}

/* The same, only when the caller has not set `key`. */
static int set_default(struct qmig_migration *m, const char *key, const char *value, char *err,
                       size_t errlen)
{
  char *had = qmig_get(m, key);
  free(had);
  return had || !value[0] ? 0 : set(m, key, value, err, errlen);
}

int qmig_lab_apply(struct qmig_migration *m, const char *dir, char *err, size_t errlen)
{
  struct qmig_lab_info li = QMIG_LAB_INFO_INIT;
  char e[256], hb[16];
  if (qmig_lab_info(dir, &li, e, sizeof e) < 0) {
    errbuf_setf(err, errlen, "lab: %s", e);
    return -1;
  }
  /* A lab with TLS QMP monitors: those, with its credentials. */
  bool tls = li.src_qmp_tls[0] != '\0';
  snprintf(hb, sizeof hb, "%u", li.heartbeat_ms);
  if (set(m, "lab", dir, err, errlen) < 0 ||
      set(m, "src", tls ? li.src_qmp_tls : li.src_qmp, err, errlen) < 0 ||
      set(m, "dst", tls ? li.dst_qmp_tls : li.dst_qmp, err, errlen) < 0 ||
      set(m, "src-serial", li.src_serial, err, errlen) < 0 ||
      set(m, "dst-serial", li.dst_serial, err, errlen) < 0 ||
      set_default(m, "data-uri", li.data_uri, err, errlen) < 0 ||
      (tls && set_default(m, "qmp-tls-dir", li.qmp_tls_dir, err, errlen) < 0) ||
      /* A two-namespace lab: the destination listens on its veth address. */
      set_default(m, "data-host", li.dst_addr, err, errlen) < 0 ||
      (li.heartbeat_ms && set(m, "heartbeat-ms", hb, err, errlen) < 0) ||
      set(m, "quit-source", "on", err, errlen) < 0)
    return -1;
  if (li.fill_mib &&
      qmig_set_ram_in_use_hint(m, (uint64_t)li.fill_mib << 20, "lab guest fill") < 0) {
    errbuf_setf(err, errlen, "lab: %s", qmig_error(m));
    return -1;
  }
  return 0;
}
