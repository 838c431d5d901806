// The two messages of the backend protocol (docs/protocol.md), and the
// reason of the one error line that refuses a connection. Field names
// follow the article's Go structs, whose JSON keys are "Uid", "Val", "Ts".
//
// Plain values; no thread-safety of their own.
#ifndef TCPCORE_MESSAGE_H_
#define TCPCORE_MESSAGE_H_

#include <string>

namespace tcpcore {

// A request: `uid` correlates the answer with it; `val` is the payload.
struct Request {
  std::string uid;
  std::string val;

  friend bool operator==(const Request&, const Request&) = default;
};

// An answer to the request with the same `uid`. `ts` is the time the backend
// answered, RFC 3339 in UTC; it may be empty (the article's original server
// echoed requests, which carry no Ts).
struct Response {
  std::string uid;
  std::string val;
  std::string ts;

  friend bool operator==(const Response&, const Response&) = default;
};

// The reason of the "-ERR" line a server sends on a connection it turns
// away at accept (beyond its connection limit), before it reads anything;
// details may follow. A client takes that line as a refused connection, not
// as the answer to a request on it.
inline constexpr char kTooManyConnections[] = "too many connections";

}  // namespace tcpcore

#endif  // TCPCORE_MESSAGE_H_
