/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* recover_plan.c - recovery's decision: the facts observed on both sides ->
 * the next action (engine/recover.h).  Pure: no I/O, unit-tested over a table
 * of situations (tests/unit/test_recover.c).
 *
 * The rules, in order:
 *  - both guests running: nothing to decide, say so (uncertain);
 *  - post-copy (either side in a postcopy-* state, or the caller saw the
 *    switchover): the destination holds the newest state, the source must
 *    never run again.  Still moving: wait.  Both paused by a broken link:
 *    resume (migrate-recover + migrate resume).  Source gone, or the
 *    destination gone: the guest is lost, say so;
 *  - the source completed (or the destination completed its incoming
 *    migration): the guest belongs on the destination.  Remove NBD exports,
 *    cont it if paused, quit the source when asked;
 *  - the destination runs and the source is gone: the guest is there;
 *  - a pre-copy migration still moving on the source: cancel, wait;
 *  - otherwise the guest belongs on the source: cont it (unless it was
 *    paused before), remove the mirror jobs, quit (or keep, cleaned) a
 *    destination that took part. */
#include <stdio.h>
#include <string.h>

#include "engine/recover.h"

static bool is(const char *s, const char *v)
{
  return s && !strcmp(s, v);
}

static bool gone(const char *run)
{
  return !run || is(run, "gone");
}

static bool postcopy(const char *mig)
{
  return mig && !strncmp(mig, "postcopy-", 9);
}

/* A pre-copy migration under way on the source (QEMU's MigrationStatus). */
static bool precopy_moving(const char *mig)
{
  static const char *const moving[] = { "setup",  "active",     "pre-switchover",
                                        "device", "cancelling", "wait-unplug",
                                        "colo" };
  for (size_t i = 0; i < sizeof moving / sizeof moving[0]; i++)
    if (is(mig, moving[i]))
      return true;
  return false;
}

/* Stopped by a migration or by hand, not dead and not an error. */
static bool paused(const char *run)
{
  return is(run, "paused") || is(run, "postmigrate") || is(run, "finish-migrate") ||
         is(run, "prelaunch") || is(run, "suspended") || is(run, "save-vm") ||
         is(run, "restore-vm");
}

#define SAY(...) snprintf(why, len, __VA_ARGS__)

/* `a` unless already tried. */
static bool want(const struct eng_rfacts *f, enum eng_ract a)
{
  return !f->tried[a];
}

static enum eng_ract on_destination(const struct eng_rfacts *f, char *why, size_t len)
{
  if (f->dst_exports && want(f, ENG_R_DST_NBD_CLEAN))
    return ENG_R_DST_NBD_CLEAN;
  if (!is(f->dst_run, "running")) {
    if (is(f->dst_run, "inmigrate") && !is(f->dst_mig, "completed") && !f->waited_out) {
      SAY("the destination is still loading the guest (incoming '%s')", f->dst_mig);
      return ENG_R_WAIT;
    }
    if (paused(f->dst_run) && f->src_keep_paused) {
      SAY("the guest is on the destination, paused as it was on the source");
      return ENG_R_END_DST;
    }
    if (paused(f->dst_run) && want(f, ENG_R_DST_CONT))
      return ENG_R_DST_CONT;
    SAY("the migration completed but the destination guest is '%s'%s, not running", f->dst_run,
        f->tried[ENG_R_DST_CONT] ? " after cont" : "");
    return ENG_R_END_UNCERTAIN;
  }
  if (f->src_mirror && !gone(f->src_run) && want(f, ENG_R_SRC_MIRROR_CLEAN))
    return ENG_R_SRC_MIRROR_CLEAN;
  if (f->quit_source && !gone(f->src_run) && want(f, ENG_R_SRC_QUIT))
    return ENG_R_SRC_QUIT;
  SAY("the guest runs on the destination; the source %s", f->tried[ENG_R_SRC_QUIT] ? "was quit"
                                                          : gone(f->src_run)       ? "is gone"
                                                                             : "stays stopped");
  return ENG_R_END_DST;
}

static enum eng_ract on_source(const struct eng_rfacts *f, char *why, size_t len)
{
  if (gone(f->src_run)) {
    SAY("the source QEMU cannot be reached and the destination is '%s': the guest may be "
        "running nowhere",
        f->dst_run);
    return ENG_R_END_UNCERTAIN;
  }
  bool involved = f->dst_touched || f->dst_listening || !is(f->dst_mig, "none") || f->dst_exports ||
                  f->tried[ENG_R_DST_NBD_CLEAN];
  /* Resume first: a source paused at pre-switchover must not wait for the
   * disk jobs to be cancelled and NBD torn down. */
  if (!is(f->src_run, "running") && !f->src_keep_paused) {
    if (paused(f->src_run) && want(f, ENG_R_SRC_CONT))
      return ENG_R_SRC_CONT;
    SAY("the source guest is '%s'%s, not running", f->src_run,
        f->tried[ENG_R_SRC_CONT] ? " after cont" : "");
    return ENG_R_END_UNCERTAIN;
  }
  if (f->src_mirror && want(f, ENG_R_SRC_MIRROR_CLEAN))
    return ENG_R_SRC_MIRROR_CLEAN;
  if (!gone(f->dst_run) && involved) {
    if (!f->keep_dst && want(f, ENG_R_DST_QUIT))
      return ENG_R_DST_QUIT;
    if (f->keep_dst && f->dst_exports && want(f, ENG_R_DST_NBD_CLEAN))
      return ENG_R_DST_NBD_CLEAN;
  }
  SAY("the guest %s on the source%s",
      is(f->src_run, "running") ? "runs" : "stays, paused as it was,",
      is(f->dst_run, "unknown") ? "; the destination could not be inspected (another QMP client "
                                  "holds it), so it was left as it is"
      : involved && f->keep_dst && !gone(f->dst_run) ? "; the destination is kept (dst-action keep)"
                                                     : "");
  return ENG_R_END_SRC;
}

static enum eng_ract on_postcopy(const struct eng_rfacts *f, char *why, size_t len)
{
  if (gone(f->src_run)) {
    SAY("post-copy with the source gone: the guest lives on the destination (now '%s') and "
        "lacks the pages the source still held: the guest is lost; the source is never "
        "started",
        f->dst_run);
    return ENG_R_END_UNCERTAIN;
  }
  if (gone(f->dst_run)) {
    SAY("post-copy with the destination gone: the guest ran there since the switchover and "
        "the source (migration '%s') holds a stale state: the guest is lost; the source is "
        "never started",
        f->src_mig);
    return ENG_R_END_UNCERTAIN;
  }
  bool src_paused = is(f->src_mig, "postcopy-paused"),
       dst_paused = is(f->dst_mig, "postcopy-paused");
  if (src_paused && dst_paused) {
    if (f->can_resume_postcopy && want(f, ENG_R_POSTCOPY_RESUME))
      return ENG_R_POSTCOPY_RESUME;
    /* QEMU leaves postcopy-paused a moment after `migrate resume`. */
    if (f->tried[ENG_R_POSTCOPY_RESUME] && !f->waited_out) {
      SAY("waiting for the resumed post-copy to leave postcopy-paused");
      return ENG_R_WAIT;
    }
    SAY("post-copy is paused on both sides (the stream broke)%s: the guest waits on the "
        "destination for its remaining pages; the source is never started%s",
        f->tried[ENG_R_POSTCOPY_RESUME] ? " and resuming it did not take" : "",
        f->can_resume_postcopy
            ? ""
            : "; not resumed by the run itself: once both sides "
              "reach each other, qmig recover resumes it (migrate-recover on the destination, "
              "migrate with resume on the source)");
    return ENG_R_END_UNCERTAIN;
  }
  if (!f->waited_out) {
    SAY("post-copy goes on (source '%s', destination '%s'): waiting for it to complete", f->src_mig,
        f->dst_mig);
    return ENG_R_WAIT;
  }
  SAY("post-copy did not complete in time (source '%s', destination '%s'): the guest lives "
      "on the destination; the source is never started",
      f->src_mig, f->dst_mig);
  return ENG_R_END_UNCERTAIN;
}

enum eng_ract eng_recover_next(const struct eng_rfacts *f, char *why, size_t len)
{
  why[0] = '\0';
  bool src_run = is(f->src_run, "running"), dst_run = is(f->dst_run, "running");
  if (src_run && dst_run) {
    SAY("BOTH sides report a running guest (source migration '%s', destination '%s'): "
        "qmig touched neither, look now",
        f->src_mig, f->dst_mig);
    return ENG_R_END_UNCERTAIN;
  }
  /* A source we quit may refuse new clients while it exits: that is no
   * unknown state. */
  bool src_unknown = is(f->src_run, "unknown") && !f->tried[ENG_R_SRC_QUIT];
  if (src_unknown && (postcopy(f->dst_mig) || f->postcopy_started)) {
    /* A source killed during post-copy can still accept on its socket
     * while it dies, and never greet: whatever it is, the guest is on the
     * destination now and the source must never run again. */
    SAY("post-copy with the source unreachable (its QMP never greeted: dying, or held by "
        "another client): the guest lives on the destination (now '%s') and may lack pages "
        "the source held; the source is never started",
        f->dst_run);
    return ENG_R_END_UNCERTAIN;
  }
  if (src_unknown) {
    SAY("the source could not be inspected (another QMP client holds its monitor: is a qmig "
        "still running?); the destination is '%s'; nothing concluded",
        f->dst_run);
    return ENG_R_END_UNCERTAIN;
  }
  if (is(f->src_mig, "completed") || is(f->dst_mig, "completed")) {
    if (gone(f->dst_run)) {
      if (f->dst_never_ran && !f->src_keep_paused && !src_run && want(f, ENG_R_SRC_CONT))
        return ENG_R_SRC_CONT;
      if (f->dst_never_ran && (src_run || f->src_keep_paused)) {
        SAY("the destination QEMU is gone after the migration completed; it never ran the "
            "guest, which %s on the source",
            src_run ? "runs again" : "stays paused");
        return ENG_R_END_SRC;
      }
      SAY("the migration completed but the destination cannot be reached and the source is "
          "'%s': the guest may be running nowhere; the source was NOT resumed (the "
          "destination may have run the guest)",
          f->src_run);
      return ENG_R_END_UNCERTAIN;
    }
    if (src_run) {
      SAY("the guest runs on the source although its migration completed; the destination "
          "('%s') was left alone",
          f->dst_run);
      return ENG_R_END_SRC;
    }
    return on_destination(f, why, len);
  }
  if (postcopy(f->src_mig) || postcopy(f->dst_mig) || f->postcopy_started)
    return on_postcopy(f, why, len);
  if (dst_run) {
    if (gone(f->src_run))
      return on_destination(f, why, len);
    SAY("the destination runs a guest but the source's migration is '%s' (guest '%s')", f->src_mig,
        f->src_run);
    return ENG_R_END_UNCERTAIN;
  }
  if (precopy_moving(f->src_mig) && !gone(f->src_run)) {
    if (want(f, ENG_R_CANCEL))
      return ENG_R_CANCEL;
    if (!f->waited_out) {
      SAY("waiting for the source's migration ('%s') to end after migrate_cancel", f->src_mig);
      return ENG_R_WAIT;
    }
    SAY("the source's migration did not end after cancel (still '%s')", f->src_mig);
    return ENG_R_END_UNCERTAIN;
  }
  return on_source(f, why, len);
}

const char *eng_ract_name(enum eng_ract a)
{
  switch (a) {
  case ENG_R_CANCEL: return "cancel the source's migration";
  case ENG_R_WAIT: return "wait";
  case ENG_R_SRC_CONT: return "resume the source guest";
  case ENG_R_SRC_MIRROR_CLEAN: return "cancel the disk mirrors on the source";
  case ENG_R_DST_NBD_CLEAN: return "remove the NBD exports on the destination";
  case ENG_R_DST_QUIT: return "quit the destination QEMU";
  case ENG_R_DST_CONT: return "resume the destination guest";
  case ENG_R_SRC_QUIT: return "quit the source QEMU";
  case ENG_R_POSTCOPY_RESUME: return "resume post-copy";
  case ENG_R_NACTIONS: break;
  case ENG_R_END_SRC: return "guest on the source";
  case ENG_R_END_DST: return "guest on the destination";
  case ENG_R_END_UNCERTAIN: return "uncertain";
  }
  return "?";
}
