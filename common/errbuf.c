/* errbuf.c - formatting into a caller-supplied error buffer. */
#include <stdarg.h>
#include <stdio.h>

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
