#!/usr/bin/env bash
# Static check of deploy/Dockerfile against the built binaries (no Docker
# needed): every shared library that ldd reports for tcpgate, tcpgate-backend
# and tcpgate-cli must come from a Debian package that the final stage
# installs (or that bookworm-slim already has), and the final stage must run
# as a numeric non-root USER with ENTRYPOINT tcpgate.
# Usage: dockerfile_runtime_libs_test.sh [BIN_DIR] [DOCKERFILE]
#   defaults: build/default/bin and deploy/Dockerfile, relative to the repo root.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin_dir="${1:-$root/build/default/bin}"
dockerfile="${2:-$root/deploy/Dockerfile}"
binaries=(tcpgate tcpgate-backend tcpgate-cli)
# In debian:bookworm-slim already (its rootfs manifest); the C and C++
# runtimes every binary needs.
in_slim_base=(libc6 libgcc-s1 libstdc++6)

failures=()
fail() { failures+=("$1"); }

# --- The final stage of the Dockerfile: everything after the last FROM, with
# backslash continuations joined into one logical line per instruction.
[[ -f "$dockerfile" ]] || { echo "FAIL: no Dockerfile at $dockerfile" >&2; exit 1; }
final_stage=$(awk '
  /^[[:space:]]*#/ { next }
  { line = line $0 }
  /\\[[:space:]]*$/ { sub(/\\[[:space:]]*$/, " ", line); next }
  { print line; line = "" }
' "$dockerfile" | awk 'toupper($1) == "FROM" { stage = "" } { stage = stage $0 "\n" } END { printf "%s", stage }')

# Packages named by `apt-get install` in RUN lines of the final stage: the
# words after "install" up to the end of that shell command, options and
# version pins (pkg=1.2) dropped.
installed=$(printf '%s\n' "$final_stage" | grep -iE '^[[:space:]]*RUN[[:space:]]' | tr ';|&' '\n\n\n' |
  awk '{ for (i = 1; i < NF; i++) if ($i ~ /^(apt-get|apt)$/) { for (j = i + 1; j <= NF; j++) if ($j == "install") break
           for (k = j + 1; k <= NF; k++) if ($k !~ /^-/) { sub(/=.*/, "", $k); print $k } } }' | sort -u)

# --- Libraries of each binary ("binary soname path" lines), then one dpkg -S
# for all of them (dpkg reads its whole database per call).
libs=$(mktemp)
lib_packages=$(mktemp)
trap 'rm -f "$libs" "$lib_packages"' EXIT
for b in "${binaries[@]}"; do
  exe="$bin_dir/$b"
  [[ -x "$exe" ]] || { fail "$b: no executable at $exe (build the default preset first)"; continue; }
  ldd_out=$(ldd "$exe") || { fail "$b: ldd failed"; continue; }
  while read -r lib; do fail "$b: ldd cannot find $lib"; done < <(awk '/not found/ { print $1 }' <<<"$ldd_out")
  awk -v b="$b" '$2 == "=>" && $3 ~ /^\// { print b, $1, $3 } $1 ~ /^\// { print b, $1, $1 }' <<<"$ldd_out" >>"$libs"
done
# Merged /usr: dpkg knows each file under the path its package shipped,
# /lib/... for some (libc6), /usr/lib/... for most; so ask for the path ldd
# printed, its real path, and both with and without /usr.
spellings() {
  local c
  for c in "$1" "$(readlink -f "$1")"; do
    echo "$c"
    case "$c" in /usr/*) echo "${c#/usr}" ;; *) echo "/usr$c" ;; esac
  done
}
declare -A owner=()
if [[ -s "$libs" ]]; then
  mapfile -t queries < <(while read -r _ _ path; do spellings "$path"; done <"$libs" | sort -u)
  # "pkg:amd64: /path", or "pkg1:amd64, pkg2:amd64: /path"; diversion lines
  # and misses (on stderr) are skipped.
  while IFS= read -r line; do
    [[ "$line" == diversion* || "$line" != *": /"* ]] && continue
    path="/${line#*: /}"
    pkg=${line%%: /*}
    pkg=${pkg%%,*}
    owner[$path]=${pkg%%:*}
  done < <(dpkg -S "${queries[@]}" 2>/dev/null || true)
fi
while read -r b soname path; do
  pkg=""
  while read -r c; do
    [[ -n "${owner[$c]:-}" ]] && { pkg=${owner[$c]}; break; }
  done < <(spellings "$path")
  if [[ -z "$pkg" ]]; then
    fail "$b: $soname ($path) belongs to no Debian package; the image would need to COPY it"
  else
    echo "$pkg $b $soname" >>"$lib_packages"
  fi
done <"$libs"

missing=()
for pkg in $(awk '{ print $1 }' "$lib_packages" | sort -u); do
  [[ " ${in_slim_base[*]} " == *" $pkg "* ]] && continue
  grep -qxF "$pkg" <<<"$installed" && continue
  missing+=("$pkg (for $(awk -v p="$pkg" '$1 == p { print $3 }' "$lib_packages" | sort -u | paste -sd' ' -))")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  fail "the final stage of $dockerfile does not apt-get install ${#missing[@]} runtime package(s): $(printf '%s\n' "${missing[@]}" | paste -sd';' - | sed 's/;/; /g')"
fi

# --- USER: the last one of the final stage, numeric and not 0.
user=$(printf '%s\n' "$final_stage" | awk 'toupper($1) == "USER" { u = $2 } END { print u }')
if [[ -z "$user" ]]; then
  fail "final stage has no USER (the container would run as root)"
elif ! [[ "${user%%:*}" =~ ^[0-9]+$ ]] || [[ "${user%%:*}" == 0 ]]; then
  fail "final stage USER '$user' must be a numeric non-zero uid (Kubernetes runAsNonRoot cannot check a user name)"
fi

# --- ENTRYPOINT: exec form running tcpgate.
entrypoint=$(printf '%s\n' "$final_stage" | awk 'toupper($1) == "ENTRYPOINT" { $1 = ""; e = $0 } END { print e }')
if ! [[ "$entrypoint" =~ ^[[:space:]]*\[[[:space:]]*\"(/usr/local/bin/)?tcpgate\" ]]; then
  fail "final stage ENTRYPOINT is '${entrypoint# }', want [\"tcpgate\", ...] (exec form, so tcpgate gets SIGTERM itself)"
fi

# --- Every binary is copied into the final stage, and the ports are exposed.
for b in "${binaries[@]}"; do
  printf '%s\n' "$final_stage" | grep -iE "^[[:space:]]*COPY[[:space:]].*/$b([[:space:]]|$)" >/dev/null ||
    fail "final stage does not COPY $b"
done
for port in 50051 9090; do
  printf '%s\n' "$final_stage" | grep -iE "^[[:space:]]*EXPOSE[[:space:]].*\b$port\b" >/dev/null ||
    fail "final stage does not EXPOSE $port"
done

echo "dockerfile_runtime_libs_test: packages the binaries load:" \
  "$(awk '{ print $1 }' "$lib_packages" | sort -u | paste -sd' ' -)"
if [[ ${#failures[@]} -gt 0 ]]; then
  printf 'FAIL: %s\n' "${failures[@]}" >&2
  echo "dockerfile_runtime_libs_test: FAILED (${#failures[@]} problems)" >&2
  exit 1
fi
echo "dockerfile_runtime_libs_test: OK (final stage installs every runtime package; USER $user; ENTRYPOINT${entrypoint})"
