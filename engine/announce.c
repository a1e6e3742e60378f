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
 * neither reset QEMU's nor a user's announce-self.  Option `announce off`
 * turns both off: the destination's announce-rounds parameter 0 (QEMU's
 * qemu_announce_self() then sends nothing, virtio-net's guest announce
 * included) and no announce-self. */
#include "engine/internal.h"

int eng_announce_prepare(struct qmig_migration *m)
{
  if (!m->cfg.announce.on && qmp_cmd(m->dst, NULL, QMP_TIMEOUT_DEFAULT, "migrate-set-parameters",
                                     "{s:i}", "announce-rounds", 0) < 0)
    return eng_errorf(m, "announce off: destination announce-rounds 0: %s", qmp_error(m->dst));
  json_t *r = NULL;
  if (qmp_cmd(m->dst, &r, QMP_TIMEOUT_DEFAULT, "query-migrate-parameters", NULL) == 0) {
    json_t *v = json_object_get(r, "announce-rounds");
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
      m->facts.dst_announce_known = true;
      m->facts.dst_announce_rounds = (unsigned)json_integer_value(v);
    }
  }
  json_decref(r);
  if (!m->cfg.announce.on && m->facts.dst_announce_known && m->facts.dst_announce_rounds != 0)
    return eng_errorf(m, "announce off: the destination kept announce-rounds %u",
                      m->facts.dst_announce_rounds);
  return 0;
}

int eng_announce(struct qmig_migration *m)
{
  const struct eng_config *c = &m->cfg;
  unsigned rounds = c->announce.on ? c->announce.rounds : 0;
  int rc = 0;
  if (rounds > 0 &&
      qmp_cmd(m->dst, NULL, QMP_TIMEOUT_DEFAULT, "announce-self", "{s:i,s:i,s:i,s:i,s:s}",
              "initial", (int)c->announce.initial_ms, "max", (int)c->announce.max_ms, "rounds",
              (int)rounds, "step", (int)c->announce.step_ms, "id", "qmig") < 0)
    rc = eng_errorf(m, "announce-self on the destination: %s", qmp_error(m->dst));
  struct qmig_report_announce *a = ENG_SECTION(m, announce);
  if (a)
    *a = (struct qmig_report_announce){
      .rounds = (int)rounds,
      .initial_ms = (int)c->announce.initial_ms,
      .max_ms = (int)c->announce.max_ms,
      .step_ms = (int)c->announce.step_ms,
      .sent = rounds > 0 && rc == 0,
      .on = c->announce.on,
      .qemu_rounds = m->facts.dst_announce_known ? (int)m->facts.dst_announce_rounds : -1,
    };
  return rc;
}
