// CheckServerOptions: says why a ServerOptions cannot work, before anything
// listens: a listen address that is not host:port, a negative connection
// limit, a frame or output limit of zero, a nesting limit below one, a
// duration that is negative, infinite or over a year. Server::Start()
// refuses such options with this error; a program can call it first to name
// its own flag.
//
// Thread-safety: a pure function.
#ifndef TCPCORE_SERVER_OPTIONS_CHECK_H_
#define TCPCORE_SERVER_OPTIONS_CHECK_H_

#include "absl/status/status.h"
#include "tcpcore/server.h"

namespace tcpcore {

// OK, or INVALID_ARGUMENT reading "name=value: rule", the name being the
// option's (tcpgate-backend's flag of the same name).
absl::Status CheckServerOptions(const ServerOptions& options);

}  // namespace tcpcore

#endif  // TCPCORE_SERVER_OPTIONS_CHECK_H_
