/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tunnel.c - the tunnel transports: qmig's own agent, in this process on
 * its own thread, in front of the lab's destination QEMU on 127.0.0.1,
 * with the run's PSK as its credential (the migration channels in
 * authenticated plaintext or TLS 1.3, as the engine's tunnel-data asks);
 * the engine reaches it with the `tunnel*` options.  Its log lines go into the run's record. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench.h"
#include "common/errbuf.h"

#define MAX_LOG_LINES 200

struct bench_agent {
  struct qmig_agent *a;
  pthread_t thread;
  atomic_int listening, ended;
  int rc;
  json_t *log; /* agent thread only, until joined */
};

static void on_log(void *ud, const char *line)
{
  struct bench_agent *ag = ud;
  if (strstr(line, "listening"))
    atomic_store(&ag->listening, 1);
  if (json_array_size(ag->log) < MAX_LOG_LINES)
    json_array_append_new(ag->log, json_string(line));
}

static void *agent_main(void *ud)
{
  struct bench_agent *ag = ud;
  ag->rc = qmig_agent_run(ag->a);
  atomic_store(&ag->ended, 1);
  return NULL;
}

int bench_agent_start(const char *dir, const char *dst_qmp, const char *psk_file,
                      struct bench_transport *tp, char *err, size_t errlen)
{
  struct bench_agent *ag = calloc(1, sizeof *ag);
  char listen[64], rundir[4200];
  int port = bench_free_port();
  if (!ag || !(ag->log = json_array()) || !(ag->a = qmig_agent_new())) {
    errbuf_setf(err, errlen, "tunnel agent: out of memory");
    goto fail;
  }
  snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
  snprintf(rundir, sizeof rundir, "%s/agent", dir);
  if (port < 0 || qmig_agent_set(ag->a, "listen", listen) < 0 ||
      qmig_agent_set(ag->a, "qmp", dst_qmp) < 0 || qmig_agent_set(ag->a, "run-dir", rundir) < 0 ||
      qmig_agent_set(ag->a, "once", "on") < 0 || qmig_agent_set(ag->a, "tls", "psk") < 0 ||
      qmig_agent_set(ag->a, "tls-psk-file", psk_file) < 0) {
    errbuf_setf(err, errlen, "tunnel agent: %s",
                port < 0 ? "no free port" : qmig_agent_error(ag->a));
    goto fail;
  }
  qmig_agent_on_log(ag->a, on_log, ag);
  if (pthread_create(&ag->thread, NULL, agent_main, ag) != 0) {
    errbuf_setf(err, errlen, "tunnel agent: cannot start its thread");
    goto fail;
  }
  tp->agent = ag;
  /* Listening within 5 s, or it said why not. */
  for (int i = 0; i < 500 && !atomic_load(&ag->listening) && !atomic_load(&ag->ended); i++)
    usleep(10000);
  if (!atomic_load(&ag->listening)) {
    errbuf_setf(err, errlen, "tunnel agent did not start listening on %s: %s", listen,
                qmig_agent_error(ag->a));
    return -1; /* the caller stops it */
  }
  snprintf(tp->tunnel, sizeof tp->tunnel, "%s", listen);
  return 0;
fail:
  if (ag) {
    qmig_agent_free(ag->a);
    json_decref(ag->log);
  }
  free(ag);
  return -1;
}

json_t *bench_agent_stop(struct bench_transport *tp)
{
  struct bench_agent *ag = tp->agent;
  if (!ag)
    return NULL;
  qmig_agent_stop(ag->a);
  pthread_join(ag->thread, NULL);
  json_t *log = ag->log;
  if (ag->rc < 0)
    json_array_append_new(log,
                          json_sprintf("agent ended with an error: %s", qmig_agent_error(ag->a)));
  qmig_agent_free(ag->a);
  free(ag);
  tp->agent = NULL;
  return log;
}
