#!/usr/bin/env bash
# Builds the Go baseline client (stdlib only, GOPATH mode, nothing downloaded)
# into build/bench/go_baseline and runs it with the given flags, e.g.
#   tests/bench/go_baseline/run.sh -target 127.0.0.1:3000 -callers 64 -pool 1 -duration 10s
set -euo pipefail
cd "$(dirname "$0")/../../.."
command -v go >/dev/null || { echo "missing go: apt-get install golang-go" >&2; exit 1; }
mkdir -p build/bench
GOCACHE="$PWD/build/bench/gocache" GO111MODULE=off GOPROXY=off GOFLAGS= \
  go build -o build/bench/go_baseline ./tests/bench/go_baseline
exec build/bench/go_baseline "$@"
