#!/usr/bin/env bash
# End-to-end check of the tcpgate binary as a user runs it: flags from the
# environment, the embedded backend, tcpgate-cli's output and exit codes, the
# start-up configuration line, and a clean exit 0 on SIGTERM.
set -euo pipefail
tcpgate=$1
cli=$2
source "$(dirname "$0")/../port_from_log.sh"
work=$(mktemp -d)
trap 'kill ${pid:-} 2>/dev/null || true; rm -rf "$work"' EXIT

# --help lists each binary's flags (absl's default listed none for
# tcpgate-cli: it looked for a file named after the binary).
for binary_flag in "$tcpgate:--backends" "$cli:--target" "$cli:--json" "$cli:--histogram_out"; do
  "${binary_flag%%:--*}" --help >"$work/help.txt" 2>&1 || true
  flag=--${binary_flag##*:--}
  grep -q -- "^    $flag " "$work/help.txt" || { echo "FAIL: ${binary_flag%%:--*} --help does not list $flag"; exit 1; }
done

TCPGATE_DEFAULT_TIMEOUT=2s TCPGATE_DRAIN_TIMEOUT=1s TCPGATE_ADMIN_LISTEN=127.0.0.1:0 "$tcpgate" --listen=127.0.0.1:0 2>"$work/log" &
pid=$!
port=$(port_from_log "$work/log" "tcpgate listening on" $pid)
grep -q "default_timeout=2s" "$work/log" || { echo "FAIL: TCPGATE_DEFAULT_TIMEOUT not applied"; cat "$work/log"; exit 1; }
grep -q "(embedded)" "$work/log" || { echo "FAIL: no embedded backend"; exit 1; }

out=$("$cli" send --target=127.0.0.1:$port --uid=pixel-1 --val=pixelpig!)
echo "$out"
grep -qx "uid: pixel-1" <<<"$out" || { echo "FAIL: uid"; exit 1; }
grep -qx "val: server: hello, pixelpig!" <<<"$out" || { echo "FAIL: val"; exit 1; }
grep -Eq "^ts:  [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{9}Z$" <<<"$out" || { echo "FAIL: ts"; exit 1; }

# --timeout=0 (no deadline of the CLI's own) is accepted and the call is
# answered. Not checked here: that no deadline goes out (a stalled call
# would have to wait out the gateway's); that the gateway ends such a call
# at its --default_timeout is gateway_service_test's
# CallWithoutDeadlineEndsAtTheDefaultTimeout.
out=$("$cli" send --target=127.0.0.1:$port --uid=no-deadline --val=v --timeout=0)
grep -qx "uid: no-deadline" <<<"$out" || { echo "FAIL: --timeout=0 did not answer: $out"; exit 1; }
if "$cli" send --target=127.0.0.1:$port --val=v --timeout=-1s 2>/dev/null; then
  echo "FAIL: a negative --timeout was accepted"; exit 1
fi

# bench flags that cannot make a run are refused (exit 2, the flag named)
# before anything is sent, instead of being changed or run as a failure.
for bad in --connections=0 --connections=-3 --in_flight=0 --duration=0 --duration=-1s --warmup=-1s \
    --duration=3000000h --warmup=2000h --in_flight=100001; do
  status=0
  err=$("$cli" bench --target=127.0.0.1:$port "$bad" 2>&1) || status=$?
  [ "$status" -eq 2 ] || { echo "FAIL: bench $bad exited $status, expected 2: $err"; exit 1; }
  grep -q "^error: ${bad%%=*}=" <<<"$err" || { echo "FAIL: bench $bad: the error does not name the flag: $err"; exit 1; }
done

if err=$("$cli" send --target=127.0.0.1:1 --val=x --timeout=1s 2>&1); then
  echo "FAIL: a call to a closed port exited 0"; exit 1
fi
grep -q "^error: UNAVAILABLE" <<<"$err" || { echo "FAIL: expected UNAVAILABLE, got: $err"; exit 1; }

# bench says why calls failed: each error's status and message, counted
# (a gateway whose only backend refuses connections fails every call).
"$tcpgate" --listen=127.0.0.1:0 --backends=127.0.0.1:1 --admin_listen= 2>"$work/down.log" &
down_pid=$!
down_port=$(port_from_log "$work/down.log" "tcpgate listening on" $down_pid)
json=$("$cli" bench --target=127.0.0.1:$down_port --duration=300ms --warmup=0s --json) || true
/usr/bin/python3 - "$json" <<'PY' || { echo "FAIL: bench's error messages: $json"; exit 1; }
import json, sys
result = json.loads(sys.argv[1])
failed = result["statuses"]["UNAVAILABLE"]
assert failed > 0 and set(result["statuses"]) == {"UNAVAILABLE"}, result
messages = result["error_messages"]
assert sum(messages.values()) + result["other_error_messages"] == failed, result
assert all(text.startswith("UNAVAILABLE: ") for text in messages), messages
assert any("backend" in text or "connect" in text for text in messages), messages
PY
text=$("$cli" bench --target=127.0.0.1:$down_port --duration=300ms --warmup=0s) || true
grep -Eq "^  [0-9]+ x UNAVAILABLE: " <<<"$text" || { echo "FAIL: bench's text lists no error message: $text"; exit 1; }
kill -TERM $down_pid
wait $down_pid || true

kill -TERM $pid
status=0
wait $pid || status=$?
[ "$status" -eq 0 ] || { echo "FAIL: exit status $status after SIGTERM"; cat "$work/log"; exit 1; }
grep -q "health: NOT_SERVING" "$work/log" || { echo "FAIL: health did not go NOT_SERVING"; exit 1; }
echo "PASS"
