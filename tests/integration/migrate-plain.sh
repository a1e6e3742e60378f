# SPDX-License-Identifier: LGPL-2.1-or-later
# Plain native migration of a dirtying guest: report figures, memory check,
# exactly one QEMU (the destination) left running.
. "$(dirname "$0")/lib.sh"
start_lab --fill 128 --dirty 20
migrate
expect_migrated
[ "$(jr .config.multifd_channels)" = 0 ] || fail "config not recorded"
[ "$(jr '.passes | length')" -ge 2 ] || fail "fewer than 2 passes"
[ "$(jr '.warnings | length')" = 0 ] || fail "unexpected warning: $(jr .warnings)"
[ "$(jr .heartbeat.dst_lines)" -gt 0 ] || fail "no destination heartbeats"
expect_guest_on dst
# qmig's CPU: the follow loop's share (migrate to the source's end) is part
# of the whole; the heartbeat reader is measured apart, and it ran.
[ "$(jr '.qmig_cpu_stream_s > 0 and .qmig_cpu_stream_s <= .qmig_cpu_s')" = true ] ||
  fail "qmig_cpu_stream_s $(jr .qmig_cpu_stream_s) not within qmig_cpu_s $(jr .qmig_cpu_s)"
[ "$(jr '.heartbeat.reader_cpu_s > 0')" = true ] ||
  fail "heartbeat.reader_cpu_s $(jr .heartbeat.reader_cpu_s)"
[ "$(jr .config.poll_adaptive)" = true ] || fail "poll-adaptive not on by default"
