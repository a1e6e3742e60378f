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
  if (qmp_connect() != 42 || errbuf_setf() != 7 || tp_tls_new() != 9) {
    fprintf(stderr, "the embedder's own functions were not the ones called\n");
    rc = 1;
  }
  qmig_free(m);
  if (rc == 0)
    printf("embed ok: %s\n", qmig_state_name(QMIG_S_INIT));
  return rc;
}
