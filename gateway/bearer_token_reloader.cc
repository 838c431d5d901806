#include "gateway/bearer_token_reloader.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tcpcore/log.h"

namespace tcpgate {

std::unique_ptr<FileChangeFollower> FollowBearerTokenFile(const std::string& path, std::string contents,
                                                          std::shared_ptr<BearerTokenInForce> in_force,
                                                          absl::Duration interval) {
  return std::make_unique<FileChangeFollower>(
      FileChangeFollower::Options{.what = "auth token",
                                  .kept = "calls are checked against the previous tokens",
                                  .paths = {path},
                                  .applied = {std::move(contents)},
                                  .interval = interval},
      [in_force = std::move(in_force), path](const std::vector<std::string>& changed) {
        absl::StatusOr<BearerTokenCheck> next = BearerTokenCheck::FromFileContents(changed[0], path);
        if (!next.ok()) {
          return absl::Status(next.status().code(), absl::StrCat("--auth_token_file: ", next.status().message()));
        }
        const std::size_t count = next->token_count();
        in_force->Replace(*std::move(next));
        tcpcore::Log(tcpcore::LogLevel::kInfo, absl::StrCat("auth: --auth_token_file changed; ", count,
                                                             count == 1 ? " token" : " tokens",
                                                             " accepted from now on"));
        return absl::OkStatus();
      });
}

}  // namespace tcpgate
