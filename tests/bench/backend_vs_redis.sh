#!/usr/bin/env bash
# Measures tcpgate-backend with tcpgate-loadgen beside redis-server with
# redis-benchmark (PING), the same shapes in one run on this machine, and
# prints a Markdown table for docs/performance.md.
#
#   scripts/install-deps.sh --bench && cmake --build --preset default
#   tests/bench/backend_vs_redis.sh [seconds per point, default 10] [backend threads, default 1 2]
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-10}
threads_list=${2:-"1 2"}
bin=build/default/bin
for tool in "$bin/tcpgate-backend" "$bin/tcpgate-loadgen"; do
  [ -x "$tool" ] || { echo "missing $tool: cmake --build --preset default" >&2; exit 1; }
done
command -v redis-server >/dev/null || { echo "missing redis: scripts/install-deps.sh --bench" >&2; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT

shapes=("1 1" "50 1" "50 16")
echo "| server | connections × in flight | messages/s | p50 µs | p99 µs | p99.9 µs |"
echo "|---|---|---|---|---|---|"
for threads in $threads_list; do
  port=$(free_port)
  "$bin/tcpgate-backend" --listen=127.0.0.1:$port --threads=$threads --log_connections=false 2>/dev/null &
  pids+=($!)
  for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.05; done
  for shape in "${shapes[@]}"; do
    set -- $shape
    line=$("$bin/tcpgate-loadgen" --target=127.0.0.1:$port --connections=$1 --pipeline=$2 \
           --duration=${seconds}s --warmup=1s)
    get() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"; }
    echo "| tcpgate-backend --threads=$threads | $1 × $2 | $(get msgs_per_s) | $(get p50_us) | $(get p99_us) | $(get p99.9_us) |"
  done
  kill -TERM "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
done

port=$(free_port)
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no >/dev/null &
pids+=($!)
for _ in $(seq 1 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
for shape in "${shapes[@]}"; do
  set -- $shape
  # Enough requests for about `seconds` of work at the rate of a short probe.
  probe=$(redis-benchmark -p "$port" -c "$1" -P "$2" -n 20000 -t ping_inline --csv 2>/dev/null | tail -1 | cut -d'"' -f4)
  n=$(python3 -c "print(max(20000, int(float('$probe') * $seconds)))")
  row=$(redis-benchmark -p "$port" -c "$1" -P "$2" -n "$n" -t ping_inline --csv 2>/dev/null | tail -1)
  IFS=, read -r _ rps _ _ p50 _ p99 _ <<<"$(tr -d '"' <<<"$row")"
  echo "| redis-server (redis-benchmark PING) | $1 × $2 | ${rps%.*} | $(python3 -c "print(round($p50*1000,1))") | $(python3 -c "print(round($p99*1000,1))") | n/a |"
done
redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
