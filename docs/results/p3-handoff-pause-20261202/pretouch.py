#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# pretouch.py PID MiB: read every 2 MiB of the MiB-sized anonymous mapping of PID through /proc/PID/mem,
# so the kernel allocates it now rather than during the migration (the batch E experiment):
#   PRE='python3 $D/pretouch.py $(cat $LAB/dst.pid) 204 > $OUT/pretouch.txt' bash $D/one.sh native OUT
import sys, time
pid=int(sys.argv[1]); mb=int(sys.argv[2])
def rss(): return [l for l in open(f'/proc/{pid}/status') if l.startswith('RssAnon')][0].split()[1]
for l in open(f'/proc/{pid}/maps'):
    a=l.split(); s,e=[int(x,16) for x in a[0].split('-')]
    if (e-s)>>20==mb and len(a)==5: break
r0=rss(); t=time.perf_counter()
with open(f'/proc/{pid}/mem','rb',buffering=0) as f:
    for off in range(s,e,2<<20):
        f.seek(off); f.read(4096*512)
print(f"pretouch {mb} MiB of pid {pid}: {1e3*(time.perf_counter()-t):.0f} ms, RssAnon {r0} -> {rss()} kB")
