#!/usr/bin/env bash
# Measures the tcpcore Pool (tcpgate-loadgen --mode=pool) beside the Go
# baseline written the way the article's client is (tests/bench/go_baseline),
# the same workloads against the same tcpgate-backend in one run, and prints
# a Markdown table for docs/performance.md.
#
#   scripts/install-deps.sh --bench && cmake --build --preset default
#   tests/bench/pool_vs_go.sh [seconds per point, default 10]
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-10}
bin=build/default/bin
for tool in "$bin/tcpgate-backend" "$bin/tcpgate-loadgen"; do
  [ -x "$tool" ] || { echo "missing $tool: cmake --build --preset default" >&2; exit 1; }
done
command -v go >/dev/null || { echo "missing Go: scripts/install-deps.sh --bench" >&2; exit 1; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin/tcpgate-backend" --listen=127.0.0.1:$port --threads=1 --log_connections=false 2>/dev/null &
backend=$!
trap 'kill $backend 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.05; done

get() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }
echo "| client | callers T | pool size S | messages/s | p50 µs | p99 µs | p99.9 µs |"
echo "|---|---|---|---|---|---|---|"
for shape in "64 1" "256 4"; do
  set -- $shape
  ours=$("$bin/tcpgate-loadgen" --target=127.0.0.1:$port --mode=pool --callers=$1 --pool_size=$2 \
         --duration=${seconds}s --warmup=1s)
  echo "| tcpcore Pool, a thread per caller | $1 | $2 | $(get msgs_per_s "$ours") | $(get p50_us "$ours") | $(get p99_us "$ours") | $(get p99.9_us "$ours") |"
  ours=$("$bin/tcpgate-loadgen" --target=127.0.0.1:$port --mode=pool --callers=$1 --pool_size=$2 \
         --caller_threads=false --duration=${seconds}s --warmup=1s)
  echo "| tcpcore Pool, callback callers | $1 | $2 | $(get msgs_per_s "$ours") | $(get p50_us "$ours") | $(get p99_us "$ours") | $(get p99.9_us "$ours") |"
  theirs=$(tests/bench/go_baseline/run.sh -target 127.0.0.1:$port -callers $1 -pool $2 -duration ${seconds}s -warmup 1s)
  echo "| Go baseline, a goroutine per caller | $1 | $2 | $(get msgs_per_s "$theirs") | $(get p50_us "$theirs") | $(get p99_us "$theirs") | $(get p99.9_us "$theirs") |"
done
