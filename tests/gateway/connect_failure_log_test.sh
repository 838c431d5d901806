#!/usr/bin/env bash
# A backend nobody listens on: the gateway says so in its log at the first
# failed connect, then at most once a minute (not once per attempt), and
# says when it connects after all.
set -euo pipefail
tcpgate=$1
backend=$2
source "$(dirname "$0")/../port_from_log.sh"
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT
backend_port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$tcpgate" --listen=127.0.0.1:0 --admin_listen=127.0.0.1:0 --backends=127.0.0.1:$backend_port \
  --eject_after_failures=1000 2>"$work/gateway.log" &
pids+=($!)
admin=$(port_from_log "$work/gateway.log" "admin listening on" $!)
# Waits for 5 failed connects by the gateway's own count (100 ms, 200 ms,
# ... apart at the default backoff), then there must be one line for them.
if ! /usr/bin/python3 - "$admin" <<'PY'
import re, sys, time, urllib.request
for _ in range(300):
    page = urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=5).read().decode()
    failures = sum(float(v) for v in re.findall(r"^tcpgate_backend_connect_failures_total\{[^}]*\} (\S+)$", page, re.M))
    if failures >= 5:
        sys.exit(0)
    time.sleep(0.1)
sys.exit(f"FAIL: only {failures} failed connects counted in 30 s")
PY
then
  cat "$work/gateway.log"; exit 1
fi
failed=$(grep -c "cannot connect to 127.0.0.1:$backend_port" "$work/gateway.log" || true)
if [ "$failed" -ne 1 ]; then
  echo "FAIL: $failed \"cannot connect\" lines for 5 or more failed connects, expected 1"; cat "$work/gateway.log"; exit 1
fi
"$backend" --listen=127.0.0.1:$backend_port --log_connections=false 2>"$work/backend.log" &
pids+=($!)
for _ in $(seq 1 150); do
  grep -q "connected to 127.0.0.1:$backend_port after [0-9]* failed connects" "$work/gateway.log" && { echo PASS; exit 0; }
  sleep 0.1
done
echo "FAIL: no \"connected ... after N failed connects\" line within 15 s"; cat "$work/gateway.log"; exit 1
