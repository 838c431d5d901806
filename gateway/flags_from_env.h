// Lets every command-line flag also be set from the environment, so a
// Kubernetes ConfigMap can configure the binaries: TCPGATE_MAX_PENDING=100
// sets --max_pending=100. The command line wins over the environment (the
// caller leaves out of `names` the flags the command line sets).
// FlagsDefinedIn(__FILE__) lists the flags a binary's main file defines, so
// a new flag is settable from the environment without a list to keep up.
//
// Thread-safety: call once from main(), before absl::ParseCommandLine().
#ifndef GATEWAY_FLAGS_FROM_ENV_H_
#define GATEWAY_FLAGS_FROM_ENV_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace tcpgate {

// For each flag in `names`, applies the environment variable `prefix` +
// NAME_IN_CAPITALS when it is set. Returns one error line per variable that
// does not parse (empty when all are fine).
std::vector<std::string> ApplyFlagsFromEnv(absl::string_view prefix, const std::vector<std::string>& names);

// Variables in the environment that start with `prefix` and set no flag in
// `names` (a typo, TCPGATE_POOLSIZE), sorted; the binary warns of them.
std::vector<std::string> UnknownEnvVariables(absl::string_view prefix, const std::vector<std::string>& names);

// Names of the flags defined (ABSL_FLAG) in the source file `file`; pass
// __FILE__ from that file. Sorted.
std::vector<std::string> FlagsDefinedIn(absl::string_view file);

}  // namespace tcpgate

#endif  // GATEWAY_FLAGS_FROM_ENV_H_
