# SPDX-License-Identifier: LGPL-2.1-or-later
# Helpers for the fault matrix's cells (tests/faults/run.sh), sourced by
# cell.sh after tests/integration/lib.sh (private dir $D, cleanup on exit)
# and tunnel-lib.bash (credentials).  A cell is one fault in one mode:
#   native  the stream straight between the QEMUs
#   tunnel  through qmig agent, authenticated with a PSK, data not encrypted
#           (--tunnel-data plain; a qmig without it: no credential at all)
#   tls     through qmig agent, TLS 1.3 with x509 (both peers verified)
#   disks   native, with the guest's disk copied over NBD (--copy-disks)
# Exit 0 pass, 75 n.a. (the reason on the last line), 76 pending (a qmig
# feature the cell needs is not there yet), anything else a failure.

FAULTS=$TOP/tests/faults
MODE=${MODE:?}
OUT=$D # where qmig's output and report go (disk-full: not on the full tmpfs)

# na REASON / pending REASON: the cell does not apply / cannot run yet.
na() { echo "n.a.: $*"; exit 75; }
pending() { echo "pending: $*"; exit 76; }

# has_auth: this qmig has the authenticated tunnel (--tunnel-data).
has_auth() { "$QMIG" migrate --help 2>&1 | grep -q -- '--tunnel-data'; }
# has_recover: this qmig has `qmig recover`.
has_recover() { "$QMIG" recover --help >/dev/null 2>&1; }

# mode_opts: the one place a mode becomes options.  Sets
#   LAB    qmig lab start options (beside the cell's own)
#   AGT    qmig agent options (tunnel modes)
#   CRED   engine options naming the tunnel's credentials (migrate, recover)
#   ENG    further qmig migrate options of the mode
# Credentials are made here: $D/keys.psk, $C/ca (tunnel-lib's make_pki).
mode_opts() {
  LAB=() AGT=() CRED=() ENG=()
  case $MODE in
    native) ;;
    tunnel)
      if has_auth; then
        make_psk "$D/keys.psk"
        AGT=(--tls psk --tls-psk-file "$D/keys.psk")
        CRED=(--tunnel-tls psk --tunnel-psk-file "$D/keys.psk" --tunnel-data plain)
      fi ;;
    tls)
      make_pki
      AGT=(--tls x509 --tls-dir "$C/ca")
      CRED=(--tunnel-tls x509 --tunnel-tls-dir "$C/ca" --tunnel-peer-name dst.qmig.test) ;;
    disks)
      LAB=(--disk 16 --disk-copy --disk-write 512)
      ENG=(--copy-disks drive0) ;;
    *) fail "unknown mode $MODE" ;;
  esac
  echo "mode $MODE: lab ${LAB[*]:-} / agent ${AGT[*]:-} / engine ${CRED[*]:-} ${ENG[*]:-}"
}
tunnelled() { [ "$MODE" = tunnel ] || [ "$MODE" = tls ]; }

# setup_pair [lab start options...]: the mode's options, the lab pair and,
# in tunnel modes, the agent.  TUN then holds --tunnel ADDR and the
# credentials (what migrate and recover both need).
setup_pair() {
  mode_opts
  start_lab --fill "${FILL:-32}" --dirty "${DIRTY:-10}" "${LAB[@]}" "$@"
  TUN=()
  if tunnelled; then
    fault_agent "${AGT[@]}"
    TUN=(--tunnel "$AGENT" "${CRED[@]}")
  fi
  return 0
}

# fault_agent [agent options...]: qmig agent in front of the destination's
# QMP ($AGENT_QMP, default the lab's socket): in the destination's namespace
# on its address (netns lab) or on loopback.  Not --once: after the engine
# died, qmig recover reaches the destination through it.  AGENT, AGENT_PID,
# log $D/agent.log; returns once it listens (bounded: 10 s).
fault_agent() {
  local host=127.0.0.1 port in_dst=""
  if [ -n "$DST_NS" ]; then
    host=$(jq -r .dst_addr "$D/lab.json"); port=49250; in_dst="ip netns exec $DST_NS"
  else
    port=$(free_port)
  fi
  AGENT=$host:$port
  mkdir -p -m 700 "$D/agent"
  $in_dst "$QMIG" agent --listen "$AGENT" --qmp "unix:${AGENT_QMP:-$D/dst.qmp}" \
    --run-dir "$D/agent" "$@" 2>>"$D/agent.log" &
  AGENT_PID=$!
  echo "$AGENT_PID" >>"$D/pids"
  for _ in $(seq 100); do
    grep -q "listening on" "$D/agent.log" 2>/dev/null && return 0
    alive "$AGENT_PID" || break
    sleep 0.1
  done
  cat "$D/agent.log" >&2
  fail "agent did not start on $AGENT"
}

# qmp_proxy SIDE [qmp-proxy.py options...]: tests/faults/qmp-proxy.py in
# front of SIDE's QMP socket, listening on $D/SIDE-proxy.qmp; flag file
# $D/flag, log $D/SIDE-proxy.log, pid PROXY_PID (a proxy started before is
# stopped).  Waits (bounded: 10 s) for its socket.
qmp_proxy() {
  local side=$1; shift
  [ -n "${PROXY_PID:-}" ] && { kill "$PROXY_PID" 2>/dev/null || true; }
  rm -f "$D/flag" "$D/$side-proxy.qmp"
  python3 "$FAULTS/qmp-proxy.py" --listen "$D/$side-proxy.qmp" --upstream "$D/$side.qmp" \
    --flag "$D/flag" --log "$D/$side-proxy.log" "$@" 2>>"$D/$side-proxy.err" &
  PROXY_PID=$!
  echo "$PROXY_PID" >>"$D/pids"
  for _ in $(seq 100); do [ -S "$D/$side-proxy.qmp" ] && return 0; sleep 0.1; done
  cat "$D/$side-proxy.err" >&2
  fail "QMP proxy for $side did not start"
}

# start_migrate [migrate options...]: qmig migrate on the lab in the background
# (--verbose: state changes in $D/migrate.out), pid QPID.
start_migrate() {
  rm -f "$OUT/report.json"
  $IN_SRC "$QMIG" migrate --lab "$D" --json "$OUT/report.json" --verbose "$@" \
    >"$OUT/migrate.out" 2>&1 &
  QPID=$!
  echo "$QPID" >>"$D/pids"
}

# await WHAT SECONDS CMD...: until CMD succeeds, bounded; fails naming
# WHAT if qmig ended first or time ran out.
await() {
  local what=$1 secs=$2 end=$((SECONDS + $2)); shift 2
  while [ $SECONDS -lt $end ]; do
    "$@" && return 0
    [ -n "${QPID:-}" ] && ! alive "$QPID" && { cat "$OUT/migrate.out"; fail "qmig ended before $what"; }
    sleep 0.1
  done
  cat "$OUT/migrate.out"
  fail "no $what within $secs s"
}
# gone PID SECONDS: waits (bounded) until a process we killed has exited
# (a QEMU with a disk can take long to exit on a loaded machine).
gone() {
  local end=$((SECONDS + $2))
  while [ $SECONDS -lt $end ]; do alive "$1" || return 0; sleep 0.1; done
  fail "pid $1 still there $2 s after it was killed: $(cat /proc/$1/stat 2>/dev/null)"
}
flagged() { [ -e "$D/flag" ]; }
said() { grep -q "$1" "$OUT/migrate.out"; }

# finish: waits (bounded: 120 s) for qmig; RC its exit code, output shown.
finish() {
  local end=$((SECONDS + 120))
  while [ $SECONDS -lt $end ]; do alive "$QPID" || break; sleep 0.1; done
  alive "$QPID" && { cat "$OUT/migrate.out"; fail "qmig still running 120 s after the fault"; }
  set +e; wait "$QPID"; RC=$?; set -e
  cat "$OUT/migrate.out"
}

# expect_rc CODE: qmig's exit code.  expect_error PATTERN: the report's error
# (else qmig's output) names the fault (grep -Ei).
expect_rc() { [ "$RC" = "$1" ] || fail "qmig exit $RC, expected $1"; }
expect_error() {
  local e
  e=$(jq -r '.error // empty' "$OUT/report.json" 2>/dev/null || true)
  [ -n "$e" ] || e=$(cat "$OUT/migrate.out")
  grep -Eqi -- "$1" <<<"$e" || fail "error does not name the fault ('$1'): $e"
  echo "fault named: $(grep -Eoi -- "$1" <<<"$e" | head -n 1)"
}

# recover [recover options...]: qmig recover on the lab with the mode's
# tunnel, output in $D/recover.out, exit code RRC.
run_recover() {
  has_recover || pending "qmig recover is not in this build (branch recover)"
  set +e
  $IN_SRC "$QMIG" recover --lab "$D" "${TUN[@]}" "$@" >"$D/recover.out" 2>&1
  RRC=$?
  set -e
  echo "--- qmig recover (exit $RRC):"
  cat "$D/recover.out"
}
expect_recovered() { # CODE PATTERN: recover's exit code and what it says it found/did
  [ "$RRC" = "$1" ] || fail "qmig recover exit $RRC, expected $1"
  grep -Eqi -- "$2" "$D/recover.out" || fail "qmig recover does not say '$2'"
}

# guest_ok SIDE: exactly one QEMU runs, SIDE's guest runs, memory right;
# with a disk, the image SIDE's guest uses holds what it wrote.
guest_ok() {
  [ "$1" = src ] && copy_gone
  expect_guest_on "$1"
  disk_ok "$1"
}
# copy_gone: with disks, nothing of the copy (job, NBD node) is left on the
# source (checked before the memory check, whose `stop` would hang on a
# job stuck in I/O).
copy_gone() {
  [ "$MODE" = disks ] || [ -n "${WITH_DISK:-}" ] || return 0
  local left
  left=$(printf '%s\n' '{"execute":"qmp_capabilities"}' '{"execute":"query-block-jobs"}' \
    '{"execute":"query-named-block-nodes"}' | timeout 10 socat -t 5 - "UNIX-CONNECT:$D/src.qmp" |
    jq -r 'select(.return | type == "array") | .return[] | .device // ."node-name"' |
    grep -v '^drive[0-9]' | tr '\n' ' ' || true)
  [ -z "$left" ] || fail "the copy is left on the source: $left"
}
disk_ok() {
  [ "$MODE" = disks ] || [ -n "${WITH_DISK:-}" ] || return 0
  local img
  if [ "$1" = dst ]; then img=$(jq -r .dst_disk "$D/lab.json"); else img=$(jq -r .disk "$D/lab.json"); fi
  expect_disk "$img" "$(jq -r .disk_format "$D/lab.json")"
}

# source_only_running: nothing moved (qmig refused before the migration):
# the source's guest runs with its memory (and disk) right; the destination
# QEMU, untouched and reusable, still waits for an incoming migration and
# runs no guest.
source_only_running() {
  alive "$DST_PID" || fail "destination QEMU gone although nothing moved"
  local st
  st=$(printf '%s\n' '{"execute":"qmp_capabilities"}' '{"execute":"query-status"}' |
    timeout 5 socat -t 2 - "UNIX-CONNECT:$D/dst.qmp" | jq -r 'select(.return.status) | .return.status')
  [ "$st" = inmigrate ] || fail "destination is '$st', expected inmigrate (waiting, no guest)"
  echo "destination untouched: $st"
  # Now the destination may go: expect_guest_on wants exactly one QEMU.
  printf '%s\n' '{"execute":"qmp_capabilities"}' '{"execute":"quit"}' |
    timeout 5 socat -t 2 - "UNIX-CONNECT:$D/dst.qmp" >/dev/null || true
  guest_ok src
}
