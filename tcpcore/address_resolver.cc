#include "tcpcore/address_resolver.h"

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"

namespace tcpcore {

void DnsResolver::Resolve(const HostPort& target, ResolveCallback done) {
  auto resolver = std::make_shared<asio::ip::tcp::resolver>(loop_);
  resolver->async_resolve(
      target.host, std::to_string(target.port), asio::ip::tcp::resolver::numeric_service,
      [resolver, target, done = std::move(done)](const asio::error_code& error,
                                                 asio::ip::tcp::resolver::results_type results) {
        if (error) {
          done(absl::UnavailableError(absl::StrCat("cannot resolve ", target.ToString(), ": ", error.message())));
          return;
        }
        std::vector<asio::ip::tcp::endpoint> endpoints;
        for (const auto& entry : results) {
          if (std::find(endpoints.begin(), endpoints.end(), entry.endpoint()) == endpoints.end()) {
            endpoints.push_back(entry.endpoint());
          }
        }
        done(std::move(endpoints));
      });
}

}  // namespace tcpcore
