// Formats timestamps for the "Ts" field: RFC 3339 in UTC with nanoseconds,
// e.g. "2026-11-25T12:00:00.123456789Z".
//
// Thread-safety: safe from any thread. Each thread caches the text of the
// last whole second it formatted, so the common case formats only the
// fraction and allocates nothing.
#ifndef TCPCORE_RFC3339_TIME_H_
#define TCPCORE_RFC3339_TIME_H_

#include <string>

#include "absl/time/time.h"

namespace tcpcore {

// Appends `t` to `out` as RFC 3339 UTC with exactly nine fractional digits.
void AppendRfc3339Nanos(absl::Time t, std::string& out);

}  // namespace tcpcore

#endif  // TCPCORE_RFC3339_TIME_H_
