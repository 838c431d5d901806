#include "gateway/command_line_arguments.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace tcpgate {

std::vector<FlagArgument> FlagArguments(int argc, char** argv) {
  std::vector<FlagArgument> flags;
  for (int i = 1; i < argc; ++i) {
    absl::string_view argument = argv[i];
    if (argument == "--") break;
    if (!absl::ConsumePrefix(&argument, "--") && !absl::ConsumePrefix(&argument, "-")) continue;
    FlagArgument flag;
    const std::size_t equals = argument.find('=');
    flag.name = argument.substr(0, equals);
    if (equals != absl::string_view::npos) flag.value = argument.substr(equals + 1);
    if (i + 1 < argc) flag.next = argv[i + 1];
    flags.push_back(flag);
  }
  return flags;
}

std::optional<absl::string_view> LastValueOf(const std::vector<FlagArgument>& arguments, absl::string_view name) {
  std::optional<absl::string_view> value;
  for (const FlagArgument& flag : arguments) {
    if (flag.name == name) value = flag.value.value_or(flag.next.value_or(""));
  }
  return value;
}

std::vector<std::string> FlagsNotSetOnTheCommandLine(const std::vector<FlagArgument>& arguments,
                                                     const std::vector<std::string>& own_flags) {
  absl::flat_hash_set<absl::string_view> given;
  for (const FlagArgument& flag : arguments) {
    given.insert(flag.name);
    absl::string_view negated = flag.name;
    if (absl::ConsumePrefix(&negated, "no")) given.insert(negated);  // --noname, for a bool.
  }
  std::vector<std::string> left;
  for (const std::string& name : own_flags) {
    if (!given.contains(name)) left.push_back(name);
  }
  return left;
}

std::vector<std::string> CommandLineValueErrors(const std::vector<FlagArgument>& arguments,
                                                const std::vector<std::string>& own_flags) {
  std::vector<std::string> errors;
  for (const FlagArgument& flag : arguments) {
    if (!flag.value || std::find(own_flags.begin(), own_flags.end(), flag.name) == own_flags.end()) continue;
    absl::CommandLineFlag* found = absl::FindCommandLineFlag(flag.name);
    std::string error;
    // A value that parses is set again, in order, by ParseCommandLine.
    if (found != nullptr && !found->ParseFrom(*flag.value, &error)) {
      errors.push_back(absl::StrCat("--", flag.name, ": ", error));
    }
  }
  return errors;
}

}  // namespace tcpgate
