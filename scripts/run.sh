#!/usr/bin/env bash
# Installs what is missing, builds, and runs tcpgate in the foreground.
# Until the gRPC gateway lands this runs the reference TCP backend.
# Extra arguments go to the binary, e.g. scripts/run.sh --listen=127.0.0.1:3000
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset default >/dev/null
cmake --build --preset default --target tcpgate-backend
listen=127.0.0.1:3000
for arg in "$@"; do
  case "$arg" in --listen=*) listen="${arg#--listen=}" ;; esac
done
port="${listen##*:}"
cat <<MSG
tcpgate-backend is starting on ${listen} (Ctrl-C stops it). Talk to it with:
  printf '{"Uid":"pixel-1","Val":"pixelpig!"}\n' | nc -N 127.0.0.1 ${port}
which answers:
  {"Uid":"pixel-1","Val":"server: hello, pixelpig!","Ts":"<now, RFC 3339>"}
MSG
exec build/default/bin/tcpgate-backend --listen=0.0.0.0:3000 "$@"
