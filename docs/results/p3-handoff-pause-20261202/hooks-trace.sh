# SPDX-License-Identifier: LGPL-2.1-or-later
# source before one.sh: syscall, page-fault and scheduler traces of both QEMUs (CLOCK_MONOTONIC)
PRE='python3 -c "import time;print(time.clock_gettime(0)-time.clock_gettime(1))" > $OUT/clockoff; 
perf record -q -k CLOCK_MONOTONIC -e syscalls:sys_exit_recvmsg -e syscalls:sys_enter_ppoll -e syscalls:sys_exit_ppoll -e exceptions:page_fault_user -p $(cat $LAB/dst.pid) -o $OUT/dst.perf >/dev/null 2>&1 & PD=$!;
perf record -q -k CLOCK_MONOTONIC -e syscalls:sys_exit_sendmsg -e exceptions:page_fault_user -p $(cat $LAB/src.pid) -o $OUT/src.perf >/dev/null 2>&1 & PS=$!;
perf record -q -k CLOCK_MONOTONIC -a -e sched:sched_switch -e sched:sched_wakeup -o $OUT/sched.perf >/dev/null 2>&1 & PA=$!; 
sleep 0.5; ps -eLo pid,tid,comm > $OUT/ps1; cat /proc/$(cat $LAB/dst.pid)/maps > $OUT/dstmaps1; cat /proc/$(cat $LAB/src.pid)/maps > $OUT/srcmaps1'
POST='ps -eLo pid,tid,comm > $OUT/ps2; cat /proc/$(cat $LAB/dst.pid)/maps > $OUT/dstmaps2; sleep 0.3; kill -INT $PD $PS $PA 2>/dev/null; wait $PD $PS $PA'
export PRE POST SAMPLE=0
