# SPDX-License-Identifier: LGPL-2.1-or-later
# source before one.sh: ss -tnpiem of both namespaces, QEMU socket fds and their flags, 1.2 s into the migration
PRE='( sleep 1.2; for side in src dst; do ns=$(jq -r .${side}_netns $LAB/lab.json); echo "== $side netns: ss -tnpiem"; ip netns exec $ns ss -tnpiem state established; done; for side in src dst; do p=$(cat $LAB/$side.pid); echo "== $side QEMU $p socket fds (flags octal from fdinfo)"; for f in /proc/$p/fd/*; do l=$(readlink $f); case $l in socket:*) echo "fd $(basename $f) $l flags $(awk "/^flags/{print \$2}" /proc/$p/fdinfo/$(basename $f))";; esac; done; done; [ -n "$AP" ] && { echo "== agent $AP fds"; ls -l /proc/$AP/fd | grep socket; }; echo "== engine fds"; for p in $(pgrep -x qmig); do grep -q -- "--lab $LAB" /proc/$p/cmdline 2>/dev/null; tr "\0" " " < /proc/$p/cmdline | grep -q "migrate --lab $LAB" && ls -l /proc/$p/fd | grep socket; done ) > $OUT/sockets.txt 2>&1 &'
POST=''
export PRE POST SAMPLE=0
