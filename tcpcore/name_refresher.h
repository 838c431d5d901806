// NameRefresher: keeps the addresses of one backend name fresh for the pool.
// It resolves the name at once, then again `interval` after each answer, and
// sooner when told a connection to one of the name's addresses failed
// (RefreshSoon): a Kubernetes pod that crashed or moved is usually gone from
// DNS, or replaced, well before the next periodic resolve.
//
// Rate limit: a refresh asked for is never started less than `min_gap` after
// the previous resolve of the name started, and it only ever moves the next
// resolve earlier, never adds one. So a crash loop that fails a connect every
// few milliseconds costs at most one resolve per `min_gap`, and when
// `interval` is already shorter than `min_gap`, failures change nothing. Only
// one resolve of the name is in flight at a time.
//
// Thread-safety: Start(), RefreshSoon() and Stop() only on `loop` (the
// pool's control loop); `on_answer` runs there too. Lifetime: shared_ptr;
// an armed timer keeps it alive (Stop() cancels it); an answer that comes
// after it is gone, or after Stop(), is dropped.
#ifndef TCPCORE_NAME_REFRESHER_H_
#define TCPCORE_NAME_REFRESHER_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "asio/io_context.hpp"
#include "asio/ip/tcp.hpp"
#include "asio/steady_timer.hpp"
#include "tcpcore/address_resolver.h"
#include "tcpcore/host_port.h"

namespace tcpcore {

class NameRefresher : public std::enable_shared_from_this<NameRefresher> {
 public:
  using AnswerCallback =
      std::function<void(const HostPort& name, absl::StatusOr<std::vector<asio::ip::tcp::endpoint>> answer)>;

  NameRefresher(asio::io_context& loop, HostPort name, std::shared_ptr<AddressResolver> resolver,
                absl::Duration interval, absl::Duration min_gap, AnswerCallback on_answer);

  NameRefresher(const NameRefresher&) = delete;
  NameRefresher& operator=(const NameRefresher&) = delete;

  // Resolves now, then keeps refreshing.
  void Start();
  // Asks for a resolve soon (see the rate limit above). Cheap to call often.
  void RefreshSoon();
  // Stops for good: cancels the timer; an answer still on its way is dropped.
  void Stop();

 private:
  using Clock = std::chrono::steady_clock;

  void ResolveNow();
  void OnAnswer(absl::StatusOr<std::vector<asio::ip::tcp::endpoint>> answer);
  // Arms the timer for `when` unless it is already armed for sooner.
  void ScheduleAt(Clock::time_point when);

  asio::io_context& loop_;
  const HostPort name_;
  const std::shared_ptr<AddressResolver> resolver_;
  const Clock::duration interval_;
  const Clock::duration min_gap_;
  const AnswerCallback on_answer_;

  asio::steady_timer timer_;
  Clock::time_point armed_for_ = Clock::time_point::max();  // Timer expiry; max() when not armed.
  uint64_t generation_ = 0;  // Bumped at every arm and at Stop(): stale timer handlers do nothing.
  Clock::time_point last_started_{};
  bool resolving_ = false;
  bool soon_after_answer_ = false;  // RefreshSoon() came while resolving.
  bool stopped_ = false;
};

}  // namespace tcpcore

#endif  // TCPCORE_NAME_REFRESHER_H_
