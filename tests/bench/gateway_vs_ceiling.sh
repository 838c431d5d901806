#!/usr/bin/env bash
# Measures tcpgate (one tcpgate-backend behind it) beside tcpgate-ceiling, a
# gRPC server that answers by itself, with the same load tool (tcpgate-cli
# bench), unary and streaming, at (C=1,P=1) and (C=16,P=32), in one run.
# Prints a Markdown table and draws the latency curves of the (16,32) unary
# runs into docs/img/gateway_latency.png with gnuplot.
#
#   scripts/install-deps.sh --bench && cmake --build --preset default
#   tests/bench/gateway_vs_ceiling.sh [seconds per point, default 10]
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

field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }
echo "| server | mode | C × P | QPS | p50 µs | p90 µs | p99 µs | p99.9 µs | statuses |"
echo "|---|---|---|---|---|---|---|---|---|"
for shape in "1 1" "16 32"; do
  set -- $shape
  for mode in unary stream; do
    for server in tcpgate ceiling; do
      port=$gateway_port; [ $server = ceiling ] && port=$ceiling_port
      flag=""; [ $mode = stream ] && flag=--stream
      hist="$out/latency_${server}_${mode}_$1x$2.dat"
      json=$("$bin/tcpgate-cli" bench --target=127.0.0.1:$port --connections=$1 --in_flight=$2 $flag \
             --duration=${seconds}s --warmup=1s --json --histogram_out="$hist")
      echo "| $server | $mode | $1 × $2 | $(field "$json" qps) | $(field "$json" p50_us) | $(field "$json" p90_us) | $(field "$json" p99_us) | $(field "$json" p99_9_us) | $(field "$json" statuses) |"
    done
  done
done

if command -v gnuplot >/dev/null; then
  gnuplot -e "out='docs/img/gateway_latency.png'; gw='$out/latency_tcpgate_unary_16x32.dat'; ce='$out/latency_ceiling_unary_16x32.dat'; gws='$out/latency_tcpgate_stream_16x32.dat'" \
    tests/bench/latency.gp
  echo
  echo "latency curves: docs/img/gateway_latency.png"
fi
