// FaultProxy: a TCP proxy for fault tests that sits between the gateway and a
// backend and, on command, adds latency (both ways or one direction), stalls
// every connection, cuts connections with a reset, refuses new ones, or turns
// the open connections into silent half-open ones (no FIN, no RST, no data
// ever again) while new connections work.
//
// Thread-safety: everything runs on the io_context given at construction;
// call the methods from that io_context's thread (post to it).
#ifndef TESTS_FAULT_FAULT_PROXY_H_
#define TESTS_FAULT_FAULT_PROXY_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "asio/io_context.hpp"
#include "asio/ip/tcp.hpp"

namespace tcpgate::fault {

class FaultProxy {
 public:
  FaultProxy(asio::io_context& context, asio::ip::tcp::endpoint target);
  ~FaultProxy();

  // Listens on `listen` (port 0: any free port); returns the port.
  absl::StatusOr<uint16_t> Start(const asio::ip::tcp::endpoint& listen);

  // Delay added to every chunk forwarded towards the backend (up) and
  // towards the client (down). Each direction of a connection moves one
  // chunk (up to 64 KiB) at a time, so a burst of k chunks takes k delays:
  // latency that also caps throughput, like a slow link.
  void SetDelay(std::chrono::milliseconds up, std::chrono::milliseconds down);
  // Stops forwarding on every connection (bytes wait in the kernel) until
  // Resume(); new connections stall too.
  void Stall();
  void Resume();
  // Resets every open connection (both sides see RST).
  void CutAll();
  // New connections are reset as soon as they are accepted.
  void SetRefuse(bool refuse);
  // The open connections go silent forever: nothing is forwarded or closed.
  void BlackholeAll();

  int open_connections() const;
  uint64_t accepted() const { return accepted_; }

 private:
  class Link;

  void Accept();
  void Forget();  // Drops links that have closed.

  asio::io_context& context_;
  const asio::ip::tcp::endpoint target_;
  asio::ip::tcp::acceptor acceptor_;
  std::vector<std::shared_ptr<Link>> links_;
  std::chrono::milliseconds delay_up_{0};
  std::chrono::milliseconds delay_down_{0};
  bool stalled_ = false;
  bool refuse_ = false;
  uint64_t accepted_ = 0;
};

}  // namespace tcpgate::fault

#endif  // TESTS_FAULT_FAULT_PROXY_H_
