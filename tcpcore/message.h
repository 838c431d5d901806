// The two messages of the backend protocol (docs/protocol.md). Field names
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

}  // namespace tcpcore

#endif  // TCPCORE_MESSAGE_H_
