/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Recovery's decision (engine/recover_plan.c) over a table of situations:
 * facts observed on both sides -> the next action, and whole recoveries
 * played against a small model of two QEMUs reacting to each action. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "engine/recover.h"

#define T(a) (1u << (a)) /* a tried action, in a row's `tried` mask */

struct row {
  const char *name;
  const char *src_run, *src_mig, *dst_run, *dst_mig;
  bool listening;
  unsigned src_mirror, dst_exports;
  unsigned tried; /* mask of T(action) */
  unsigned flags; /* F_* */
  enum eng_ract want;
  const char *why; /* substring of the explanation, or NULL */
};

enum {
  F_POSTCOPY = 1,
  F_TOUCHED = 2,
  F_NEVER_RAN = 4,
  F_KEEP_PAUSED = 8,
  F_CAN_RESUME = 16,
  F_KEEP_DST = 32,
  F_QUIT_SRC = 64,
  F_WAITED_OUT = 128
};

static struct eng_rfacts facts(const struct row *r)
{
  struct eng_rfacts f = {
    .src_run = r->src_run,
    .src_mig = r->src_mig,
    .dst_run = r->dst_run,
    .dst_mig = r->dst_mig,
    .dst_listening = r->listening,
    .src_mirror = r->src_mirror,
    .dst_exports = r->dst_exports,
    .postcopy_started = r->flags & F_POSTCOPY,
    .dst_touched = r->flags & F_TOUCHED,
    .dst_never_ran = r->flags & F_NEVER_RAN,
    .src_keep_paused = r->flags & F_KEEP_PAUSED,
    .can_resume_postcopy = r->flags & F_CAN_RESUME,
    .keep_dst = r->flags & F_KEEP_DST,
    .quit_source = r->flags & F_QUIT_SRC,
    .waited_out = r->flags & F_WAITED_OUT,
  };
  for (int a = 0; a < ENG_R_NACTIONS; a++)
    f.tried[a] = r->tried & T(a);
  return f;
}

static const struct row rows[] = {
  /* Before the switchover. */
  { "precopy active: cancel", "running", "active", "inmigrate", "active", true, 0, 0, 0, 0,
    ENG_R_CANCEL, NULL },
  { "cancelling: wait", "running", "cancelling", "inmigrate", "active", true, 0, 0, T(ENG_R_CANCEL),
    0, ENG_R_WAIT, "to end after migrate_cancel" },
  { "cancel did not end", "running", "cancelling", "inmigrate", "active", true, 0, 0,
    T(ENG_R_CANCEL), F_WAITED_OUT, ENG_R_END_UNCERTAIN, "did not end after cancel" },
  { "pre-switchover with mirrors: cancel first", "finish-migrate", "pre-switchover", "inmigrate",
    "active", true, 2, 1, 0, 0, ENG_R_CANCEL, NULL },
  { "cancelled, paused at the switchover: resume before the mirrors", "finish-migrate", "cancelled",
    "inmigrate", "active", true, 2, 1, T(ENG_R_CANCEL), 0, ENG_R_SRC_CONT, NULL },
  { "source runs, mirrors left: cancel them", "running", "cancelled", "inmigrate", "active", true,
    2, 1, T(ENG_R_CANCEL) | T(ENG_R_SRC_CONT), 0, ENG_R_SRC_MIRROR_CLEAN, NULL },
  { "then quit the destination", "running", "cancelled", "inmigrate", "active", true, 0, 1,
    T(ENG_R_CANCEL) | T(ENG_R_SRC_MIRROR_CLEAN), 0, ENG_R_DST_QUIT, NULL },
  { "dst-action keep: exports removed instead", "running", "cancelled", "inmigrate", "active", true,
    0, 1, T(ENG_R_CANCEL), F_KEEP_DST, ENG_R_DST_NBD_CLEAN, NULL },
  { "dst-action keep, clean: done", "running", "cancelled", "inmigrate", "none", false, 0, 0,
    T(ENG_R_CANCEL) | T(ENG_R_DST_NBD_CLEAN), F_KEEP_DST, ENG_R_END_SRC, "destination is kept" },
  { "destination quit: done", "running", "cancelled", "gone", "none", false, 0, 0,
    T(ENG_R_CANCEL) | T(ENG_R_DST_QUIT), 0, ENG_R_END_SRC, "runs on the source" },
  { "failed run, source paused by it: resume", "paused", "failed", "gone", "none", false, 0, 0, 0,
    0, ENG_R_SRC_CONT, NULL },
  { "cont did not take", "paused", "failed", "gone", "none", false, 0, 0, T(ENG_R_SRC_CONT), 0,
    ENG_R_END_UNCERTAIN, "after cont" },
  { "in-run: paused before, stays paused", "paused", "cancelled", "gone", "none", false, 0, 0,
    T(ENG_R_CANCEL), F_KEEP_PAUSED | F_TOUCHED, ENG_R_END_SRC, "paused as it was" },
  { "source gone before the switchover", "gone", "none", "inmigrate", "active", true, 0, 0, 0, 0,
    ENG_R_END_UNCERTAIN, "running nowhere" },
  { "source crashed (internal-error)", "internal-error", "failed", "gone", "none", false, 0, 0, 0,
    0, ENG_R_END_UNCERTAIN, "'internal-error'" },
  /* Nothing in progress. */
  { "nothing in progress, source runs", "running", "none", "inmigrate", "none", false, 0, 0, 0, 0,
    ENG_R_END_SRC, "runs on the source" },
  { "nothing in progress, destination listens: quit it", "running", "none", "inmigrate", "none",
    true, 0, 0, 0, 0, ENG_R_DST_QUIT, NULL },
  { "only the destination runs", "gone", "none", "running", "completed", false, 0, 0, 0, 0,
    ENG_R_END_DST, "runs on the destination" },
  { "destination runs, source gone, no incoming state", "gone", "none", "running", "none", false, 0,
    0, 0, 0, ENG_R_END_DST, NULL },
  { "both run", "running", "none", "running", "none", false, 0, 0, 0, 0, ENG_R_END_UNCERTAIN,
    "BOTH" },
  { "destination runs but the source still migrates", "paused", "active", "running", "active",
    false, 0, 0, 0, 0, ENG_R_END_UNCERTAIN, "destination runs a guest" },
  { "source held by another QMP client, destination runs", "unknown", "none", "running", "none",
    false, 0, 0, 0, 0, ENG_R_END_UNCERTAIN, "could not be inspected" },
  { "post-copy, source never greets (dying): guest on the destination, source never started",
    "unknown", "postcopy-active", "running", "postcopy-active", false, 0, 0, 0, F_POSTCOPY,
    ENG_R_END_UNCERTAIN, "lives on the destination" },
  { "destination held by another QMP client", "running", "active", "unknown", "none", false, 0, 0,
    T(ENG_R_CANCEL), F_WAITED_OUT, ENG_R_END_UNCERTAIN, "did not end" },
  { "destination held by another client, source cancelled", "running", "cancelled", "unknown",
    "none", false, 0, 0, T(ENG_R_CANCEL), 0, ENG_R_END_SRC, "could not be inspected" },
  /* After the source completed. */
  { "completed, destination runs, quit-source", "postmigrate", "completed", "running", "completed",
    false, 0, 0, 0, F_QUIT_SRC, ENG_R_SRC_QUIT, NULL },
  { "completed, destination runs, source kept", "postmigrate", "completed", "running", "completed",
    false, 0, 0, 0, 0, ENG_R_END_DST, "stays stopped" },
  { "completed, exports left: removed before cont", "postmigrate", "completed", "paused",
    "completed", false, 0, 1, 0, 0, ENG_R_DST_NBD_CLEAN, NULL },
  { "completed, destination paused: cont", "postmigrate", "completed", "paused", "completed", false,
    0, 0, T(ENG_R_DST_NBD_CLEAN), 0, ENG_R_DST_CONT, NULL },
  { "completed, destination paused, guest was paused: stays", "postmigrate", "completed", "paused",
    "completed", false, 0, 0, 0, F_KEEP_PAUSED, ENG_R_END_DST, "paused as it was" },
  { "completed, destination still loading: wait", "postmigrate", "completed", "inmigrate", "active",
    false, 0, 0, 0, 0, ENG_R_WAIT, "still loading" },
  { "completed, destination loads forever", "postmigrate", "completed", "inmigrate", "active",
    false, 0, 0, 0, F_WAITED_OUT, ENG_R_END_UNCERTAIN, "not running" },
  { "completed, never never cont the source when the destination is unreachable", "postmigrate",
    "completed", "gone", "none", false, 0, 0, 0, 0, ENG_R_END_UNCERTAIN, "NOT resumed" },
  { "in-run: completed, destination died before it ran: source again", "postmigrate", "completed",
    "gone", "none", false, 0, 0, 0, F_NEVER_RAN | F_TOUCHED, ENG_R_SRC_CONT, NULL },
  { "completed, mirrors left on the source: removed", "postmigrate", "completed", "running",
    "completed", false, 2, 0, 0, F_QUIT_SRC, ENG_R_SRC_MIRROR_CLEAN, NULL },
  { "completed but the source was resumed by hand", "running", "completed", "paused", "completed",
    false, 0, 0, 0, 0, ENG_R_END_SRC, "although its migration completed" },
  /* Post-copy. */
  { "post-copy goes on: wait", "postmigrate", "postcopy-active", "running", "postcopy-active",
    false, 0, 0, 0, 0, ENG_R_WAIT, "post-copy goes on" },
  { "post-copy never ends", "postmigrate", "postcopy-active", "running", "postcopy-active", false,
    0, 0, 0, F_WAITED_OUT, ENG_R_END_UNCERTAIN, "did not complete in time" },
  { "post-copy paused on both sides: resume", "postmigrate", "postcopy-paused", "running",
    "postcopy-paused", false, 0, 0, 0, F_CAN_RESUME, ENG_R_POSTCOPY_RESUME, NULL },
  { "post-copy paused, cannot resume (tunnel)", "postmigrate", "postcopy-paused", "running",
    "postcopy-paused", false, 0, 0, 0, 0, ENG_R_END_UNCERTAIN, "migrate-recover" },
  { "post-copy resumed: wait for it", "postmigrate", "postcopy-recover", "running",
    "postcopy-recover", false, 0, 0, T(ENG_R_POSTCOPY_RESUME), F_CAN_RESUME, ENG_R_WAIT, NULL },
  { "post-copy just resumed, still paused: wait", "postmigrate", "postcopy-paused", "running",
    "postcopy-paused", false, 0, 0, T(ENG_R_POSTCOPY_RESUME), F_CAN_RESUME, ENG_R_WAIT, NULL },
  { "post-copy resume did not take", "postmigrate", "postcopy-paused", "running", "postcopy-paused",
    false, 0, 0, T(ENG_R_POSTCOPY_RESUME), F_CAN_RESUME | F_WAITED_OUT, ENG_R_END_UNCERTAIN,
    "did not take" },
  { "completed, the source we quit refuses clients while it exits", "unknown", "none", "running",
    "completed", false, 0, 0, T(ENG_R_SRC_QUIT), F_QUIT_SRC, ENG_R_END_DST, "was quit" },
  { "post-copy, source gone: lost, never start the source", "gone", "none", "running",
    "postcopy-active", false, 0, 0, 0, 0, ENG_R_END_UNCERTAIN, "the guest is lost" },
  { "post-copy, destination gone", "postmigrate", "postcopy-paused", "gone", "none", false, 0, 0, 0,
    0, ENG_R_END_UNCERTAIN, "never started" },
  { "in-run: post-copy seen, source gone now", "gone", "none", "paused", "none", false, 0, 0, 0,
    F_POSTCOPY, ENG_R_END_UNCERTAIN, "lives on the destination" },
  { "post-copy completed: destination runs", "postmigrate", "completed", "running", "completed",
    false, 0, 0, 0, F_POSTCOPY, ENG_R_END_DST, NULL },
  { "source paused, destination still active in post-copy: wait", "postmigrate", "postcopy-paused",
    "running", "postcopy-active", false, 0, 0, 0, F_CAN_RESUME, ENG_R_WAIT, NULL },
};

static void test_table(void **state)
{
  (void)state;
  char why[600];
  int bad = 0;
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    struct eng_rfacts f = facts(&rows[i]);
    enum eng_ract a = eng_recover_next(&f, why, sizeof why);
    bool ok = a == rows[i].want && (!rows[i].why || strstr(why, rows[i].why));
    if (!ok) {
      print_error("row '%s': got %s (%s), want %s%s%s\n", rows[i].name, eng_ract_name(a), why,
                  eng_ract_name(rows[i].want), rows[i].why ? " saying " : "",
                  rows[i].why ? rows[i].why : "");
      bad++;
    }
    if (a < ENG_R_NACTIONS && a != ENG_R_WAIT && f.tried[a]) {
      print_error("row '%s': repeats %s\n", rows[i].name, eng_ract_name(a));
      bad++;
    }
    if (a >= ENG_R_END_SRC)
      assert_true(why[0] != '\0');
  }
  assert_int_equal(bad, 0);
}

/* A small model of the pair: how QEMU answers each action. */
struct model {
  char src_run[32], src_mig[32], dst_run[32], dst_mig[32];
  bool listening;
  unsigned mirror, exports;
  bool was_running; /* QEMU resumes the source itself after a cancel */
};

static void apply(struct model *q, enum eng_ract a)
{
#define SET(f, v) snprintf(q->f, sizeof q->f, "%s", v)
  switch (a) {
  case ENG_R_CANCEL: SET(src_mig, "cancelling"); break;
  case ENG_R_WAIT:
    if (!strcmp(q->src_mig, "cancelling")) {
      SET(src_mig, "cancelled");
      if (q->was_running)
        SET(src_run, "running");
      SET(dst_run, "gone"); /* an incoming migration that fails ends QEMU */
      SET(dst_mig, "none");
      q->listening = false;
      q->exports = 0;
    } else if (!strncmp(q->src_mig, "postcopy-", 9)) {
      SET(src_mig, "completed");
      SET(dst_mig, "completed");
    }
    break;
  case ENG_R_SRC_CONT: SET(src_run, "running"); break;
  case ENG_R_DST_CONT: SET(dst_run, "running"); break;
  case ENG_R_SRC_MIRROR_CLEAN: q->mirror = 0; break;
  case ENG_R_DST_NBD_CLEAN: q->exports = 0; break;
  case ENG_R_DST_QUIT:
    SET(dst_run, "gone");
    SET(dst_mig, "none");
    q->exports = 0;
    break;
  case ENG_R_SRC_QUIT:
    SET(src_run, "gone");
    SET(src_mig, "none");
    break;
  case ENG_R_POSTCOPY_RESUME:
    SET(src_mig, "postcopy-active");
    SET(dst_mig, "postcopy-active");
    break;
  default: break;
  }
#undef SET
}

/* Play a recovery; the actions taken, space-separated numbers, into out. */
static enum eng_ract play(struct model q, unsigned flags, char *out, size_t len)
{
  struct eng_rfacts f = { 0 };
  char why[600];
  out[0] = '\0';
  for (int step = 0; step < 30; step++) {
    f.src_run = q.src_run, f.src_mig = q.src_mig, f.dst_run = q.dst_run, f.dst_mig = q.dst_mig;
    f.dst_listening = q.listening, f.src_mirror = q.mirror, f.dst_exports = q.exports;
    f.keep_dst = flags & F_KEEP_DST, f.quit_source = flags & F_QUIT_SRC;
    f.can_resume_postcopy = flags & F_CAN_RESUME;
    enum eng_ract a = eng_recover_next(&f, why, sizeof why);
    if (a >= ENG_R_END_SRC)
      return a;
    size_t n = strlen(out);
    snprintf(out + n, len - n, "%s%d", n ? " " : "", (int)a);
    if (a != ENG_R_WAIT)
      f.tried[a] = true;
    apply(&q, a);
  }
  return ENG_R_END_UNCERTAIN;
}

static void test_play(void **state)
{
  (void)state;
  char seq[200], want[200];
  /* Killed at pre-switchover with a disk mirror: cancel, QEMU resumes the
   * source and the failed incoming migration ends the destination; the
   * mirror goes. */
  struct model pre = {
    "finish-migrate", "pre-switchover", "inmigrate", "active", true, 2, 1, true
  };
  assert_int_equal(play(pre, 0, seq, sizeof seq), ENG_R_END_SRC);
  snprintf(want, sizeof want, "%d %d %d", ENG_R_CANCEL, ENG_R_WAIT, ENG_R_SRC_MIRROR_CLEAN);
  assert_string_equal(seq, want);
  /* The same, the guest paused before: cont is qmig recover's to do. */
  pre.was_running = false;
  assert_int_equal(play(pre, 0, seq, sizeof seq), ENG_R_END_SRC);
  snprintf(want, sizeof want, "%d %d %d %d", ENG_R_CANCEL, ENG_R_WAIT, ENG_R_SRC_CONT,
           ENG_R_SRC_MIRROR_CLEAN);
  assert_string_equal(seq, want);
  /* Completed before cont, with exports left: removed, cont, source quit. */
  struct model done = { "postmigrate", "completed", "paused", "completed", false, 0, 1, true };
  assert_int_equal(play(done, F_QUIT_SRC, seq, sizeof seq), ENG_R_END_DST);
  snprintf(want, sizeof want, "%d %d %d", ENG_R_DST_NBD_CLEAN, ENG_R_DST_CONT, ENG_R_SRC_QUIT);
  assert_string_equal(seq, want);
  /* Post-copy paused by a broken link: resumed, waited for, done. */
  struct model pc = { "postmigrate", "postcopy-paused", "running", "postcopy-paused", false, 0, 0,
                      true };
  assert_int_equal(play(pc, F_CAN_RESUME, seq, sizeof seq), ENG_R_END_DST);
  snprintf(want, sizeof want, "%d %d", ENG_R_POSTCOPY_RESUME, ENG_R_WAIT);
  assert_string_equal(seq, want);
}

int main(void)
{
  const struct CMUnitTest tests[] = { cmocka_unit_test(test_table), cmocka_unit_test(test_play) };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
