#include "tools/delayed_hello_handler.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "asio/post.hpp"
#include "tcpcore/hello_handler.h"
#include "tcpcore/rfc3339_time.h"

namespace tcpgate {

DelayedHelloHandler::DelayedHelloHandler(asio::io_context& loop, absl::Duration delay)
    : loop_(loop), delay_(absl::ToChronoNanoseconds(delay)), timer_(loop) {}

void DelayedHelloHandler::OnRequest(const tcpcore::Request& request, tcpcore::ReplyContext& reply) {
  Waiting waiting{Clock::now() + delay_, reply.Defer(),
                  tcpcore::Response{request.uid, absl::StrCat(tcpcore::HelloHandler::kGreeting, request.val), ""}};
  bool arm = false;
  {
    std::lock_guard lock(mu_);
    waiting_.push_back(std::move(waiting));
    arm = !armed_;
    armed_ = true;
  }
  if (arm) asio::post(loop_, [self = shared_from_this()] { self->ArmOnLoop(); });
}

void DelayedHelloHandler::ArmOnLoop() {
  Clock::time_point due;
  {
    std::lock_guard lock(mu_);
    due = waiting_.front().due;  // Not empty while armed_.
  }
  timer_.expires_at(due);
  timer_.async_wait([self = shared_from_this()](const asio::error_code& error) {
    if (!error) self->SendDueOnLoop();
  });
}

void DelayedHelloHandler::SendDueOnLoop() {
  std::vector<Waiting> due;
  bool more = false;
  {
    std::lock_guard lock(mu_);
    const Clock::time_point now = Clock::now();
    while (!waiting_.empty() && waiting_.front().due <= now) {
      due.push_back(std::move(waiting_.front()));
      waiting_.pop_front();
    }
    more = !waiting_.empty();
    armed_ = more;
  }
  for (Waiting& waiting : due) {
    tcpcore::AppendRfc3339Nanos(absl::Now(), waiting.response.ts);
    waiting.reply.Send(std::move(waiting.response));
  }
  if (more) ArmOnLoop();
}

}  // namespace tcpgate
