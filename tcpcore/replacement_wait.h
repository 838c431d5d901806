// ReplacementWait: requests that found no connection to take them only
// because the pool's control loop has not yet caught up: the connections
// they would have gone to have just closed or retired themselves (it has
// not heard, or is replacing them), or a backend name has no answer from
// the resolver yet. They wait here instead of failing UNAVAILABLE in that
// moment; the control loop takes them all up again (TakeAll) once it has
// handled that, when the connections it opened are published and a request
// can wait on one.
//
// Each kept request's deadline is the owner's to watch (Add() says when a
// request brings the earliest one).
//
// The handshake that leaves no request behind and fails none that should
// wait: a sender reads round() before it looks for a connection. The owner
// ends each reason to wait (a close handled, a name's first answer) inside
// TakeAll(), after the round moves on and under the same lock. So a sender
// that finds no reason to wait and an unchanged round may fail its request
// (a reason that just ended would have moved the round first); and Add()
// keeps a request only if, under that lock, the round is unchanged and the
// sender's reason still holds, so the TakeAll() that ends the reason is
// still to come. Otherwise the sender looks again.
//
// Thread-safety: every method from any thread.
#ifndef TCPCORE_REPLACEMENT_WAIT_H_
#define TCPCORE_REPLACEMENT_WAIT_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/functional/function_ref.h"
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
  enum class Added { kLookAgain, kKept, kKeptEarliest };
  // Keeps the request (moving `request` and `done` in) if no TakeAll() ran
  // since `seen_round` and `still_waiting()` (called under the lock) holds;
  // else leaves them as they were (kLookAgain). kKeptEarliest: kept, and
  // its deadline is the earliest of those kept.
  Added Add(uint64_t seen_round, absl::FunctionRef<bool()> still_waiting, Request& request, absl::Time deadline,
            ResponseCallback& done, const std::shared_ptr<CancelRelay>& relay);
  // Every request kept, in the order they came; starts a new round, then
  // runs `end_reason` (which ends a reason to wait) under the same lock.
  std::vector<Waiting> TakeAll(absl::FunctionRef<void()> end_reason);

 private:
  std::mutex mu_;
  std::atomic<uint64_t> round_{0};  // Written under mu_.
  std::vector<Waiting> waiting_;    // Guarded by mu_.
  absl::Time earliest_ = absl::InfiniteFuture();  // Guarded by mu_: of waiting_'s deadlines.
};

}  // namespace tcpcore

#endif  // TCPCORE_REPLACEMENT_WAIT_H_
