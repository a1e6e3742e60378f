# SPDX-License-Identifier: LGPL-2.1-or-later
# SIGKILL of qmig migrate at a chosen moment, then qmig recover: exactly one
# running guest, on the side recover names, its memory (and disk) right.
# The moment is picked by a QMP proxy in front of the source
# (tests/faults/qmp-proxy.py) that sees what qmig and the source say:
#   setup      qmig is about to send `migrate` (capabilities set on both
#              sides, the destination listening; disks: mirrors ready): the
#              command is held, qmig killed there
#   active     the source reports the pre-copy active (8 MiB/s, the guest
#              out-dirties it: no convergence); killed 1 s later
#   preswitch  the source reports pre-switchover (vCPUs stopped, mirrors
#              ready, waiting for qmig): held there, qmig killed; needs
#              copied disks (only then does qmig pause before switchover),
#              so the tunnel modes copy the disk through the tunnel here
#   postcopy   the source reports postcopy-active; killed 1 s later (the
#              page push runs at 2 MiB/s: ~10 s of post-copy remain)
kill_engine() {
  local phase=$1 mig=()
  case $phase:$MODE in
    preswitch:native) na "no copied disk: qmig pauses before switchover only to finish disk copies (see the disks column)" ;;
    preswitch:tunnel|preswitch:tls) WITH_DISK=1 ;;
    postcopy:disks) na "qmig refuses copied disks with post-copy (the mirrors finish at the switchover, before post-copy could start)" ;;
  esac
  has_recover || pending "qmig recover is not in this build (branch recover)"
  if [ -n "${WITH_DISK:-}" ]; then
    setup_pair --disk 16 --disk-copy --disk-write 512
    ENG+=(--copy-disks drive0)
  else
    setup_pair
  fi
  case $phase in
    setup)     qmp_proxy src --dir to-qemu --match '"execute": *"migrate"[,}]' --action hold ;;
    active)    qmp_proxy src --match '"status": *"active"' --action signal
               mig=(--max-bandwidth 8M) ;;
    preswitch) qmp_proxy src --match '"status": *"pre-switchover"' --action hold ;;
    postcopy)  qmp_proxy src --match '"status": *"postcopy-active"' --action signal
               mig=(--max-bandwidth 8M --postcopy on --postcopy-after 1s --max-postcopy-bandwidth 2M) ;;
  esac
  start_migrate --src "unix:$D/src-proxy.qmp" "${TUN[@]}" "${ENG[@]}" "${mig[@]}"
  await "the $phase moment" 90 flagged
  case $phase in active|postcopy) sleep 1 ;; esac
  alive "$QPID" || { cat "$D/migrate.out"; fail "qmig ended before it could be killed"; }
  kill -KILL "$QPID"
  finish
  expect_rc 137
  run_recover
  # recover says what it found (the moment of the kill) and where the guest
  # runs; the tunnelled stream died with qmig (the source's migration failed).
  case $phase in
    setup)     expect_recovered 1 "found: source .*migration none" ;;
    active)    expect_recovered 1 "found: source .*migration (active|failed)" ;;
    preswitch) expect_recovered 1 "found: source .*migration (pre-switchover|failed)" ;;
    postcopy)  expect_recovered 0 "found: source .*migration (postcopy-active|postcopy-paused|completed)" ;;
  esac
  case $phase in
    setup|active|preswitch)
      # Before the switchover: the migration is cancelled, the source runs.
      expect_recovered 1 "the guest runs on the source"
      guest_ok src ;;
    postcopy)
      # After the post-copy switchover only the destination holds the guest:
      # natively QEMU finishes on its own; tunnelled, the stream died with
      # qmig and recover resumes the post-copy through the agent.
      expect_recovered 0 "the guest runs on the destination"
      guest_ok dst ;;
  esac
}
