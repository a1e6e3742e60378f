# SPDX-License-Identifier: LGPL-2.1-or-later
# Garbage on a QMP connection mid-run: tests/faults/qmp-proxy.py sits
# between qmig and one QEMU's QMP socket and, once, sends qmig a malformed
# value, a value cut in half (the stream goes on after it) or a 17 MiB value
# (above QMP_MAX_MESSAGE).  One lab per kind, in this order.  Where:
#   native  the source's QMP, once pre-copy is active (8 MiB/s, no convergence)
#   tunnel, tls  the destination's QMP behind the agent, once the destination
#           reports the incoming migration active (what qmig reads comes
#           through the agent's qmp channel)
#   disks   the source's QMP while the disk is copied (mirror running)
# qmig must notice within a bounded time, name what it got, and leave the
# guest running on one side only, its memory (and disk) right.  A half value
# on the destination's QMP shows only when qmig waits for the destination to
# resume: the migration has completed by then, the guest lives there (this
# cell found qmig resuming the source too: two running guests; fixed in
# engine/recover.c).
garbage_run() {
  local kind=$1 side match mig=()
  case $MODE in
    native) side=src match='"status": *"active"' mig=(--max-bandwidth 8M) ;;
    tunnel|tls) side=dst match='"status": *"active"' mig=(--max-bandwidth 8M)
      # qmig asks the destination nothing during pre-copy: a half value
      # there shows only when it does, at the end: let it converge.
      [ "$kind" = truncated ] && mig=() ;;
    disks) side=src match='"status": *"running", *"id": *"qmig-mirror' mig=(--disk-bandwidth 2M) ;;
  esac
  echo "=== $kind on the $side's QMP"
  "$QMIG" lab stop --dir "$D" >/dev/null
  [ -n "${AGENT_PID:-}" ] && { kill "$AGENT_PID" 2>/dev/null || true; }
  rm -f "$D/agent.log"
  AGENT_QMP=$D/dst-proxy.qmp # the agent's QMP: the proxy (only used tunnelled)
  setup_pair
  qmp_proxy "$side" --match "$match" --action "$kind"
  local at=()
  if ! tunnelled; then at=("--$side" "unix:$D/$side-proxy.qmp"); fi
  start_migrate "${at[@]}" "${TUN[@]}" "${ENG[@]}" "${mig[@]}"
  await "the $kind frame" 90 flagged
  finish
  local who=source
  [ "$side" = dst ] && who=destination
  case $kind in
    malformed) expect_error "malformed JSON from $who" ;;
    oversized) expect_error "$who.*message exceeds 16777216 bytes" ;;
    truncated) if [ "$side" = dst ]; then
                 expect_error "destination did not resume within [0-9]+ ms"
               else
                 expect_error "$who: timed out after [0-9]+ ms waiting"
               fi ;;
  esac
  if [ "$MODE" = disks ]; then
    expect_rc 3; source_only_running
  elif [ "$kind:$side" = truncated:dst ]; then
    # The migration completed; qmig, deaf to the destination, cancelled,
    # then asked again on a fresh connection: the guest runs there.
    expect_rc 0; guest_ok dst
  else
    expect_rc 1; guest_ok src
  fi
}
cell() {
  for kind in ${GARBAGE:-malformed truncated oversized}; do garbage_run "$kind"; done
}
