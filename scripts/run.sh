#!/usr/bin/env bash
# Installs what is missing, builds, and runs the tcpgate gRPC gateway in the
# foreground on port 50051, with an embedded TCP backend (no --backends).
# Extra arguments go to tcpgate, e.g. scripts/run.sh --backends=10.0.0.5:3000
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --build-only
cmake --preset default >/dev/null
cmake --build --preset default --target tcpgate tcpgate-cli tcpgate-backend
port=50051
for arg in "$@"; do
  case "$arg" in --listen=*) port="${arg##*:}" ;; esac
done
cat <<MSG
tcpgate is starting on port ${port} (Ctrl-C stops it). From another terminal:
  build/default/bin/tcpgate-cli send --target=127.0.0.1:${port} --uid=pixel-1 --val=pixelpig!
which prints:
  uid: pixel-1
  val: server: hello, pixelpig!
  ts:  <now, RFC 3339>
MSG
exec build/default/bin/tcpgate --listen=0.0.0.0:${port} "$@"
