#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""p3tail.py RUNDIR... : what the destination did between the source's last write
(its `completed`) and its own last read (RESUME follows at once), from the traces
of hooks-trace.sh: how far through guest RAM the destination was when the source
finished (its first-touch page faults of the guest RAM mapping, one per 2 MiB THP
region), how many regions it first touched in the tail, the bytes it still read,
how its main thread spent the tail (running / runnable but preempted / asleep) and
which processes had the CPUs (dst, src, qmig = engine + agent, other, idle).
Guest RAM is found as the mapping of MEM MiB (default 204 = FILL 128 + 76)."""
import sys, re, json, collections, subprocess, statistics as st
MEM = int(__import__('os').environ.get('MEM', '204'))
def events(path):
    out = subprocess.run(['perf','script','-i',path,'-F','tid,time,event,trace','--ns'],capture_output=True,text=True).stdout
    ev=[]
    for l in out.splitlines():
        m = re.match(r'\s*(\d+)\s+([\d.]+):\s+(?:syscalls|exceptions):(\w+):\s*(.*)', l)
        if m: ev.append((int(m[1]), float(m[2]), m[3], m[4]))
    return ev
def sched(path):
    out = subprocess.run(['perf','script','-i',path,'-F','cpu,time,event,trace','--ns'],capture_output=True,text=True).stdout
    ev=[]
    for l in out.splitlines():
        m = re.match(r'\s*\[(\d+)\]\s+([\d.]+):\s+sched:(\w+):\s*(.*)', l)
        if m: ev.append((int(m[1]), float(m[2]), m[3], m[4]))
    return ev
def guestbase(p, mb):
    for l in open(p):
        a=l.split(); s,e=[int(x,16) for x in a[0].split('-')]
        if (e-s)>>20==mb: return s
rows=[]
for d in sys.argv[1:]:
    rep=json.load(open(d+'/report.json'))
    v=d.split('/')[-1].split('-')[0]
    src=events(d+'/src.perf'); dst=events(d+'/dst.perf')
    by=collections.Counter()
    for tid,t,e,a in src:
        if e=='sys_exit_sendmsg' and not a.startswith('0xf'): by[tid]+=int(a,16)
    mig=by.most_common(1)[0][0]
    tend=[t for tid,t,e,a in src if tid==mig and e=='sys_exit_sendmsg'][-1]
    gb=guestbase(d+'/dstmaps2',MEM)
    f=[(t,(int(re.search(r'address=0x([0-9a-f]+)',a)[1],16)-gb)>>20) for tid,t,e,a in dst if e=='page_fault_user']
    f=[(t,o) for t,o in f if 0<=o<MEM]
    before=[o for t,o in f if t<=tend]; after=[o for t,o in f if t>tend]
    pos=max(before) if before else 0
    reads=[t for tid,t,e,a in dst if e=='sys_exit_recvmsg' and 0<int(a,16)<1<<40 and tend<t<tend+2]
    tlast=reads[-1] if reads else tend
    backlog=sum(int(a,16) for tid,t,e,a in dst if e=='sys_exit_recvmsg' and 0<int(a,16)<1<<40 and t>tend)
    # source: when did it fault its last guest region (= finished the scan), and its fault count
    sgb=guestbase(d+'/srcmaps1',MEM)
    # sched
    dpid=int(open(d+'/pids').read().split('dst=')[1])
    ps={}
    for l in open(d+'/ps1').readlines()+open(d+'/ps2').readlines():
        a=l.split()
        if len(a)>=3 and a[0].isdigit(): ps[int(a[1])]=(int(a[0]),a[2])
    ev=sched(d+'/sched.perf')
    cur={}; oncpu=collections.Counter(); mstate=None; mt=None; stt=collections.Counter()
    for cpu,t,e,a in ev:
        if e!='sched_switch':
            m=re.search(r'pid=(\d+)',a)
            if m and int(m[1])==dpid and mstate not in ('run',):
                if mt is not None: stt[mstate]+=max(0,min(t,tlast)-max(mt,tend))
                mstate='runnable'; mt=t
            continue
        m=re.match(r'prev_comm=(.*) prev_pid=(\d+) prev_prio=\d+ prev_state=(\S+) ==> next_comm=(.*) next_pid=(\d+)',a)
        pp,pst,np=int(m[2]),m[3],int(m[5])
        if cpu in cur:
            tid0,t0=cur[cpu]; oncpu[tid0]+=max(0,min(t,tlast)-max(t0,tend))
        cur[cpu]=(np,t)
        if pp==dpid:
            if mt is not None: stt[mstate]+=max(0,min(t,tlast)-max(mt,tend))
            mstate='runnable' if pst.startswith('R') else 'sleep'; mt=t
        if np==dpid:
            if mt is not None: stt[mstate]+=max(0,min(t,tlast)-max(mt,tend))
            mstate='run'; mt=t
    cat=collections.Counter()
    spid=int(open(d+'/pids').read().split('src=')[1].split()[0])
    for tid,s in oncpu.items():
        p,c=ps.get(tid,(tid,'?'))
        if tid==0: k='idle'
        elif p==dpid: k='dst'
        elif p==spid: k='src'
        elif c.startswith('qmig'): k='qmig'
        else: k='other'
        cat[k]+=s
    r=dict(v=v,d=d,pause=rep['stop_to_resume_pause_ms'],tail=rep['dst_tail_ms'],down=rep['qemu_downtime_ms'],
           ptail=1e3*(tlast-tend),pos=pos,remain=MEM-pos,nafter=len(after),backlog=backlog/1e6,
           run=1e3*stt['run'],runnable=1e3*stt['runnable'],sleep=1e3*stt['sleep'],
           **{'cpu_'+k:1e3*v for k,v in cat.items()})
    r['ms_per_region']=r['ptail']/max(1,r['nafter'])
    rows.append(r)
    print(f"{d:16s} pause {r['pause']:6.1f} tail {r['tail']:6.1f} | dst at {pos:3d}M at src end, {r['nafter']:2d} new 2M regions after, {r['ms_per_region']:5.1f} ms/region, backlog {r['backlog']:5.2f}MB | dst main: run {r['run']:5.1f} runnable {r['runnable']:5.1f} sleep {r['sleep']:4.1f} | cpu: "+" ".join(f"{k[4:]} {r[k]:.0f}" for k in r if k.startswith('cpu_')))
json.dump(rows, open('p3tail-rows.json', 'w'))
for v in ('native','handoff'):
    R=[r for r in rows if r['v']==v]
    if not R: continue
    print(v, 'n',len(R), 'median pause %.1f tail %.1f regions-after %.1f ms/region %.1f runnable %.1f qmig-cpu %.1f'%(st.median(r['pause'] for r in R), st.median(r['tail'] for r in R), st.median(r['nafter'] for r in R), st.median(r['ms_per_region'] for r in R), st.median(r['runnable'] for r in R), st.median(r.get('cpu_qmig',0) for r in R)))
