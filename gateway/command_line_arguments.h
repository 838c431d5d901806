// The flag arguments of a command line as written, before Abseil parses
// them: what a binary must know before its flags are parsed (which flags
// the command line sets, so the environment does not override them; values
// that would not parse, so the error is written in the binary's log format
// rather than by Abseil's parser).
//
// Thread-safety: pure functions, except that CommandLineValueErrors reads
// the flag registry (call it from main(), before other threads).
#ifndef GATEWAY_COMMAND_LINE_ARGUMENTS_H_
#define GATEWAY_COMMAND_LINE_ARGUMENTS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace tcpgate {

// One flag argument: "--name=value", "--name value", "--name" or "-name".
// The views point into argv.
struct FlagArgument {
  absl::string_view name;                  // Without its dashes.
  std::optional<absl::string_view> value;  // After '=', when given so.
  std::optional<absl::string_view> next;   // The argument after it: the value of "--name value".
};

// The flag arguments of argv[1..argc), up to a "--"; other arguments are
// left out.
std::vector<FlagArgument> FlagArguments(int argc, char** argv);

// The value the command line gives `name` (the last one wins, as in
// Abseil's parser): after '=', else the argument after it, else empty (the
// flag is the last argument); nullopt when the command line does not name
// the flag.
std::optional<absl::string_view> LastValueOf(const std::vector<FlagArgument>& arguments, absl::string_view name);

// Of `own_flags`, those the command line does not set (as --name=value,
// --name value, --name or --noname).
std::vector<std::string> FlagsNotSetOnTheCommandLine(const std::vector<FlagArgument>& arguments,
                                                     const std::vector<std::string>& own_flags);

// "--name: why" for each --name=value of `own_flags` whose value does not
// parse as the flag's type.
std::vector<std::string> CommandLineValueErrors(const std::vector<FlagArgument>& arguments,
                                                const std::vector<std::string>& own_flags);

}  // namespace tcpgate

#endif  // GATEWAY_COMMAND_LINE_ARGUMENTS_H_
