/* errbuf.c - formatting into a caller-supplied error buffer. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/errbuf.h"

void errbuf_setf(char *buf, size_t len, const char *fmt, ...)
{
  va_list ap;
  if (!buf || !len)
    return;
  va_start(ap, fmt);
  vsnprintf(buf, len, fmt, ap);
  va_end(ap);
}

void errbuf_appendf(char *buf, size_t len, const char *fmt, ...)
{
  va_list ap;
  if (!buf || !len)
    return;
  size_t n = strlen(buf);
  if (n && n + 2 < len)
    n += (size_t)snprintf(buf + n, len - n, "; ");
  if (n + 1 >= len)
    return;
  va_start(ap, fmt);
  vsnprintf(buf + n, len - n, fmt, ap);
  va_end(ap);
}
