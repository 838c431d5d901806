#!/usr/bin/env bash
# Measures tcpgate (one tcpgate-backend behind it) beside tcpgate-ceiling, a
# gRPC server that answers by itself, with the same load tool (tcpgate-cli
# bench), unary and streaming, at (C=1,P=1) and (C=16,P=32), in one run,
# interleaved over several rounds (medians reported).
# Prints a Markdown table and draws the latency curves of the (16,32) unary
# runs into docs/img/gateway_latency.png with gnuplot.
#
#   scripts/install-deps.sh --bench && cmake --build --preset default
#   tests/bench/gateway_vs_ceiling.sh [seconds per point, default 10] [rounds, default 3]
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-10}
bin=build/default/bin
out=build/bench
mkdir -p "$out" docs/img
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 200); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return; sleep 0.05; done; }
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT

backend_port=$(free_port); gateway_port=$(free_port); ceiling_port=$(free_port)
"$bin/tcpgate-backend" --listen=127.0.0.1:$backend_port --threads=1 --log_connections=false 2>/dev/null & pids+=($!)
wait_port $backend_port
"$bin/tcpgate" --listen=127.0.0.1:$gateway_port --admin_listen= --backends=127.0.0.1:$backend_port 2>/dev/null & pids+=($!)
"$bin/tcpgate-ceiling" --listen=127.0.0.1:$ceiling_port 2>/dev/null & pids+=($!)
wait_port $gateway_port; wait_port $ceiling_port

rounds=${2:-3}
results="$out/gateway_vs_ceiling.jsonl"
: > "$results"
# Interleaved: each round runs tcpgate then the ceiling at every point, so a
# swing in the machine's speed (this VM's moves by tens of percent over
# minutes) hits both; the table shows the median of the rounds.
for round in $(seq 1 "$rounds"); do
  for shape in "1 1" "16 32"; do
    set -- $shape
    for mode in unary stream; do
      for server in tcpgate ceiling; do
        port=$gateway_port; [ $server = ceiling ] && port=$ceiling_port
        flag=""; [ $mode = stream ] && flag=--stream
        hist="$out/latency_${server}_${mode}_$1x$2.dat"
        "$bin/tcpgate-cli" bench --target=127.0.0.1:$port --connections=$1 --in_flight=$2 $flag \
          --duration=${seconds}s --warmup=1s --json --histogram_out="$hist" |
          python3 -c "import json,sys; d=json.load(sys.stdin); d['server']='$server'; d['round']=$round; print(json.dumps(d))" >> "$results"
      done
    done
  done
done

python3 - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
print("| server | mode | C × P | QPS | p50 µs | p90 µs | p99 µs | p99.9 µs | rounds (QPS) |")
print("|---|---|---|---|---|---|---|---|---|")
ratios = {}
for shape in [(1, 1), (16, 32)]:
    for mode in ["unary", "stream"]:
        for server in ["tcpgate", "ceiling"]:
            runs = [r for r in rows if (r["connections"], r["in_flight"]) == shape and r["mode"] == mode and r["server"] == server]
            med = lambda k: statistics.median(r[k] for r in runs)
            ratios[(shape, mode, server)] = (med("qps"), med("p50_us"))
            print(f"| {server} | {mode} | {shape[0]} × {shape[1]} | {med('qps'):.0f} | {med('p50_us'):.1f} | {med('p90_us'):.1f} | "
                  f"{med('p99_us'):.1f} | {med('p99_9_us'):.1f} | {', '.join(str(round(r['qps'])) for r in runs)} |")
u = ratios[((16, 32), "unary", "tcpgate")][0] / ratios[((16, 32), "unary", "ceiling")][0]
s = ratios[((16, 32), "stream", "tcpgate")][0] / ratios[((16, 32), "unary", "tcpgate")][0]
d = ratios[((1, 1), "unary", "tcpgate")][1] - ratios[((1, 1), "unary", "ceiling")][1]
print(f"\nunary (16,32) tcpgate/ceiling = {u:.2f} (target >= 0.75); stream/unary (16,32) = {s:.2f} (target >= 3); "
      f"p50 (1,1) unary over the ceiling = {d:+.0f} us (target <= +40)")
PY

if command -v gnuplot >/dev/null; then
  gnuplot -e "out='docs/img/gateway_latency.png'; gw='$out/latency_tcpgate_unary_16x32.dat'; ce='$out/latency_ceiling_unary_16x32.dat'; gws='$out/latency_tcpgate_stream_16x32.dat'" \
    tests/bench/latency.gp
  echo
  echo "latency curves: docs/img/gateway_latency.png"
fi
