#include "tcpcore/option_rules.h"

#include "absl/strings/str_cat.h"

namespace tcpcore {

absl::Status InvalidOption(absl::string_view name, absl::string_view value, absl::string_view rule) {
  return absl::InvalidArgumentError(absl::StrCat(name, "=", value, ": ", rule));
}

absl::Status CheckDurationOption(absl::string_view name, absl::Duration value, absl::Duration least,
                                 absl::Duration most, absl::string_view rule) {
  if (value == absl::InfiniteDuration() || value < least || value > most) {
    return InvalidOption(name, absl::FormatDuration(value), rule);
  }
  return absl::OkStatus();
}

absl::Status CheckCountOption(absl::string_view name, int64_t value, int64_t least, int64_t most,
                              absl::string_view rule) {
  if (value < least || value > most) return InvalidOption(name, absl::StrCat(value), rule);
  return absl::OkStatus();
}

}  // namespace tcpcore
