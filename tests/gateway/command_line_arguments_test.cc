// The command line as written, read before Abseil parses it.
#include "gateway/command_line_arguments.h"

#include <initializer_list>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

ABSL_FLAG(int, probe_count, 1, "a flag of this test");
ABSL_FLAG(bool, probe_switch, false, "a flag of this test");

namespace tcpgate {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Optional;

// The views point into the literals, which outlive them.
std::vector<FlagArgument> Parse(std::initializer_list<const char*> words) {
  std::vector<char*> argv;
  for (const char* word : words) argv.push_back(const_cast<char*>(word));  // Only read.
  return FlagArguments(static_cast<int>(argv.size()), argv.data());
}

TEST(CommandLineArgumentsTest, ReadsEveryFormOfAFlagAndStopsAtDoubleDash) {
  const std::vector<FlagArgument> flags =
      Parse({"tcpgate", "--a=1", "-b", "2", "plain", "--c=", "--", "--d=4"});
  ASSERT_EQ(flags.size(), 3u);
  EXPECT_EQ(flags[0].name, "a");
  EXPECT_THAT(flags[0].value, Optional(absl::string_view("1")));
  EXPECT_EQ(flags[1].name, "b");
  EXPECT_FALSE(flags[1].value.has_value());
  EXPECT_THAT(flags[1].next, Optional(absl::string_view("2")));
  EXPECT_EQ(flags[2].name, "c");
  EXPECT_THAT(flags[2].value, Optional(absl::string_view("")));
}

TEST(CommandLineArgumentsTest, LastValueOfTakesTheLastMentionInEitherForm) {
  EXPECT_THAT(LastValueOf(Parse({"x", "--log_format=text", "--log_format", "json"}), "log_format"),
              Optional(absl::string_view("json")));
  EXPECT_THAT(LastValueOf(Parse({"x", "--log_format", "json", "--log_format=text"}), "log_format"),
              Optional(absl::string_view("text")));
  EXPECT_EQ(LastValueOf(Parse({"x", "--other=1"}), "log_format"), std::nullopt);
  // Named last with no value: named all the same (empty), so an earlier
  // value or the environment does not win.
  EXPECT_THAT(LastValueOf(Parse({"x", "--log_format=json", "--log_format"}), "log_format"),
              Optional(absl::string_view("")));
}

TEST(CommandLineArgumentsTest, FlagsNotSetLeavesOutEveryFormIncludingNegation) {
  const std::vector<std::string> own = {"alpha", "beta", "gamma", "delta"};
  EXPECT_THAT(FlagsNotSetOnTheCommandLine(Parse({"x", "--alpha=1", "--beta", "2", "--nogamma"}), own),
              ElementsAre("delta"));
  EXPECT_THAT(FlagsNotSetOnTheCommandLine(Parse({"x", "--", "--alpha=1"}), own),
              ElementsAre("alpha", "beta", "gamma", "delta"));
}

TEST(CommandLineArgumentsTest, ValueErrorsNameOwnFlagsWhoseValueDoesNotParse) {
  const std::vector<std::string> own = {"probe_count", "probe_switch"};
  EXPECT_THAT(CommandLineValueErrors(Parse({"x", "--probe_count=2", "--probe_switch=true"}), own), IsEmpty());
  const std::vector<std::string> errors =
      CommandLineValueErrors(Parse({"x", "--probe_count=many", "--probe_switch=perhaps"}), own);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_THAT(errors[0], ::testing::StartsWith("--probe_count: "));
  EXPECT_THAT(errors[1], ::testing::StartsWith("--probe_switch: "));
  // Flags of other parts of the program are Abseil's parser's to check.
  EXPECT_THAT(CommandLineValueErrors(Parse({"x", "--probe_count=many"}), {"probe_switch"}), IsEmpty());
}

}  // namespace
}  // namespace tcpgate
