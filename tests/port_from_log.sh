# Sourced by the shell tests that start a binary on port 0: waits (up to 10 s)
# until the binary's log names the port it bound, and prints it.
#   port=$(port_from_log LOG_FILE "listening on" PID)
port_from_log() {
  local log=$1 prefix=$2 pid=$3 port=""
  for _ in $(seq 1 200); do
    port=$(sed -n "s/.*${prefix} 127\.0\.0\.1:\([0-9]*\).*/\1/p" "$log")
    [ -n "$port" ] && { echo "$port"; return 0; }
    kill -0 "$pid" 2>/dev/null || { echo "FAIL: the process exited early" >&2; cat "$log" >&2; return 1; }
    sleep 0.05
  done
  echo "FAIL: no port in the log" >&2
  cat "$log" >&2
  return 1
}
