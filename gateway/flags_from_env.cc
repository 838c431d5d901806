#include "gateway/flags_from_env.h"

#include <algorithm>
#include <cstdlib>

#include <unistd.h>  // environ

#include "absl/container/flat_hash_set.h"
#include "absl/flags/reflection.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace tcpgate {
namespace {

// PREFIX_NAME_IN_CAPITALS: the variable that sets flag `name`.
std::string VariableFor(absl::string_view prefix, absl::string_view name) {
  return absl::StrCat(prefix, absl::AsciiStrToUpper(name));
}

}  // namespace

std::vector<std::string> ApplyFlagsFromEnv(absl::string_view prefix, const std::vector<std::string>& names) {
  std::vector<std::string> errors;
  for (const std::string& name : names) {
    const std::string variable = VariableFor(prefix, name);
    const char* value = std::getenv(variable.c_str());
    if (value == nullptr) continue;
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr) continue;
    std::string error;
    if (!flag->ParseFrom(value, &error)) errors.push_back(absl::StrCat(variable, ": ", error));
  }
  return errors;
}

std::vector<std::string> UnknownEnvVariables(absl::string_view prefix, const std::vector<std::string>& names) {
  absl::flat_hash_set<std::string> known;
  for (const std::string& name : names) known.insert(VariableFor(prefix, name));
  std::vector<std::string> unknown;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const absl::string_view variable = absl::string_view(*entry).substr(0, absl::string_view(*entry).find('='));
    if (absl::StartsWith(variable, prefix) && !known.contains(variable)) unknown.emplace_back(variable);
  }
  std::sort(unknown.begin(), unknown.end());
  return unknown;
}

std::vector<std::string> FlagsDefinedIn(absl::string_view file) {
  // Abseil reports a flag's file with its leading slashes removed
  // (absl/flags/usage_config: NormalizeFilename); do the same to __FILE__.
  const std::size_t start = file.find_first_not_of("/\\");
  file.remove_prefix(start == absl::string_view::npos ? file.size() : start);
  std::vector<std::string> names;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (flag->Filename() == file) names.emplace_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace tcpgate
