#include "gateway/flag_values.h"

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace tcpgate {

std::string FlagValues(const std::vector<std::string>& names) {
  std::string line;
  for (const std::string& name : names) {
    const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr) continue;
    const std::string value = flag->CurrentValue();
    const bool quote = value.empty() || value.find_first_of(" \"") != std::string::npos;
    absl::StrAppend(&line, line.empty() ? "" : " ", name, "=",
                    quote ? absl::StrCat("\"", absl::CEscape(value), "\"") : value);
  }
  return line;
}

}  // namespace tcpgate
