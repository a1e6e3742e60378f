/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* labinfo.c - lab.json, the description of a running lab that other
 * processes read: written by qmig_lab_start once both QEMUs are up, read
 * back (without following a symlink planted in its place) by qmig_lab_info
 * and by qmig_lab_stop for the lab's network names. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "common/errbuf.h"
#include "common/files.h"
#include "lab/lab.h"

static const char *const side_name[2] = { "src", "dst" };

/* lab.json, read without following a symlink planted in its place. */
json_t *lab_info_load(const char *path, json_error_t *je)
{
  int fd = files_open(path, O_RDONLY, 0);
  json_t *j = NULL;
  if (fd < 0) {
    snprintf(je->text, sizeof je->text, "%s", strerror(errno));
    return NULL;
  }
  /* Through stdio: json_loadfd reads one byte per read(). */
  FILE *f = fdopen(fd, "r");
  if (!f) {
    snprintf(je->text, sizeof je->text, "%s", strerror(errno));
    close(fd);
    return NULL;
  }
  j = json_loadf(f, 0, je);
  fclose(f);
  return j;
}

void lab_net_from_json(json_t *j, struct lab_net *n)
{
  const char *ns[2] = { NULL, NULL }, *veth[2] = { NULL, NULL };
  if (j && json_unpack(j, "{s:s,s:s,s:s,s:s}", "src_netns", &ns[0], "dst_netns", &ns[1], "src_veth",
                       &veth[0], "dst_veth", &veth[1]) == 0) {
    for (int s = 0; s < 2; s++) {
      snprintf(n->ns[s], sizeof n->ns[s], "%s", ns[s]);
      snprintf(n->veth[s], sizeof n->veth[s], "%s", veth[s]);
    }
  }
}

int lab_info_write(const struct qmig_lab_options *o, const char *dir, const char *accel,
                   const char *uuid, const struct lab_disk *disk, const struct lab_net *net,
                   const int tls_port[2], char machine[2][64], char *err, size_t errlen)
{
  char path[PATH_MAX], a[2][PATH_MAX + 8], ser[2][PATH_MAX];
  for (int s = 0; s < 2; s++) {
    snprintf(a[s], sizeof a[s], "unix:%s/%s.qmp", dir, side_name[s]);
    snprintf(ser[s], sizeof ser[s], "%s/%s.serial", dir, side_name[s]);
  }
  json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:i,s:i,s:i}", "src_qmp", a[0], "dst_qmp",
                        a[1], "src_serial", ser[0], "dst_serial", ser[1], "accel", accel, "uuid",
                        uuid, "mem_mib", (int)o->mem_mib, "fill_mib", (int)o->fill_mib,
                        "dirty_mibps", (int)o->dirty_mibps, "heartbeat_ms", (int)o->heartbeat_ms);
  if (j) {
    const char *q[2] = { o->qemu ? o->qemu : "qemu-system-x86_64", NULL };
    q[1] = o->dst_qemu ? o->dst_qemu : q[0];
    for (int s = 0; s < 2; s++) {
      char k[32];
      snprintf(k, sizeof k, "%s_qemu", side_name[s]);
      json_object_set_new(j, k, json_string(q[s]));
      snprintf(k, sizeof k, "%s_machine", side_name[s]);
      json_object_set_new(j, k, json_string(machine[s]));
    }
  }
  if (j && disk) {
    json_object_set_new(j, "disk", json_string(disk->path));
    json_object_set_new(j, "disk_format", json_string(disk->format));
    json_object_set_new(j, "disk_cache", json_string(disk->cache));
    json_object_set_new(j, "disk_mib", json_integer(o->disk_mib));
    json_object_set_new(j, "disk_write_kibps", json_integer(o->disk_write_kibps));
    json_object_set_new(j, "dst_disk", json_string(disk->dst_path));
    json_object_set_new(j, "dst_disk_format", json_string(disk->dst_format ?: ""));
    json_object_set_new(j, "data_disk", json_string(disk->data_path));
    json_object_set_new(j, "dst_data_disk", json_string(disk->dst_data_path));
    json_object_set_new(j, "data_disk_format", json_string(disk->data_format));
  }
  if (j && net) {
    json_t *nj =
        json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:I}", "src_netns", net->ns[0], "dst_netns",
                  net->ns[1], "src_veth", net->veth[0], "dst_veth", net->veth[1], "src_addr",
                  net->addr[0], "dst_addr", net->addr[1], "link_rate_bps",
                  (json_int_t)net->rate_bps, "link_burst_bytes", (json_int_t)net->burst_bytes);
    json_object_update(j, nj);
    json_decref(nj);
  }
  if (j && lab_guest_is_linux(o)) {
    /* The Linux guest (linux.c); with netns on the switch (switch.c), where
     * the client namespace reaches its UDP echo. */
    json_object_set_new(j, "guest", json_string("linux"));
    json_object_set_new(j, "guest_addr", json_string(LAB_GUEST_ADDR));
    json_object_set_new(j, "guest_udp_echo_port", json_integer(LAB_GUEST_PORT));
    if (net && net->l2) {
      json_object_set_new(j, "switch_netns", json_string(net->sw_ns));
      json_object_set_new(j, "client_netns", json_string(net->cli_ns));
      json_object_set_new(j, "client_addr", json_string(LAB_CLIENT_ADDR));
      json_object_set_new(j, "switch_ageing_s", json_integer(LAB_SW_AGEING_S));
      json_object_set_new(j, "guest_mac", json_string("52:54:00:71:6d:01")); /* qemu.c */
    }
  }
  if (j && tls_port[0]) {
    char t[2][64];
    for (int s = 0; s < 2; s++)
      snprintf(t[s], sizeof t[s], "tls:127.0.0.1:%d", tls_port[s]);
    json_object_set_new(j, "src_qmp_tls", json_string(t[0]));
    json_object_set_new(j, "dst_qmp_tls", json_string(t[1]));
    json_object_set_new(j, "qmp_tls_dir", json_string(o->qmp_tls_dir));
  }
  snprintf(path, sizeof path, "%s/lab.json", dir);
  int fd = files_open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  int rc = fd < 0 ? -1 : json_dumpfd(j, fd, JSON_INDENT(2));
  int e = fd < 0 ? errno : 0;
  if (fd >= 0 && close(fd) < 0 && rc == 0)
    rc = -1, e = errno;
  json_decref(j);
  return rc < 0 ? errbuf_setf(err, errlen, "cannot write %s: %s", path, e ? strerror(e) : "JSON")
                : 0;
}

/* qmig_lab_info into the whole struct this library knows. */
static int lab_info_full(const char *dir, struct qmig_lab_info *li, char *err, size_t errlen);

int qmig_lab_info(const char *dir, struct qmig_lab_info *li, char *err, size_t errlen)
{
  size_t size = li->size;
  if (size < sizeof li->size)
    return errbuf_setf(err, errlen,
                       "lab: struct qmig_lab_info has size %zu: start from "
                       "QMIG_LAB_INFO_INIT",
                       size);
  struct qmig_lab_info full;
  int rc = lab_info_full(dir, &full, err, errlen);
  memcpy(li, &full, size < sizeof full ? size : sizeof full);
  li->size = size;
  return rc;
}

static int lab_info_full(const char *dir, struct qmig_lab_info *li, char *err, size_t errlen)
{
  char path[PATH_MAX], real[PATH_MAX], why[256];
  memset(li, 0, sizeof *li);
  li->size = sizeof *li;
  if (!realpath(dir, real))
    return errbuf_setf(err, errlen, "%s: %s", dir, strerror(errno));
  if (files_private_dir(dir, false, path, sizeof path) < 0)
    return errbuf_setf(err, errlen, "%s", path);
  snprintf(path, sizeof path, "%s/lab.json", real);
  json_error_t je;
  json_t *j = lab_info_load(path, &je);
  if (!j)
    return errbuf_setf(err, errlen, "%s: %s (no lab here? qmig lab start first)", path, je.text);
  int rc = lab_info_from_json(j, li, why, sizeof why);
  json_decref(j);
  if (rc < 0)
    return errbuf_setf(err, errlen, "%s: %s", path, why);
  li->src_pid = lab_side_pid(real, 0);
  li->dst_pid = lab_side_pid(real, 1);
  return 0;
}

int lab_info_from_json(json_t *j, struct qmig_lab_info *li, char *err, size_t errlen)
{
  json_error_t je;
  const char *ss = NULL, *ds = NULL, *sser = NULL, *dser = NULL, *acc = NULL;
  int mem = 0, fill = 0, dirty = 0, hb = 0;
  if (json_unpack_ex(j, &je, 0, "{s:s,s:s,s:s,s:s,s:s,s:i,s:i,s:i,s:i}", "src_qmp", &ss, "dst_qmp",
                     &ds, "src_serial", &sser, "dst_serial", &dser, "accel", &acc, "mem_mib", &mem,
                     "fill_mib", &fill, "dirty_mibps", &dirty, "heartbeat_ms", &hb) < 0)
    return errbuf_setf(err, errlen, "%s", je.text);
  snprintf(li->src_qmp, sizeof li->src_qmp, "%s", ss);
  snprintf(li->dst_qmp, sizeof li->dst_qmp, "%s", ds);
  snprintf(li->src_serial, sizeof li->src_serial, "%s", sser);
  snprintf(li->dst_serial, sizeof li->dst_serial, "%s", dser);
  snprintf(li->accel, sizeof li->accel, "%s", acc);
  li->mem_mib = (unsigned)mem;
  li->fill_mib = (unsigned)fill;
  li->dirty_mibps = (unsigned)dirty;
  li->heartbeat_ms = (unsigned)hb;
  const char *disk = NULL, *dfmt = NULL, *dcache = NULL, *ddisk = NULL, *ddfmt = NULL, *data = NULL,
             *ddata = NULL, *datafmt = NULL;
  int dmib = 0, dw = 0; /* optional: absent without a disk (and before disks) */
  json_unpack(j, "{s?s,s?s,s?s,s?i,s?i,s?s,s?s,s?s,s?s,s?s}", "disk", &disk, "disk_format", &dfmt,
              "disk_cache", &dcache, "disk_mib", &dmib, "disk_write_kibps", &dw, "dst_disk", &ddisk,
              "dst_disk_format", &ddfmt, "data_disk", &data, "dst_data_disk", &ddata,
              "data_disk_format", &datafmt);
  snprintf(li->dst_data_disk, sizeof li->dst_data_disk, "%s", ddata ? ddata : "");
  snprintf(li->data_disk_format, sizeof li->data_disk_format, "%s", datafmt ? datafmt : "");
  snprintf(li->dst_disk, sizeof li->dst_disk, "%s", ddisk ? ddisk : "");
  snprintf(li->dst_disk_format, sizeof li->dst_disk_format, "%s", ddfmt ? ddfmt : "");
  snprintf(li->data_disk, sizeof li->data_disk, "%s", data ? data : "");
  snprintf(li->disk, sizeof li->disk, "%s", disk ? disk : "");
  snprintf(li->disk_format, sizeof li->disk_format, "%s", dfmt ? dfmt : "");
  snprintf(li->disk_cache, sizeof li->disk_cache, "%s", dcache ? dcache : "");
  li->disk_mib = (unsigned)dmib;
  li->disk_write_kibps = (unsigned)dw;
  const char *nss = NULL, *nsd = NULL, *as = NULL, *ad = NULL;
  json_int_t rate = 0; /* optional: only a netns lab has them */
  json_unpack(j, "{s?s,s?s,s?s,s?s,s?I}", "src_netns", &nss, "dst_netns", &nsd, "src_addr", &as,
              "dst_addr", &ad, "link_rate_bps", &rate);
  snprintf(li->src_netns, sizeof li->src_netns, "%s", nss ? nss : "");
  snprintf(li->dst_netns, sizeof li->dst_netns, "%s", nsd ? nsd : "");
  snprintf(li->src_addr, sizeof li->src_addr, "%s", as ? as : "");
  snprintf(li->dst_addr, sizeof li->dst_addr, "%s", ad ? ad : "");
  li->link_rate_bps = rate > 0 ? (uint64_t)rate : 0;
  const char *ts = NULL, *td = NULL, *tdir = NULL; /* optional: TLS QMP monitors */
  json_unpack(j, "{s?s,s?s,s?s}", "src_qmp_tls", &ts, "dst_qmp_tls", &td, "qmp_tls_dir", &tdir);
  snprintf(li->src_qmp_tls, sizeof li->src_qmp_tls, "%s", ts ? ts : "");
  snprintf(li->dst_qmp_tls, sizeof li->dst_qmp_tls, "%s", td ? td : "");
  snprintf(li->qmp_tls_dir, sizeof li->qmp_tls_dir, "%s", tdir ? tdir : "");
  const char *g = NULL, *ga = NULL, *cns = NULL; /* optional: the Linux guest */
  int gport = 0;
  json_unpack(j, "{s?s,s?s,s?i,s?s}", "guest", &g, "guest_addr", &ga, "guest_udp_echo_port", &gport,
              "client_netns", &cns);
  snprintf(li->guest, sizeof li->guest, "%s", g ? g : "");
  snprintf(li->guest_addr, sizeof li->guest_addr, "%s", ga ? ga : "");
  li->guest_udp_echo_port = gport > 0 ? (unsigned)gport : 0;
  snprintf(li->client_netns, sizeof li->client_netns, "%s", cns ? cns : "");
  return 0;
}
