// FollowBearerTokenFile: keeps the tokens in force (BearerTokenInForce) in
// step with --auth_token_file while the gateway runs: a FileChangeFollower
// reads the file every `interval`; a valid change replaces the tokens for
// the calls checked from then on, an invalid one is left out (the follower
// logs and counts it; the log names the line, never a token).
//
// Thread-safety: the file is read and the tokens replaced on the
// follower's thread; the follower's stats() may be read from any thread.
#ifndef GATEWAY_BEARER_TOKEN_RELOADER_H_
#define GATEWAY_BEARER_TOKEN_RELOADER_H_

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "gateway/bearer_token_in_force.h"
#include "gateway/file_change_follower.h"

namespace tcpgate {

// `contents` is what the tokens in force were read from.
[[nodiscard]] std::unique_ptr<FileChangeFollower> FollowBearerTokenFile(const std::string& path, std::string contents,
                                                                        std::shared_ptr<BearerTokenInForce> in_force,
                                                                        absl::Duration interval);

}  // namespace tcpgate

#endif  // GATEWAY_BEARER_TOKEN_RELOADER_H_
