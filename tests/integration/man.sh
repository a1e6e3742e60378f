# SPDX-License-Identifier: LGPL-2.1-or-later
# Man pages and bash completion as installed (issue 14): `make install` into
# a staging root; every page renders without a warning (man -l, groff -ww);
# every key of every option table (from libqmig's own key lists, through
# qmig-docgen keys) is in its page; the completion loads in bash and
# completes `qmig migrate --tun` to the tunnel options.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
bd=$(realpath --relative-to="$ROOT" "$(dirname "$QMIG")")
[ "$bd" = build ] || { echo "skip: the man page test runs against the default build only (QMIG in $bd)"; exit 77; }
need man
need groff
S=$D/root
prefix=/usr/local
make -s -C "$ROOT" install DESTDIR="$S" PREFIX=$prefix >"$D/install.log" 2>&1 || { cat "$D/install.log"; fail "make install"; }
M=$S$prefix/share/man
cmds="migrate recover check dirty-rate lab verify-memory verify-disks create-disks verify-disk-image demo bench agent update pingpong calibrate"
pages="$M/man1/qmig.1 $M/man3/qmig.3"
for c in $cmds; do pages="$pages $M/man1/qmig-$c.1"; done
for p in $pages; do
  [ -s "$p" ] || fail "make install did not install $p"
  w=$(groff -ww -z -man "$p" 2>&1) || fail "groff failed on $p: $w"
  [ -z "$w" ] || fail "groff warns on $p: $w"
  out=$(MANWIDTH=80 man -l "$p" 2>&1 >"$D/page.txt") || fail "man -l $p failed: $out"
  [ -z "$out" ] || fail "man -l $p warns: $out"
  grep -q '^NAME' "$D/page.txt" || fail "$p has no NAME section when rendered"
done

# A page for every command qmig --help lists (MAN_CMDS kept in step).
for c in $("$QMIG" --help | awk '/^  [a-z]/ {print $1}'); do
  [ -s "$M/man1/qmig-$c.1" ] || fail "qmig $c has no man page (add it to MAN_CMDS in the Makefile)"
done

# Every key of every table in its page (the roff source: \- for each -).
docgen=$ROOT/build/tools/qmig-docgen
has_key() { # page key
  grep -qF -- "\\-\\-$(printf %s "$2" | sed 's/-/\\-/g')" "$1"
}
n=0
for t in migrate:migrate migrate:check agent:agent lab:lab bench:bench pingpong:pingpong migrate:pingpong calibrate:calibrate; do
  table=${t%%:*} page=$M/man1/qmig-${t#*:}.1
  keys=$("$docgen" keys "$table") || fail "qmig-docgen keys $table"
  [ -n "$keys" ] || fail "table $table has no keys"
  for k in $keys; do
    has_key "$page" "$k" || fail "key '$k' of the $table table is not in $(basename "$page")"
    n=$((n + 1))
  done
done
echo "ok: $n keys found in their pages"
# qmig(3): every QMIG_API function of the installed header.
for f in $(grep -v "^#define" "$S$prefix/include/qmig.h" | grep -o 'QMIG_API [^(]*(' | grep -o '[a-z_0-9]*($' | tr -d '('); do
  grep -q "^\.SS $f\$" "$M/man3/qmig.3" || fail "qmig(3) lacks $f"
done
grep -q 'QMIG_E_QMP_CONNECT' "$M/man3/qmig.3" || fail "qmig(3) lacks the error codes"

# Completion: loads, and completes the tunnel options.
C=$S$prefix/share/bash-completion/completions/qmig
[ -s "$C" ] || fail "make install did not install the bash completion"
got=$(bash -c '. "$1" || exit 1; COMP_WORDS=(qmig migrate --tun); COMP_CWORD=2; _qmig; printf "%s\n" "${COMPREPLY[@]}"' _ "$C") ||
  fail "the completion does not load in bash"
echo "$got" | grep -qx -- --tunnel || fail "qmig migrate --tun does not complete to --tunnel: $got"
echo "$got" | grep -qx -- --tunnel-tls || fail "qmig migrate --tun does not complete to --tunnel-tls: $got"
echo "$got" | grep -vq -- '^--tun' && fail "qmig migrate --tun completes to something else: $got"
got=$(bash -c '. "$1"; COMP_WORDS=(qmig ag); COMP_CWORD=1; _qmig; printf "%s\n" "${COMPREPLY[@]}"' _ "$C")
[ "$got" = agent ] || fail "qmig ag does not complete to agent: $got"
got=$(bash -c '. "$1"; COMP_WORDS=(qmig pingpong --rep); COMP_CWORD=2; _qmig; printf "%s\n" "${COMPREPLY[@]}"' _ "$C")
[ "$got" = --repeat ] || fail "qmig pingpong --rep does not complete to --repeat: $got"
got=$(bash -c '. "$1"; COMP_WORDS=(qmig lab start --net); COMP_CWORD=3; _qmig; printf "%s\n" "${COMPREPLY[@]}"' _ "$C")
[ "$got" = --netns ] || fail "qmig lab start --net does not complete to --netns: $got"

make -s -C "$ROOT" uninstall DESTDIR="$S" PREFIX=$prefix || fail "make uninstall"
left=$(find "$S" -type f | sed "s|^$S||")
[ -z "$left" ] || fail "make uninstall left: $left"
exit 0
