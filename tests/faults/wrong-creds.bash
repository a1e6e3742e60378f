# SPDX-License-Identifier: LGPL-2.1-or-later
# Wrong credentials: one side holds another key (or the engine a certificate
# from another CA).  Natively QEMU's own TLS (PSK) on the stream, and with
# disks on the NBD connection too (--nbd-tls on); tunnelled the agent's.
# qmig names the failed handshake; the guest keeps running on the source.
psk_dir() { mkdir -m 700 "$1"; echo "qemu:$(openssl rand -hex 32)" > "$1/keys.psk"; }
cell() {
  need openssl
  [ "$MODE" != tunnel ] || has_auth ||
    pending "the plain tunnel has no credential before the auth branch (--tunnel-data)"
  setup_pair
  local bad=()
  case $MODE in
    native|disks)
      psk_dir "$D/psk-src"; psk_dir "$D/psk-dst"
      bad=(--tls psk --tls-dir "$D/psk-src" --tls-dst-dir "$D/psk-dst")
      [ "$MODE" = disks ] && bad+=(--nbd-tls on) ;;
    tunnel)
      make_psk "$D/wrong.psk"
      bad=(--tunnel "$AGENT" --tunnel-tls psk --tunnel-psk-file "$D/wrong.psk" --tunnel-data plain) ;;
    tls)
      bad=(--tunnel "$AGENT" --tunnel-tls x509 --tunnel-tls-dir "$C/ca2" --tunnel-peer-name dst.qmig.test) ;;
  esac
  migrate "${bad[@]}" "${ENG[@]}"
  case $MODE in
    native) expect_rc 1; expect_error "TLS|handshake"; guest_ok src ;;
    disks)  expect_rc 3; expect_error "drive0: .*NBD.*TLS handshake failed"; source_only_running ;;
    tunnel) expect_rc 3; expect_error "bad PSK|authenticat"; source_only_running ;;
    tls)    expect_rc 3; expect_error "unknown CA"; source_only_running ;;
  esac
}
