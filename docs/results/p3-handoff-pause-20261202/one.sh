#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# one.sh VARIANT OUTDIR: one lab migration (native | handoff | fwd) at FILL MiB (MEM = FILL + 76 unless set),
# the lab in two network namespaces as tools/bench/tunnel.sh runs it; PRE/POST are eval-ed around the
# migration (perf hooks: hooks-trace.sh, hooks-sockets.sh); PKI from mkpki.sh.  Run from a worktree root.
set -u
V=$1 OUT=$2
FILL=${FILL:-128}; MEM=${MEM:-$((FILL+76))}
Q=${QMIG_BUILD:-$PWD/build}/qmig; G=${QMIG_BUILD:-$PWD/build}/guest/qmig-guest.elf
W=$(mktemp -d ${TMPDIR:-/tmp}/p3.XXXX); LAB=$W/lab
PKI=${PKI:-/tmp/p3-pki}
mkdir -p "$OUT"
$Q lab start --dir $LAB --accel tcg --fill $FILL --mem $MEM --dirty 0 --guest $G --netns >$W/lab.out 2>&1 || { cat $W/lab.out; exit 2; }
src=$(jq -r .src_netns $LAB/lab.json) dst=$(jq -r .dst_netns $LAB/lab.json)
opts="--preflight off --downtime-limit ${DOWNTIME:-30} ${EXTRA:-}"
AP=""
case $V in
 native) ;;
 handoff|fwd)
  mkdir -m 700 $W/agent
  ip netns exec $dst ${AGENT_WRAP:-} $Q agent --listen 198.18.0.2:49154 --qmp unix:$LAB/dst.qmp --run-dir $W/agent --tls x509 --tls-dir $PKI >$W/agent.log 2>&1 &
  AP=$!
  for i in $(seq 100); do ip netns exec $dst ss -Hltn "sport = :49154" | grep -q . && break; sleep 0.1; done
  opts="$opts --tunnel 198.18.0.2:49154 --tunnel-tls x509 --tunnel-tls-dir $PKI --tunnel-peer-name dst.qmig.test --tunnel-data plain"
  [ $V = handoff ] && opts="$opts --tunnel-handoff on" || opts="$opts --tunnel-handoff off";;
esac
# samplers
if [ "${SAMPLE:-1}" = 1 ]; then
for side in src dst; do ns=$(eval echo \$$side)
  ip netns exec $ns bash -c 'while [ -d '$W' ]; do echo "T $(date +%s.%N)"; ss -Htinmo state established "( sport = :49152 or dport = :49152 or sport = :49154 or dport = :49154 )"; sleep 0.005; done' >$OUT/ss-$side.txt 2>/dev/null &
done
fi
echo "$(date +%s.%N) pids src=$(cat $LAB/src.pid) dst=$(cat $LAB/dst.pid)" > $OUT/pids
[ -n "${PRE:-}" ] && eval "$PRE"
ip netns exec $src $Q migrate --lab $LAB --json $OUT/report.json --quiet $opts >$OUT/migrate.out 2>&1; echo "rc=$?" >>$OUT/migrate.out
[ -n "${POST:-}" ] && eval "$POST"
[ -n "$AP" ] && { kill $AP; wait $AP 2>/dev/null; cp $W/agent.log $OUT/; }
$Q verify-memory --lab $LAB --tmpdir $W >$OUT/verify.out 2>&1; echo "vrc=$?" >> $OUT/verify.out
$Q lab stop --dir $LAB >/dev/null 2>&1
rm -rf $W
wait
jq -c '{v:"'$V'",pause:.stop_to_resume_pause_ms,tail:.dst_tail_ms,down:.qemu_downtime_ms,total:.total_ms}' $OUT/report.json
