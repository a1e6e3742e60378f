# SPDX-License-Identifier: LGPL-2.1-or-later
# The agent is killed (SIGKILL) mid pre-copy: the migration fails naming
# the tunnel connection that broke, the guest keeps running on the source.
cell() {
  tunnelled || na "no agent: the $MODE mode does not tunnel"
  setup_pair
  start_migrate "${TUN[@]}" "${ENG[@]}" --max-bandwidth 8M
  await "pre-copy" 60 said "qmig: active"
  sleep 1
  kill -KILL "$AGENT_PID"
  finish
  expect_rc 1
  expect_error "tunnel: (main|multifd|qmp|control) (channel|connection)( [0-9]+)? to $AGENT"
  guest_ok src
}
