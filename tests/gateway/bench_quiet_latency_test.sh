#!/usr/bin/env bash
# tcpgate-cli bench times an answer that comes after a quiet second as it
# came: behind a backend that holds every answer 1020 ms, one call at a
# time, the median call must measure under 1060 ms (of about six calls: one
# late wake-up on a busy machine, 1081 ms once, cannot move the median).
# Without the tool's CallbackThreadHeartbeat, gRPC 1.51's callback threads
# slept 100 ms after a second without a completion and every call measured
# ~1104 ms.
set -euo pipefail
tcpgate=$1
cli=$2
backend=$3
source "$(dirname "$0")/gateway_behind_backend.sh"
start_gateway_behind_backend 1020ms

"$cli" bench --target=127.0.0.1:$port --connections=1 --in_flight=1 --duration=7s --warmup=0s --json \
  > "$work/result.json"
/usr/bin/python3 - "$work/result.json" <<'PY'
import json, sys
result = json.load(open(sys.argv[1]))
print(f"answered {result['answered']}, p50 {result['p50_us'] / 1000:.1f} ms, max {result['max_us'] / 1000:.1f} ms")
assert result["answered"] >= 5 and result["statuses"] == {"OK": result["sent"]}, result
assert result["p50_us"] < 1060000, f"calls measured {result['p50_us'] / 1000:.1f} ms (median) behind a 1020 ms backend"
print("PASS")
PY
