// Tests for LogLineLimiter: which lines of a repeating message are written.
#include "tcpcore/log_line_limiter.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace tcpcore {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1764590000);

// Verify: a burst is written whole, then lines are dropped until the
// interval refills one, and that one says how many were dropped.
TEST(LogLineLimiterTest, BurstThenOnePerIntervalReportingTheDropped) {
  LogLineLimiter limiter(3, absl::Seconds(1));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter.Admit("call.cc:1", kStart), 0) << i;
  for (int i = 0; i < 5; ++i) EXPECT_EQ(limiter.Admit("call.cc:1", kStart + absl::Milliseconds(100 * i)), std::nullopt);
  EXPECT_EQ(limiter.Admit("call.cc:1", kStart + absl::Seconds(1)), 5);
  EXPECT_EQ(limiter.Admit("call.cc:1", kStart + absl::Milliseconds(1100)), std::nullopt);
  EXPECT_EQ(limiter.Admit("call.cc:1", kStart + absl::Seconds(2)), 1);
}

// Verify: sources are limited each on its own; a quiet source refills to the
// burst, not beyond.
TEST(LogLineLimiterTest, SourcesAreSeparateAndRefillStopsAtTheBurst) {
  LogLineLimiter limiter(2, absl::Seconds(1));
  EXPECT_EQ(limiter.Admit("a", kStart), 0);
  EXPECT_EQ(limiter.Admit("a", kStart), 0);
  EXPECT_EQ(limiter.Admit("a", kStart), std::nullopt);
  EXPECT_EQ(limiter.Admit("b", kStart), 0);
  // An hour later "a" has two lines again, not 3600.
  const absl::Time later = kStart + absl::Hours(1);
  EXPECT_EQ(limiter.Admit("a", later), 1);
  EXPECT_EQ(limiter.Admit("a", later), 0);
  EXPECT_EQ(limiter.Admit("a", later), std::nullopt);
}

// Verify: a clock that steps back adds no line, and the source refills
// from the new time on, not from the old one (an hour's step back must not
// silence it for an hour).
TEST(LogLineLimiterTest, ClockSteppingBackNeitherAddsNorSilences) {
  LogLineLimiter limiter(1, absl::Seconds(1));
  EXPECT_EQ(limiter.Admit("a", kStart), 0);
  const absl::Time stepped = kStart - absl::Hours(1);
  EXPECT_EQ(limiter.Admit("a", stepped), std::nullopt);
  EXPECT_EQ(limiter.Admit("a", stepped + absl::Milliseconds(500)), std::nullopt);
  EXPECT_EQ(limiter.Admit("a", stepped + absl::Seconds(1)), 2);
}

// Verify: the drops of a source that went quiet are handed over once, and
// its next line written reports only what was dropped after that.
TEST(LogLineLimiterTest, TakeDroppedHandsOverQuietSourcesOnce) {
  LogLineLimiter limiter(1, absl::Seconds(1));
  EXPECT_EQ(limiter.Admit("a", kStart), 0);
  EXPECT_EQ(limiter.Admit("a", kStart), std::nullopt);
  EXPECT_EQ(limiter.Admit("a", kStart), std::nullopt);
  EXPECT_EQ(limiter.Admit("b", kStart), 0);
  const std::vector<std::pair<std::string, int64_t>> dropped = limiter.TakeDropped();
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_EQ(dropped[0], std::make_pair(std::string("a"), int64_t{2}));
  EXPECT_TRUE(limiter.TakeDropped().empty());
  EXPECT_EQ(limiter.Admit("a", kStart + absl::Milliseconds(500)), std::nullopt);
  EXPECT_EQ(limiter.Admit("a", kStart + absl::Seconds(2)), 1);
}

}  // namespace
}  // namespace tcpcore
