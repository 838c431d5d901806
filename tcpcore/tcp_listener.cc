#include "tcpcore/tcp_listener.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "tcpcore/host_port.h"

namespace tcpcore {

absl::StatusOr<uint16_t> ListenOn(asio::ip::tcp::acceptor& acceptor, absl::string_view host_port) {
  absl::StatusOr<HostPort> address = HostPort::Parse(host_port);
  if (!address.ok()) return address.status();
  asio::error_code error;
  asio::ip::tcp::resolver resolver(acceptor.get_executor());
  auto results = resolver.resolve(address->host, std::to_string(address->port),
                                  asio::ip::tcp::resolver::passive | asio::ip::tcp::resolver::numeric_service, error);
  if (error || results.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("cannot resolve listen address ", host_port, ": ", error.message()));
  }
  const asio::ip::tcp::endpoint endpoint = results.begin()->endpoint();
  auto fail = [&](absl::string_view step) {
    asio::error_code ignored;
    acceptor.close(ignored);
    return absl::UnavailableError(absl::StrCat("cannot ", step, " ", host_port, ": ", error.message()));
  };
  acceptor.open(endpoint.protocol(), error);
  if (error) return fail("open");
  acceptor.set_option(asio::socket_base::reuse_address(true), error);
  if (error) return fail("configure");
  acceptor.bind(endpoint, error);
  if (error) return fail("bind");
  acceptor.listen(asio::socket_base::max_listen_connections, error);
  if (error) return fail("listen on");
  const asio::ip::tcp::endpoint bound = acceptor.local_endpoint(error);
  if (error) return fail("read the address of");
  return bound.port();
}

}  // namespace tcpcore
