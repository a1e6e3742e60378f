/* agent.c - `qmig agent`: the destination side of a tunnelled migration, a
 * thin wrapper over qmig_agent_* (include/qmig.h).  Logs go to stderr, one
 * line each, stamped with the wall clock. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "cli/cli.h"

static struct qmig_agent *running;

static void on_signal(int sig)
{
  (void)sig;
  if (running)
    qmig_agent_stop(running);
}

static void on_log(void *ud, const char *line)
{
  (void)ud;
  struct timeval tv;
  gettimeofday(&tv, NULL);
  struct tm tm;
  gmtime_r(&tv.tv_sec, &tm);
  fprintf(stderr, "qmig agent %02d:%02d:%02d.%03ld %s\n", tm.tm_hour, tm.tm_min, tm.tm_sec,
          (long)tv.tv_usec / 1000, line);
  fflush(stderr);
}

static void help(FILE *f)
{
  fprintf(f,
          "usage: qmig agent --listen HOST:PORT --qmp unix:PATH [options]\n\n"
          "Runs on the destination host: accepts qmig's tunnel connections, relays the\n"
          "destination QEMU's QMP and feeds its incoming migration socket.\n\n"
          "  --listen HOST:PORT          where the engine connects\n"
          "  --qmp unix:PATH             the destination QEMU's QMP socket\n"
          "  --run-dir DIR               private dir for QEMU's incoming socket (0700)\n"
          "  --tls x509|psk              the credential (required): control and QMP always\n"
          "                              go over TLS 1.3 with it, every channel proves its\n"
          "                              session\n"
          "  --tls-dir DIR               x509: ca-cert.pem, server-cert.pem, server-key.pem\n"
          "  --tls-psk-file FILE         psk: lines IDENTITY:HEXKEY\n"
          "  --plain-data allow|refuse   authenticated plaintext migration channels\n"
          "                              (engine: --tunnel-data plain); default allow\n"
          "  --insecure-no-auth          run WITHOUT a credential: anyone who can connect\n"
          "                              gets the destination's QMP (tests, closed labs)\n"
          "  --handshake-timeout MS      TLS handshake and hello (default 5000)\n"
          "  --once                      exit after one session\n"
          "  --qemu-tls-dir DIR          the only dir QEMU's TLS objects may load (default:\n"
          "                              tls-dir, or the dir of tls-psk-file)\n"
          "  --max-connections N         served at once; more are closed at once (default 64)\n"
          "  --max-qmp-channels N        per session, open at once (default 4)\n"
          "  --max-main-channels N       per session, open at once (default 2)\n"
          "  --max-multifd-channels N    per session; indices 0..N-1 (default 16)\n"
          "  --max-nbd-channels N        per session, open at once (default 16)\n"
          "  --control-idle-timeout MS   close a silent control connection whose session\n"
          "                              has no channel open (default 60000)\n"
          "  --test-clock-skew-ms N      TEST ONLY (the tests' build of qmig): pretend this\n"
          "                              host's clock is N ms ahead\n");
}

int cmd_agent(int argc, char **argv)
{
  static const struct option lo[] = {
    { "listen", required_argument, NULL, 'l' },     { "qmp", required_argument, NULL, 'q' },
    { "run-dir", required_argument, NULL, 'r' },    { "tls", required_argument, NULL, 't' },
    { "tls-dir", required_argument, NULL, 'd' },    { "tls-psk-file", required_argument, NULL, 'p' },
    { "handshake-timeout", required_argument, NULL, 'H' },
    { "test-clock-skew-ms", required_argument, NULL, 'S' },
    { "plain-data", required_argument, NULL, 'P' },
    { "insecure-no-auth", no_argument, NULL, 'I' },
    { "qemu-tls-dir", required_argument, NULL, 1000 },
    { "max-connections", required_argument, NULL, 1001 },
    { "max-qmp-channels", required_argument, NULL, 1002 },
    { "max-main-channels", required_argument, NULL, 1003 },
    { "max-multifd-channels", required_argument, NULL, 1004 },
    { "max-nbd-channels", required_argument, NULL, 1005 },
    { "control-idle-timeout", required_argument, NULL, 1006 },
    { "once", no_argument, NULL, 'o' },             { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  struct qmig_agent *a = qmig_agent_new();
  if (!a)
    return QMIG_NOT_STARTED;
  int c, rc = 0;
  optind = 1;
  while (rc == 0 && (c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
    const char *key = NULL;
    for (const struct option *o = lo; o->name; o++)
      if (o->val == c)
        key = o->name;
    if (c == 'h') {
      help(stdout);
      qmig_agent_free(a);
      return 0;
    } else if (c == 'o' || c == 'I') {
      rc = qmig_agent_set(a, key, "on");
    } else if (key) {
      rc = qmig_agent_set(a, key, optarg);
    } else {
      help(stderr);
      rc = -1;
    }
  }
  if (rc == 0 && optind < argc) {
    fprintf(stderr, "qmig agent: unexpected argument '%s'\n", argv[optind]);
    qmig_agent_free(a);
    return QMIG_USAGE;
  }
  if (rc < 0) {
    fprintf(stderr, "qmig agent: %s\n", qmig_agent_error(a));
    qmig_agent_free(a);
    return QMIG_USAGE;
  }
  qmig_agent_on_log(a, on_log, NULL);
  running = a;
  struct sigaction sa = { .sa_handler = on_signal };
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  rc = qmig_agent_run(a);
  running = NULL;
  if (rc < 0)
    fprintf(stderr, "qmig agent: %s\n", qmig_agent_error(a));
  qmig_agent_free(a);
  return rc < 0 ? QMIG_NOT_STARTED : 0;
}
