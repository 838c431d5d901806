#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: unit and integration
# tests (default preset), the deployment checks (Dockerfile runtime libraries,
# Kubernetes manifests against the built binaries), the same tests under
# ASan+UBSan and TSan, and a short libFuzzer run over the framer and codec.
# Set TCPGATE_FUZZ_SECONDS to change the fuzzing time (default 20).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

run_preset() {
  local preset=$1
  echo "=== ${preset}: build and test"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset"
  ctest --preset "$preset" -j2
}

run_preset default

echo "=== deploy: Dockerfile runtime libraries, Kubernetes manifests, dashboard"
tests/deploy/dockerfile_runtime_libs_test.sh build/default/bin
tests/deploy/manifests_test.sh build/default/bin

run_preset asan
run_preset tsan

echo "=== fuzz: framer and codec for ${TCPGATE_FUZZ_SECONDS:-20}s"
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz --target frame_codec_fuzzer
mkdir -p build/fuzz/corpus
build/fuzz/bin/frame_codec_fuzzer -max_total_time="${TCPGATE_FUZZ_SECONDS:-20}" -print_final_stats=1 \
  -dict=tests/fuzz/frame_codec.dict build/fuzz/corpus tests/fuzz/corpus
echo "=== all tests passed"
