// SteadyAfter: the steady-clock time point an absl::Duration from now,
// without overflow. absl::InfiniteDuration() (a caller with no deadline,
// an option set to "inf") or a duration of centuries would otherwise wrap
// std::chrono's 64-bit nanoseconds into the past, and a request meant to
// wait for ever would fail at once.
//
// Thread-safety: a pure function of the clock; safe from any thread.
#ifndef TCPCORE_STEADY_DEADLINE_H_
#define TCPCORE_STEADY_DEADLINE_H_

#include <algorithm>
#include <chrono>

#include "absl/time/time.h"

namespace tcpcore {

// Further than any deadline anyone means; well inside the clock's range.
inline constexpr absl::Duration kFarthestWait = absl::Hours(24 * 365 * 100);

// Now plus `wait`, clamped to [now, now + kFarthestWait].
inline std::chrono::steady_clock::time_point SteadyAfter(absl::Duration wait) {
  return std::chrono::steady_clock::now() +
         absl::ToChronoNanoseconds(std::clamp(wait, absl::ZeroDuration(), kFarthestWait));
}

}  // namespace tcpcore

#endif  // TCPCORE_STEADY_DEADLINE_H_
