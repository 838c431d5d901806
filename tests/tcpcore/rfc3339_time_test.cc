// Tests for the "Ts" formatter.
#include "tcpcore/rfc3339_time.h"

#include <string>

#include "gtest/gtest.h"

namespace tcpcore {
namespace {

// Verify: nine fractional digits, UTC, "T" and "Z"; parses back exactly.
TEST(Rfc3339Time, FormatsUtcWithNanoseconds) {
  const absl::Time t = absl::FromUnixNanos(1764072245123456789);  // 2025-11-25T12:04:05.123456789Z
  std::string out;
  AppendRfc3339Nanos(t, out);
  EXPECT_EQ(out, "2025-11-25T12:04:05.123456789Z");
  absl::Time parsed;
  std::string error;
  ASSERT_TRUE(absl::ParseTime(absl::RFC3339_full, out, &parsed, &error)) << error;
  EXPECT_EQ(parsed, t);
}

// Verify: the cached second is refreshed when the second changes, and zero
// nanoseconds still print nine digits.
TEST(Rfc3339Time, RefreshesCachedSecond) {
  std::string a, b, c;
  AppendRfc3339Nanos(absl::FromUnixSeconds(0), a);
  AppendRfc3339Nanos(absl::FromUnixNanos(999'999'999), b);
  AppendRfc3339Nanos(absl::FromUnixSeconds(1), c);
  EXPECT_EQ(a, "1970-01-01T00:00:00.000000000Z");
  EXPECT_EQ(b, "1970-01-01T00:00:00.999999999Z");
  EXPECT_EQ(c, "1970-01-01T00:00:01.000000000Z");
}

}  // namespace
}  // namespace tcpcore
