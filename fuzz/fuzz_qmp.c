/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz/fuzz_qmp.c - libFuzzer target: whatever "QEMU" says, the QMP client
 * must not crash, leak or hang.
 *
 * The input is the byte stream from the server side of a socketpair.  Its
 * first byte chooses where it starts: odd = from the very first byte (the
 * greeting is fuzzed); even = after a valid greeting and the reply to
 * qmp_capabilities, so the bytes meet reply and event handling (the next
 * command ids are "qmig-2" and "qmig-3").  The server side is shut down for
 * writing, so the client always ends on EOF and never waits for a timeout.
 *
 *   clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
 *     -I. -Iinclude fuzz/fuzz_qmp.c qmp/qmp*.c -ljansson -o build/fuzz_qmp
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "qmp/qmp.h"

static const char prologue[] = "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, "
                               "\"major\": 7}, \"package\": \"\"}, \"capabilities\": []}}\r\n"
                               "{\"return\": {}, \"id\": \"qmig-1\"}\r\n";

/* Non-blocking: what does not fit in the socket buffer is dropped. */
static void put(int fd, const void *p, size_t n)
{
  while (n > 0) {
    ssize_t r = send(fd, p, n, MSG_NOSIGNAL);
    if (r <= 0)
      return;
    p = (const char *)p + r;
    n -= (size_t)r;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size == 0)
    return 0;
  bool raw = data[0] & 1;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    return 0;
  int sndbuf = 1 << 20;
  setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  fcntl(sv[0], F_SETFL, O_NONBLOCK);
  if (!raw)
    put(sv[0], prologue, sizeof prologue - 1);
  put(sv[0], data + 1, size - 1);
  shutdown(sv[0], SHUT_WR);

  char err[256];
  struct qmp_conn *c = qmp_open_fd("fuzz", sv[1], 1000, err, sizeof err);
  if (c) {
    json_t *ret = NULL;
    if (qmp_execute(c, "query-status", NULL, &ret, 1000) == 0)
      json_decref(ret);
    qmp_cmd(c, NULL, 1000, "query-migrate", "{s:b}", "x", 1);
    qmp_pump(c, 0);
    struct qmp_event ev;
    while (qmp_next_event(c, &ev))
      qmp_event_clear(&ev);
    (void)qmp_error(c);
    qmp_close(c);
  }
  close(sv[0]);
  return 0;
}
