// BearerTokenCheck: decides whether a gRPC call carries one of the
// gateway's shared secrets as metadata `authorization: Bearer <token>`
// (--auth_token_file). The gateway's file may hold several tokens, one per
// line, all accepted, so a token rotates without refusing anyone: add the
// new one, move the clients over, remove the old one.
//
// The comparison runs over a fixed kMaxTokenBytes for every accepted token,
// whatever the presented token and the accepted ones hold, with no early
// exit: its time depends only on the length of what the caller sent and the
// number of tokens, never on a secret's content or length. A token never
// appears in a status message; callers must not log one either.
//
// Thread-safety: immutable after construction (a value; BearerTokenInForce
// swaps one for another); Check() may run on any number of threads at once.
#ifndef GATEWAY_BEARER_TOKEN_CHECK_H_
#define GATEWAY_BEARER_TOKEN_CHECK_H_

#include <grpcpp/support/string_ref.h>

#include <array>
#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tcpgate {

// Reads the token a client sends from a token file: its first non-empty
// line, with the checks of BearerTokenCheck::FromToken(). A file the
// gateway also reads may hold a second token while one rotates; the client
// sends the first (the old one, which the gateways accept until it is
// removed, and then the new one).
[[nodiscard]] absl::StatusOr<std::string> ReadBearerTokenFile(const std::string& path);

class BearerTokenCheck {
 public:
  // Longest token accepted (a token file longer than this is an error).
  static constexpr std::size_t kMaxTokenBytes = 4096;
  // Most tokens one file may hold.
  static constexpr std::size_t kMaxTokens = 8;

  // Each line of the file is a token (LF or CRLF; empty lines are skipped).
  // Errors (INVALID_ARGUMENT, or the read error): unreadable file, no token,
  // more than kMaxTokens, a token longer than kMaxTokenBytes, or one holding
  // characters other than visible ASCII (it could not travel in a gRPC
  // metadata value); a token's error names its line, never its text.
  [[nodiscard]] static absl::StatusOr<BearerTokenCheck> FromFile(const std::string& path);
  // The same from a file's contents already read; `path` is for messages.
  [[nodiscard]] static absl::StatusOr<BearerTokenCheck> FromFileContents(absl::string_view contents,
                                                                         const std::string& path);
  // The same checks on a token given directly.
  [[nodiscard]] static absl::StatusOr<BearerTokenCheck> FromToken(absl::string_view token);

  // OK when `client_metadata` carries `authorization: Bearer <token>` (the
  // scheme in any case); otherwise UNAUTHENTICATED, with a message that
  // echoes neither the expected token nor the presented one.
  [[nodiscard]] absl::Status Check(const std::multimap<grpc::string_ref, grpc::string_ref>& client_metadata) const;

  std::size_t token_count() const { return tokens_.size(); }

 private:
  struct PaddedToken {
    std::array<unsigned char, kMaxTokenBytes> bytes{};  // Zeros after the token.
    std::size_t size = 0;
  };
  explicit BearerTokenCheck(const std::vector<absl::string_view>& tokens);
  bool Matches(absl::string_view presented) const;

  std::vector<PaddedToken> tokens_;
};

}  // namespace tcpgate

#endif  // GATEWAY_BEARER_TOKEN_CHECK_H_
