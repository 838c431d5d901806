// For tests: waits, bounded, for a condition that another thread or process
// makes true and that offers no event to wait on (stats, counters, state).
//
// Thread-safety: a free function; `condition` is called on the caller's
// thread only.
#ifndef TESTS_EVENTUALLY_H_
#define TESTS_EVENTUALLY_H_

#include "absl/functional/function_ref.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace tcpgate_test {

// Calls `condition` every `every` until it returns true (then true) or
// `timeout` passes (then false, after a last call).
inline bool Eventually(absl::FunctionRef<bool()> condition, absl::Duration timeout = absl::Seconds(10),
                       absl::Duration every = absl::Milliseconds(2)) {
  const absl::Time give_up = absl::Now() + timeout;
  while (absl::Now() < give_up) {
    if (condition()) return true;
    absl::SleepFor(every);
  }
  return condition();
}

}  // namespace tcpgate_test

#endif  // TESTS_EVENTUALLY_H_
