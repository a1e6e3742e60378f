/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* common/files.h - files and directories qmig creates or reads secrets
 * from, made safe against other local users: private directories, no
 * symlink followed when creating a file, secrets nobody else can read. */
#ifndef QMIG_COMMON_FILES_H
#define QMIG_COMMON_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* A run directory only we can write to: create it with mode 0700, or
 * accept an existing one only when it is a real directory (lstat: not a
 * symlink), owned by us, and neither group nor others can write to it.
 * With create false a missing directory is an error too.  0, or -1 with a
 * message naming the directory and the problem in err. */
int files_private_dir(const char *path, bool create, char *err, size_t errlen);

/* open(2) for a file qmig creates or reads in its own directories:
 * O_NOFOLLOW | O_CLOEXEC added to flags (a planted symlink fails with
 * ELOOP instead of redirecting the write).  fd, or -1 with errno. */
int files_open(const char *path, int flags, mode_t mode);

/* A file qmig reads a secret from (PSK file, private key) must not be
 * accessible by group or others, as ssh insists for its keys.  0, or -1
 * with "permissions 0644 for FILE are too open: ..." (or why it cannot be
 * checked) in err. */
int files_check_secret(const char *path, char *err, size_t errlen);

#endif
