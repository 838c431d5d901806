#!/usr/bin/env bash
# Measures tcpgate (one tcpgate-backend behind it) beside tcpgate-ceiling, a
# gRPC server that answers by itself, with the same load tool (tcpgate-cli
# bench), unary and streaming, at (C=1,P=1) and (C=16,P=32), in one run,
# interleaved over several rounds (medians reported).
# Prints a Markdown table, with the CPU time each request cost the server
# (tcpgate and its backend together, or the ceiling) and the load tool, and
# draws the latency curves of the (16,32) runs into
# docs/img/gateway_latency.png with gnuplot.
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
backend_pid=$!
wait_port $backend_port
"$bin/tcpgate" --listen=127.0.0.1:$gateway_port --admin_listen= --backends=127.0.0.1:$backend_port 2>/dev/null & pids+=($!)
gateway_pid=$!
"$bin/tcpgate-ceiling" --listen=127.0.0.1:$ceiling_port 2>/dev/null & pids+=($!)
ceiling_pid=$!
wait_port $gateway_port; wait_port $ceiling_port

# CPU time (user + system, clock ticks) the given processes have used so far.
cpu_ticks() { local t=0 p; for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' /proc/$p/stat))); done; echo $t; }
ticks_per_s=$(getconf CLK_TCK)

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
        port=$gateway_port; server_pids="$gateway_pid $backend_pid"
        [ $server = ceiling ] && port=$ceiling_port && server_pids=$ceiling_pid
        flag=""; [ $mode = stream ] && flag=--stream
        hist="$out/latency_${server}_${mode}_$1x$2.dat"
        # Server CPU: the gateway and its backend together, or the ceiling.
        # Client CPU: the load tool's own user + system time.
        before=$(cpu_ticks $server_pids)
        TIMEFORMAT='%U %S'
        { time "$bin/tcpgate-cli" bench --target=127.0.0.1:$port --connections=$1 --in_flight=$2 $flag \
            --duration=${seconds}s --warmup=1s --json --histogram_out="$hist" > "$out/run.json"; } 2> "$out/client_time"
        after=$(cpu_ticks $server_pids)
        python3 -c "import json,sys; d=json.load(open('$out/run.json')); d['server']='$server'; d['round']=$round
u, s = map(float, open('$out/client_time').read().split())
d['server_cpu_us_per_req'] = ($after - $before) / $ticks_per_s * 1e6 / max(d['sent'], 1)
d['client_cpu_us_per_req'] = (u + s) * 1e6 / max(d['sent'], 1)
print(json.dumps(d))" >> "$results"
      done
    done
  done
done

python3 - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
print("| server | mode | C × P | QPS | p50 µs | p90 µs | p99 µs | p99.9 µs | server CPU µs/req | client CPU µs/req | rounds (QPS) |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
ratios = {}
for shape in [(1, 1), (16, 32)]:
    for mode in ["unary", "stream"]:
        for server in ["tcpgate", "ceiling"]:
            runs = [r for r in rows if (r["connections"], r["in_flight"]) == shape and r["mode"] == mode and r["server"] == server]
            med = lambda k: statistics.median(r[k] for r in runs)
            ratios[(shape, mode, server)] = (med("qps"), med("p50_us"))
            print(f"| {server} | {mode} | {shape[0]} × {shape[1]} | {med('qps'):.0f} | {med('p50_us'):.1f} | {med('p90_us'):.1f} | "
                  f"{med('p99_us'):.1f} | {med('p99_9_us'):.1f} | {med('server_cpu_us_per_req'):.1f} | "
                  f"{med('client_cpu_us_per_req'):.1f} | {', '.join(str(round(r['qps'])) for r in runs)} |")
# The targets, two ways: from the medians above, and as the median of each
# round's own ratio (the runs of one round are seconds apart, so a swing in
# the machine's speed between rounds cancels out of a round's ratio).
def pick(rnd, shape, mode, server, key):
    return next(r[key] for r in rows if r["round"] == rnd and (r["connections"], r["in_flight"]) == shape
                and r["mode"] == mode and r["server"] == server)
rounds = sorted({r["round"] for r in rows})
per_round = {
    "u": [pick(n, (16, 32), "unary", "tcpgate", "qps") / pick(n, (16, 32), "unary", "ceiling", "qps") for n in rounds],
    "s": [pick(n, (16, 32), "stream", "tcpgate", "qps") / pick(n, (16, 32), "unary", "tcpgate", "qps") for n in rounds],
    "d": [pick(n, (1, 1), "unary", "tcpgate", "p50_us") - pick(n, (1, 1), "unary", "ceiling", "p50_us") for n in rounds],
}
u = ratios[((16, 32), "unary", "tcpgate")][0] / ratios[((16, 32), "unary", "ceiling")][0]
s = ratios[((16, 32), "stream", "tcpgate")][0] / ratios[((16, 32), "unary", "tcpgate")][0]
d = ratios[((1, 1), "unary", "tcpgate")][1] - ratios[((1, 1), "unary", "ceiling")][1]
fmt = lambda key, f: ", ".join(f.format(v) for v in per_round[key])
print(f"\nFrom the medians: unary (16,32) tcpgate/ceiling = {u:.2f} (target >= 0.75); stream/unary (16,32) = {s:.2f} "
      f"(target >= 3); p50 (1,1) unary over the ceiling = {d:+.0f} us (target <= +40)")
print(f"Median of the rounds' own: unary (16,32) tcpgate/ceiling = {statistics.median(per_round['u']):.2f} "
      f"({fmt('u', '{:.2f}')}); stream/unary = {statistics.median(per_round['s']):.2f} ({fmt('s', '{:.2f}')}); "
      f"p50 (1,1) over the ceiling = {statistics.median(per_round['d']):+.0f} us ({fmt('d', '{:+.0f}')})")
PY

if command -v gnuplot >/dev/null; then
  gnuplot -e "out='docs/img/gateway_latency.png'; gw='$out/latency_tcpgate_unary_16x32.dat'; ce='$out/latency_ceiling_unary_16x32.dat'; gws='$out/latency_tcpgate_stream_16x32.dat'" \
    tests/bench/latency.gp
  echo
  echo "latency curves: docs/img/gateway_latency.png"
fi
