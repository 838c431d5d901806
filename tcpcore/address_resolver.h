// AddressResolver: turns a backend's "host:port" into the addresses to
// connect to. DnsResolver asks the system resolver (a Kubernetes headless
// Service answers with one address per ready pod); tests substitute a fake.
//
// Thread-safety: Resolve() may be called from any thread; the callback runs
// on the resolver's loop (DnsResolver) or wherever the fake decides.
#ifndef TCPCORE_ADDRESS_RESOLVER_H_
#define TCPCORE_ADDRESS_RESOLVER_H_

#include <functional>
#include <vector>

#include "absl/status/statusor.h"
#include "asio/io_context.hpp"
#include "asio/ip/tcp.hpp"
#include "tcpcore/host_port.h"

namespace tcpcore {

using ResolveCallback = std::function<void(absl::StatusOr<std::vector<asio::ip::tcp::endpoint>>)>;

class AddressResolver {
 public:
  virtual ~AddressResolver() = default;
  virtual void Resolve(const HostPort& target, ResolveCallback done) = 0;
};

class DnsResolver : public AddressResolver {
 public:
  explicit DnsResolver(asio::io_context& loop) : loop_(loop) {}
  void Resolve(const HostPort& target, ResolveCallback done) override;

 private:
  asio::io_context& loop_;
};

}  // namespace tcpcore

#endif  // TCPCORE_ADDRESS_RESOLVER_H_
