#include "tcpcore/rfc3339_time.h"

#include <cstdint>

namespace tcpcore {

void AppendRfc3339Nanos(absl::Time t, std::string& out) {
  struct SecondCache {
    int64_t second = INT64_MIN;
    std::string text;  // "YYYY-MM-DDTHH:MM:SS"
  };
  thread_local SecondCache cache;

  const absl::Time floor = absl::FromUnixSeconds(absl::ToUnixSeconds(t));
  const int64_t second = absl::ToUnixSeconds(floor);
  int64_t nanos = absl::ToInt64Nanoseconds(t - floor);
  if (nanos < 0) nanos = 0;  // ToUnixSeconds rounds toward -inf, so never.
  if (second != cache.second) {
    cache.text = absl::FormatTime("%Y-%m-%d%ET%H:%M:%S", floor, absl::UTCTimeZone());
    cache.second = second;
  }
  char fraction[11] = {'.', '0', '0', '0', '0', '0', '0', '0', '0', '0', 'Z'};
  for (int i = 9; i >= 1; --i) {
    fraction[i] = static_cast<char>('0' + nanos % 10);
    nanos /= 10;
  }
  out.append(cache.text);
  out.append(fraction, sizeof(fraction));
}

}  // namespace tcpcore
