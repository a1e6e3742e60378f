# SPDX-License-Identifier: LGPL-2.1-or-later
# Tunnelled TLS-PSK migration where the kernel has the tls ULP and OpenSSL offloads TLS 1.3 both ways: the report says "offload": "ktls"; memory check, exactly one QEMU. Skips (77) with the reason elsewhere.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tunnel-lib.bash"
ulps=$(cat /proc/sys/net/ipv4/tcp_available_ulp 2>/dev/null)
grep -qw tls <<<"$ulps" ||
  { echo "skip: the kernel has no tls ULP (tcp_available_ulp: ${ulps:-unreadable})"; exit 77; }
v=$(openssl version | awk '{print $2}')
case $v in 3.[01].*)
  echo "skip: OpenSSL $v offloads only sending for TLS 1.3 (kTLS receive needs 3.2)"; exit 77 ;;
esac
tunnel_ok psk 0
[ "$(jr .tunnel.offload)" = ktls ] ||
  fail "offload: $(jr .tunnel.offload) ($(jr .tunnel.offload_why)), expected ktls"
