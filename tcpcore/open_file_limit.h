// RaiseOpenFileLimit: lifts this process's soft limit on open file
// descriptors (RLIMIT_NOFILE) to its hard limit. A server holds one
// descriptor per connection, and many systems start processes with a soft
// limit of 1024 beside a far higher hard one; servers that use epoll (never
// select(), whose fd_set stops at 1024) should take what they are allowed,
// as the Go runtime does for every Go program.
//
// Thread-safety: safe from any thread (it changes a process-wide limit at
// once); meant for start-up.
#ifndef TCPCORE_OPEN_FILE_LIMIT_H_
#define TCPCORE_OPEN_FILE_LIMIT_H_

#include <cstdint>

#include "absl/status/statusor.h"

namespace tcpcore {

struct OpenFileLimit {
  uint64_t before = 0;  // The soft limit found.
  uint64_t now = 0;     // The soft limit set (the hard limit).
};

// Errors: INTERNAL when getrlimit or setrlimit fails (with errno's text).
[[nodiscard]] absl::StatusOr<OpenFileLimit> RaiseOpenFileLimit();

// RaiseOpenFileLimit() for a binary's start: logs "open file limit raised
// from A to B (the hard limit)" when it moved, or the error; returns the
// soft limit in force afterwards (0 when even that cannot be read).
uint64_t RaiseOpenFileLimitAndLog();

}  // namespace tcpcore

#endif  // TCPCORE_OPEN_FILE_LIMIT_H_
