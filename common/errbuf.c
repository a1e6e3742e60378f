/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* errbuf.c - formatting an error message into a buffer (common/errbuf.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/errbuf.h"

int errbuf_vsetf(char *buf, size_t len, const char *fmt, va_list ap)
{
  if (buf && len)
    vsnprintf(buf, len, fmt, ap);
  return -1;
}

int errbuf_setf(char *buf, size_t len, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  errbuf_vsetf(buf, len, fmt, ap);
  va_end(ap);
  return -1;
}

/* The part of buf from its end on, or NULL when buf is full. */
static char *tail(char *buf, size_t len, size_t *left)
{
  size_t n = strnlen(buf, len);
  if (n + 1 >= len)
    return NULL;
  *left = len - n;
  return buf + n;
}

int errbuf_vlabelf(char *buf, size_t len, const char *label, const char *fmt, va_list ap)
{
  if (!buf || !len)
    return -1;
  buf[0] = '\0';
  if (label && label[0])
    snprintf(buf, len, "%s: ", label);
  size_t left;
  char *t = tail(buf, len, &left);
  if (t)
    vsnprintf(t, left, fmt, ap);
  return -1;
}

void errbuf_appendf(char *buf, size_t len, const char *fmt, ...)
{
  if (!buf || !len)
    return;
  size_t left;
  char *t = tail(buf, len, &left);
  if (t && t != buf)
    snprintf(t, left, "; ");
  if (!(t = tail(buf, len, &left)))
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(t, left, fmt, ap);
  va_end(ap);
}
