// ReadFileContents, ReadPemFile: the whole content of a small file (a PEM
// certificate, a key, a token read at start-up; a /proc file read at each
// scrape), with an error that names the file and the reason (missing, not
// readable, a directory).
//
// Thread-safety: a free function with no shared state.
#ifndef GATEWAY_FILE_CONTENTS_H_
#define GATEWAY_FILE_CONTENTS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tcpgate {

// Errors: NOT_FOUND, PERMISSION_DENIED, or FAILED_PRECONDITION for other
// failures; the message is "cannot read <path>: <reason>".
[[nodiscard]] absl::StatusOr<std::string> ReadFileContents(const std::string& path);

// Reads the PEM file given to --`flag`. Errors as above, or INVALID_ARGUMENT
// for a file without a PEM block; the message starts with "--<flag>: ".
[[nodiscard]] absl::StatusOr<std::string> ReadPemFile(const std::string& path, absl::string_view flag);

}  // namespace tcpgate

#endif  // GATEWAY_FILE_CONTENTS_H_
