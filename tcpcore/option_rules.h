// The rules the option checks (CheckPoolOptions, CheckServerOptions) apply
// to one value: a count within bounds, a duration within bounds and finite.
// Each error is INVALID_ARGUMENT reading "name=value: rule", so a program
// whose flags share the options' names can print it as it is.
//
// Thread-safety: pure functions.
#ifndef TCPCORE_OPTION_RULES_H_
#define TCPCORE_OPTION_RULES_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace tcpcore {

// The longest any wait or timeout may sensibly be.
inline constexpr absl::Duration kLongestOptionDuration = absl::Hours(24 * 365);

absl::Status InvalidOption(absl::string_view name, absl::string_view value, absl::string_view rule);

// OK when `value` is within [least, most] and finite.
absl::Status CheckDurationOption(absl::string_view name, absl::Duration value, absl::Duration least,
                                 absl::Duration most, absl::string_view rule);

// OK when `value` is within [least, most].
absl::Status CheckCountOption(absl::string_view name, int64_t value, int64_t least, int64_t most,
                              absl::string_view rule);

}  // namespace tcpcore

#endif  // TCPCORE_OPTION_RULES_H_
