#!/usr/bin/env bash
# tcpgate-cli bench --stream measures each answer against its own request:
# behind a backend that holds every answer 200 ms, no answer may be measured
# faster than 200 ms, whatever order the answers come back in (four pool
# connections and two streams reorder them), and none may wait in the tool
# for another answer before it is sent (p99 under 300 ms: a rule that held
# writes while half the window was out made p99 a whole service time more,
# 405-410 ms; this tool measures 206-214 ms on 2 cores). The service time is
# long so that scheduling noise of a busy machine (p99 55 ms behind a 30 ms
# backend once in CI) stays far from the bound.
# Every answer is one of ours (crossed 0) and every request is answered.
set -euo pipefail
tcpgate=$1
cli=$2
backend=$3
source "$(dirname "$0")/gateway_behind_backend.sh"
start_gateway_behind_backend 200ms --pool_size=4 --min_idle=4

"$cli" bench --target=127.0.0.1:$port --stream --connections=2 --in_flight=64 --duration=2s --warmup=0s --json \
  --histogram_out="$work/latency.dat" > "$work/result.json"
/usr/bin/python3 - "$work/result.json" "$work/latency.dat" <<'PY'
import json, sys
result = json.load(open(sys.argv[1]))
rows = [line.split() for line in open(sys.argv[2]) if not line.startswith("#")]
fastest_us = float(rows[0][1])  # Percentile 0.
print(f"answered {result['answered']}, crossed {result['crossed']}, unanswered {result['unanswered']}, "
      f"fastest {fastest_us:.0f} us, p50 {result['p50_us']:.0f} us, p99 {result['p99_us']:.0f} us")
assert result["answered"] > 500, "too few answers to mean anything"
assert result["crossed"] == 0 and result["unanswered"] == 0, result
assert result["statuses"] == {"OK": result["sent"]}, result["statuses"]
assert fastest_us >= 200000, f"an answer measured {fastest_us} us, faster than the backend's 200 ms delay"
assert result["p99_us"] < 300000, f"p99 {result['p99_us']} us behind a 200 ms backend: requests waited in the tool"
print("PASS")
PY
