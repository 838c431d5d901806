// Tests of FlagsDefinedIn and ApplyFlagsFromEnv: every flag of a file is
// settable from the environment, and a bad value is reported.
#include "gateway/flags_from_env.h"

#include <cstdlib>
#include <string>

#include "absl/flags/flag.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

ABSL_FLAG(std::string, env_test_path, "", "a string flag of this test");
ABSL_FLAG(int, env_test_count, 1, "an int flag of this test");

namespace tcpgate {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Verify: the flags of this file are found, and only those.
TEST(FlagsFromEnvTest, FlagsDefinedInListsThisFilesFlags) {
  EXPECT_THAT(FlagsDefinedIn(__FILE__), ElementsAre("env_test_count", "env_test_path"));
}

// Verify: PREFIX_NAME sets --name; a value that does not parse is an error
// naming the variable.
TEST(FlagsFromEnvTest, EnvironmentSetsFlags) {
  ::setenv("ENVTEST_ENV_TEST_PATH", "/etc/tcpgate/cert.pem", 1);
  ::setenv("ENVTEST_ENV_TEST_COUNT", "many", 1);
  const std::vector<std::string> errors = ApplyFlagsFromEnv("ENVTEST_", FlagsDefinedIn(__FILE__));
  EXPECT_EQ(absl::GetFlag(FLAGS_env_test_path), "/etc/tcpgate/cert.pem");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0], HasSubstr("ENVTEST_ENV_TEST_COUNT"));
  ::unsetenv("ENVTEST_ENV_TEST_PATH");
  ::unsetenv("ENVTEST_ENV_TEST_COUNT");
}

// Verify: a variable with the prefix that names no flag is reported, and
// the ones that do are not.
TEST(FlagsFromEnvTest, UnknownVariablesAreListed) {
  ::setenv("ENVTEST_ENV_TEST_PATH", "x", 1);
  ::setenv("ENVTEST_ENV_TEST_CUONT", "3", 1);
  EXPECT_THAT(UnknownEnvVariables("ENVTEST_", FlagsDefinedIn(__FILE__)), ElementsAre("ENVTEST_ENV_TEST_CUONT"));
  ::unsetenv("ENVTEST_ENV_TEST_PATH");
  ::unsetenv("ENVTEST_ENV_TEST_CUONT");
}

}  // namespace
}  // namespace tcpgate
