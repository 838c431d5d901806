#!/usr/bin/env bash
# Installs the Debian 12 packages tcpgate needs to build, run and test.
# Idempotent: asks apt only for what is missing, runs `apt-get update` only
# then, and uses sudo when not root. Works on a minimal Debian 12 with no
# compiler.
#
#   scripts/install-deps.sh               build, run and every test
#   scripts/install-deps.sh --build-only  build and run only (scripts/run.sh,
#                                         the container image): no test tools
#   scripts/install-deps.sh --bench       also what docs/performance.md
#                                         compares against (redis, Go, gnuplot)
set -euo pipefail

build_only=false
bench=false
for arg in "$@"; do
  case "$arg" in
    --build-only) build_only=true ;;
    --bench) bench=true ;;
    *) echo "install-deps: unknown argument $arg (use --build-only or --bench)" >&2; exit 2 ;;
  esac
done

# The compiler, build tools and libraries of the three binaries.
packages=(
  g++ cmake ninja-build pkg-config ccache make
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev nlohmann-json3-dev libasio-dev
  libssl-dev  # OpenSSL, which gRPC already uses: the gateway checks its TLS files with it
)
if [[ $build_only == false ]]; then
  # The tests: GoogleTest, benchmarks, the fuzzer's clang, the clients in
  # other languages and the tools the end-to-end tests drive.
  packages+=(
    libgtest-dev libgmock-dev libbenchmark-dev
    clang libclang-rt-14-dev
    netcat-openbsd procps openssl python3 python3-grpcio python3-grpc-tools
    libnss-wrapper  # the scale-out test resolves its backend name from a hosts file of its own
  )
  # Node.js and npm for the Node client test; a machine that has node
  # already (not from Debian) keeps it.
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    packages+=(nodejs npm)
  fi
  # kubectl for the manifest tests (`kubectl kustomize`); a machine that has
  # one already (not from Debian) keeps it.
  if ! command -v kubectl >/dev/null; then
    packages+=(kubernetes-client)
  fi
fi
if [[ $bench == true ]]; then
  packages+=(redis-server redis-tools golang-go gnuplot-nox)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$p")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
