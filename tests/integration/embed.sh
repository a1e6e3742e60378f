# SPDX-License-Identifier: LGPL-2.1-or-later
# An embedder's view (issue 14): `make install` into a staging root, then a
# small C program (tests/embed/embed.c) built through pkg-config against the
# installed copy, dynamically and statically.  It defines functions named
# like libqmig internals (qmp_connect, errbuf_setf, tp_tls_new): the static
# link must not clash, so libqmig.a may export nothing but qmig_*.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
bd=$(realpath --relative-to="$ROOT" "$(dirname "$QMIG")")
[ "$bd" = build ] || { echo "skip: the embedder test runs against the default build only (QMIG in $bd)"; exit 77; }
need pkg-config
S=$D/root
make -s -C "$ROOT" install DESTDIR="$S" >"$D/install.log" 2>&1 || { cat "$D/install.log"; fail "make install"; }
prefix=${PREFIX:-/usr/local} # the Makefile's default, or what make got
pc=$S$prefix/lib/pkgconfig
for f in bin/qmig lib/libqmig.a lib/libqmig.so.0 lib/libqmig.so include/qmig.h share/qmig/qmig-guest.elf lib/pkgconfig/qmig.pc; do
  [ -e "$S$prefix/$f" ] || fail "make install did not install $prefix/$f"
done

# Only the API leaves the archive.
leak=$(nm -g --defined-only "$S$prefix/lib/libqmig.a" | awk 'NF == 3 && $3 !~ /^qmig_/ {print $3}')
[ -z "$leak" ] || fail "libqmig.a exports internal symbols: $(echo $leak | head -c 300)"
nm -g --defined-only "$S$prefix/lib/libqmig.a" | grep -q ' T qmig_new$' || fail "libqmig.a lacks qmig_new"
# The shared library: only the API, every symbol versioned QMIG_0.
so=$S$prefix/lib/libqmig.so.0
leak=$(nm -D --defined-only "$so" | awk 'NF == 3 && $3 !~ /^qmig_/ && $3 != "QMIG_0" {print $3}')
[ -z "$leak" ] || fail "libqmig.so exports internal symbols: $(echo $leak | head -c 300)"
unversioned=$(objdump -T "$so" | awk '$NF ~ /^qmig_/ && $(NF-1) != "QMIG_0" {print $NF}')
[ -z "$unversioned" ] || fail "libqmig.so symbols without version QMIG_0: $unversioned"
objdump -T "$so" | grep -q 'QMIG_0 *qmig_new$' || fail "libqmig.so lacks qmig_new@QMIG_0"

export PKG_CONFIG_PATH=$pc PKG_CONFIG_SYSROOT_DIR=$S
pkg-config --exists qmig || fail "pkg-config does not find the installed qmig.pc"

# Dynamic.
cc -Wall -Werror -o "$D/embed-dyn" "$ROOT/tests/embed/embed.c" $(pkg-config --cflags --libs qmig) \
  || fail "dynamic build through pkg-config"
LD_LIBRARY_PATH=$S$prefix/lib "$D/embed-dyn" | grep -q '^embed ok' || fail "dynamic embedder"
LD_LIBRARY_PATH=$S$prefix/lib ldd "$D/embed-dyn" | grep -q libqmig.so || fail "dynamic embedder not linked to libqmig.so"

# Static libqmig: a copy of the staging root without the shared library, so
# -lqmig can only be libqmig.a; the rest from --static --libs.
cp -a "$S" "$D/static"
rm -f "$D/static$prefix"/lib/libqmig.so*
PKG_CONFIG_PATH=$D/static$prefix/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$D/static \
  cc -Wall -Werror -o "$D/embed-static" "$ROOT/tests/embed/embed.c" \
  $(PKG_CONFIG_PATH=$D/static$prefix/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$D/static pkg-config --static --cflags --libs qmig) \
  >"$D/static.log" 2>&1 || { cat "$D/static.log"; fail "static build through pkg-config --static"; }
"$D/embed-static" | grep -q '^embed ok' || fail "static embedder"
ldd "$D/embed-static" | grep -q libqmig && fail "static embedder still needs libqmig.so"

# uninstall removes exactly what install put there.
make -s -C "$ROOT" uninstall DESTDIR="$S" || fail "make uninstall"
left=$(find "$S" -type f | sed "s|^$S||")
[ -z "$left" ] || fail "make uninstall left: $left"
exit 0
