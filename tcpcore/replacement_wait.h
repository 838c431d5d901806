// ReplacementWait: requests that found no connection to take them only
// because the connections they would have gone to have just closed, and
// the pool's control loop has not yet heard of it or is replacing them. They
// wait here instead of failing UNAVAILABLE in that moment; the control loop
// takes them all up again (TakeAll) after each close it handles, when the
// replacement is being made and a request can wait on it.
//
// Each kept request's deadline is the owner's to watch (Add() says when a
// request brings the earliest one).
//
// The handshake that leaves no request behind: a sender reads round()
// before it looks for a connection, and Add() keeps its request only if no
// TakeAll() ran since; otherwise the sender looks again. So a request is
// kept only if a TakeAll() is still to come for the close the sender saw.
//
// Thread-safety: every method from any thread.
#ifndef TCPCORE_REPLACEMENT_WAIT_H_
#define TCPCORE_REPLACEMENT_WAIT_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/time/time.h"
#include "tcpcore/cancel_relay.h"
#include "tcpcore/client_connection.h"

namespace tcpcore {

class ReplacementWait {
 public:
  struct Waiting {
    Request request;
    absl::Time deadline;
    ResponseCallback done;
    std::shared_ptr<CancelRelay> relay;  // The handle its caller holds.
  };

  uint64_t round() const { return round_.load(std::memory_order_acquire); }
  enum class Added { kNo, kYes, kYesEarliest };
  // Keeps the request (moving `request` and `done` in) unless a TakeAll()
  // ran since `seen_round`; then leaves them as they were (kNo). kYesEarliest:
  // kept, and its deadline is the earliest of those kept.
  Added Add(uint64_t seen_round, Request& request, absl::Time deadline, ResponseCallback& done,
            const std::shared_ptr<CancelRelay>& relay);
  // Every request kept, in the order they came; starts a new round.
  std::vector<Waiting> TakeAll();

 private:
  std::mutex mu_;
  std::atomic<uint64_t> round_{0};  // Written under mu_.
  std::vector<Waiting> waiting_;    // Guarded by mu_.
  absl::Time earliest_ = absl::InfiniteFuture();  // Guarded by mu_: of waiting_'s deadlines.
};

}  // namespace tcpcore

#endif  // TCPCORE_REPLACEMENT_WAIT_H_
