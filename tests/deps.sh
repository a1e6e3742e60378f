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
# credentials (openssl), network namespaces (iproute2; procps's sysctl turns
# IPv6 off on the lab's switch), the stunnel
# transport (stunnel4), the man pages (man-db, groff-base) and the TTY
# progress line under script(1) (bsdutils), the Linux lab guest's initramfs
# (cpio), the JSON Schema checks of every --json document (python3-jsonschema,
# tests/helpers/validate-json.py).  Beyond packages: the Linux lab guest's kernel and QEMU 10
# (fetch_kernel, fetch_qemu10 below).
check_pkgs() {
  echo "libcmocka-dev nbdkit jq socat openssl iproute2 procps stunnel4 clang libclang-rt-dev
man-db groff-base bsdutils cpio python3-jsonschema"
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

# QEMU 10 beside the system's 7.2, for the version matrix of make check
# (tests/integration/qemu10-*.sh; lib.sh's need_qemu10 looks in
# $BUILD/qemu10).  Debian 12 backports' qemu-system-x86, -common and -data,
# fetched with a private apt configuration (its own source list naming the
# system's Debian mirror with suite bookworm-backports, its own lists and
# cache under $BUILD/qemu10-apt; the system's apt state is not touched) and
# unpacked with dpkg -x: the binary runs with the libraries Debian 12 already
# has and the system's seabios.  The .debs are kept in QMIG_DEB_CACHE
# (default ~/.cache/qmig/debs), outside the build tree, so `make clean` costs
# an unpack, not a download.  A failure only warns: the tests that need
# QEMU 10 then skip.
fetch_qemu10() {
  build=${QMIG_BUILD:-build}
  prefix=$build/qemu10
  bin=$prefix/usr/bin/qemu-system-x86_64
  if [ -x "$bin" ] && "$bin" -version >/dev/null 2>&1; then
    return 0
  fi
  cache=${QMIG_DEB_CACHE:-${HOME:-/root}/.cache/qmig/debs}
  debs="qemu-system-x86 qemu-system-common qemu-system-data"
  have=1
  for p in $debs; do
    ls "$cache/${p}_"*~bpo12*.deb >/dev/null 2>&1 || have=0
  done
  if [ $have = 0 ]; then
    if [ "$(id -u)" != 0 ]; then
      echo "qmig: QEMU 10 not fetched (run 'make deps' as root); the tests needing it will skip" >&2
      return 0
    fi
    apt=$build/qemu10-apt
    # The system's own Debian mirror (deb822 sources or a one-line list).
    mirror=$(sed -n 's/^URIs:[[:space:]]*\(http[^[:space:]]*\/debian\)\/*$/\1/p' \
      /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)
    [ -n "$mirror" ] || mirror=$(sed -n 's/^deb[[:space:]]\{1,\}\(http[^[:space:]]*\/debian\)\/*[[:space:]].*/\1/p' \
      /etc/apt/sources.list 2>/dev/null | head -n 1)
    [ -n "$mirror" ] || mirror=http://deb.debian.org/debian
    mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$cache"
    apt=$(cd "$apt" && pwd)
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror bookworm-backports main" \
      > "$apt/sources.list"
    set -- -o Dir::Etc::SourceList="$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null \
      -o Dir::State::Lists="$apt/lists" -o Dir::Cache="$apt/cache" -q
    echo "qmig: fetching QEMU 10 from $mirror bookworm-backports"
    if ! apt-get "$@" update >"$apt/update.log" 2>&1 ||
      ! (cd "$cache" && apt-get "$@" download qemu-system-x86/bookworm-backports \
        qemu-system-common/bookworm-backports qemu-system-data/bookworm-backports) \
        >"$apt/download.log" 2>&1; then
      echo "qmig: could not fetch QEMU 10 from $mirror bookworm-backports" \
        "(see $apt/update.log, $apt/download.log); the tests needing it will skip" >&2
      return 0
    fi
  fi
  rm -rf "$prefix"
  mkdir -p "$prefix"
  for p in $debs; do
    f=$(ls "$cache/${p}_"*~bpo12*.deb | sort -V | tail -n 1)
    dpkg -x "$f" "$prefix" || { echo "qmig: dpkg -x $f failed" >&2; rm -rf "$prefix"; return 0; }
  done
  if "$bin" -version >/dev/null 2>&1; then
    echo "qmig: $("$bin" -version | head -n 1) in $prefix"
  else
    echo "qmig: $bin does not run here; the tests needing QEMU 10 will skip" >&2
    rm -rf "$prefix"
  fi
}

# Beyond packages, for make check only: the Linux guest's kernel, QEMU 10.
fetch_check() {
  [ "$set_" = check ] || return 0
  fetch_kernel
  fetch_qemu10
}
[ -z "$missing" ] && { fetch_check; exit 0; }
if [ "$(id -u)" != 0 ]; then
  echo "qmig: missing Debian packages ($set_):$missing" >&2
  echo "qmig: run 'make deps' as root (it uses apt-get), or install them yourself." >&2
  exit 1
fi
apt-get update -q || exit 1
# shellcheck disable=SC2086
apt_install "missing ($set_)" $missing || exit 1
fetch_check
exit 0
