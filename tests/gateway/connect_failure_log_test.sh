#!/usr/bin/env bash
# A backend nobody listens on: the gateway says so in its log at the first
# failed connect, then at most once a minute (not once per attempt: 100 ms,
# 200 ms, ... apart), and says when it connects after all.
set -euo pipefail
tcpgate=$1
backend=$2
source "$(dirname "$0")/../port_from_log.sh"
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT
backend_port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$tcpgate" --listen=127.0.0.1:0 --admin_listen= --backends=127.0.0.1:$backend_port --eject_after_failures=1000 \
  2>"$work/gateway.log" &
pids+=($!)
port_from_log "$work/gateway.log" "tcpgate listening on" $! >/dev/null
sleep 2  # The stimulus: a dozen or so failed connects at the default backoff.
failed=$(grep -c "cannot connect to 127.0.0.1:$backend_port" "$work/gateway.log" || true)
if [ "$failed" -ne 1 ]; then
  echo "FAIL: $failed \"cannot connect\" lines in 2 s, expected 1"; cat "$work/gateway.log"; exit 1
fi
"$backend" --listen=127.0.0.1:$backend_port --log_connections=false 2>"$work/backend.log" &
pids+=($!)
for _ in $(seq 1 150); do
  grep -q "connected to 127.0.0.1:$backend_port after [0-9]* failed connects" "$work/gateway.log" && { echo PASS; exit 0; }
  sleep 0.1
done
echo "FAIL: no \"connected ... after N failed connects\" line within 15 s"; cat "$work/gateway.log"; exit 1
