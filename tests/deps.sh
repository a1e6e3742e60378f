#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The one shared set-up step (make deps): install the Debian packages qmig
# needs to build, test and demo, if any are missing.  Needs root for apt-get.
PKGS="build-essential gcc-multilib pkg-config libjansson-dev liburing-dev libssl-dev
libnbd-dev libcmocka-dev qemu-system-x86 qemu-utils nbdkit jq socat openssl iproute2
stunnel4 clang libclang-rt-dev cpio"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    missing="$missing $p"
done
# clang, libclang-rt-dev (libFuzzer and the sanitizer runtimes: only a
# Recommends of clang, which --no-install-recommends skips): the fuzz
# targets (make fuzz; make check runs each for 30 s).
# Optional: only tests that need them use them, and skip (exit 77) without.
# chromium: bench-html renders the bench's HTML report in a headless browser;
# stunnel4: qmig bench's stunnel transport (bench-transports);
# openssh-server: tunnel-ssh starts its own sshd (apt's service start is
# denied by policy-rc.d where there is one, and nothing needs it running).
OPTIONAL="chromium stunnel4 openssh-server"
opt_missing=""
for p in $OPTIONAL; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    opt_missing="$opt_missing $p"
done
if [ -n "$opt_missing" ] && [ "$(id -u)" = 0 ]; then
  echo "qmig: installing optional Debian packages:$opt_missing"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $opt_missing ||
    echo "qmig: could not install$opt_missing; the tests that need them will skip" >&2
fi
# The Linux lab guest's kernel (qmig lab start --guest linux): the Debian
# kernel package linux-image-amd64 points at, unpacked into build/linux/
# (nothing is downloaded when a lab starts).  Optional: its tests skip
# without it.
fetch_kernel() {
  dir=${BUILD:-build}/linux
  ls "$dir"/boot/vmlinuz-* >/dev/null 2>&1 && return 0
  [ "$(id -u)" = 0 ] || { echo "qmig: no Linux lab guest kernel in $dir (make deps as root)" >&2; return 0; }
  pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n 1)
  [ -n "$pkg" ] || { echo "qmig: apt-cache knows no linux-image-amd64; the Linux guest's tests will skip" >&2; return 0; }
  tmp=$(mktemp -d) && chmod 755 "$tmp" || return 0
  if (cd "$tmp" && apt-get download -q "$pkg") && mkdir -p "$dir" && dpkg -x "$tmp"/*.deb "$dir"; then
    echo "qmig: Linux lab guest kernel $pkg unpacked in $dir"
  else
    echo "qmig: could not fetch $pkg; the Linux guest's tests will skip" >&2
  fi
  rm -rf "$tmp"
}
if [ -z "$missing" ]; then fetch_kernel; exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "qmig: missing Debian packages:$missing" >&2
  echo "qmig: run 'make deps' as root (it uses apt-get), or install them yourself." >&2
  exit 1
fi
echo "qmig: installing missing Debian packages:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q && apt-get install -y -q --no-install-recommends $missing
fetch_kernel
