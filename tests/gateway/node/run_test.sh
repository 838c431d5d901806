#!/usr/bin/env bash
# Installs the locked npm dependencies (npm ci) and runs the Node client test.
# Usage: run_test.sh TCPGATE_BINARY REPO_ROOT
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --loglevel=error >/dev/null
exec node client_test.js "$@"
