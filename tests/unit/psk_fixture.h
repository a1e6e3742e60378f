/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* psk_fixture.h - unit tests' TLS-PSK pair: a private dir holding keys.psk
 * (mode 0600 from creation: key files others can read are refused) and a
 * server and a client context over it.  psk_pair_free removes both. */
#ifndef QMIG_TEST_PSK_FIXTURE_H
#define QMIG_TEST_PSK_FIXTURE_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "transport/transport.h"

struct psk_pair {
  char dir[40], path[64];
  struct tp_tls *server, *client;
};

static void psk_pair_new(struct psk_pair *p, const char *client_identity)
{
  char err[256];
  snprintf(p->dir, sizeof p->dir, "/tmp/qmig-unit-psk.XXXXXX");
  assert_non_null(mkdtemp(p->dir));
  snprintf(p->path, sizeof p->path, "%s/keys.psk", p->dir);
  int fd = open(p->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  assert_true(fd >= 0);
  static const char line[] =
      "qemu:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n";
  assert_int_equal(write(fd, line, sizeof line - 1), (ssize_t)(sizeof line - 1));
  close(fd);
  struct tp_tls_opts so = { .mode = TP_TLS_PSK, .server = true, .psk_file = p->path };
  struct tp_tls_opts co = { .mode = TP_TLS_PSK,
                            .psk_file = p->path,
                            .psk_identity = client_identity };
  p->server = tp_tls_new(&so, err, sizeof err);
  p->client = p->server ? tp_tls_new(&co, err, sizeof err) : NULL;
  if (!p->server || !p->client)
    fail_msg("%s", err);
}

static void psk_pair_free(struct psk_pair *p)
{
  tp_tls_free(p->server);
  tp_tls_free(p->client);
  unlink(p->path);
  rmdir(p->dir);
}

#endif
