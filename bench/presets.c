/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* presets.c - the comparisons performance engineers run most (after QEMU's
 * guestperf): each is a scenario file, loaded and checked like one.  The
 * guest is 1 GiB of random data in 1100 MiB unless the preset is about
 * the guest; `--set fill=128 --set mem=160` makes any of them small. */
#include <string.h>

#include "bench/bench.h"

#define BASE "\"fill\": 1024, \"mem\": 1100"

const struct bench_preset bench_presets[] = {
  { "channels", "multifd off vs 2, 4, 8 channels",
    "{\"base\": {" BASE "}, \"scenarios\": ["
    "{\"name\": \"multifd-channels=0\", \"multifd-channels\": 0},"
    "{\"name\": \"multifd-channels=2\", \"multifd-channels\": 2},"
    "{\"name\": \"multifd-channels=4\", \"multifd-channels\": 4},"
    "{\"name\": \"multifd-channels=8\", \"multifd-channels\": 8}]}",
    "multifd-channels" },
  { "compression", "multifd (2 channels) compression none vs zlib vs zstd",
    "{\"base\": {" BASE ", \"multifd-channels\": 2}, \"scenarios\": ["
    "{\"name\": \"multifd-compression=none\", \"multifd-compression\": \"none\"},"
    "{\"name\": \"multifd-compression=zlib\", \"multifd-compression\": \"zlib\"},"
    "{\"name\": \"multifd-compression=zstd\", \"multifd-compression\": \"zstd\"}]}",
    "multifd-compression" },
  { "xbzrle", "XBZRLE off vs on with a 16, 64, 256 MiB cache, guest dirtying 50 MiB/s",
    "{\"base\": {" BASE ", \"dirty\": 50}, \"scenarios\": ["
    "{\"name\": \"xbzrle=off\", \"xbzrle\": false},"
    "{\"name\": \"xbzrle-cache-size=16M\", \"xbzrle\": true, \"xbzrle-cache-size\": \"16M\"},"
    "{\"name\": \"xbzrle-cache-size=64M\", \"xbzrle\": true, \"xbzrle-cache-size\": \"64M\"},"
    "{\"name\": \"xbzrle-cache-size=256M\", \"xbzrle\": true, \"xbzrle-cache-size\": \"256M\"}]}",
    "xbzrle-cache-size" },
  { "auto-converge",
    "auto-converge off vs on: guest dirtying 200 MiB/s over a 100 MiB/s "
    "stream (off is expected to time out after 120 s: recorded as failed)",
    "{\"base\": {" BASE ", \"dirty\": 200, \"max-bandwidth\": \"100M\", \"timeout\": 120},"
    " \"scenarios\": ["
    "{\"name\": \"auto-converge=off\", \"auto-converge\": false},"
    "{\"name\": \"auto-converge=on\", \"auto-converge\": true}]}",
    "auto-converge" },
  { "postcopy",
    "precopy only vs post-copy after 1, 2, 4 passes: guest dirtying 200 MiB/s "
    "over a 100 MiB/s stream",
    "{\"base\": {" BASE ", \"dirty\": 200, \"max-bandwidth\": \"100M\", \"timeout\": 120},"
    " \"scenarios\": ["
    "{\"name\": \"precopy\"},"
    "{\"name\": \"postcopy-after=1passes\", \"postcopy\": true, \"postcopy-after\": \"1passes\"},"
    "{\"name\": \"postcopy-after=2passes\", \"postcopy\": true, \"postcopy-after\": \"2passes\"},"
    "{\"name\": \"postcopy-after=4passes\", \"postcopy\": true, \"postcopy-after\": \"4passes\"}]}",
    "postcopy-after" },
  { "postcopy-preempt",
    "post-copy after 1 pass without vs with postcopy-preempt (page requests on a "
    "channel of their own): guest dirtying 200 MiB/s over a 100 MiB/s stream",
    "{\"base\": {" BASE ", \"dirty\": 200, \"max-bandwidth\": \"100M\", \"timeout\": 120,"
    " \"postcopy\": true, \"postcopy-after\": \"1passes\"}, \"scenarios\": ["
    "{\"name\": \"postcopy-preempt=off\", \"postcopy-preempt\": false},"
    "{\"name\": \"postcopy-preempt=on\", \"postcopy-preempt\": true}]}",
    "postcopy-preempt" },
  { "downtime", "downtime-limit 10, 30, 100, 300, 1000 ms, guest dirtying 50 MiB/s",
    "{\"base\": {" BASE ", \"dirty\": 50}, \"scenarios\": ["
    "{\"name\": \"downtime-limit=10\", \"downtime-limit\": 10},"
    "{\"name\": \"downtime-limit=30\", \"downtime-limit\": 30},"
    "{\"name\": \"downtime-limit=100\", \"downtime-limit\": 100},"
    "{\"name\": \"downtime-limit=300\", \"downtime-limit\": 300},"
    "{\"name\": \"downtime-limit=1000\", \"downtime-limit\": 1000}]}",
    "downtime-limit" },
  { "dirty-rate", "guest dirtying 0, 25, 50, 100, 200 MiB/s",
    "{\"base\": {" BASE "}, \"scenarios\": ["
    "{\"name\": \"dirty=0\", \"dirty\": 0},"
    "{\"name\": \"dirty=25\", \"dirty\": 25},"
    "{\"name\": \"dirty=50\", \"dirty\": 50},"
    "{\"name\": \"dirty=100\", \"dirty\": 100},"
    "{\"name\": \"dirty=200\", \"dirty\": 200}]}",
    "dirty" },
  { "link-rate", "link between two namespaces shaped to 100 Mbit/s, 1 Gbit/s, 10 Gbit/s",
    "{\"base\": {" BASE "}, \"scenarios\": ["
    "{\"name\": \"link-rate=100mbit\", \"link-rate\": \"100mbit\"},"
    "{\"name\": \"link-rate=1gbit\", \"link-rate\": \"1gbit\"},"
    "{\"name\": \"link-rate=10gbit\", \"link-rate\": \"10gbit\"}]}",
    "link-rate" },
  { "transports", "native vs qmig tunnel vs tunnel TLS vs QEMU TLS (PSK) vs stunnel",
    "{\"base\": {" BASE "}, \"scenarios\": ["
    "{\"name\": \"native\", \"transport\": \"native\"},"
    "{\"name\": \"tunnel\", \"transport\": \"tunnel\"},"
    "{\"name\": \"tunnel-tls\", \"transport\": \"tunnel-tls\"},"
    "{\"name\": \"qemu-tls\", \"transport\": \"qemu-tls\"},"
    "{\"name\": \"stunnel\", \"transport\": \"stunnel\"}]}",
    "transport" },
  { "disks",
    "a 32 MiB disk rewritten at 512 KiB/s: shared vs copied over NBD "
    "(background) vs copied with write-blocking",
    "{\"base\": {\"fill\": 256, \"mem\": 288, \"disk\": 32, \"disk-write\": 512},"
    " \"scenarios\": ["
    "{\"name\": \"shared\"},"
    "{\"name\": \"copied\", \"disk-copy\": true, \"copy-all-disks\": true},"
    "{\"name\": \"copied-write-blocking\", \"disk-copy\": true, \"copy-all-disks\": true,"
    " \"copy-mode\": \"write-blocking\"}]}",
    "copy-mode" },
  { "ram-align",
    "guest RAM a multiple of 256 KiB vs 8 KiB more (QEMU's per-page dirty sync: the "
    "setup stall and slower syncs), idle guest; on QEMU < 9.0 under TCG `aligned` may "
    "lose dirty pages (its memory check then fails): use QEMU >= 9.0 (--qemu) or KVM",
    "{\"base\": {" BASE "}, \"scenarios\": ["
    "{\"name\": \"ram-align=aligned\", \"ram-align\": \"aligned\"},"
    "{\"name\": \"ram-align=unaligned\", \"ram-align\": \"unaligned\"}]}",
    "ram-align" },
  { "update",
    "live update to a new process on the same host vs a normal local migration, at 256 MiB "
    "and 2 GiB, guest dirtying 20 MiB/s (update: RAM shared, --ram-share; run with QEMU 10 "
    "for cpr-transfer, 7.2 gives x-ignore-shared)",
    "{\"base\": {\"dirty\": 20}, \"scenarios\": ["
    "{\"name\": \"update-256M\", \"mode\": \"update\", \"ram-share\": true,"
    " \"fill\": 224, \"mem\": 256},"
    "{\"name\": \"migrate-256M\", \"mode\": \"migrate\", \"fill\": 224, \"mem\": 256},"
    "{\"name\": \"update-2G\", \"mode\": \"update\", \"ram-share\": true,"
    " \"fill\": 2016, \"mem\": 2048},"
    "{\"name\": \"migrate-2G\", \"mode\": \"migrate\", \"fill\": 2016, \"mem\": 2048}]}",
    "mode" },
  { "linux-probe",
    "the Linux lab guest on the switched L2 of a two-namespace lab, dirtying 20 MiB/s, "
    "probed at 1 kHz from the client namespace with UDP echo vs ICMP echo: the network's "
    "gaps next to the heartbeat's stalls (net_gap_minus_stall_ms: how far apart they are "
    "at the switchover)",
    "{\"base\": {\"guest\": \"linux\", \"netns\": true, \"fill\": 256, \"mem\": 352,"
    " \"dirty\": 20, \"probe-gap\": 10}, \"scenarios\": ["
    "{\"name\": \"probe=udp\", \"probe\": \"udp\"},"
    "{\"name\": \"probe=icmp\", \"probe\": \"icmp\"}]}",
    "probe" },
  { NULL, NULL, NULL, NULL },
};

const struct bench_preset *bench_preset_find(const char *name)
{
  for (size_t i = 0; bench_presets[i].name; i++)
    if (!strcmp(bench_presets[i].name, name))
      return &bench_presets[i];
  return NULL;
}
