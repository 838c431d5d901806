// BearerTokenInForce: the BearerTokenCheck the gateway's calls are checked
// against now. Replace() swaps in another one (the token file changed) for
// the calls checked from then on.
//
// Thread-safety: Check(), Replace() and token_count() may be called from any
// thread at once; a check runs under a shared lock, a replacement under the
// exclusive one.
#ifndef GATEWAY_BEARER_TOKEN_IN_FORCE_H_
#define GATEWAY_BEARER_TOKEN_IN_FORCE_H_

#include <grpcpp/support/string_ref.h>

#include <cstddef>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <utility>

#include "absl/status/status.h"
#include "gateway/bearer_token_check.h"

namespace tcpgate {

class BearerTokenInForce {
 public:
  explicit BearerTokenInForce(BearerTokenCheck check) : check_(std::move(check)) {}

  // BearerTokenCheck::Check with the tokens in force.
  [[nodiscard]] absl::Status Check(const std::multimap<grpc::string_ref, grpc::string_ref>& client_metadata) const {
    std::shared_lock lock(mu_);
    return check_.Check(client_metadata);
  }

  void Replace(BearerTokenCheck check) {
    std::unique_lock lock(mu_);
    check_ = std::move(check);
  }

  std::size_t token_count() const {
    std::shared_lock lock(mu_);
    return check_.token_count();
  }

 private:
  mutable std::shared_mutex mu_;
  BearerTokenCheck check_;  // Guarded by mu_.
};

}  // namespace tcpgate

#endif  // GATEWAY_BEARER_TOKEN_IN_FORCE_H_
