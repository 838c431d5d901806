// Tests for FlagValues: the start line's rendering of the effective flags.
#include "gateway/flag_values.h"

#include "absl/flags/flag.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

ABSL_FLAG(int, fv_count, 4, "a count");
ABSL_FLAG(absl::Duration, fv_timeout, absl::Seconds(3), "a duration");
ABSL_FLAG(std::string, fv_text, "", "a string");

namespace tcpgate {
namespace {

// Verify: values are the current ones, in the order given; empty strings and
// strings with spaces or quotes are quoted so the line still splits on
// spaces; names that are not flags are left out.
TEST(FlagValuesTest, RendersCurrentValuesAndQuotesWhatWouldNotSplit) {
  EXPECT_EQ(FlagValues({"fv_timeout", "fv_count", "fv_text", "no_such_flag"}), "fv_timeout=3s fv_count=4 fv_text=\"\"");
  absl::SetFlag(&FLAGS_fv_count, 7);
  absl::SetFlag(&FLAGS_fv_timeout, absl::Milliseconds(250));
  absl::SetFlag(&FLAGS_fv_text, "a \"b\"");
  EXPECT_EQ(FlagValues({"fv_count", "fv_timeout", "fv_text"}), "fv_count=7 fv_timeout=250ms fv_text=\"a \\\"b\\\"\"");
  absl::SetFlag(&FLAGS_fv_text, "x,y");
  EXPECT_EQ(FlagValues({"fv_text"}), "fv_text=x,y");
}

}  // namespace
}  // namespace tcpgate
