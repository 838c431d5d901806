// CheckPoolOptions: says why a PoolOptions (and its ConnectionOptions) cannot
// work, before anything starts: a backend that is not host:port with a
// port, a count below one, a duration that is negative, infinite or out of
// the kernel's range, a backoff whose first delay exceeds its last. An empty
// backend list passes (Pool::Start() needs one). Pool::Start() refuses such options with this
// error; a program can call it earlier to fail before it opens anything.
//
// Thread-safety: a pure function.
#ifndef TCPCORE_POOL_OPTIONS_CHECK_H_
#define TCPCORE_POOL_OPTIONS_CHECK_H_

#include "absl/status/status.h"
#include "tcpcore/pool.h"

namespace tcpcore {

// OK, or INVALID_ARGUMENT naming the option (as the gateway's flag of the
// same name) and the value.
absl::Status CheckPoolOptions(const PoolOptions& options);

}  // namespace tcpcore

#endif  // TCPCORE_POOL_OPTIONS_CHECK_H_
