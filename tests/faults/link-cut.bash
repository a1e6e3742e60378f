# SPDX-License-Identifier: LGPL-2.1-or-later
# The link between two network namespaces goes down (veth set down) once
# 8 MiB crossed it: pre-copy (natively: qmig's stall watchdog, 4 s; tunnel:
# the tunnel's own dead-link detection), or the disk copy (disks: NBD over
# TCP across the veth).  qmig gives up within a bounded time naming the
# cause; the guest keeps running on the source (disks: nothing moved, the
# destination still waits).
cell() {
  need_netns
  local mig=()
  FILL=48
  case $MODE in
    native) mig=(--stall-timeout 4) ;;
    tunnel|tls) mig=(--stall-timeout 0) ;;
    disks) mig=(--stall-timeout 4 --nbd-addr tcp:198.18.0.2:49300) ;;
  esac
  setup_pair --netns --link-rate 50mbit
  migrate_link_down "${TUN[@]}" "${ENG[@]}" "${mig[@]}"
  [ "$T" -le 40 ] || fail "took $T s to give up after the link went down"
  case $MODE in
    native) expect_rc 1; expect_error "stream stalled: no progress for 4 s" ;;
    tunnel|tls) expect_rc 1; expect_error "tunnel: .* to $AGENT" ;;
    disks) expect_rc 3; expect_error "disk drive0: mirror stalled: no progress for 4 s" ;;
  esac
  if [ "$MODE" = disks ]; then source_only_running; else guest_ok src; fi
}
