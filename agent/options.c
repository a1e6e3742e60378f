/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* options.c - every option of the agent, one row each of a typed option
 * table (common/opttab.h): qmig_agent_set, the defaults, `qmig agent
 * --help` and its long options come from it.  The bounds are documented in
 * docs/TUNNEL.md "Bounds". */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "common/errbuf.h"
#include "common/opttab.h"

static int check_listen(const char *v, char *why, size_t len)
{
  char h[256], port[16];
  if (tp_split_hostport(v, h, sizeof h, port, sizeof port) < 0) {
    errbuf_setf(why, len, "not HOST:PORT");
    return -1;
  }
  return 0;
}

/* The QMP socket's path, without "unix:". */
static int parse_qmp(void *obj, const char *v, char *why, size_t len)
{
  struct qmig_agent *a = obj;
  char *p;
  if (strncmp(v, "unix:", 5) != 0 || !v[5]) {
    errbuf_setf(why, len, "not unix:PATH");
    return -1;
  }
  if (!(p = strdup(v + 5))) {
    errbuf_setf(why, len, "out of memory");
    return -1;
  }
  free(a->qmp);
  a->qmp = p;
  return 0;
}

static json_t *json_qmp(const void *obj)
{
  const struct qmig_agent *a = obj;
  return a->qmp ? json_sprintf("unix:%s", a->qmp) : json_null();
}

static int parse_skew(void *obj, const char *v, char *why, size_t len)
{
#ifndef QMIG_TEST_HOOKS
  (void)obj;
  (void)v;
  errbuf_setf(why, len, "only in the tests' build of qmig (make build/tests/qmig-testhooks)");
  return -1;
#else
  struct qmig_agent *a = obj;
  char *end;
  errno = 0;
  long n = strtol(v, &end, 10);
  if (errno || end == v || *end || n < -86400000L || n > 86400000L) {
    errbuf_setf(why, len, "not a number in range");
    return -1;
  }
  a->skew_ms = n;
  return 0;
#endif
}

static json_t *json_skew(const void *obj)
{
  return json_integer(((const struct qmig_agent *)obj)->skew_ms);
}

static int check_absolute(const char *v, char *why, size_t len)
{
  if (v[0] != '/') {
    errbuf_setf(why, len, "not an absolute path");
    return -1;
  }
  return 0;
}

#define O(f) offsetof(struct qmig_agent, f)
#define BOUND(k, b, d, lo, hi, a, h)                                                          \
  {                                                                                           \
    .key = k, .type = OPT_UINT, .off = O(bound[b]), .min = lo, .max = hi, .def = d, .arg = a, \
    .help = h                                                                                 \
  }
/* One row per option, laid out as a table reads. */
/* clang-format off */
static const struct opt_row rows[] = {
  { .key = "listen", .type = OPT_STR, .off = O(listen), .check = check_listen,
    .arg = "HOST:PORT", .help = "where the engine connects" },
  { .key = "qmp", .type = OPT_CUSTOM, .parse = parse_qmp, .json = json_qmp, .arg = "unix:PATH",
    .help = "the destination QEMU's QMP socket" },
  { .key = "run-dir", .type = OPT_STR, .off = O(run_dir), .arg = "DIR",
    .help = "private dir for QEMU's incoming socket (0700)" },
  { .key = "tls", .type = OPT_ENUM, .off = O(tls), .choices = "none|x509|psk",
    .bad = "not none, x509 or psk", .arg = "x509|psk",
    .help = "the credential (required): control and QMP always\n"
            "go over TLS 1.3 with it, every channel proves its\n"
            "session" },
  { .key = "tls-dir", .type = OPT_STR, .off = O(tls_dir), .arg = "DIR",
    .help = "x509: ca-cert.pem, server-cert.pem, server-key.pem" },
  { .key = "tls-psk-file", .type = OPT_STR, .off = O(psk_file), .arg = "FILE",
    .help = "psk: lines IDENTITY:HEXKEY" },
  { .key = "plain-data", .type = OPT_ENUM, .off = O(refuse_plain_data), .choices = "allow|refuse",
    .bad = "not allow or refuse", .arg = "allow|refuse",
    .help = "authenticated plaintext migration channels\n"
            "(engine: --tunnel-data plain); default allow" },
  { .key = "insecure-no-auth", .type = OPT_BOOL, .off = O(insecure), .flags = OPT_F_FLAG,
    .help = "run WITHOUT a credential: anyone who can connect\n"
            "gets the destination's QMP (tests, closed labs)" },
  { .key = "handshake-timeout", .type = OPT_UINT, .off = O(handshake_ms), .min = 100,
    .max = 600000, .def = "5000", .bad = "not a number in range", .arg = "MS",
    .help = "TLS handshake and hello (default 5000)" },
  { .key = "once", .type = OPT_BOOL, .off = O(once), .flags = OPT_F_FLAG,
    .help = "exit after one session" },
  { .key = "qemu-tls-dir", .type = OPT_STR, .off = O(qemu_tls_dir), .check = check_absolute,
    .arg = "DIR",
    .help = "the only dir QEMU's TLS objects may load (default:\n"
            "tls-dir, or the dir of tls-psk-file)" },
  BOUND("max-connections", AGT_B_CONNS, "64", 2, 65536, "N",
        "served at once; more are closed at once (default 64)"),
  BOUND("max-qmp-channels", AGT_B_QMP, "4", 1, 1024, "N", "per session, open at once (default 4)"),
  BOUND("max-main-channels", AGT_B_MAIN, "2", 1, 16, "N", "per session, open at once (default 2)"),
  BOUND("max-multifd-channels", AGT_B_MULTIFD, "16", 1, TP_MAX_INDEX + 1, "N",
        "per session; indices 0..N-1 (default 16)"),
  BOUND("max-nbd-channels", AGT_B_NBD, "16", 1, TP_MAX_INDEX + 1, "N",
        "per session, open at once (default 16)"),
  BOUND("control-idle-timeout", AGT_B_IDLE, "60000", 1000, 86400000, "MS",
        "close a silent control connection whose session\n"
        "has no channel open (default 60000)"),
  { .key = "test-clock-skew-ms", .type = OPT_CUSTOM, .parse = parse_skew, .json = json_skew,
    .arg = "N", .help = "TEST ONLY (the tests' build of qmig): pretend this\nhost's clock is N ms ahead" },
};
/* clang-format on */
#define NROWS (sizeof rows / sizeof rows[0])
static const struct opt_table agent_opts = { rows, NROWS, OPT_RANGE_DASH, 30 };

void agt_options_init(struct qmig_agent *a)
{
  opt_defaults(&agent_opts, a);
}

void agt_options_free(struct qmig_agent *a)
{
  opt_free(&agent_opts, a);
  free(a->qmp); /* the qmp row is custom */
  a->qmp = NULL;
}

int qmig_agent_set(struct qmig_agent *a, const char *key, const char *v)
{
  char err[512];
  if (!key || !v)
    return agt_errorc(a, QMIG_E_OPTION, "agent option: missing key or value");
  if (opt_set_msg(&agent_opts, a, key, v, "agent option", err, sizeof err) < 0)
    return agt_errorc(a, QMIG_E_OPTION, "%s", err);
  return 0;
}

static struct qmig_optkey public_keys[NROWS + 1];
const struct qmig_optkey *qmig_agent_option_keys(void)
{
  return opt_cli_keys(&agent_opts, public_keys);
}

char *qmig_agent_help(void)
{
  return opt_help_text(&agent_opts);
}
