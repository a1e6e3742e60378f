/* lab/ internals: the lab pair (lab.c) and the guest memory checker
 * (memcheck.c, see memcheck.h).  Public entry points are in qmig.h. */
#ifndef QMIG_LAB_H
#define QMIG_LAB_H

#include "qmig.h"

/* Pid of the lab's QEMU on side 0 (source) or 1 (destination) in the run
 * directory `dir` (absolute), or 0 if it is not running. */
int lab_side_pid(const char *dir, int side);

#endif
