#include "tcpcore/log_line_limiter.h"

#include <algorithm>

namespace tcpcore {

std::optional<int64_t> LogLineLimiter::Admit(const std::string& source, absl::Time now) {
  // Credit is kept as time (exact, unlike fractions of a line): each line
  // costs one interval; a source saves up at most `burst` of them.
  const absl::Duration most = burst_ * interval_;
  absl::MutexLock lock(&mu_);
  auto [it, inserted] = buckets_.try_emplace(source);
  Bucket& bucket = it->second;
  if (inserted) {
    bucket.credit = most;
    bucket.refilled = now;
  } else if (now > bucket.refilled) {
    bucket.credit = std::min(most, bucket.credit + (now - bucket.refilled));
    bucket.refilled = now;
  } else {
    bucket.refilled = now;  // The clock stepped back: no credit, and none lost from here on.
  }
  if (bucket.credit < interval_) {
    ++bucket.dropped;
    return std::nullopt;
  }
  bucket.credit -= interval_;
  const int64_t dropped = bucket.dropped;
  bucket.dropped = 0;
  return dropped;
}

std::vector<std::pair<std::string, int64_t>> LogLineLimiter::TakeDropped() {
  std::vector<std::pair<std::string, int64_t>> dropped;
  absl::MutexLock lock(&mu_);
  for (auto& [source, bucket] : buckets_) {
    if (bucket.dropped == 0) continue;
    dropped.emplace_back(source, bucket.dropped);
    bucket.dropped = 0;
  }
  return dropped;
}

}  // namespace tcpcore
