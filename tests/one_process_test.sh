# Sourced by the shell tests that run one binary at a time in the
# background: a scratch directory $work, and $pid (set it to the binary's
# pid, empty it once waited for), killed and removed when the test exits
# however it exits. Also brings port_from_log.
source "$(dirname "${BASH_SOURCE[0]}")/port_from_log.sh"
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
