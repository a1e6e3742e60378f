/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* addr.c - the engine's address strings: the host of a tcp:/tls: address,
 * a tcp: address split into host and port, and the host the destination
 * listens on for the stream. */
#include <stdio.h>
#include <string.h>

#include "engine/internal.h"

/* Host part of "tcp:HOST:PORT" or "tls:HOST:PORT" into out ("" if neither). */
void eng_tcp_host(const char *addr, char *out, size_t len)
{
  out[0] = '\0';
  if (strncmp(addr, "tcp:", 4) != 0 && strncmp(addr, "tls:", 4) != 0)
    return;
  const char *h = addr + 4, *colon = strrchr(h, ':');
  size_t n = (size_t)(colon - h);
  if (n >= len)
    n = len - 1;
  memcpy(out, h, n);
  out[n] = '\0';
}

/* "tcp:HOST:PORT" / "tcp:[V6]:PORT" / "tcp:HOST" into host and port ("" if none). */
void eng_split_tcp(const char *a, char *host, size_t hlen, char *port, size_t plen)
{
  const char *h = a + 4, *end;
  port[0] = '\0';
  if (*h == '[') {
    end = strchr(h, ']');
    snprintf(host, hlen, "%.*s", end ? (int)(end - h - 1) : (int)strlen(h + 1), h + 1);
    if (end && end[1] == ':')
      snprintf(port, plen, "%s", end + 2);
    return;
  }
  end = strrchr(h, ':');
  snprintf(host, hlen, "%.*s", end ? (int)(end - h) : (int)strlen(h), h);
  if (end)
    snprintf(port, plen, "%s", end + 1);
}

/* The address the destination listens on for the stream: data-host, else
 * the host of a tcp: destination QMP address, else 127.0.0.1. */
void eng_data_host(const struct eng_config *c, char *out, size_t len)
{
  if (c->stream.host)
    snprintf(out, len, "%s", c->stream.host);
  else
    eng_tcp_host(c->dst, out, len);
  if (out[0] == '\0')
    snprintf(out, len, "127.0.0.1");
}
