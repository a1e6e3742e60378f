/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* announce.c - after switchover the destination announces the guest's MAC
 * addresses so that switches learn its new port (without it the guest can
 * be unreachable until it sends a frame itself: the "long ping gap after
 * migration").  QEMU sends a RARP per NIC; a virtio-net guest that
 * negotiated GUEST_ANNOUNCE sends gratuitous ARPs itself.
 *
 * QEMU 7.2 already announces once after an incoming migration, with the
 * destination's announce-* migration parameters (5 rounds by default);
 * qmig's rounds come on top, under a timer of their own (id "qmig") so they
 * neither reset QEMU's nor a user's announce-self. */
#include "engine/internal.h"

int eng_announce(struct qmig_migration *m)
{
  const struct eng_config *c = &m->cfg;
  bool on = c->announce.rounds > 0;
  int rc = 0;
  if (on &&
      qmp_cmd(m->dst, NULL, QMP_TIMEOUT_DEFAULT, "announce-self", "{s:i,s:i,s:i,s:i,s:s}",
              "initial", (int)c->announce.initial_ms, "max", (int)c->announce.max_ms, "rounds",
              (int)c->announce.rounds, "step", (int)c->announce.step_ms, "id", "qmig") < 0)
    rc = eng_errorf(m, "announce-self on the destination: %s", qmp_error(m->dst));
  struct qmig_report_announce *a = ENG_SECTION(m, announce);
  if (a)
    *a = (struct qmig_report_announce){ (int)c->announce.rounds, (int)c->announce.initial_ms,
                                        (int)c->announce.max_ms, (int)c->announce.step_ms,
                                        on && rc == 0 };
  return rc;
}
