#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The one shared set-up step (make deps): install the Debian packages qmig
# needs, if any are missing, for one of two uses (needs root for apt-get):
#   sh tests/deps.sh demo    build qmig and run `make demo` (a lab pair
#                            under QEMU, migrated once): the build set
#   sh tests/deps.sh check   everything `make check` runs (default): the
#                            demo set plus the test-only packages
# `make demo` runs `make deps DEPS=demo`; `make check` and the other
# targets `make deps` (DEPS=check).

# Building libqmig and qmig, and running a lab pair (qmig demo).
demo_pkgs() {
  echo "build-essential gcc-multilib pkg-config libjansson-dev liburing-dev libssl-dev
libnbd-dev qemu-system-x86 qemu-utils"
}

# Only the test suite: unit tests (cmocka), the fuzz targets (clang;
# libclang-rt-dev holds libFuzzer and the sanitizer runtimes, only a
# Recommends of clang, which --no-install-recommends skips), NBD and disk
# tests (nbdkit), JSON checks (jq), fault injection (socat), TLS
# credentials (openssl), network namespaces (iproute2), the stunnel
# transport (stunnel4), the man pages (man-db, groff-base) and the TTY
# progress line under script(1) (bsdutils).
check_pkgs() {
  echo "libcmocka-dev nbdkit jq socat openssl iproute2 stunnel4 clang libclang-rt-dev
man-db groff-base bsdutils"
}

# Optional: only tests that need them use them, and skip (exit 77) without.
# chromium: bench-html renders the bench's HTML report in a headless browser;
# openssh-server: tunnel-ssh starts its own sshd (apt's service start is
# denied by policy-rc.d where there is one, and nothing needs it running).
check_optional_pkgs() {
  echo "chromium openssh-server"
}

# The packages of a list that are not installed.
missing_of() {
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || printf ' %s' "$p"
  done
}

apt_install() { # what, packages...
  what=$1
  shift
  echo "qmig: installing $what Debian packages: $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
}

set_=${1:-check}
case $set_ in
demo) pkgs=$(demo_pkgs) optional="" ;;
check) pkgs="$(demo_pkgs) $(check_pkgs)" optional=$(check_optional_pkgs) ;;
*)
  echo "usage: tests/deps.sh [demo|check]" >&2
  exit 2
  ;;
esac
# shellcheck disable=SC2086 # word splitting of the lists is meant
missing=$(missing_of $pkgs)
# shellcheck disable=SC2086
opt_missing=$(missing_of $optional)
if [ -n "$opt_missing" ] && [ "$(id -u)" = 0 ]; then
  # shellcheck disable=SC2086
  apt_install optional $opt_missing ||
    echo "qmig: could not install$opt_missing; the tests that need them will skip" >&2
fi
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "qmig: missing Debian packages ($set_):$missing" >&2
  echo "qmig: run 'make deps' as root (it uses apt-get), or install them yourself." >&2
  exit 1
fi
apt-get update -q || exit 1
# shellcheck disable=SC2086
apt_install "missing ($set_)" $missing
