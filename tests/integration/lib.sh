# SPDX-License-Identifier: LGPL-2.1-or-later
# Shared helpers for integration tests (bash).  Each test sources this, gets
# a private run directory $D, and everything it started is stopped on exit,
# even on failure: the lab pair by pidfile, extra pids listed in $D/pids.
set -eu
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
QMIG=${QMIG:-$TOP/build/qmig}
D=$(mktemp -d /tmp/qmig-test.XXXXXX)
cleanup() {
  rc=$?
  # Extra processes first: one inside a lab's namespace keeps it alive.
  if [ -f "$D/pids" ]; then
    while read -r p; do kill "$p" 2>/dev/null || true; done < "$D/pids"
  fi
  "$QMIG" lab stop --dir "$D" >/dev/null 2>&1 || true
  # Should qmig itself be unusable (a rebuild under way), by pidfile: only a
  # pid whose command line names $D, so a reused pid is never hit.
  for f in "$D/src.pid" "$D/dst.pid"; do
    p=$(cat "$f" 2>/dev/null) && [ -n "$p" ] && grep -qF "$D/" "/proc/$p/cmdline" 2>/dev/null &&
      kill "$p" 2>/dev/null || true
  done
  # Labs a test started below $D (qmig bench --workdir $D/...), by pidfile
  # (a lab killed while starting has pidfiles but no lab.json yet).
  find "$D" -mindepth 2 -maxdepth 5 -name src.pid 2>/dev/null | while read -r l; do
    "$QMIG" lab stop --dir "$(dirname "$l")" >/dev/null 2>&1 || true
  done
  # stunnels a qmig bench run started (children of a bench that was killed).
  find "$D" -mindepth 2 -maxdepth 5 -name 'stunnel-*.pid' 2>/dev/null | while read -r f; do
    p=$(cat "$f" 2>/dev/null) && [ -n "$p" ] && grep -qF "$D" "/proc/$p/cmdline" 2>/dev/null &&
      kill "$p" 2>/dev/null || true
  done
  [ $rc -ne 0 ] && [ -n "${KEEP:-}" ] && { echo "kept $D"; exit $rc; }
  rm -rf "$D"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() { echo "FAIL: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || { echo "skip: $1 not installed"; exit 77; }; }
need qemu-system-x86_64; need jq; need socat

# start_lab [lab start options...]: starts the pair under TCG, records pids;
# with --netns also the namespaces (SRC_NS, DST_NS), their veth ends
# (SRC_IF, DST_IF) and IN_SRC, the prefix that runs a command in the
# source's namespace (migrate uses it: the engine runs on the source host).
# QMIG_LAB_QEMU, QMIG_LAB_DST_QEMU (binaries) and QMIG_LAB_MACHINE re-run a
# test on other QEMUs (tests/integration/qemu10-*.sh); the lab's QEMUs are
# then checked to be those binaries.
IN_SRC=""
start_lab() {
  local q=()
  [ -n "${QMIG_LAB_QEMU:-}" ] && q+=(--qemu "$QMIG_LAB_QEMU")
  [ -n "${QMIG_LAB_DST_QEMU:-}" ] && q+=(--dst-qemu "$QMIG_LAB_DST_QEMU")
  [ -n "${QMIG_LAB_MACHINE:-}" ] && q+=(--machine "$QMIG_LAB_MACHINE")
  "$QMIG" lab start --dir "$D" --accel tcg "${q[@]}" "$@" >/dev/null
  SRC_PID=$(cat "$D/src.pid"); DST_PID=$(cat "$D/dst.pid")
  if [ ${#q[@]} -gt 0 ]; then
    local want_s want_d
    want_s=$(readlink -f "$(command -v "${QMIG_LAB_QEMU:-qemu-system-x86_64}")")
    want_d=$(readlink -f "$(command -v "${QMIG_LAB_DST_QEMU:-${QMIG_LAB_QEMU:-qemu-system-x86_64}}")")
    [ "$(readlink -f "/proc/$SRC_PID/exe")" = "$want_s" ] || fail "source QEMU is not $want_s"
    [ "$(readlink -f "/proc/$DST_PID/exe")" = "$want_d" ] || fail "destination QEMU is not $want_d"
    echo "lab: source $want_s ($(jq -r .src_machine "$D/lab.json")), destination $want_d ($(jq -r .dst_machine "$D/lab.json"))"
  fi
  SRC_NS=$(jq -r '.src_netns // empty' "$D/lab.json")
  DST_NS=$(jq -r '.dst_netns // empty' "$D/lab.json")
  SRC_IF=$(jq -r '.src_veth // empty' "$D/lab.json")
  DST_IF=$(jq -r '.dst_veth // empty' "$D/lab.json")
  [ -n "$SRC_NS" ] && IN_SRC="ip netns exec $SRC_NS"
  return 0
}

# need_netns: root, iproute2 and network namespaces that work, else skip.
need_netns() {
  need ip; need tc
  [ "$(id -u)" = 0 ] || { echo "skip: network namespaces need root"; exit 77; }
  local probe="qmig-probe-$$"
  ip netns add "$probe" 2>/dev/null || { echo "skip: cannot create a network namespace"; exit 77; }
  ip netns del "$probe"
}

# ns_gone: the lab's namespaces and veth ends no longer exist.
ns_gone() {
  local n
  for n in "$SRC_NS" "$DST_NS"; do
    [ ! -e "/run/netns/$n" ] || fail "namespace $n still exists"
  done
  for n in "$SRC_IF" "$DST_IF"; do
    [ ! -e "/sys/class/net/$n" ] || fail "veth $n left in the host's namespace"
  done
}

# need_qemu10: QEMU 10 (make deps unpacks Debian 12 backports' into
# build/qemu10) or $QMIG_QEMU10, else skip.  Sets QEMU10 to its binary.
need_qemu10() {
  QEMU10=${QMIG_QEMU10:-$TOP/build/qemu10/usr/bin/qemu-system-x86_64}
  [ -x "$QEMU10" ] || { echo "skip: no QEMU 10 at $QEMU10 (make deps fetches it)"; exit 77; }
}

# need_linux_guest: the Linux lab guest's kernel and initramfs are built
# (make deps; make), else skip.
need_linux_guest() {
  local d=${QMIG_LINUX_GUEST:-$(dirname "$QMIG")/linux}
  [ -r "$d/vmlinuz" ] && [ -r "$d/initramfs.cpio.gz" ] ||
    { echo "skip: no Linux lab guest in $d (make deps fetches the kernel, make builds it)"; exit 77; }
}

# need_tunnel: this qmig has the tunnel (qmig agent, migrate --tunnel), else skip.
need_tunnel() {
  "$QMIG" agent --help >/dev/null 2>&1 && "$QMIG" migrate --help 2>&1 | grep -q -- '--tunnel ' ||
    { echo "skip: this qmig has no tunnel (qmig agent, --tunnel)"; exit 77; }
}

# start_agent [agent options...]: qmig agent for the lab's destination, in
# its namespace on its veth address (netns lab) or on loopback; pid in
# AGENT_PID (stopped by cleanup), address in AGENT_ADDR, log in $D/agent.log.
# Without --tls or --insecure-no-auth it gets the test's PSK: then pass
# "${ENGINE_PSK[@]}" to qmig migrate.  Returns once it listens (bounded: 10 s).
start_agent() {
  local host=127.0.0.1 port=49250 in_dst=""
  [ -n "$DST_NS" ] && { host=$(jq -r .dst_addr "$D/lab.json"); in_dst="ip netns exec $DST_NS"; }
  AGENT_ADDR=$host:$port
  mkdir -p -m 700 "$D/agent"
  ENGINE_PSK=(--tunnel-tls psk --tunnel-psk-file "$D/tunnel.psk")
  case " $* " in *" --tls "*|*" --insecure-no-auth "*) ;; *)
    [ -f "$D/tunnel.psk" ] || (umask 077; echo "qemu:$(openssl rand -hex 32)" > "$D/tunnel.psk")
    set -- --tls psk --tls-psk-file "$D/tunnel.psk" "$@" ;;
  esac
  $in_dst "$QMIG" agent --listen "$AGENT_ADDR" --qmp "unix:$D/dst.qmp" --run-dir "$D/agent" \
    --once "$@" 2>"$D/agent.log" &
  AGENT_PID=$!
  echo "$AGENT_PID" >>"$D/pids"
  for _ in $(seq 100); do
    $in_dst ss -Hltn "sport = :$port" 2>/dev/null | grep -q . && return 0
    alive "$AGENT_PID" || break
    sleep 0.1
  done
  cat "$D/agent.log"
  fail "agent did not listen on $AGENT_ADDR"
}

# rx_bytes NS IF: bytes received on interface IF inside namespace NS.
rx_bytes() { ip netns exec "$1" cat "/sys/class/net/$2/statistics/rx_bytes"; }

# alive PID: running and not a zombie (pid 1 here may reap daemons late).
# The stat line is read once: a process reaped between a test and a read
# would otherwise look alive (an empty read matches no zombie state).
alive() {
  local st
  st=$(cat "/proc/$1/stat" 2>/dev/null) && [ -n "$st" ] || return 1
  st=${st##*) }
  case $st in [ZX]*) return 1 ;; esac
}

# heartbeats SIDE SECONDS: number of heartbeat lines the guest prints there.
heartbeats() {
  timeout "$2" socat -u "UNIX-CONNECT:$D/$1.serial" - 2>/dev/null | grep -c '^HB' || true
}

# expect_guest_on SIDE: exactly one QEMU runs (SIDE's), its guest is
# running (heartbeats flow) and its memory holds what the guest wrote.
expect_guest_on() {
  local side=$1 other pid opid
  if [ "$side" = dst ]; then pid=$DST_PID; opid=$SRC_PID; other=src
  else pid=$SRC_PID; opid=$DST_PID; other=dst; fi
  for _ in $(seq 600); do alive "$opid" || break; sleep 0.1; done # quit took 30+ s at load 10
  alive "$pid" || fail "$side QEMU (pid $pid) is not running"
  if alive "$opid"; then # say what it is doing, for whoever reads the failure
    printf '%s\n' '{"execute":"qmp_capabilities"}' '{"execute":"query-status"}' \
      '{"execute":"query-migrate"}' | timeout 3 socat -t 2 - "UNIX-CONNECT:$D/$other.qmp" >&2 || true
    for t in /proc/"$opid"/task/*; do echo "thread $(cat "$t/comm") in $(cat "$t/wchan")"; done >&2
    fail "$other QEMU (pid $opid) still runs: two QEMUs"
  fi
  local n; n=$(heartbeats "$side" 1)
  [ "$n" -ge 10 ] || fail "$side guest printed $n heartbeats in 1 s: not running"
  if [ "$(jq -r '.guest // empty' "$D/lab.json" 2>/dev/null)" = linux ]; then
    # The Linux guest checks its own working set, asked on its serial.
    "$QMIG" verify-memory --serial "$D/$side.serial" > "$D/memcheck.out" ||
      { cat "$D/memcheck.out"; fail "memory check (by the Linux guest) on $side"; }
  else
    "$QMIG" verify-memory --qmp "unix:$D/$side.qmp" --tmpdir "$D" > "$D/memcheck.out" ||
      { cat "$D/memcheck.out"; fail "memory check on $side"; }
  fi
  cat "$D/memcheck.out"
}

# expect_disk IMG FMT: after expect_guest_on (its guest stopped by the
# memory check): every unit of the disk image holds what the guest last
# wrote, and the disk's unit-write counter is the RAM's mirror of it or one
# more (the guest mirrors it after the control sector's write completes).
expect_disk() {
  local out rc m d
  set +e
  out=$("$QMIG" verify-disk-image --image "$1" --format "$2"); rc=$?
  set -e
  echo "$out"
  [ $rc = 0 ] || fail "disk check of $1 exit $rc"
  m=$(sed -n 's/.*disk unit writes \([0-9]*\)).*/\1/p' "$D/memcheck.out")
  d=$(sed -n 's/.*(disk unit writes \([0-9]*\)).*/\1/p' <<<"$out")
  echo "disk unit writes: disk control sector $d, RAM mirror $m"
  [ -n "$m" ] && [ -n "$d" ] || fail "no unit counters in the output"
  [ "$d" -ge "$m" ] && [ "$d" -le $((m + 1)) ] || fail "disk dpos $d vs RAM mirror $m"
}

# migrate [qmig migrate options...]: runs qmig migrate on the lab, report in
# $D/report.json, exit code in $RC.
migrate() {
  set +e
  $IN_SRC "$QMIG" migrate --lab "$D" --json "$D/report.json" "$@" > "$D/migrate.out" 2>&1
  RC=$?
  set -e
  cat "$D/migrate.out"
}

# jr FILTER: a field of the report.
jr() { jq -r "$1" "$D/report.json"; }

# expect_migrated: rc 0, status completed, figures present and plausible.
expect_migrated() {
  [ "$RC" = 0 ] || fail "qmig migrate exit $RC"
  [ "$(jr .status)" = completed ] || fail "status $(jr .status)"
  [ "$(jr .outcome_name)" = migrated ] || fail "outcome $(jr .outcome_name)"
  for f in total_ms qemu_downtime_ms stop_to_resume_pause_ms guest_stall_ms; do
    v=$(jr ".$f"); [ "$v" != null ] || fail "$f missing"
    awk -v v="$v" 'BEGIN { exit !(v >= 0 && v < 60000) }' || fail "$f = $v"
  done
  [ "$(jr .transferred_bytes)" -gt 0 ] || fail "nothing transferred"
  awk -v p="$(jr .stop_to_resume_pause_ms)" -v s="$(jr .guest_stall_ms)" \
    'BEGIN { exit !(s + 1 >= p) }' || fail "guest stall below the pause"
}

# make_pki DIR: a CA, a server certificate for the destination (name
# "dst.qmig.test" and 127.0.0.1) and a client certificate for the source,
# in QEMU's tls-creds-x509 layout.
make_pki() {
  local C=$1
  mkdir -m 700 "$C"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=qmig-test-ca \
    -keyout "$C/ca-key.pem" -out "$C/ca-cert.pem" 2>/dev/null
  chmod 600 "$C/ca-key.pem"
  _cert "$C" server dst.qmig.test "subjectAltName=DNS:dst.qmig.test,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n"
  _cert "$C" client src.qmig.test "extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n"
}
_cert() { # dir name CN extfile-lines
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$3" -keyout "$1/$2-key.pem" \
    -out "$1/$2.csr" 2>/dev/null
  chmod 600 "$1/$2-key.pem" # qmig refuses keys group/others can read
  printf '%b' "$4" > "$1/$2.ext"
  openssl x509 -req -in "$1/$2.csr" -CA "$1/ca-cert.pem" -CAkey "$1/ca-key.pem" \
    -CAcreateserial -days 2 -extfile "$1/$2.ext" -out "$1/$2-cert.pem" 2>/dev/null
}

# migrate_link_down [qmig migrate options...]: on a --netns lab, a migration
# run from the source's namespace; the veth is set down once 8 MiB crossed
# it (bounded: 30 s).  Waits (bounded: 60 s) for qmig to give up; sets RC
# and T (seconds from the link going down to qmig's end).
migrate_link_down() {
  local mig rx0 t0
  set +e
  $IN_SRC "$QMIG" migrate --lab "$D" --json "$D/report.json" --timeout 120 "$@" \
    >"$D/migrate.out" 2>&1 &
  mig=$!
  set -e
  echo "$mig" >>"$D/pids"
  rx0=$(rx_bytes "$DST_NS" "$DST_IF")
  for _ in $(seq 300); do
    [ $(( $(rx_bytes "$DST_NS" "$DST_IF") - rx0 )) -ge $((8 << 20)) ] && break
    alive "$mig" || break
    sleep 0.1
  done
  alive "$mig" || { cat "$D/migrate.out"; fail "qmig ended before the link went down"; }
  ip -n "$SRC_NS" link set "$SRC_IF" down
  t0=$(date +%s)
  for _ in $(seq 600); do alive "$mig" || break; sleep 0.1; done
  alive "$mig" && fail "qmig still running 60 s after the link went down"
  set +e; wait "$mig"; RC=$?; set -e
  T=$(( $(date +%s) - t0 ))
  cat "$D/migrate.out"
  echo "qmig ended $T s after the link went down, exit $RC"
}

# migrate_bg qmig-migrate-options...: qmig migrate --verbose --progress in
# the background (states and progress on $D/migrate.out), pid in MIG_PID.
migrate_bg() {
  $IN_SRC "$QMIG" migrate --verbose --progress --json "$D/report.json" "$@" \
    >"$D/migrate.out" 2>&1 &
  MIG_PID=$!
  echo "$MIG_PID" >>"$D/pids"
}

# wait_for SECONDS CMD...: until CMD succeeds (polled every 0.1 s), else fail.
wait_for() {
  local end=$((SECONDS + $1)); shift
  while [ "$SECONDS" -lt "$end" ]; do "$@" && return 0; sleep 0.1; done
  cat "$D/migrate.out" 2>/dev/null || true
  fail "timed out waiting for: $*"
}

# wait_lines FILE PATTERN N PID SECONDS: until FILE has N lines matching
# PATTERN, PID has ended, or SECONDS passed (polled every 0.1 s); the
# caller checks which.
wait_lines() {
  local end=$((SECONDS + $5))
  while [ "$SECONDS" -lt "$end" ]; do
    [ "$(grep -c -- "$2" "$1" 2>/dev/null)" -ge "$3" ] && return 0
    alive "$4" || return 0
    sleep 0.1
  done
  return 0
}

# guest_stopped SIDE: the guest there printed no heartbeat for a second.
guest_stopped() { [ "$(heartbeats "$1" 1)" = 0 ]; }

# qmp_peek SIDE CMD: CMD's "return" on a QMP socket no one else holds.
qmp_peek() {
  printf '%s\n' '{"execute":"qmp_capabilities"}' "{\"execute\":\"$2\"}" |
    timeout 5 socat -t 2 - "UNIX-CONNECT:$D/$1.qmp" | jq -c 'select(has("return")) | .return' |
    tail -n 1
}

# recover [qmig recover options...]: qmig recover --lab on the lab, output in
# $D/recover.out, report in $D/recover.json, exit code in RC.
recover() {
  set +e
  $IN_SRC "$QMIG" recover --lab "$D" --json "$D/recover.json" "$@" >"$D/recover.out" 2>&1
  RC=$?
  set -e
  cat "$D/recover.out"
}
