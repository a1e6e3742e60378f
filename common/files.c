/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* files.c - private directories, no-follow creation, secret file modes. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/errbuf.h"
#include "common/files.h"

int files_private_dir(const char *path, bool create, char *err, size_t errlen)
{
  struct stat st;
  if (create && mkdir(path, 0700) == 0)
    return 0;
  if (create && errno != EEXIST) {
    errbuf_setf(err, errlen, "directory %s: cannot create it: %s", path, strerror(errno));
    return -1;
  }
  if (lstat(path, &st) < 0) {
    errbuf_setf(err, errlen, "directory %s: %s", path, strerror(errno));
    return -1;
  }
  const char *why = S_ISLNK(st.st_mode)                ? "is a symbolic link"
                    : !S_ISDIR(st.st_mode)             ? "is not a directory"
                    : st.st_uid != geteuid()           ? "is owned by another user"
                    : st.st_mode & (S_IWGRP | S_IWOTH) ? "is writable by group or others"
                                                       : NULL;
  if (why) {
    errbuf_setf(err, errlen,
                "directory %s %s (uid %u, mode %04o): refusing to use it; "
                "remove it or choose another directory",
                path, why, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
    return -1;
  }
  return 0;
}

int files_open(const char *path, int flags, mode_t mode)
{
  return open(path, flags | O_NOFOLLOW | O_CLOEXEC, mode);
}

int files_check_secret(const char *path, char *err, size_t errlen)
{
  struct stat st;
  if (stat(path, &st) < 0) {
    errbuf_setf(err, errlen, "%s: %s", path, strerror(errno));
    return -1;
  }
  if (st.st_mode & (S_IRWXG | S_IRWXO)) {
    errbuf_setf(err, errlen,
                "permissions %04o for %s are too open: it must not be "
                "accessible by group or others (chmod 600 %s)",
                (unsigned)(st.st_mode & 07777), path, path);
    return -1;
  }
  return 0;
}
