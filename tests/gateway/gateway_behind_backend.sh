# Sourced by the load tool's shell tests. Needs $tcpgate and $backend (the
# binaries) set.
#   start_gateway_behind_backend ANSWER_DELAY [tcpgate flags...]
# starts tcpgate-backend (answering each request ANSWER_DELAY after it came)
# and tcpgate in front of it, on ephemeral ports of 127.0.0.1; sets $port
# (tcpgate's) and $work (a scratch directory). Both processes are killed and
# $work removed when the script exits.
source "$(dirname "${BASH_SOURCE[0]}")/../port_from_log.sh"

start_gateway_behind_backend() {
  local delay=$1
  shift
  work=$(mktemp -d)
  pids=()
  trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT
  "$backend" --listen=127.0.0.1:0 --answer_delay="$delay" --log_connections=false 2>"$work/backend.log" &
  pids+=($!)
  local backend_port
  backend_port=$(port_from_log "$work/backend.log" "tcpgate-backend listening on" $!)
  "$tcpgate" --listen=127.0.0.1:0 --admin_listen= --backends=127.0.0.1:$backend_port "$@" 2>"$work/gateway.log" &
  pids+=($!)
  port=$(port_from_log "$work/gateway.log" "tcpgate listening on" $!)
}
