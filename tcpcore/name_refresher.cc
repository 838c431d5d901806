#include "tcpcore/name_refresher.h"

#include <algorithm>
#include <utility>

#include "asio/post.hpp"

namespace tcpcore {

NameRefresher::NameRefresher(asio::io_context& loop, HostPort name, std::shared_ptr<AddressResolver> resolver,
                             absl::Duration interval, absl::Duration min_gap, AnswerCallback on_answer)
    : loop_(loop),
      name_(std::move(name)),
      resolver_(std::move(resolver)),
      interval_(absl::ToChronoNanoseconds(std::max(interval, absl::Milliseconds(10)))),
      min_gap_(absl::ToChronoNanoseconds(std::max(min_gap, absl::ZeroDuration()))),
      on_answer_(std::move(on_answer)),
      timer_(loop) {}

void NameRefresher::Start() { ResolveNow(); }

void NameRefresher::RefreshSoon() {
  if (stopped_) return;
  if (resolving_) {  // Decided when the answer comes.
    soon_after_answer_ = true;
    return;
  }
  ScheduleAt(std::max(Clock::now(), last_started_ + min_gap_));
}

void NameRefresher::Stop() {
  stopped_ = true;
  ++generation_;
  armed_for_ = Clock::time_point::max();
  timer_.cancel();
}

void NameRefresher::ResolveNow() {
  if (stopped_) return;
  resolving_ = true;
  soon_after_answer_ = false;
  last_started_ = Clock::now();
  // The resolver may answer inline or on another thread: always come back
  // through the loop, so OnAnswer never runs inside ResolveNow.
  resolver_->Resolve(name_, [weak = weak_from_this()](absl::StatusOr<std::vector<asio::ip::tcp::endpoint>> answer) {
    auto self = weak.lock();
    if (!self) return;
    asio::post(self->loop_, [self, answer = std::move(answer)]() mutable { self->OnAnswer(std::move(answer)); });
  });
}

void NameRefresher::OnAnswer(absl::StatusOr<std::vector<asio::ip::tcp::endpoint>> answer) {
  resolving_ = false;
  if (stopped_) return;
  const Clock::time_point now = Clock::now();
  Clock::time_point next = now + interval_;
  if (soon_after_answer_) next = std::min(next, std::max(now, last_started_ + min_gap_));
  soon_after_answer_ = false;
  ScheduleAt(next);
  on_answer_(name_, std::move(answer));
}

void NameRefresher::ScheduleAt(Clock::time_point when) {
  if (stopped_ || when >= armed_for_) return;
  armed_for_ = when;
  // A handler already queued by an earlier expiry cannot be cancelled; the
  // generation tells it that it is stale.
  const uint64_t generation = ++generation_;
  timer_.expires_at(when);
  timer_.async_wait([self = shared_from_this(), generation](const asio::error_code& error) {
    if (error || generation != self->generation_) return;
    self->armed_for_ = Clock::time_point::max();
    self->ResolveNow();
  });
}

}  // namespace tcpcore
