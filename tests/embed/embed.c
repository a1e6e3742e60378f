/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* An embedder of libqmig, built by tests/integration/embed.sh against an
 * installed copy through pkg-config, dynamically and statically.  It defines
 * functions named like libqmig internals: the link must not clash. */
#include <stdio.h>
#include <string.h>

#include <qmig.h>

/* Names libqmig uses inside (qmp/, common/, transport/): ours win. */
int qmp_connect(void);
int errbuf_setf(void);
int tp_tls_new(void);
int qmp_connect(void)
{
  return 42;
}
int errbuf_setf(void)
{
  return 7;
}
int tp_tls_new(void)
{
  return 9;
}

int main(void)
{
  struct qmig_migration *m = qmig_new();
  if (!m) {
    fprintf(stderr, "qmig_new failed\n");
    return 1;
  }
  int rc = 0;
  if (qmig_set(m, "multifd-channels", "4") != 0) {
    fprintf(stderr, "qmig_set multifd-channels: %s\n", qmig_error(m));
    rc = 1;
  }
  if (qmig_set(m, "no-such-option", "1") == 0 || !strstr(qmig_error(m), "no-such-option")) {
    fprintf(stderr, "an unknown option was not refused by name: '%s'\n", qmig_error(m));
    rc = 1;
  }
  if (qmig_error_code(m) != QMIG_E_OPTION) {
    fprintf(stderr, "a bad option has code %s, not option\n",
            qmig_error_code_name(qmig_error_code(m)));
    rc = 1;
  }
  /* A QMP monitor nobody listens on: told apart from a bad option by its
   * code, without reading the message. */
  struct qmig_migration *u = qmig_new();
  if (!u || qmig_set(u, "src", "unix:/nonexistent/qmig-embed-src.qmp") != 0 ||
      qmig_set(u, "dst", "unix:/nonexistent/qmig-embed-dst.qmp") != 0) {
    fprintf(stderr, "setting src/dst: %s\n", u ? qmig_error(u) : "out of memory");
    rc = 1;
  } else if (qmig_run(u) != QMIG_NOT_STARTED || qmig_error_code(u) != QMIG_E_QMP_CONNECT) {
    fprintf(stderr, "unreachable QMP: code %s (%s)\n", qmig_error_code_name(qmig_error_code(u)),
            qmig_error(u));
    rc = 1;
  }
  qmig_free(u);
  if (qmp_connect() != 42 || errbuf_setf() != 7 || tp_tls_new() != 9) {
    fprintf(stderr, "the embedder's own functions were not the ones called\n");
    rc = 1;
  }
  qmig_free(m);
  if (rc == 0)
    printf("embed ok: %s\n", qmig_state_name(QMIG_S_INIT));
  return rc;
}
