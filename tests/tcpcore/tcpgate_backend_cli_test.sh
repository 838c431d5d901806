#!/usr/bin/env bash
# End-to-end check of the tcpgate-backend binary as a user runs it: it starts
# on an ephemeral port, answers the README's nc one-liner, rejects bad flags,
# exits 0 on SIGTERM (what a shutdown does with answers still owed is
# server_test's), and answers late with --answer_delay.
set -euo pipefail
backend=$1
source "$(dirname "$0")/../one_process_test.sh"

if "$backend" --no_such_flag 2>"$work/badflag.log"; then
  echo "FAIL: an unknown flag was accepted"; exit 1
fi
# --help lists its flags (absl's default looked for a file named after the
# binary and listed none).
"$backend" --help >"$work/help.txt" 2>&1 || true
for flag in --listen --max_frame_bytes --log_format --answer_delay; do
  grep -q -- "^    $flag " "$work/help.txt" || { echo "FAIL: --help does not list $flag"; cat "$work/help.txt"; exit 1; }
done
# Values that cannot work, and stray words, stop it at once, naming them.
for bad in "--max_frame_bytes=0" "--max_depth=0" "--max_connections=-1" "--idle_timeout=-1s" "--answer_delay=-1s" "--shutdown_grace=-1s" "--answer_delay=inf" "--threads=-1" "stray" \
           "--keepalive_interval=0" "--keepalive_count=0" "--keepalive_idle=10h" "--tcp_user_timeout=-1s" "--tcp_user_timeout=600h" "--tcp_user_timeout=500us" \
           "--log_format=xml" "--log_level=loud"; do
  status=0
  timeout 10 "$backend" --listen=127.0.0.1:0 "$bad" 2>"$work/bad.log" || status=$?
  if [ "$status" -ne 1 ] || ! grep -qF -- "${bad%%=*}" "$work/bad.log"; then
    echo "FAIL: $bad -> exit $status"; cat "$work/bad.log"; exit 1
  fi
done

# --log_format=json: every line a JSON object (what a log collector parses).
"$backend" --listen=127.0.0.1:0 --log_format=json 2>"$work/json.log" &
json_pid=$!
port_from_log "$work/json.log" "listening on" $json_pid >/dev/null
kill -TERM $json_pid; wait $json_pid || true
if ! python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1]) if l.strip()]' "$work/json.log"; then
  echo "FAIL: --log_format=json wrote a line that is not JSON"; cat "$work/json.log"; exit 1
fi

# Started with a soft open-file limit under its hard one (this machine's),
# it takes the hard one (one descriptor per connection) and says so.
hard=$(ulimit -Hn)
if [ "$hard" = unlimited ] || [ "$hard" -le 256 ]; then
  echo "note: hard open-file limit $hard; the raise is not checked"
  "$backend" --listen=127.0.0.1:0 --threads=2 2>"$work/log" &
  pid=$!
  port=$(port_from_log "$work/log" "listening on" $pid)
else
  prlimit --nofile=256:$hard "$backend" --listen=127.0.0.1:0 --threads=2 2>"$work/log" &
  pid=$!
  port=$(port_from_log "$work/log" "listening on" $pid)
  if ! grep -qF "open file limit raised from 256 to $hard" "$work/log" ||
     [ "$(awk '/^Max open files/ {print $4}' /proc/$pid/limits)" != "$hard" ]; then
    echo "FAIL: the soft open-file limit was not raised"; cat "$work/log"; grep "open files" /proc/$pid/limits; exit 1
  fi
fi

answer=$(printf '{"Uid":"pixel-1","Val":"pixelpig!"}\n' | timeout 10 nc -N 127.0.0.1 "$port")
echo "answer: $answer"
if ! [[ "$answer" =~ ^\{\"Uid\":\"pixel-1\",\"Val\":\"server:\ hello,\ pixelpig!\",\"Ts\":\"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z\"\}$ ]]; then
  echo "FAIL: unexpected answer"; exit 1
fi

kill -TERM $pid
status=0
wait $pid || status=$?
if [ "$status" -ne 0 ]; then echo "FAIL: exit status $status after SIGTERM"; cat "$work/log"; exit 1; fi
grep -q "connection from 127.0.0.1:[0-9]* opened" "$work/log" || { echo "FAIL: connect not logged"; exit 1; }
grep -q "connection from 127.0.0.1:[0-9]* closed" "$work/log" || { echo "FAIL: disconnect not logged"; exit 1; }

# --answer_delay: the same answer, no sooner than the delay.
"$backend" --listen=127.0.0.1:0 --threads=1 --answer_delay=300ms 2>"$work/slow.log" &
pid=$!
port=$(port_from_log "$work/slow.log" "listening on" $pid)
start=$(date +%s%N)
# Bash's own socket, not nc: with a CPU hog beside it, `timeout 10 nc -N`
# here returned at once, status 0, nothing read, in about 1 run of 30
# (cause not found; the backend logged the connection and no close).
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf '{"Uid":"slow-1","Val":"v"}\n' >&3
answer=""
IFS= read -r -t 10 answer <&3 || true
exec 3<&-
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "delayed answer after ${elapsed_ms} ms: $answer"
[[ "$answer" == '{"Uid":"slow-1","Val":"server: hello, v","Ts":"'* ]] || { echo "FAIL: unexpected delayed answer"; exit 1; }
(( elapsed_ms >= 300 )) || { echo "FAIL: answered after ${elapsed_ms} ms, before the 300 ms delay"; exit 1; }
kill -TERM $pid
wait $pid || { echo "FAIL: the delayed backend did not exit 0"; exit 1; }
echo "PASS"
