# SPDX-License-Identifier: LGPL-2.1-or-later
# A disk that is not shared, copied through the agent qmig starts over ssh
# (--tunnel ssh://): the source QEMU's NBD client reaches the destination's
# NBD server (in the agent's run dir there) as nbd channels of the tunnel,
# while the guest rewrites its disk.  Two cases, each on a fresh netns lab
# with a copied disk and Debian's sshd in the destination namespace
# (ssh-lib.bash):
# 1. the lab's destination QEMU, --copy-disks drive0 --copy-mode write-blocking,
#    the blocks in TLS (the session's PSK);
# 2. --dst-spawn on: the destination QEMU started over the same ssh session
#    from the source's command line, --map giving it its own image; first
#    with that image locked by another process, as a QEMU holding it would
#    (the remote script refuses before QEMU starts), then the migration,
#    data channels in authenticated plaintext.
# Each: rc 0, the storage section (mirror bytes, completion, copy mode), the
# destination's image holds what the guest wrote (verify-disk-image against
# the RAM's counter), memory, one QEMU, no export nor NBD socket dir left,
# the agent gone, the report valid against its schema.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/update-lib.bash"
. "$(dirname "$0")/ssh-lib.bash"
need_netns
need_tunnel
need qemu-img
need python3
LAB=(--netns --fill 16 --dirty 10 --disk 8 --disk-copy --disk-write 512)

# expect_storage MODE: drive0 copied in full and completed, copy_mode MODE.
expect_storage() {
  echo "storage: $(jq -c '.storage | del(.disks)' "$D/report.json")"
  echo "disk: $(jq -c '.storage.disks[0]' "$D/report.json")"
  [ "$(jr '.storage.disks | map(select(.action == "copy")) | map(.name) | join(",")')" = drive0 ] ||
    fail "copied disks: $(jr .storage.disks)"
  [ "$(jr '.storage.disks[0].destination_file')" = "$D/disk-dst.raw" ] ||
    fail "destination_file $(jr '.storage.disks[0].destination_file')"
  local b size; b=$(jr '.storage.disks[0].bytes') size=$(jr '.storage.disks[0].size')
  [ "$size" = $((8 << 20)) ] || fail "disk size $size"
  [ "$b" -ge "$size" ] || fail "mirrored $b bytes of a $size-byte disk"
  [ "$(jr '.storage.disks[0].completed')" = true ] || fail "mirror not completed"
  [ "$(jr '.storage.disks[0].error // "none"')" = none ] || fail "mirror error $(jr '.storage.disks[0].error')"
  [ "$(jr .storage.copy_mode)" = "$1" ] || fail "copy_mode $(jr .storage.copy_mode)"
  [ "$(jr .storage.sync)" = full ] || fail "sync $(jr .storage.sync)"
  # Through the tunnel: the source's NBD client on the engine's private
  # tunnel socket, the destination's server in the agent's run dir there.
  case "$(jr .storage.nbd_connect)" in unix:/tmp/qmig-tunnel.*/nbd.sock) ;;
    *) fail "nbd_connect $(jr .storage.nbd_connect): not the tunnel's" ;; esac
  case "$(jr .storage.nbd_listen)" in unix:/*/nbd-*.sock) ;;
    *) fail "nbd_listen $(jr .storage.nbd_listen)" ;; esac
  local nbd; nbd=$(jr '[.tunnel.channels[] | select(.kind == "nbd") | .bytes_to_dst] | add')
  [ "$nbd" -ge "$size" ] || fail "nbd channels carried $nbd bytes, the disk has $size"
  [ "$(jr '[.tunnel.channels[] | select(.error != null)] | length')" = 0 ] ||
    fail "a tunnel channel failed: $(jr .tunnel.channels)"
}

# expect_nbd_gone: no export on the destination, and the NBD sockets' dirs
# of both ends (the engine's /tmp/qmig-tunnel.*, the agent's run dir; a
# tunnelled copy makes no /tmp/qmig-nbd.* dir, see expect_storage) removed.
expect_nbd_gone() {
  local left; left=$(qmp_peek dst query-block-exports)
  [ "$left" = "[]" ] || fail "exports left on the destination: $left"
  local l c; l=$(dirname "$(jr .storage.nbd_listen | cut -c6-)") c=$(dirname "$(jr .storage.nbd_connect | cut -c6-)")
  for _ in $(seq 50); do [ -e "$l" ] || [ -e "$c" ] || break; sleep 0.1; done
  [ ! -e "$l" ] || fail "the agent's NBD socket dir $l is left"
  [ ! -e "$c" ] || fail "the engine's NBD socket dir $c is left"
}

expect_valid_report() {
  python3 "$TOP/tests/helpers/validate-json.py" "$TOP/docs/schema/report.schema.json" "$D/report.json" ||
    fail "report does not match docs/schema/report.schema.json"
}

# 1. The lab's own destination, the agent over ssh.
start_lab "${LAB[@]}"
start_sshd
SSH=(--tunnel "ssh://root@$HOST:2222" --tunnel-ssh-config "$S/config" --tunnel-ssh-qmig "$QMIG")
[ "$(jq -r .dst_disk "$D/lab.json")" = "$D/disk-dst.raw" ] || fail "lab disk not copied: $(cat "$D/lab.json")"
migrate --verbose "${SSH[@]}" --dst "unix:$D/dst.qmp" --copy-disks drive0 --copy-mode write-blocking
expect_migrated
jr .tunnel.tls | grep -q "(psk); data TLS$" || fail "tunnel: $(jr .tunnel.tls)"
expect_storage write-blocking
[ "$(jr .storage.copy_mode_start)" = write-blocking ] || fail "started $(jr .storage.copy_mode_start)"
[ "$(jr .storage.copy_mode_switch)" = none ] || fail "copy_mode_switch $(jr .storage.copy_mode_switch)"
# actively-synced is reported by QEMU 8.2+ only; in write-blocking mode
# with the copy done it is true.
as=$(jr '.storage.disks[0].actively_synced')
case "$(jr .src.qemu_version)" in
  [1-7].* | 8.[01].*) [ "$as" = null ] || fail "actively_synced $as from QEMU $(jr .src.qemu_version)" ;;
  *) [ "$as" = true ] || fail "actively_synced $as in write-blocking mode" ;;
esac
expect_agent_gone
expect_nbd_gone
expect_valid_report
expect_guest_on dst
expect_disk "$D/disk-dst.raw" raw

# 2. The destination QEMU started over the same ssh session, its disk at
# the mapped path.  A new lab: the first one's guest ran to its end.
stop_sshd
"$QMIG" lab stop --dir "$D" >/dev/null
rm -f "$D/report.json" "$D/memcheck.out"
start_lab "${LAB[@]}"
start_sshd
SSH=(--tunnel "ssh://root@$HOST:2222" --tunnel-ssh-config "$S/config" --tunnel-ssh-qmig "$QMIG")
drop_lab_dst
SPAWN=(--dst-spawn on --spawn-dir "$D" --quit-source on --map "$D/disk.raw=$D/disk-dst.raw"
  --copy-all-disks on --tunnel-data plain)

# The mapped image locked (an OFD lock on byte 100, as a QEMU that has it
# open): the remote script refuses before QEMU starts, naming the image.
lock_image "$D/disk-dst.raw"
migrate "${SSH[@]}" "${SPAWN[@]}"
[ "$RC" = 3 ] || fail "locked image: exit $RC, expected 3 (not started)"
grep -q "image $D/disk-dst.raw (--map) is locked by another process there" "$D/migrate.out" ||
  fail "the lock not named"
grep -q "the source keeps running" "$D/migrate.out" || fail "not said that the source keeps running"
[ ! -e "$D/dst.qmp" ] || fail "a destination QEMU was started for a locked image"
expect_untouched
expect_agent_gone
kill "$LOCKER"
wait "$LOCKER" 2>/dev/null || true

migrate --verbose "${SSH[@]}" "${SPAWN[@]}"
expect_migrated
jr .tunnel.tls | grep -q "(psk); data plain (authenticated)" || fail "tunnel: $(jr .tunnel.tls)"
expect_new_process
[ "$(jr .update.new_host)" = "ssh://root@$HOST:2222" ] || fail "new_host $(jr .update.new_host)"
[ "$(readlink "/proc/$DST_PID/ns/net")" = "$(ip netns exec "$DST_NS" readlink /proc/self/ns/net)" ] ||
  fail "the new QEMU is not on the ssh host (namespace $DST_NS)"
tr '\0' '\n' < "/proc/$DST_PID/cmdline" | grep -q "filename=$D/disk-dst.raw," ||
  fail "the new QEMU does not open the mapped image"
tr '\0' '\n' < "/proc/$DST_PID/cmdline" | grep -q "filename=$D/disk.raw," &&
  fail "the new QEMU opens the source's image"
expect_storage auto
[ "$(jr .storage.copy_mode_start)" = background ] || fail "started $(jr .storage.copy_mode_start)"
expect_agent_gone
alive "$DST_PID" || fail "the new QEMU ended with the ssh session"
expect_nbd_gone
expect_valid_report
expect_guest_on dst
expect_disk "$D/disk-dst.raw" raw
echo "tunnel-ssh-disk: ok"
