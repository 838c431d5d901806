// HostPort: a "host:port" address as given on a command line ("0.0.0.0:3000",
// "[::1]:3000", "backend.ns.svc:3000"), split and checked.
//
// Plain value; no thread-safety of its own.
#ifndef TCPCORE_HOST_PORT_H_
#define TCPCORE_HOST_PORT_H_

#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"

namespace tcpcore {

struct HostPort {
  std::string host;  // Without IPv6 brackets.
  uint16_t port = 0;

  // Parses "host:port"; an IPv6 literal must be bracketed. Port 0 is allowed
  // (bind to an ephemeral port).
  static absl::StatusOr<HostPort> Parse(absl::string_view text);
  // "host:port", with brackets around an IPv6 literal.
  std::string ToString() const;
};

}  // namespace tcpcore

#endif  // TCPCORE_HOST_PORT_H_
