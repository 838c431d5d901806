// DelayedHelloHandler: HelloHandler's answer, sent `delay` after its request
// arrived, to model a slow backend (tcpgate-backend --answer_delay; the
// scale-out test uses it to keep calls in flight while it stops processes).
// The delay is the same for every request, so answers fall due in arrival
// order: one queue and one timer serve every connection.
//
// Thread-safety: OnRequest() from any loop; the timer runs on `loop`.
// Lifetime: create with std::make_shared; while answers wait, its timer keeps
// it alive.
#ifndef TOOLS_DELAYED_HELLO_HANDLER_H_
#define TOOLS_DELAYED_HELLO_HANDLER_H_

#include <chrono>
#include <deque>
#include <memory>
#include <mutex>

#include "absl/time/time.h"
#include "asio/io_context.hpp"
#include "asio/steady_timer.hpp"
#include "tcpcore/request_handler.h"

namespace tcpgate {

class DelayedHelloHandler : public tcpcore::RequestHandler,
                            public std::enable_shared_from_this<DelayedHelloHandler> {
 public:
  DelayedHelloHandler(asio::io_context& loop, absl::Duration delay);
  void OnRequest(const tcpcore::Request& request, tcpcore::ReplyContext& reply) override;

 private:
  using Clock = std::chrono::steady_clock;
  struct Waiting {
    Clock::time_point due;
    tcpcore::DeferredReply reply;
    tcpcore::Response response;  // Ts is set when it is sent.
  };

  void ArmOnLoop();
  void SendDueOnLoop();

  asio::io_context& loop_;
  const Clock::duration delay_;
  asio::steady_timer timer_;  // Only on loop_.
  std::mutex mu_;
  std::deque<Waiting> waiting_;  // Guarded by mu_; in due order.
  bool armed_ = false;           // Guarded by mu_: the timer runs for waiting_.front().
};

}  // namespace tcpgate

#endif  // TOOLS_DELAYED_HELLO_HANDLER_H_
