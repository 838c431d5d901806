// Makes --help list a binary's own flags.
//
// absl's --help lists the flags of a file named after the binary
// (tcpgate-backend.cc, tcpgate-backend_main.cc); this project's binaries
// have hyphens in their names and underscores in their files, so --help
// listed nothing ("No flags matched") and only --helpfull showed them.
//
// Thread-safety: call once at the start of main(), before parsing flags.
#ifndef TOOLS_OWN_FLAGS_HELP_H_
#define TOOLS_OWN_FLAGS_HELP_H_

#include "absl/strings/string_view.h"

namespace tcpgate {

// --help and --helpshort list the flags defined in `main_file` (pass
// __FILE__ from the file that defines them); `usage` is the text above them.
void ListOwnFlagsInHelp(absl::string_view main_file, absl::string_view usage);

}  // namespace tcpgate

#endif  // TOOLS_OWN_FLAGS_HELP_H_
