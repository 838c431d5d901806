#include "tcpcore/replacement_wait.h"

#include <utility>

namespace tcpcore {

ReplacementWait::Added ReplacementWait::Add(uint64_t seen_round, absl::FunctionRef<bool()> still_waiting,
                                            Request& request, absl::Time deadline, ResponseCallback& done,
                                            const std::shared_ptr<CancelRelay>& relay) {
  std::lock_guard lock(mu_);
  if (round_.load(std::memory_order_relaxed) != seen_round || !still_waiting()) return Added::kLookAgain;
  waiting_.push_back(Waiting{std::move(request), deadline, std::move(done), relay});
  if (deadline >= earliest_) return Added::kKept;
  earliest_ = deadline;
  return Added::kKeptEarliest;
}

std::vector<ReplacementWait::Waiting> ReplacementWait::TakeAll(absl::FunctionRef<void()> end_reason) {
  std::vector<Waiting> taken;
  std::lock_guard lock(mu_);
  round_.fetch_add(1, std::memory_order_release);
  end_reason();
  taken.swap(waiting_);
  earliest_ = absl::InfiniteFuture();
  return taken;
}

}  // namespace tcpcore
