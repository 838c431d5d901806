// Keeps gRPC's callback threads polling when calls are few.
//
// With Debian's gRPC 1.51 (epoll1 poller), reactions of the callback API run
// on a pool of "nexting" threads that wait for events with a 1 s timeout and,
// when that timeout expires with no event, sleep 100 ms without polling
// (CompletionQueue::CallbackAlternativeCQ in gRPC's completion_queue_cc.cc).
// When every such thread is in that sleep, a call that arrives (or an answer
// a client waits for) is held until one wakes: after a quiet second, up to
// 100 ms. Measured on tcpgate: calls spaced 1.05 s apart took ~50 ms instead
// of ~1 ms; docs/architecture.md ("gRPC's callback threads are kept awake").
//
// The heartbeat starts a callback-API unary call `interval` after the
// previous one completed, over a channel of its own to a Unix socket path
// under /proc/self, where no socket can ever exist: the call fails at once
// (UNAVAILABLE, about 0.3 ms, no network, nothing logged) and its
// completion runs on one of those threads. They serve every callback-API
// client and server in the process alike, so that completion is an event
// for all of them; no peer is involved, so it works at any time, a server's
// shutdown included. A beat has a 500 ms deadline all the same.
//
// Thread-safety: construct and destroy on one thread; the heartbeat runs on
// a thread of its own, stopped and joined by the destructor.
#ifndef GATEWAY_CALLBACK_THREAD_HEARTBEAT_H_
#define GATEWAY_CALLBACK_THREAD_HEARTBEAT_H_

#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace tcpgate {

class CallbackThreadHeartbeat {
 public:
  static constexpr absl::Duration kDefaultInterval = absl::Milliseconds(250);

  explicit CallbackThreadHeartbeat(absl::Duration interval = kDefaultInterval);
  ~CallbackThreadHeartbeat();
  CallbackThreadHeartbeat(const CallbackThreadHeartbeat&) = delete;
  CallbackThreadHeartbeat& operator=(const CallbackThreadHeartbeat&) = delete;

  // Beats completed so far; for tests.
  int beats() const;

 private:
  void Run();

  const absl::Duration interval_;
  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int beats_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace tcpgate

#endif  // GATEWAY_CALLBACK_THREAD_HEARTBEAT_H_
