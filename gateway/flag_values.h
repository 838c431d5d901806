// Renders flags as "name=value" pairs for the gateway's start line, so the
// log shows the whole effective configuration (command line, environment and
// defaults alike) and a new flag appears there without a list to keep up.
//
// Thread-safety: call after the flags are parsed, before anything sets them.
#ifndef GATEWAY_FLAG_VALUES_H_
#define GATEWAY_FLAG_VALUES_H_

#include <string>
#include <vector>

namespace tcpgate {

// "a=1 b=\"\" c=x", in the order of `names`; a value that is empty or holds
// a space or a quote is written in double quotes, C-escaped. Names that are
// not flags are skipped.
std::string FlagValues(const std::vector<std::string>& names);

}  // namespace tcpgate

#endif  // GATEWAY_FLAG_VALUES_H_
