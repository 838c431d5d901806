#!/usr/bin/env bash
# tcpgate refuses flag values that cannot work before it starts anything:
# exit 1, one error line naming the flag (or the environment variable) and
# the value, and no "listening" line. Then the values that mean "off" or
# "never" are accepted (the gateway starts and answers SIGTERM with 0).
set -euo pipefail
tcpgate=$1
source "$(dirname "$0")/../one_process_test.sh"

failures=0
# refuses EXPECTED_TEXT ARGS...: tcpgate ARGS exits 1 at once with EXPECTED_TEXT.
refuses() {
  local expected=$1; shift
  local status=0
  timeout 10 "$tcpgate" --listen=127.0.0.1:0 --admin_listen= "$@" >"$work/out" 2>&1 || status=$?
  if [ "$status" -ne 1 ] || ! grep -qF -- "$expected" "$work/out" || grep -q "listening on" "$work/out"; then
    echo "FAIL: $* -> exit $status, expected exit 1 with: $expected"; sed 's/^/  /' "$work/out"; failures=$((failures + 1))
  fi
}

refuses '--listen=127.0.0.1: address "127.0.0.1" has no :port' --listen=127.0.0.1
refuses '--listen=127.0.0.1:70000' --listen=127.0.0.1:70000
refuses '--admin_listen=metrics' --admin_listen=metrics
refuses 'unexpected argument "127.0.0.1:2"' --backends=127.0.0.1:1, 127.0.0.1:2
refuses '--backends="," names no backend' --backends=,
refuses '--backends: "localhost"' --backends=localhost
refuses '--threads=-1' --threads=-1
refuses '--default_timeout=0' --default_timeout=0
refuses '--drain_notice=20s' --drain_notice=20s --drain_timeout=10s
refuses '--max_val_bytes=8388608' --max_val_bytes=8388608
refuses '--max_concurrent_streams=0' --max_concurrent_streams=0
refuses '--max_connection_age=800h: must be between 0 and 596h' --max_connection_age=800h
refuses '--late_response_window=0' --late_response_window=0
refuses '--grpc_memory_quota=1000: must be -1' --grpc_memory_quota=1000
refuses '--resolve_interval=inf' --resolve_interval=inf
refuses '--reconnect_backoff_max=50ms' --reconnect_backoff_initial=100ms --reconnect_backoff_max=50ms
refuses '--max_pending=0' --max_pending=0
refuses '--min_idle=9' --min_idle=9
refuses '--dial_timeout=0' --dial_timeout=0
refuses '--keepalive_idle=10h' --keepalive_idle=10h

# From the environment: the check is the same, and names the value.
status=0
TCPGATE_MIN_IDLE=9 timeout 10 "$tcpgate" --listen=127.0.0.1:0 --admin_listen= >"$work/out" 2>&1 || status=$?
if [ "$status" -ne 1 ] || ! grep -qF -- "--min_idle=9" "$work/out"; then
  echo "FAIL: TCPGATE_MIN_IDLE=9 -> exit $status"; cat "$work/out"; failures=$((failures + 1))
fi

# A value in the environment that the command line overrides is not read:
# the command line wins, and a bad value there cannot stop the gateway.
TCPGATE_POOL_SIZE=abc "$tcpgate" --listen=127.0.0.1:0 --admin_listen= --pool_size=3 2>"$work/overridden" &
pid=$!
if port_from_log "$work/overridden" "tcpgate listening on" $pid >/dev/null && grep -q "pool_size=3" "$work/overridden"; then
  kill -TERM $pid; wait $pid || true
else
  echo "FAIL: TCPGATE_POOL_SIZE=abc overridden by --pool_size=3 did not start with pool_size=3"; cat "$work/overridden"
  failures=$((failures + 1)); kill $pid 2>/dev/null || true
fi
pid=

# With the JSON log format asked for (on the command line or in the
# environment), the errors in the flags themselves are JSON lines too: a
# value that does not parse, from either place, and a stray argument.
json_refusal() {
  local expected=$1; shift
  local status=0
  timeout 10 env "$@" >"$work/out" 2>&1 || status=$?
  if [ "$status" -ne 1 ] || ! python3 -c '
import json, sys
lines = open(sys.argv[1]).read().splitlines()
objects = [json.loads(line) for line in lines]
assert len(objects) == 1 and objects[0]["level"] == "error" and sys.argv[2] in objects[0]["msg"], lines
' "$work/out" "$expected"; then
    echo "FAIL: $* -> exit $status, expected one JSON error line with: $expected"; sed 's/^/  /' "$work/out"
    failures=$((failures + 1))
  fi
}
json_refusal "TCPGATE_POOL_SIZE: Illegal value 'abc'" TCPGATE_LOG_FORMAT=json TCPGATE_POOL_SIZE=abc \
  "$tcpgate" --listen=127.0.0.1:0 --admin_listen=
json_refusal "--pool_size: Illegal value 'abc'" TCPGATE_LOG_FORMAT=json "$tcpgate" --listen=127.0.0.1:0 --admin_listen= \
  --pool_size=abc
json_refusal "--default_timeout: " "$tcpgate" --log_format json --listen=127.0.0.1:0 --admin_listen= --default_timeout=soon
json_refusal 'unexpected argument "stray"' "$tcpgate" --log_format=json --listen=127.0.0.1:0 --admin_listen= stray

# "Off" and "never" values start the gateway.
# (The bound a refusal names is itself accepted: 596h for the gRPC ages.)
"$tcpgate" --listen=127.0.0.1:0 --admin_listen= --max_connection_age=inf --max_connection_age_grace=596h \
  --read_timeout=0 --health_interval=0 --tcp_user_timeout=0 --drain_timeout=0 --drain_notice=0 --backends=" 127.0.0.1:1 " \
  --grpc_memory_quota=16777216 2>"$work/log" &
pid=$!
port=$(port_from_log "$work/log" "tcpgate listening on" $pid)
grep -q "grpc_memory_quota=16MiB " "$work/log" || { echo "FAIL: the start line does not show the gRPC memory quota"; cat "$work/log"; failures=$((failures + 1)); }
# A second gateway on the port the first listens on is refused, not let in
# beside it to take half the connections (gRPC's default SO_REUSEPORT).
status=0
timeout 10 "$tcpgate" --listen=127.0.0.1:$port --admin_listen= --log_format=json >"$work/second" 2>&1 || status=$?
if [ "$status" -ne 1 ] || ! grep -qF "cannot listen on 127.0.0.1:$port" "$work/second"; then
  echo "FAIL: a second gateway on port $port -> exit $status"; cat "$work/second"; failures=$((failures + 1))
fi
# gRPC's own error about the port comes through the gateway's log: with
# --log_format=json every line, gRPC's included, is one JSON object.
if ! python3 -c '
import json, sys
lines = open(sys.argv[1]).read().splitlines()
objects = [json.loads(line) for line in lines]
assert any(o["msg"].startswith("grpc ") and o["level"] == "error" for o in objects), lines
' "$work/second"; then
  echo "FAIL: --log_format=json output has a line that is not JSON, or no gRPC line"; cat "$work/second"
  failures=$((failures + 1))
fi
grep -q "backends=127.0.0.1:1 " "$work/log" || { echo "FAIL: the backend entry was not trimmed"; cat "$work/log"; failures=$((failures + 1)); }
kill -TERM $pid
status=0
wait $pid || status=$?
pid=
[ "$status" -eq 0 ] || { echo "FAIL: exit $status after SIGTERM with off/never values"; cat "$work/log"; failures=$((failures + 1)); }

[ "$failures" -eq 0 ] || { echo "FAILED: $failures"; exit 1; }
echo "PASS"
