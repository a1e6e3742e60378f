#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tools/bench/tunnel.sh - issue 3's comparison, measured side by side: native
# plain, QEMU-native TLS (x509), stunnel (Debian's stunnel4, the TLS tunnel
# a user would set up), qmig's tunnel with authenticated plaintext data
# (control and QMP over TLS) forwarded by qmig and handed to QEMU (socket
# handoff, docs/TUNNEL.md; one channel only), and with TLS data, each at 1 and 4
# channels, interleaved round by round on the two-namespace lab (source
# QEMU and qmig in one network namespace, destination QEMU in another,
# joined by a veth; `qmig lab start --netns`).  Run by `make bench-tunnel`;
# docs/BENCHMARKING.md explains every figure.
#
# Environment (defaults in brackets):
#   RUNS      rounds [10]; each round runs every variant at every channel
#             count once, in the same order (A B C ... A B C ...)
#   FILL      MiB of guest RAM filled with verifiable random data [1024]
#   MEM       guest RAM in MiB [FILL + 76]
#   DIRTY     MiB/s the guest rewrites while migrating [0]
#   DOWNTIME  downtime-limit in ms [30]: at QEMU's 300 the switchover
#             happens with hundreds of MiB unsent and the pause swings
#             0.4-1 s (docs/BENCHMARKING.md), hiding a few ms of tunnel cost
#   MIGRATE_OPTS  extra qmig migrate options for every variant (word-split) []
#   CHANNELS  channel counts [1 4]; 1 = one stream (multifd off),
#             N > 1 = multifd with N channels
#   VARIANTS  [native tls stunnel tunnel tunnel-handoff tunnel-tls]
#             tunnel = plain data forwarded by qmig (tunnel-handoff off),
#             tunnel-handoff = plain data, the main channel's socket handed
#             to both QEMUs (tunnel-handoff on; skipped with multifd, which
#             QEMU cannot take as descriptors)
#   LINK_RATE tc tbf rate of the veth (e.g. 10gbit) [unshaped]
#   ACCEL     kvm|tcg|auto [tcg]
#   QMIG, GUEST  binaries [build/qmig, build/guest/qmig-guest.elf], copied
#   OUTDIR    where the JSON lines and the summary go [build/bench]
#
# Exit: 0 every run migrated and verified and every target PASSed,
#       1 a target MISSed or could not be evaluated (a variant skipped),
#       2 a run failed (lab, migration, memory check) or the bench could not run.
set -u
cd "$(dirname "$0")/../.." || exit 2

RUNS=${RUNS:-10}
FILL=${FILL:-1024}
MEM=${MEM:-$((FILL + 76))}
DIRTY=${DIRTY:-0}
DOWNTIME=${DOWNTIME:-30}
MIGRATE_OPTS=${MIGRATE_OPTS:-}
CHANNELS=${CHANNELS:-1 4}
VARIANTS=${VARIANTS:-native tls stunnel tunnel tunnel-handoff tunnel-tls}
LINK_RATE=${LINK_RATE:-}
ACCEL=${ACCEL:-tcg}
QMIG=${QMIG:-build/qmig}
GUEST=${GUEST:-build/guest/qmig-guest.elf}
OUTDIR=${OUTDIR:-build/bench}
PORT=49152              # QEMU's incoming port, on the destination's loopback or veth
STUNNEL_PORT=49153      # the stunnel server on the destination's veth address
AGENT_PORT=49154        # qmig agent on the destination's veth address

for tool in jq awk openssl ip; do
  command -v "$tool" >/dev/null 2>&1 || { echo "bench: $tool not found" >&2; exit 2; }
done
case " $VARIANTS " in *" stunnel "*)
  command -v stunnel >/dev/null 2>&1 ||
    { echo "bench: stunnel not found (Debian package stunnel4; make deps installs it)" >&2; exit 2; };;
esac
[ "$(id -u)" = 0 ] || { echo "bench: the two-namespace lab needs root" >&2; exit 2; }
for f in "$QMIG" "$GUEST"; do
  [ -f "$f" ] || { echo "bench: $f not found (run make first)" >&2; exit 2; }
done
case $RUNS in ''|*[!0-9]*|0) echo "bench: RUNS must be a positive integer" >&2; exit 2;; esac
for v in $VARIANTS; do
  case $v in native|tls|stunnel|tunnel|tunnel-handoff|tunnel-tls) ;;
    *) echo "bench: unknown variant $v" >&2; exit 2;; esac
done
for c in $CHANNELS; do
  case $c in ''|*[!0-9]*|0) echo "bench: CHANNELS must be positive integers" >&2; exit 2;; esac
done

STAMP=$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUTDIR" || exit 2
JSONL=$OUTDIR/tunnel-$STAMP.jsonl
LOG=$OUTDIR/tunnel-$STAMP.txt
: >"$JSONL" && : >"$LOG" || exit 2

WORK=$(mktemp -d "${TMPDIR:-/tmp}/qmig-bench-tunnel.XXXXXX") || exit 2
LAB=$WORK/lab
HELPERS=$WORK/helpers.pids   # stunnel processes of the current run
if ! { mkdir -p "$WORK/bin" && cp "$QMIG" "$WORK/bin/qmig" &&
        cp "$GUEST" "$WORK/bin/qmig-guest.elf"; }; then
  rm -rf "$WORK"; exit 2
fi
QMIG=$WORK/bin/qmig
GUEST=$WORK/bin/qmig-guest.elf

stop_helpers() {
  [ -f "$HELPERS" ] || return 0
  while read -r p; do kill "$p" 2>/dev/null; done <"$HELPERS"
  while read -r p; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  done <"$HELPERS"
  rm -f "$HELPERS"
}
# shellcheck disable=SC2317  # called from the trap
cleanup() {
  trap '' INT TERM HUP
  stop_helpers
  if [ -d "$LAB" ] && ! "$QMIG" lab stop --dir "$LAB" >/dev/null 2>&1; then
    echo "bench: could not stop the lab in $LAB; its pids: $(cat "$LAB"/*.pid 2>/dev/null)" >&2
    return
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'echo "bench: interrupted" >&2; exit 130' INT
trap 'echo "bench: terminated" >&2; exit 143' TERM
trap 'exit 129' HUP

say() { printf '%s\n' "$*"; printf '%s\n' "$*" >>"$LOG"; }

# ---- certificates: one CA, the destination's server certificate (its
# name and veth address), the source's client certificate.  Used by
# QEMU-native TLS, stunnel and the tunnel alike.
PKI=$WORK/pki
mkdir -m 700 "$PKI" || exit 2
pki() {
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=qmig-bench-ca \
    -keyout "$PKI/ca-key.pem" -out "$PKI/ca-cert.pem" 2>/dev/null || return 1
  for who in server client; do
    if [ $who = server ]; then
      cn=dst.qmig.test ext="subjectAltName=DNS:dst.qmig.test,IP:198.18.0.2,IP:127.0.0.1\nextendedKeyUsage=serverAuth"
    else
      cn=src.qmig.test ext="subjectAltName=DNS:src.qmig.test\nextendedKeyUsage=clientAuth"
    fi
    openssl req -newkey rsa:2048 -nodes -subj "/CN=$cn" -keyout "$PKI/$who-key.pem" \
      -out "$PKI/$who.csr" 2>/dev/null || return 1
    chmod 600 "$PKI/$who-key.pem" # qmig refuses keys group/others can read
    printf '%b\nkeyUsage=digitalSignature,keyEncipherment\n' "$ext" >"$PKI/$who.ext"
    openssl x509 -req -in "$PKI/$who.csr" -CA "$PKI/ca-cert.pem" -CAkey "$PKI/ca-key.pem" \
      -CAcreateserial -days 2 -extfile "$PKI/$who.ext" -out "$PKI/$who-cert.pem" 2>/dev/null ||
      return 1
  done
}
pki || { echo "bench: could not make certificates with openssl" >&2; exit 2; }

# ---- the tunnel (transport/, qmig agent) comes from another branch: until
# this qmig has it, its variants are skipped with a note, never faked.
TUNNEL_NOTE=""
if ! "$QMIG" agent --help >/dev/null 2>&1 || ! "$QMIG" migrate --help 2>&1 | grep -q -- '--tunnel'; then
  TUNNEL_NOTE="this qmig has no tunnel (qmig agent, --tunnel): tunnel variants skipped"
fi
HANDOFF_NOTE=""
"$QMIG" migrate --help 2>&1 | grep -q -- '--tunnel-handoff' ||
  HANDOFF_NOTE="this qmig has no socket handoff (--tunnel-handoff): variant skipped"
HANDOFF_OFF=""
[ -z "$HANDOFF_NOTE" ] && HANDOFF_OFF="--tunnel-handoff off"

# CPU seconds (user + system, all threads) of a live process.
cpu_of() {
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); print ($12 + $13) / hz }' "/proc/$1/stat" 2>/dev/null || echo 0
}

# stunnel SIDE NS CONF-LINES: start stunnel in the foreground in namespace
# NS (pid recorded in $HELPERS); returns once it listens (bounded: 5 s).
stunnel_start() {
  side=$1 ns=$2 conf=$WORK/stunnel-$1.conf
  shift 2
  printf '%s\n' "foreground = yes" "pid =" "debug = 5" \
    "[qmig-$side]" "sslVersionMin = TLSv1.3" "CAfile = $PKI/ca-cert.pem" "verifyChain = yes" \
    "$@" >"$conf"
  ip netns exec "$ns" stunnel "$conf" >"$WORK/stunnel-$side.log" 2>&1 &
  echo $! >>"$HELPERS"
  for _ in $(seq 50); do
    grep -q "Configuration successful" "$WORK/stunnel-$side.log" 2>/dev/null && return 0
    kill -0 "$!" 2>/dev/null || break
    sleep 0.1
  done
  echo "stunnel $side did not start: $(tail -n 3 "$WORK/stunnel-$side.log" 2>/dev/null | tr '\n' ' ')"
  return 1
}

# agent_start NS [agent TLS options...]: qmig agent in the destination's
# namespace (pid in $HELPERS; not --once, so that its CPU can still be read
# after the migration); returns once it listens (bounded: 10 s), with its
# CPU so far (loading its credentials) in $helper_start_cpu.
agent_start() {
  ns=$1
  shift
  mkdir -p -m 700 "$WORK/agent"
  ip netns exec "$ns" "$QMIG" agent --listen "198.18.0.2:$AGENT_PORT" --qmp "unix:$LAB/dst.qmp" \
    --run-dir "$WORK/agent" "$@" >"$WORK/agent.log" 2>&1 &
  echo $! >>"$HELPERS"
  for _ in $(seq 100); do
    if ip netns exec "$ns" ss -Hltn "sport = :$AGENT_PORT" 2>/dev/null | grep -q .; then
      helper_start_cpu=$(cpu_of "$!") # its start, before any migration
      return 0
    fi
    kill -0 "$!" 2>/dev/null || break
    sleep 0.1
  done
  echo "qmig agent did not start: $(tail -n 3 "$WORK/agent.log" | tr '\n' ' ')"
  return 1
}

# run_one ROUND CH VARIANT: fresh lab, the variant's helpers, migrate,
# verify, stop.  Appends one JSON line (the report plus a "bench" object).
run_one() {
  round=$1 ch=$2 var=$3
  rep=$WORK/report.json
  rm -rf "$LAB" "$rep" "$WORK/migrate.out" "$WORK"/stunnel-*.log "$WORK/agent.log" "$WORK/agent"
  lab_rc=0 mig_rc=-1 ver_rc=-1 ver_msg="" why="" helper_cpu=0 helper_start_cpu=0 skipped=false
  # preflight off for all: its port check cannot tell stunnel's listener
  # from a busy port, and every variant must run the same engine path.
  opts="--preflight off --downtime-limit $DOWNTIME $MIGRATE_OPTS"
  [ "$ch" -gt 1 ] && opts="$opts --multifd-channels $ch"
  if [ -n "$TUNNEL_NOTE" ] && case $var in tunnel*) true ;; *) false ;; esac; then
    skipped=true why=$TUNNEL_NOTE
  elif [ "$var" = tunnel-handoff ] && [ -n "$HANDOFF_NOTE" ]; then
    skipped=true why=$HANDOFF_NOTE
  elif [ "$var" = tunnel-handoff ] && [ "$ch" -gt 1 ]; then
    skipped=true
    why="multifd channels are not handed off (QEMU opens them itself from a socket address)"
  else
    # shellcheck disable=SC2086
    "$QMIG" lab start --dir "$LAB" --accel "$ACCEL" --fill "$FILL" --mem "$MEM" \
      --dirty "$DIRTY" --guest "$GUEST" --netns ${LINK_RATE:+--link-rate "$LINK_RATE"} \
      >"$WORK/lab.out" 2>&1 || { lab_rc=$?; why="lab start failed: $(tr '\n' ' ' <"$WORK/lab.out")"; }
  fi
  if [ "$lab_rc" -eq 0 ] && [ $skipped = false ]; then
    src_ns=$(jq -r .src_netns "$LAB/lab.json") dst_ns=$(jq -r .dst_netns "$LAB/lab.json")
    case $var in
      tls) opts="$opts --tls x509 --tls-dir $PKI --tls-hostname dst.qmig.test" ;;
      stunnel)
        # Each host runs QEMU on its own loopback and stunnel beside it:
        # the same URI tcp:127.0.0.1:PORT is the source's stunnel client
        # in the source's namespace and the destination QEMU's listener in
        # the destination's.
        opts="$opts --data-uri tcp:127.0.0.1:$PORT"
        stunnel_start server "$dst_ns" "accept = 198.18.0.2:$STUNNEL_PORT" \
            "connect = 127.0.0.1:$PORT" "cert = $PKI/server-cert.pem" \
            "key = $PKI/server-key.pem" >"$WORK/helper.err" &&
          stunnel_start client "$src_ns" "client = yes" "accept = 127.0.0.1:$PORT" \
            "connect = 198.18.0.2:$STUNNEL_PORT" "checkHost = dst.qmig.test" \
            "cert = $PKI/client-cert.pem" "key = $PKI/client-key.pem" >"$WORK/helper.err" ||
          { lab_rc=3; why=$(cat "$WORK/helper.err"); }
        ;;
      tunnel) # authenticated plaintext data; control and QMP over TLS with the x509 credential
        opts="$opts --tunnel 198.18.0.2:$AGENT_PORT --tunnel-tls x509 --tunnel-tls-dir $PKI"
        opts="$opts --tunnel-peer-name dst.qmig.test --tunnel-data plain $HANDOFF_OFF"
        agent_start "$dst_ns" --tls x509 --tls-dir "$PKI" >"$WORK/helper.err" ||
          { lab_rc=3; why=$(cat "$WORK/helper.err"); }
        ;;
      tunnel-handoff) # the same, the main channel's socket handed to both QEMUs
        opts="$opts --tunnel 198.18.0.2:$AGENT_PORT --tunnel-tls x509 --tunnel-tls-dir $PKI"
        opts="$opts --tunnel-peer-name dst.qmig.test --tunnel-data plain --tunnel-handoff on"
        agent_start "$dst_ns" --tls x509 --tls-dir "$PKI" >"$WORK/helper.err" ||
          { lab_rc=3; why=$(cat "$WORK/helper.err"); }
        ;;
      tunnel-tls)
        opts="$opts --tunnel 198.18.0.2:$AGENT_PORT --tunnel-tls x509 --tunnel-tls-dir $PKI"
        opts="$opts --tunnel-peer-name dst.qmig.test"
        agent_start "$dst_ns" --tls x509 --tls-dir "$PKI" >"$WORK/helper.err" ||
          { lab_rc=3; why=$(cat "$WORK/helper.err"); }
        ;;
    esac
  fi
  if [ "$lab_rc" -eq 0 ] && [ $skipped = false ]; then
    # shellcheck disable=SC2086
    ip netns exec "$src_ns" "$QMIG" migrate --lab "$LAB" --json "$rep" --quiet $opts \
      >"$WORK/migrate.out" 2>&1
    mig_rc=$?
    if [ "$mig_rc" -ne 0 ]; then # the destination's side of a failure
      [ -s "$LAB/dst.log" ] && { echo "destination QEMU log:"; tail -n 3 "$LAB/dst.log"; } >>"$WORK/migrate.out"
    fi
    if [ -f "$HELPERS" ]; then
      helper_cpu=$(while read -r p; do cpu_of "$p"; done <"$HELPERS" | awk '{ s += $1 } END { print s + 0 }')
    fi
    stop_helpers # before the check: the agent may still hold the destination's QMP
    mkdir -p "$WORK/dump"
    ver_msg=$("$QMIG" verify-memory --lab "$LAB" --tmpdir "$WORK/dump" 2>&1)
    ver_rc=$?
    ver_msg=$(printf '%s' "$ver_msg" | tr '\n' ' ')
    rm -rf "$WORK/dump"
  fi
  stop_helpers
  stop_rc=0
  [ -d "$LAB" ] && { "$QMIG" lab stop --dir "$LAB" >"$WORK/stop.out" 2>&1 || stop_rc=$?; }

  base='{}'
  [ -s "$rep" ] && jq -e . "$rep" >/dev/null 2>&1 && base=$(jq -c . "$rep")
  printf '%s\n' "$base" | jq -c --argjson round "$round" --argjson ch "$ch" --arg var "$var" \
    --arg date "$(date -Is)" --arg load "$(cut -d' ' -f1 /proc/loadavg)" \
    --argjson lab_rc "$lab_rc" --argjson mig_rc "$mig_rc" --argjson ver_rc "$ver_rc" \
    --arg ver_msg "$ver_msg" --arg why "$why" --argjson helper_cpu "$helper_cpu" \
    --argjson helper_start_cpu "$helper_start_cpu" \
    --argjson skipped "$skipped" \
    '. + {bench: {round: $round, channels: $ch, variant: $var, date: $date, load1: $load,
                  skipped: $skipped, lab_rc: $lab_rc, migrate_rc: $mig_rc, verify_rc: $ver_rc,
                  verify: $ver_msg, note: $why, helper_cpu_s: $helper_cpu,
                  helper_start_cpu_s: $helper_start_cpu,
                  ok: (($skipped | not) and $lab_rc == 0 and $mig_rc == 0 and $ver_rc == 0)}}' \
    >>"$JSONL" || { say "bench: could not record a run"; exit 2; }

  tail -n 1 "$JSONL" | jq -r '
    def f: if . == null then "n/a" else (. * 10 | round / 10 | tostring) end;
    def c: if . == null then "n/a" else (. * 1000 | round / 1000 | tostring) end;
    def cpg: if .transferred_bytes == null or .transferred_bytes == 0 then "n/a"
             else ((.qmig_cpu_s + .bench.helper_cpu_s) / (.transferred_bytes / 1e9)
                   * 1000 | round / 1000 | tostring) end;
    [ (.bench.round | tostring), (.bench.channels | tostring), .bench.variant,
      (.total_ms | f), (.stop_to_resume_pause_ms | f), (.qemu_downtime_ms | f),
      (if .transferred_bytes then (.transferred_bytes / 1048576 | f) else "n/a" end),
      (.qmig_cpu_s | c), (.bench.helper_cpu_s | c), cpg,
      (if .bench.skipped then "skip: \(.bench.note)"
       elif .bench.ok then "ok"
       elif .bench.lab_rc != 0 then "FAIL setup: \(.bench.note)"
       elif .bench.migrate_rc != 0 then "FAIL migrate rc=\(.bench.migrate_rc): \(.error // "no report")"
       else "FAIL memory: \(.bench.verify)" end) ] | @tsv' |
    awk -F'\t' '{ printf "%5s %2s %-14s %8s %8s %8s %8s %7s %7s %7s  %s\n",
                  $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 }' | tee -a "$LOG"
  if [ "$mig_rc" -gt 0 ]; then sed 's/^/        | /' "$WORK/migrate.out" | tee -a "$LOG"; fi
  if [ "$stop_rc" -ne 0 ]; then
    say "bench: lab stop failed, giving up: $(tr '\n' ' ' <"$WORK/stop.out")"
    exit 2
  fi
}

say "qmig tunnel bench $STAMP on $(uname -n): $(nproc) cores, $(uname -sr)"
say "guest: fill $FILL MiB, mem $MEM MiB, dirty $DIRTY MiB/s, accel $ACCEL; two-namespace lab," \
  "veth ${LINK_RATE:-unshaped}; downtime-limit $DOWNTIME ms ${MIGRATE_OPTS:+, $MIGRATE_OPTS}; rounds $RUNS; channels: $CHANNELS; variants: $VARIANTS"
say "stunnel: $(stunnel -version 2>&1 | grep -m1 '^stunnel'), TLS 1.3, mutual x509 (same certificates as QEMU's TLS)"
[ -n "$TUNNEL_NOTE" ] && say "NOTE: $TUNNEL_NOTE"
say "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
say "raw reports: $JSONL"
say ""
say "times in ms; cpu in s: qmig = the engine, helper = stunnel (client + server) or the agent;"
say "cpu/GB = (qmig + helper) CPU seconds per GB transferred"
say "$(printf '%5s %2s %-14s %8s %8s %8s %8s %7s %7s %7s  %s' round ch variant total pause \
  downtime MiB qmig helper cpu/GB result)"

r=1
while [ "$r" -le "$RUNS" ]; do
  for ch in $CHANNELS; do
    for v in $VARIANTS; do run_one "$r" "$ch" "$v"; done
  done
  r=$((r + 1))
done

say ""
say "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
if ! jq -rs --argjson runs "$RUNS" -f tools/bench/tunnel-summary.jq "$JSONL" >"$WORK/summary.txt"; then
  say "bench: the summary could not be computed from $JSONL"
  exit 2
fi
sed '$d' "$WORK/summary.txt" | tee -a "$LOG"
rc=$(tail -n 1 "$WORK/summary.txt" | sed 's/^exit //')
say "raw reports: $JSONL  summary: $LOG"
exit "$rc"
