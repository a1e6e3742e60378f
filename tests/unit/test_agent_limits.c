/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The agent's bound options (range-checked, with the reason) and the
 * per-session channel accounting behind max-*-channels: a kind at its bound
 * is refused with the option named, multifd indices must be below the
 * bound, a channel that ends frees its place, and a channel of an ended
 * session does not touch the next session's counts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "agent/agent.h"
#include "tests/unit/unit.h"

static void bad(struct qmig_agent *a, const char *key, const char *v, const char *why)
{
  assert_int_equal(qmig_agent_set(a, key, v), -1);
  if (!strstr(qmig_agent_error(a), why))
    fail_msg("%s=%s: expected '%s' in '%s'", key, v, why, qmig_agent_error(a));
}

static void test_options(void **state)
{
  (void)state;
  struct qmig_agent *a = qmig_agent_new();
  assert_non_null(a);
  assert_int_equal(a->bound[AGT_B_CONNS], 64);
  assert_int_equal(a->bound[AGT_B_IDLE], 60000);
  assert_int_equal(qmig_agent_set(a, "max-connections", "200"), 0);
  assert_int_equal(a->bound[AGT_B_CONNS], 200);
  assert_int_equal(qmig_agent_set(a, "max-multifd-channels", "256"), 0);
  assert_int_equal(qmig_agent_set(a, "control-idle-timeout", "1000"), 0);
  assert_int_equal(qmig_agent_set(a, "qemu-tls-dir", "/etc/pki/qemu"), 0);
  assert_string_equal(a->qemu_tls_dir, "/etc/pki/qemu");
  bad(a, "max-connections", "1", "not a number in 2-65536");
  bad(a, "max-multifd-channels", "257", "in 1-256");
  bad(a, "max-qmp-channels", "-1", "not a number");
  bad(a, "max-nbd-channels", "4x", "not a number");
  bad(a, "control-idle-timeout", "", "not a number");
  bad(a, "qemu-tls-dir", "pki", "not an absolute path");
  bad(a, "max-everything", "1", "unknown agent option");
  qmig_agent_free(a);
}

static void open_session(struct qmig_agent *a, uint8_t tag)
{
  memset(&a->s, 0, sizeof a->s);
  a->s.active = true;
  memset(a->s.id, tag, TP_SESSION_LEN);
}

static void test_channels(void **state)
{
  (void)state;
  char why[256];
  uint8_t id[TP_SESSION_LEN], other[TP_SESSION_LEN];
  struct qmig_agent *a = qmig_agent_new();
  assert_int_equal(qmig_agent_set(a, "max-qmp-channels", "2"), 0);
  assert_int_equal(qmig_agent_set(a, "max-multifd-channels", "4"), 0);
  open_session(a, 1);
  memset(id, 1, sizeof id);
  memset(other, 2, sizeof other);
  assert_false(agt_session_busy(a));
  assert_int_equal(agt_channel_enter(a, id, TP_K_QMP, 0, why, sizeof why), 0);
  assert_true(agt_session_busy(a));
  assert_int_equal(agt_channel_enter(a, id, TP_K_QMP, 0, why, sizeof why), 0);
  assert_int_equal(agt_channel_enter(a, id, TP_K_QMP, 0, why, sizeof why), -1);
  assert_non_null(strstr(why, "already has 2 qmp channels open (max-qmp-channels 2)"));
  agt_channel_leave(a, id, TP_K_QMP);
  assert_int_equal(agt_channel_enter(a, id, TP_K_QMP, 0, why, sizeof why), 0);
  /* multifd: indices 0..3 only, and 4 at once. */
  assert_int_equal(agt_channel_enter(a, id, TP_K_MULTIFD, 4, why, sizeof why), -1);
  assert_non_null(strstr(why, "takes channels 0-3 (max-multifd-channels 4)"));
  for (unsigned i = 0; i < 4; i++)
    assert_int_equal(agt_channel_enter(a, id, TP_K_MULTIFD, i, why, sizeof why), 0);
  assert_int_equal(agt_channel_enter(a, id, TP_K_MULTIFD, 0, why, sizeof why), -1);
  /* main: 2 at once by default. */
  assert_int_equal(agt_channel_enter(a, id, TP_K_MAIN, 0, why, sizeof why), 0);
  assert_int_equal(agt_channel_enter(a, id, TP_K_MAIN, 0, why, sizeof why), 0);
  assert_int_equal(agt_channel_enter(a, id, TP_K_MAIN, 0, why, sizeof why), -1);
  /* Another session id, or a kind that is not a data channel: refused. */
  assert_int_equal(agt_channel_enter(a, other, TP_K_QMP, 0, why, sizeof why), -1);
  assert_int_equal(agt_channel_enter(a, id, TP_K_CONTROL, 0, why, sizeof why), -1);
  /* A new session: the old session's channels ending leave it alone. */
  open_session(a, 2);
  agt_channel_leave(a, id, TP_K_QMP);
  assert_int_equal(agt_channel_enter(a, other, TP_K_NBD, 0, why, sizeof why), 0);
  agt_channel_leave(a, id, TP_K_NBD);
  assert_int_equal(a->s.open[TP_K_NBD], 1);
  agt_channel_leave(a, other, TP_K_NBD);
  assert_false(agt_session_busy(a));
  qmig_agent_free(a);
}

UNIT_MAIN(cmocka_unit_test(test_options), cmocka_unit_test(test_channels))
