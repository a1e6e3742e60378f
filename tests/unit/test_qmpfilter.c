/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The agent's QMP allow-list (agent/qmpfilter.c): every row of the table,
 * allowed with the engine's own arguments, refused with the rule named.
 * The relay that applies it is tested in test_qmprelay.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "agent/qmpfilter.h"
#include "tests/unit/unit.h"

static const struct agt_qmp_rules R = {
  .incoming = "unix:/run/qa/incoming-01020304.sock",
  .nbd = "/run/qa/nbd-01020304.sock",
  .tls_dir = "/etc/qmig/pki",
};

/* Check the command in JSON text; why must contain `rule` when refused. */
static void expect(const char *text, bool allow, const char *rule)
{
  json_error_t je;
  json_t *j = json_loads(text, 0, &je);
  if (!j)
    fail_msg("bad test JSON %s: %s", text, je.text);
  char why[300] = "";
  bool ok = agt_qmp_check(j, &R, why, sizeof why);
  json_decref(j);
  if (ok != allow)
    fail_msg("%s: expected %s, got %s (%s)", text, allow ? "allowed" : "refused",
             ok ? "allowed" : "refused", why);
  if (!allow && rule && !strstr(why, rule))
    fail_msg("%s: expected '%s' in '%s'", text, rule, why);
}
#define OK(t) expect(t, true, NULL)
#define NO(t, rule) expect(t, false, rule)

static void test_handshake_and_reads(void **state)
{
  (void)state;
  OK("{\"execute\":\"qmp_capabilities\"}");
  OK("{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":[\"oob\"]}}");
  NO("{\"execute\":\"qmp_capabilities\",\"arguments\":{\"x\":1}}", "argument 'x'");
  OK("{\"execute\":\"query-status\",\"id\":\"7\"}");
  OK("{\"execute\":\"query-migrate\"}");
  OK("{\"execute\":\"query-cpu-model-expansion\",\"arguments\":{\"type\":\"static\","
     "\"model\":{\"name\":\"qemu64\"}}}");
  OK("{\"execute\":\"qom-get\",\"arguments\":{\"path\":\"/machine\",\"property\":\"type\"}}");
  NO("{\"execute\":\"qom-get\",\"arguments\":{\"path\":\"/machine\",\"value\":1}}", "argument");
  NO("{\"execute\":\"qom-set\",\"arguments\":{\"path\":\"/machine\",\"property\":\"x\",\"value\":1}}",
     "writes QOM");
}

static void test_shape(void **state)
{
  (void)state;
  NO("[1,2]", "must be a JSON object");
  NO("{\"arguments\":{}}", "no command");
  NO("{\"execute\":7}", "no command");
  NO("{\"exec-oob\":\"query-status\"}", "out-of-band");
  NO("{\"execute\":\"query-status\",\"arguments\":[1]}", "not an object");
  NO("{\"execute\":\"query-status\",\"control\":{}}", "member 'control'");
  NO("{\"execute\":\"x-something-new\"}", "not a command qmig");
}

static void test_named_refusals(void **state)
{
  (void)state;
  NO("{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":\"info\"}}", "HMP");
  NO("{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"exec:touch /tmp/x\"}}", "never migrates");
  NO("{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"e1000\"}}", "device changes");
  NO("{\"execute\":\"device_del\",\"arguments\":{\"id\":\"x\"}}", "device changes");
  NO("{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"file\",\"filename\":\"/etc/shadow\"}}",
     "block graph");
  NO("{\"execute\":\"blockdev-del\",\"arguments\":{\"node-name\":\"x\"}}", "block graph");
  NO("{\"execute\":\"blockdev-mirror\"}", "block graph");
  NO("{\"execute\":\"drive-mirror\"}", "block graph");
  NO("{\"execute\":\"block-job-cancel\",\"arguments\":{\"device\":\"x\"}}", "source only");
  NO("{\"execute\":\"getfd\",\"arguments\":{\"fdname\":\"x\"}}", "file descriptors");
  NO("{\"execute\":\"add-fd\"}", "file descriptors");
  NO("{\"execute\":\"closefd\",\"arguments\":{\"fdname\":\"x\"}}", "file descriptors");
  NO("{\"execute\":\"dump-guest-memory\",\"arguments\":{\"paging\":false,\"protocol\":\"file:/x\"}}",
     "guest memory");
  NO("{\"execute\":\"pmemsave\"}", "guest memory");
  NO("{\"execute\":\"memsave\"}", "guest memory");
  NO("{\"execute\":\"screendump\",\"arguments\":{\"filename\":\"/x\"}}", "writes a file");
  NO("{\"execute\":\"chardev-add\"}", "chardevs");
  NO("{\"execute\":\"netdev_add\"}", "scripts");
}

static void test_migrate_incoming(void **state)
{
  (void)state;
  OK("{\"execute\":\"migrate-incoming\",\"arguments\":{\"uri\":\"unix:/run/qa/incoming-01020304.sock\"}}");
  NO("{\"execute\":\"migrate-incoming\",\"arguments\":{\"uri\":\"exec:touch /tmp/x\"}}",
     "exec: address");
  NO("{\"execute\":\"migrate-incoming\",\"arguments\":{\"uri\":\"file:/tmp/x\"}}", "file: address");
  NO("{\"execute\":\"migrate-incoming\",\"arguments\":{\"uri\":\"fd:3\"}}", "fd: address");
  NO("{\"execute\":\"migrate-incoming\",\"arguments\":{\"uri\":\"tcp:0.0.0.0:4444\"}}",
     "tcp: address");
  NO("{\"execute\":\"migrate-incoming\",\"arguments\":{\"uri\":\"unix:/tmp/other.sock\"}}",
     "not the session's socket");
  NO("{\"execute\":\"migrate-incoming\"}", "uri missing");
  NO("{\"execute\":\"migrate-incoming\",\"arguments\":{\"channels\":[]}}", "argument 'channels'");
  NO("{\"execute\":\"migrate-incoming\",\"arguments\":{\"uri\":\"unix:/run/qa/incoming-01020304.sock\","
     "\"channels\":[]}}",
     "argument 'channels'");
  OK("{\"execute\":\"migrate-recover\",\"arguments\":{\"uri\":\"unix:/run/qa/incoming-01020304.sock\"}}");
  NO("{\"execute\":\"migrate-recover\",\"arguments\":{\"uri\":\"exec:sh\"}}", "exec: address");
  /* No session socket known: nothing is the session's. */
  struct agt_qmp_rules none = { 0 };
  json_t *j =
      json_pack("{s:s,s:{s:s}}", "execute", "migrate-incoming", "arguments", "uri", "unix:");
  char why[300];
  assert_false(agt_qmp_check(j, &none, why, sizeof why));
  json_decref(j);
}

static void test_caps_and_params(void **state)
{
  (void)state;
  OK("{\"execute\":\"migrate-set-capabilities\",\"arguments\":{\"capabilities\":["
     "{\"capability\":\"events\",\"state\":true},{\"capability\":\"multifd\",\"state\":false},"
     "{\"capability\":\"postcopy-ram\",\"state\":true},"
     "{\"capability\":\"pause-before-switchover\",\"state\":true}]}}");
  /* The newer features qmig sets where both QEMUs have them (features.c). */
  OK("{\"execute\":\"migrate-set-capabilities\",\"arguments\":{\"capabilities\":["
     "{\"capability\":\"return-path\",\"state\":true},"
     "{\"capability\":\"switchover-ack\",\"state\":true},"
     "{\"capability\":\"postcopy-preempt\",\"state\":false},"
     "{\"capability\":\"dirty-limit\",\"state\":false}]}}");
  NO("{\"execute\":\"migrate-set-capabilities\",\"arguments\":{\"capabilities\":["
     "{\"capability\":\"x-ignore-shared\",\"state\":true}]}}",
     "not one qmig manages");
  NO("{\"execute\":\"migrate-set-capabilities\",\"arguments\":{\"capabilities\":["
     "{\"capability\":\"events\",\"state\":1}]}}",
     "state: bool");
  NO("{\"execute\":\"migrate-set-capabilities\",\"arguments\":{\"capabilities\":{}}}",
     "not a list");
  OK("{\"execute\":\"migrate-set-parameters\",\"arguments\":{\"multifd-channels\":4,"
     "\"tls-creds\":\"\",\"tls-hostname\":\"\"}}");
  OK("{\"execute\":\"migrate-set-parameters\",\"arguments\":{\"tls-creds\":\"qmig-tls0\","
     "\"multifd-compression\":\"zstd\",\"max-bandwidth\":1099511627776}}");
  /* announce off (engine/announce.c): QEMU's own announcement off */
  OK("{\"execute\":\"migrate-set-parameters\",\"arguments\":{\"announce-rounds\":0}}");
  NO("{\"execute\":\"migrate-set-parameters\",\"arguments\":{\"announce-initial\":1}}",
     "argument 'announce-initial'");
  NO("{\"execute\":\"migrate-set-parameters\",\"arguments\":{\"tls-creds\":\"secret0\"}}",
     "qmig's credentials object");
  NO("{\"execute\":\"migrate-set-parameters\",\"arguments\":{\"tls-authz\":\"a\"}}",
     "argument 'tls-authz'");
  NO("{\"execute\":\"migrate-set-parameters\",\"arguments\":{\"block-bitmap-mapping\":[]}}",
     "argument");
}

static void test_tls_objects(void **state)
{
  (void)state;
  OK("{\"execute\":\"object-add\",\"arguments\":{\"qom-type\":\"tls-creds-x509\",\"id\":\"qmig-tls0\","
     "\"dir\":\"/etc/qmig/pki\",\"endpoint\":\"server\",\"verify-peer\":true}}");
  OK("{\"execute\":\"object-add\",\"arguments\":{\"qom-type\":\"tls-creds-psk\",\"id\":\"qmig-tls0\","
     "\"dir\":\"/etc/qmig/pki/\",\"endpoint\":\"server\"}}");
  NO("{\"execute\":\"object-add\",\"arguments\":{\"qom-type\":\"tls-creds-psk\",\"id\":\"qmig-tls0\","
     "\"dir\":\"/root/.ssh\",\"endpoint\":\"server\"}}",
     "not the agent's qemu-tls-dir");
  NO("{\"execute\":\"object-add\",\"arguments\":{\"qom-type\":\"tls-creds-psk\",\"id\":\"qmig-tls0\","
     "\"dir\":\"/etc/qmig/pki/../../root\",\"endpoint\":\"server\"}}",
     "not the agent's");
  OK("{\"execute\":\"object-add\",\"arguments\":{\"qom-type\":\"tls-creds-psk\",\"id\":\"qmig-tls0\","
     "\"dir\":\"/etc/qmig/pki/vm1\",\"endpoint\":\"server\"}}");
  static const char *const outside[] = { "/etc/qmig/pkix",
                                         "/etc/qmig",
                                         "/etc/qmig/pki/./x",
                                         "/etc/qmig/pki//x",
                                         "/etc/qmig/pki/x/..",
                                         "etc/qmig/pki",
                                         "/",
                                         "" };
  for (size_t i = 0; i < sizeof outside / sizeof outside[0]; i++) {
    json_t *o =
        json_pack("{s:s,s:{s:s,s:s,s:s,s:s}}", "execute", "object-add", "arguments", "qom-type",
                  "tls-creds-x509", "id", "qmig-tls0", "dir", outside[i], "endpoint", "server");
    char w[300];
    if (agt_qmp_check(o, &R, w, sizeof w))
      fail_msg("dir '%s' was allowed", outside[i]);
    json_decref(o);
  }
  NO("{\"execute\":\"object-add\",\"arguments\":{\"qom-type\":\"memory-backend-file\",\"id\":\"m\","
     "\"mem-path\":\"/etc/passwd\",\"size\":4096}}",
     "qom-type");
  NO("{\"execute\":\"object-add\",\"arguments\":{\"qom-type\":\"secret\",\"id\":\"s\",\"file\":\"/x\"}}",
     "qom-type");
  NO("{\"execute\":\"object-add\",\"arguments\":{\"qom-type\":\"tls-creds-psk\",\"id\":\"other\","
     "\"dir\":\"/etc/qmig/pki\",\"endpoint\":\"server\"}}",
     "id must be");
  NO("{\"execute\":\"object-add\",\"arguments\":{\"qom-type\":\"tls-creds-psk\",\"id\":\"qmig-tls0\","
     "\"dir\":\"/etc/qmig/pki\",\"endpoint\":\"client\"}}",
     "endpoint");
  NO("{\"execute\":\"object-add\",\"arguments\":{\"qom-type\":\"tls-creds-psk\",\"id\":\"qmig-tls0\","
     "\"dir\":\"/etc/qmig/pki\",\"endpoint\":\"server\",\"priority\":\"NONE\"}}",
     "argument 'priority'");
  OK("{\"execute\":\"object-del\",\"arguments\":{\"id\":\"qmig-tls0\"}}");
  NO("{\"execute\":\"object-del\",\"arguments\":{\"id\":\"iothread0\"}}", "id must be");
  /* An agent without credentials allows no TLS object at all. */
  struct agt_qmp_rules r = R;
  r.tls_dir = NULL;
  json_t *j =
      json_pack("{s:s,s:{s:s,s:s,s:s,s:s}}", "execute", "object-add", "arguments", "qom-type",
                "tls-creds-psk", "id", "qmig-tls0", "dir", "/etc/qmig/pki", "endpoint", "server");
  char why[300];
  assert_false(agt_qmp_check(j, &r, why, sizeof why));
  assert_non_null(strstr(why, "no qemu-tls-dir"));
  json_decref(j);
}

static void test_nbd(void **state)
{
  (void)state;
  OK("{\"execute\":\"nbd-server-start\",\"arguments\":{\"addr\":{\"type\":\"unix\","
     "\"data\":{\"path\":\"/run/qa/nbd-01020304.sock\"}}}}");
  OK("{\"execute\":\"nbd-server-start\",\"arguments\":{\"addr\":{\"type\":\"unix\","
     "\"path\":\"/run/qa/nbd-01020304.sock\"},\"tls-creds\":\"qmig-tls0\"}}");
  NO("{\"execute\":\"nbd-server-start\",\"arguments\":{\"addr\":{\"type\":\"inet\","
     "\"data\":{\"host\":\"0.0.0.0\",\"port\":\"10809\"}}}}",
     "not unix");
  NO("{\"execute\":\"nbd-server-start\",\"arguments\":{\"addr\":{\"type\":\"unix\","
     "\"data\":{\"path\":\"/tmp/mine.sock\"}}}}",
     "not the session's NBD socket");
  NO("{\"execute\":\"nbd-server-start\",\"arguments\":{\"addr\":{\"type\":\"unix\","
     "\"data\":{\"path\":\"/run/qa/nbd-01020304.sock\",\"abstract\":true}}}}",
     "argument 'abstract'");
  NO("{\"execute\":\"nbd-server-start\",\"arguments\":{\"addr\":{\"type\":\"unix\","
     "\"data\":{\"path\":\"/run/qa/nbd-01020304.sock\"}},\"tls-authz\":\"x\"}}",
     "argument 'tls-authz'");
  OK("{\"execute\":\"nbd-server-stop\"}");
  NO("{\"execute\":\"nbd-server-stop\",\"arguments\":{\"x\":1}}", "argument 'x'");
  OK("{\"execute\":\"block-export-add\",\"arguments\":{\"type\":\"nbd\",\"id\":\"qmig-export-0\","
     "\"node-name\":\"#block123\",\"name\":\"drive0\",\"writable\":true}}");
  NO("{\"execute\":\"block-export-add\",\"arguments\":{\"type\":\"vhost-user-blk\","
     "\"id\":\"qmig-export-0\",\"node-name\":\"n\"}}",
     "not nbd");
  NO("{\"execute\":\"block-export-add\",\"arguments\":{\"type\":\"nbd\",\"id\":\"mine\","
     "\"node-name\":\"n\"}}",
     "qmig's");
  NO("{\"execute\":\"block-export-add\",\"arguments\":{\"type\":\"nbd\",\"id\":\"qmig-export-0\","
     "\"node-name\":\"n\",\"bitmaps\":[]}}",
     "argument 'bitmaps'");
  OK("{\"execute\":\"block-export-del\",\"arguments\":{\"id\":\"qmig-export-3\",\"mode\":\"hard\"}}");
  NO("{\"execute\":\"block-export-del\",\"arguments\":{\"id\":\"users-export\"}}", "qmig's");
}

static void test_run_control(void **state)
{
  (void)state;
  OK("{\"execute\":\"cont\",\"id\":1}");
  OK("{\"execute\":\"quit\"}");
  OK("{\"execute\":\"migrate_cancel\"}");
  NO("{\"execute\":\"cont\",\"arguments\":{\"x\":1}}", "argument");
  OK("{\"execute\":\"announce-self\",\"arguments\":{\"initial\":50,\"max\":550,\"rounds\":5,"
     "\"step\":100,\"id\":\"qmig\"}}");
  NO("{\"execute\":\"announce-self\",\"arguments\":{\"interfaces\":[\"x\"]}}",
     "argument 'interfaces'");
  NO("{\"execute\":\"stop\"}", "not a command qmig");
  NO("{\"execute\":\"system_reset\"}", "not a command qmig");
}

UNIT_MAIN(cmocka_unit_test(test_handshake_and_reads), cmocka_unit_test(test_shape),
          cmocka_unit_test(test_named_refusals), cmocka_unit_test(test_migrate_incoming),
          cmocka_unit_test(test_caps_and_params), cmocka_unit_test(test_tls_objects),
          cmocka_unit_test(test_nbd), cmocka_unit_test(test_run_control))
