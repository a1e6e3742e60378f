# SPDX-License-Identifier: LGPL-2.1-or-later
# Helpers for the tunnel tests (bash), sourced after lib.sh: an agent on
# loopback in front of the lab's destination QEMU (stopped by lib.sh's
# cleanup through $D/pids), and credentials made here with openssl.

need python3
[ "$(cat /proc/sys/kernel/io_uring_disabled 2>/dev/null || echo 0)" = 0 ] ||
  { echo "skip: io_uring is disabled (kernel.io_uring_disabled)"; exit 77; }

# free_port: a TCP port on 127.0.0.1 nobody listens on right now.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_agent [qmig agent options...]: AGENT=127.0.0.1:PORT, AGENT_PID; log
# in $D/agent.log.  Without --tls or --insecure-no-auth among the options
# the agent gets the test's PSK ($TPSK, see tunnel_psk).  The agent is
# $QMIG_AGENT when set (need_testhooks), else $QMIG.
start_agent() {
  local port n0; port=$(free_port)
  n0=$(grep -c "listening on" "$D/agent.log" 2>/dev/null || true)
  case " $* " in *" --tls "*|*" --insecure-no-auth "*) ;; *) tunnel_psk; set -- "${AGENT_PSK[@]}" "$@" ;; esac
  "${QMIG_AGENT:-$QMIG}" agent --listen "127.0.0.1:$port" --qmp "unix:$D/dst.qmp" --run-dir "$D/agent" \
    "$@" 2>>"$D/agent.log" &
  AGENT_PID=$!
  echo "$AGENT_PID" >> "$D/pids"
  AGENT=127.0.0.1:$port
  for _ in $(seq 50); do
    [ "$(grep -c "listening on" "$D/agent.log" 2>/dev/null)" -gt "${n0:-0}" ] && return 0
    alive "$AGENT_PID" || break
    sleep 0.1
  done
  cat "$D/agent.log" >&2
  fail "agent did not start"
}

# need_testhooks: QMIG_AGENT, the tests' build of qmig (make all builds it
# next to qmig), whose agent has the test-only option test-clock-skew-ms.
need_testhooks() {
  QMIG_AGENT=${QMIG_TESTHOOKS:-$(dirname "$QMIG")/tests/qmig-testhooks}
  [ -x "$QMIG_AGENT" ] || { echo "skip: no test build of qmig at $QMIG_AGENT (make all builds it)"; exit 77; }
}

# need_tunnel_client: TCLIENT, the tests' own client of an agent
# (tests/helpers/tunnel_client.c: the library's protocol 2 client behind a
# line interface; `make all` builds it next to qmig).
need_tunnel_client() {
  TCLIENT=${QMIG_TUNNEL_CLIENT:-$(dirname "$QMIG")/tests/tunnel_client}
  [ -x "$TCLIENT" ] || { echo "skip: no tunnel client at $TCLIENT (make all builds it)"; exit 77; }
}

# make_pki: $C/ca (ca-cert.pem + server and client certificates; the
# server's for dst.qmig.test and 127.0.0.1), $C/ca2 (another CA with its own
# client certificate), $C/badname (server certificate for another name).
make_pki() {
  need openssl
  C=$D/pki; mkdir -m 700 -p "$C/ca" "$C/ca2" "$C/badname"
  ca "$C/ca"; ca "$C/ca2"
  cert "$C/ca" server dst.qmig.test "subjectAltName=DNS:dst.qmig.test,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"
  cert "$C/ca" client src.qmig.test "extendedKeyUsage=clientAuth\n"
  cert "$C/ca2" client src.qmig.test "extendedKeyUsage=clientAuth\n"
  cp "$C/ca/ca-cert.pem" "$C/badname/"
  cert "$C/badname" server other.qmig.test "subjectAltName=DNS:other.qmig.test\nextendedKeyUsage=serverAuth\n" "$C/ca"
}
ca() {
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=qmig-test-ca-$(basename "$1")" \
    -keyout "$1/ca-key.pem" -out "$1/ca-cert.pem" 2>/dev/null
  chmod 600 "$1/ca-key.pem"
}
cert() { # dir name CN ext [ca-dir]
  local cadir=${5:-$1}
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$3" -keyout "$1/$2-key.pem" \
    -out "$1/$2.csr" 2>/dev/null
  chmod 600 "$1/$2-key.pem" # qmig refuses keys group/others can read
  printf '%b' "$4" > "$1/$2.ext"
  openssl x509 -req -in "$1/$2.csr" -CA "$cadir/ca-cert.pem" -CAkey "$cadir/ca-key.pem" \
    -CAcreateserial -days 2 -extfile "$1/$2.ext" -out "$1/$2-cert.pem" 2>/dev/null
}

# make_psk FILE [IDENTITY]: a random 32-byte key in QEMU's keys.psk format.
make_psk() {
  need openssl
  echo "${2:-qemu}:$(openssl rand -hex 32)" > "$1"
  chmod 600 "$1"
}

# tunnel_psk: the test's PSK (made once) as the tunnel's credential:
# TPSK=FILE, AGENT_PSK (qmig agent options), ENGINE_PSK (qmig migrate options).
tunnel_psk() {
  TPSK=$D/tunnel.psk
  [ -f "$TPSK" ] || make_psk "$TPSK"
  AGENT_PSK=(--tls psk --tls-psk-file "$TPSK")
  ENGINE_PSK=(--tunnel-tls psk --tunnel-psk-file "$TPSK")
}

# expect_tunnel_report CHANNELS: the report's tunnel section shows the main
# channel and CHANNELS multifd channels, each carrying bytes, none failed.
expect_tunnel_report() {
  [ "$(jr '.tunnel.error')" = null ] || fail "tunnel error: $(jr .tunnel.error)"
  [ "$(jr '[.tunnel.channels[] | select(.kind=="main")] | length')" = 1 ] || fail "no main channel"
  [ "$(jr '[.tunnel.channels[] | select(.kind=="multifd")] | length')" = "$1" ] ||
    fail "expected $1 multifd channels: $(jr '.tunnel.channels')"
  [ "$(jr '[.tunnel.channels[] | select(.error != null)] | length')" = 0 ] ||
    fail "a channel failed: $(jr '.tunnel.channels')"
  [ "$(jr '[.tunnel.channels[] | select(.kind=="main")][0].bytes_to_dst')" -gt 0 ] ||
    fail "main channel moved nothing"
  [ "$(jr '.tunnel.clock.samples')" -ge 8 ] || fail "clock samples: $(jr .tunnel.clock)"
}

# expect_main_handed_off: the report's one main channel went to QEMU on
# both hosts (path handoff, no reason, not a byte through the engine) and
# the source migrated to the descriptor (fd:qmig-out-*).
expect_main_handed_off() {
  local main='[.tunnel.channels[] | select(.kind=="main")]'
  [ "$(jr "$main | length")" = 1 ] || fail "main channels: $(jr .tunnel.channels)"
  [ "$(jr "$main[0].path")" = handoff ] || fail "main not handed off: $(jr "$main[0]")"
  [ "$(jr "$main[0].why")" = null ] || fail "why for a handoff: $(jr "$main[0].why")"
  [ "$(jr "$main[0].bytes_to_dst + $main[0].bytes_from_dst")" = 0 ] ||
    fail "the engine forwarded bytes of a handed-off channel: $(jr "$main[0]")"
  case "$(jr .data_uri)" in fd:qmig-out-*) ;; *) fail "data_uri $(jr .data_uri), expected fd:qmig-out-*" ;; esac
}

# tunnel_ok MODE CHANNELS: a full tunnelled migration of a dirtying guest
# with MODE x509 or psk (TLS data with that credential) or plain (the PSK,
# migration channels in authenticated plaintext) and CHANNELS multifd
# channels (0 = multifd off); checks the report, the agent log, memory, one
# QEMU.
tunnel_ok() {
  local mode=$1 ch=$2 eng=() agt=() want
  case $mode in
    x509) make_pki
          agt=(--tls x509 --tls-dir "$C/ca")
          eng=(--tunnel-tls x509 --tunnel-tls-dir "$C/ca")
          want="^TLSv1.3 TLS_AES_128_GCM_SHA256 (x509); data TLS\$" ;;
    psk|plain) tunnel_psk
          agt=("${AGENT_PSK[@]}")
          eng=("${ENGINE_PSK[@]}")
          want="^TLSv1.3 TLS_AES_128_GCM_SHA256 (psk); data TLS\$" ;;
    *) fail "tunnel_ok: unknown mode $mode" ;;
  esac
  if [ "$mode" = plain ]; then
    eng+=(--tunnel-data plain)
    want="^TLSv1.3 TLS_AES_128_GCM_SHA256 (psk); data plain (authenticated)\$"
  fi
  [ "$ch" -gt 0 ] && eng+=(--multifd-channels "$ch")
  start_lab --fill 64 --dirty 10
  start_agent --once "${agt[@]}"
  migrate --tunnel "$AGENT" "${eng[@]}"
  expect_migrated
  expect_tunnel_report "$ch"
  jr .tunnel.tls | grep -q "$want" || fail "tls: $(jr .tunnel.tls), expected $want"
  [ "$(jr .tunnel.data)" = "$([ "$mode" = plain ] && echo plain || echo tls)" ] ||
    fail "data: $(jr .tunnel.data)"
  # Who did the TLS: without the kernel's tls ULP only the forwarder can.
  if [ "$mode" = plain ]; then
    [ "$(jr .tunnel.offload)" = null ] || fail "offload for plain data: $(jr .tunnel.offload)"
  elif ! grep -qw tls /proc/sys/net/ipv4/tcp_available_ulp 2>/dev/null; then
    [ "$(jr .tunnel.offload)" = user ] || fail "offload: $(jr .tunnel.offload), expected user"
    jr .tunnel.offload_why | grep -q "no tls ULP" || fail "offload_why: $(jr .tunnel.offload_why)"
    # and so no channel can go to QEMU: forwarded, saying why
    jr '[.tunnel.channels[] | select(.kind=="main")][0] | "\(.path) \(.why)"' |
      grep -q "^forwarded tls: source offload user: the kernel has no tls ULP" ||
      fail "main channel: $(jr '[.tunnel.channels[] | select(.kind=="main")][0]')"
  else
    jr .tunnel.offload | grep -Eqx 'ktls|user' || fail "offload: $(jr .tunnel.offload)"
  fi
  grep -q "UNAUTHENTICATED" "$D/agent.log" && fail "agent ran unauthenticated: $(cat "$D/agent.log")"
  grep -q "refused" "$D/agent.log" && fail "agent refused something: $(cat "$D/agent.log")"
  expect_guest_on dst
}

# refused WHAT PATTERN [migrate options...]: a tunnelled migration that
# must not start: exit 3, the error matches PATTERN (grep -Ei), nothing
# moved (source running, destination still waiting, untouched).
refused() {
  local what=$1 pat=$2; shift 2
  migrate --tunnel "$AGENT" "$@"
  [ "$RC" = 3 ] || fail "$what: exit $RC, expected 3"
  jr .error | grep -Eqi "$pat" || fail "$what: error does not say '$pat': $(jr .error)"
  jr .error | grep -q "nothing moved" || fail "$what: error does not say nothing moved"
  alive "$SRC_PID" && alive "$DST_PID" || fail "$what: a QEMU went away"
  [ "$(heartbeats src 1)" -ge 10 ] || fail "$what: source guest not running"
  echo "refused as expected ($what): $(jr .error)"
}

# agent_logged PATTERN: the agent logged a refusal matching PATTERN.
agent_logged() {
  for _ in $(seq 30); do
    grep -Eqi "refused.*($1)" "$D/agent.log" && return 0
    sleep 0.1
  done
  cat "$D/agent.log" >&2
  fail "agent did not log a refusal matching '$1'"
}

# restart_agent [options...]: stop the running agent (by pid) and start anew.
restart_agent() {
  kill "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null || true
  start_agent "$@"
}
