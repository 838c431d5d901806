#!/usr/bin/env bash
# Renders deploy/k8s (base, overlays/dev, overlays/prod, overlays/tls) with `kubectl
# kustomize` and checks every rendered object:
#   validate_schema.js  Kubernetes API schema (kubernetes-models) and unknown fields
#   check_drift.js      flags, ports, probes (none over gRPC to a TLS port), secret files
#                       from volumes kubelet updates, grace period, connection and memory budgets
#                       against the binaries' own --helpfull; NetworkPolicies
#                       that would keep the gateway out; base flags an
#                       overlay's args drop; one log format per render
#   compare_renders.js  kustomize v5 and kubectl 1.20's kustomize v2.0.3 (Debian
#                       12's kubernetes-client) render the same objects
# and the Grafana dashboard (check_dashboard.js: JSON, the metric names
# against the /metrics page of the built tcpgate; its queries parsed by
# promtool) and the Prometheus alert rules (promtool check rules;
# check_alerts.js: names, severities, the metric names, the operations
# guide's table, and the rules' unit tests, alerts_test.yaml, under promtool).
# Usage: manifests_test.sh [BIN_DIR]   (default build/default/bin)
# PROMTOOL: a promtool to use instead of Debian's prometheus package's.
# Environment: KUBECTL (default kubectl); OLD_KUBECTL, a kubectl 1.20. Without
# it the script unpacks Debian's kubernetes-client into build/tools/ once
# (apt-get download, no install) and skips that render when it cannot.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin_dir="${1:-$root/build/default/bin}"
[[ -d "$bin_dir" ]] || { echo "FAIL: no binaries directory $bin_dir (build the default preset first)" >&2; exit 1; }
bin_dir="$(cd "$bin_dir" && pwd)"
here="$root/tests/deploy"
kubectl="${KUBECTL:-kubectl}"
overlays=(base overlays/dev overlays/prod overlays/tls)

passed=0
failed=0
check() {  # check NAME COMMAND...: runs one check and counts it
  local name=$1
  shift
  if "$@"; then
    passed=$((passed + 1))
  else
    echo "FAIL: $name" >&2
    failed=$((failed + 1))
  fi
}

(cd "$here" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# kustomize v5 prints "# Warning:" lines for bases: and patchesStrategicMerge:,
# which the overlays keep on purpose (v2.0.3 knows nothing newer).
render() {  # render KUBECTL NAME OVERLAY OUT
  local k=$1 name=$2 overlay=$3 out=$4
  if ! "$k" kustomize "$root/deploy/k8s/$overlay" >"$out" 2>"$out.err"; then
    echo "$name: kubectl kustomize deploy/k8s/$overlay failed:" >&2
    cat "$out.err" >&2
    return 1
  fi
  grep -v -E "^# Warning: '(bases|patchesStrategicMerge)' is deprecated" "$out.err" >&2 || true
}

# Which kustomize a kubectl carries: kubectl >= 1.24 prints its version;
# 1.20 has v2.0.3 and prints nothing about it.
flavor() {
  "$1" version --client 2>/dev/null | grep -q '^Kustomize Version: v' && echo v5 || echo v2
}

# A program from a Debian package, unpacked into build/tools/PACKAGE once
# (apt-get download and dpkg -x: no install, no service); prints its path, or
# nothing when it cannot be had.
debian_tool() {  # debian_tool PACKAGE PROGRAM
  local package=$1 program=$2
  local dir="$root/build/tools/$package"
  if [[ ! -x "$dir/usr/bin/$program" ]] && command -v apt-get >/dev/null; then
    local dl
    dl=$(mktemp -d)
    if (cd "$dl" && apt-get download -q "$package" >/dev/null 2>&1); then
      mkdir -p "$dir" && dpkg -x "$dl"/"${package}"_*.deb "$dir"
    fi
    rm -rf "$dl"
  fi
  [[ -x "$dir/usr/bin/$program" ]] && echo "$dir/usr/bin/$program"
}

old_kubectl() {  # prints the path of a kubectl 1.20, or nothing
  if [[ -n "${OLD_KUBECTL:-}" ]]; then
    echo "$OLD_KUBECTL"
    return
  fi
  debian_tool kubernetes-client kubectl
}

# Renderers: the kubectl on PATH, and a kubectl 1.20 when it is another one.
renderers=()
command -v "$kubectl" >/dev/null || { echo "FAIL: no $kubectl (scripts/install-deps.sh installs kubernetes-client)" >&2; exit 1; }
renderers+=("$(flavor "$kubectl"):$kubectl")
if [[ "$(flavor "$kubectl")" == v5 ]]; then
  old=$(old_kubectl || true)
  if [[ -n "$old" && "$(flavor "$old")" == v2 ]]; then
    renderers+=("v2:$old")
  else
    echo "SKIP: no kubectl 1.20 to render with kustomize v2.0.3 (set OLD_KUBECTL)" >&2
  fi
else
  echo "SKIP: $kubectl carries kustomize v2.0.3; no kustomize v5 render" >&2
fi

renders=()
for r in "${renderers[@]}"; do
  flavor=${r%%:*}
  mkdir -p "$tmp/$flavor"
  for overlay in "${overlays[@]}"; do
    name="$flavor-${overlay##*/}"
    out="$tmp/$flavor/${overlay##*/}.yaml"
    check "render $name" render "${r#*:}" "$name" "$overlay" "$out" && renders+=("$name=$out")
  done
done
echo "manifests_test: rendered ${renders[*]%%=*} (${renderers[*]})"

check "schema" node "$here/validate_schema.js" "${renders[@]}"
# Drift depends on the objects, not on who rendered them (compared below).
first=${renderers[0]%%:*}
drift_renders=()
for r in "${renders[@]}"; do [[ "$r" == "$first-"* ]] && drift_renders+=("$r"); done
check "drift" node "$here/check_drift.js" --bin "$bin_dir" --repo "$root" --base "$first-base" "${drift_renders[@]}"
if [[ ${#renderers[@]} -gt 1 ]]; then
  for overlay in "${overlays[@]}"; do
    o=${overlay##*/}
    [[ -f "$tmp/v5/$o.yaml" && -f "$tmp/v2/$o.yaml" ]] || continue
    check "compare $o" node "$here/compare_renders.js" "v5-$o=$tmp/v5/$o.yaml" "v2-$o=$tmp/v2/$o.yaml"
  done
fi

# promtool: Prometheus's rule checker and rule unit tester, from Debian's
# prometheus package, unpacked into build/tools/ once (apt-get download, no
# install, no service), as kubectl 1.20 above.
find_promtool() {  # prints the path of a promtool, or nothing
  if [[ -n "${PROMTOOL:-}" ]]; then
    echo "$PROMTOOL"
    return
  fi
  if command -v promtool >/dev/null; then
    command -v promtool
    return
  fi
  debian_tool prometheus promtool
}
promtool_bin=$(find_promtool || true)
[[ -n "$promtool_bin" ]] || { echo "FAIL: no promtool (apt-get download prometheus failed; set PROMTOOL)" >&2; exit 1; }

check "dashboard" node "$here/check_dashboard.js" --rules-out "$tmp/dashboard-queries.yaml" \
  "$root/deploy/grafana/tcpgate.json" "$bin_dir/tcpgate"
check "dashboard queries parse" "$promtool_bin" check rules "$tmp/dashboard-queries.yaml"
check "alert rules parse" "$promtool_bin" check rules "$root/deploy/prometheus/tcpgate-alerts.yaml"
check "alerts" node "$here/check_alerts.js" "$root/deploy/prometheus/tcpgate-alerts.yaml" "$bin_dir/tcpgate" \
  "$root/docs/operations.md" "$promtool_bin"

echo "manifests_test: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
