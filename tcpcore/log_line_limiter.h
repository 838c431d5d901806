// LogLineLimiter: decides which lines of a repeating log message get
// written, so that one cause repeated at a client's request rate (a refused
// call, a bad peer) cannot flood the log: per source (a key, e.g. a file and
// line), a burst of `burst` lines, then one per `interval`; the next line
// written from that source reports how many were dropped; TakeDropped()
// hands over the counts of sources that went quiet.
//
// Thread-safety: Admit() is safe from any thread (one mutex).
#ifndef TCPCORE_LOG_LINE_LIMITER_H_
#define TCPCORE_LOG_LINE_LIMITER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace tcpcore {

class LogLineLimiter {
 public:
  // `burst` is at least 1.
  LogLineLimiter(int burst, absl::Duration interval) : burst_(burst < 1 ? 1 : burst), interval_(interval) {}

  // Whether a line from `source` may be written at `now`; if so, how many
  // lines of that source were dropped since the last one written (nullopt:
  // drop this one).
  std::optional<int64_t> Admit(const std::string& source, absl::Time now);

  // The sources with lines dropped since their last line written, and how
  // many; their counts start again from zero (so a source that went quiet
  // can be reported by a timer).
  std::vector<std::pair<std::string, int64_t>> TakeDropped();

 private:
  struct Bucket {
    absl::Duration credit;
    absl::Time refilled;
    int64_t dropped = 0;
  };

  const int burst_;
  const absl::Duration interval_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tcpcore

#endif  // TCPCORE_LOG_LINE_LIMITER_H_
