// PoolControl: the state behind a Pool. Its structure (backend addresses,
// their connections, reconnect/sweep timers, a NameRefresher per name) lives
// on the control loop (the group's loop 0); the set of ready connections that Send() picks
// from is published to senders under a reader-writer lock. Internal to
// tcpcore; users see Pool (pool.h documents the behaviour).
//
// Thread-safety: Send(), RequestClose(), AwaitClosed(), AwaitReady() and
// stats() from any thread; every method named ...OnControl, and all members
// marked "control loop", only on the control loop.
#ifndef TCPCORE_POOL_CONTROL_H_
#define TCPCORE_POOL_CONTROL_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "asio/steady_timer.hpp"
#include "tcpcore/name_refresher.h"
#include "tcpcore/pool.h"
#include "tcpcore/replacement_wait.h"

namespace tcpcore {

// Counters of one backend address; shared with the callbacks of its requests.
struct AddressCounters {
  std::string backend;
  std::string address;
  std::shared_ptr<ConnectionCounters> connection = std::make_shared<ConnectionCounters>();
  std::atomic<uint64_t> sent{0}, ok{0}, deadline{0}, conn_errors{0}, other_errors{0}, reconnects{0}, ejections{0},
      connect_failures{0};
  std::atomic<int64_t> in_flight{0}, connections_open{0};
  std::atomic<bool> ejected{false}, draining{false}, removed{false};
  std::atomic<bool> grow_requested{false};

  void Record(const absl::Status& status);
};

class PoolControl : public std::enable_shared_from_this<PoolControl> {
 public:
  PoolControl(EventLoopGroup& loops, PoolOptions options, std::shared_ptr<AddressResolver> resolver);
  ~PoolControl();

  absl::Status Start();
  CancelHandle Send(Request request, absl::Time deadline, ResponseCallback done);
  // Starts closing; returns at once.
  void RequestClose();
  // Waits until every connection closed and the control loop is quiet.
  void AwaitClosed();
  bool AwaitReady(int count, absl::Duration timeout);
  PoolStats stats() const;
  // True when called on one of the group's loop threads.
  bool OnLoopThread() const;

 private:
  using Clock = std::chrono::steady_clock;
  // One resolved address of a backend. Control loop.
  struct Address {
    std::string key;
    HostPort backend;
    asio::ip::tcp::endpoint endpoint;
    std::shared_ptr<AddressCounters> counters;
    std::vector<std::shared_ptr<ClientConnection>> connections;
    // Connections that became ready: when, and the address's failed
    // connects in a row before (a refusal after it counts on from there).
    struct ReadySince {
      std::chrono::steady_clock::time_point at;
      int failures_before = 0;
    };
    absl::flat_hash_map<ClientConnection*, ReadySince> ready;
    absl::flat_hash_set<ClientConnection*> probing;  // Health probe in flight.
    // When each connection was last probed: probes are not use, so its idle
    // clock does not space them.
    absl::flat_hash_map<ClientConnection*, Clock::time_point> probed_at;
    // Connections taken out of service (idle, the address left DNS, or one
    // that retired itself for an answer owed too long): never published as
    // ready, closed with CloseIfIdle once nothing is pending (true: it is
    // closing; a self-retired one closes itself, so it is closing from the
    // start); their close is no failure.
    absl::flat_hash_map<ClientConnection*, bool> retiring;
    int consecutive_failures = 0;
    // Failed connects before the connection made since: "connected after N
    // failed connects" is logged once one serves (answers, or stays open an
    // initial backoff step), not for one the backend closes at once.
    int failures_to_report = 0;
    Clock::time_point failure_logged_at{};  // The last "cannot connect" line: one a minute at most.
    Clock::time_point ejected_until{};
    bool draining = false;
    bool connected_once = false;  // The first connections were opened.
    std::unique_ptr<asio::steady_timer> reconnect_timer;
    bool reconnect_scheduled = false;
    uint64_t reconnect_generation = 0;  // Of the wait armed last; older ones do nothing.
  };
  // What Send() picks from.
  struct ReadyConnection {
    std::shared_ptr<ClientConnection> connection;
    std::shared_ptr<AddressCounters> counters;
  };
  // What Pick() found: a connection with room for the request, or none.
  struct Choice {
    std::shared_ptr<ClientConnection> connection;
    AddressCounters* counters = nullptr;
    // Some published connection still takes requests (ready, or being made).
    bool any_open = false;
    bool connecting = false;  // `connection` is still being made.
    // A published connection had closed or retired itself: the control
    // loop has not handled its report yet (it will, and replace it if it
    // served).
    bool saw_leaving = false;
  };

  // Sends a request counted in total_pending_: on a picked connection, or
  // kept in replacement_wait_ while the connections it would have gone to
  // are being replaced (its caller then holds `relay`, made here if null),
  // or fails it at once.
  CancelHandle Dispatch(Request& request, absl::Time deadline, ResponseCallback& done,
                        std::shared_ptr<CancelRelay> relay);
  // With nothing open: whether the request is kept in replacement_wait_
  // (its caller then holds `relay`, made here if null), should look again
  // (a reason to wait ended since `round`), or fails (the pool closed, or
  // there is nothing to wait for).
  enum class CatchUp { kKept, kLookAgain, kPoolClosed, kNothingToWaitFor };
  CatchUp WaitForCatchUp(uint64_t round, bool saw_leaving, Request& request, absl::Time deadline,
                         ResponseCallback& done, std::shared_ptr<CancelRelay>& relay);
  // Fails a request counted in total_pending_ that no connection admitted.
  void FailBeforeAdmission(ResponseCallback& done, absl::Status status);
  // Sends again every request replacement_wait_ holds (after a close was
  // handled: its replacement, if any, is published now); `end_reason` ends
  // the reason to wait that was handled (see ReplacementWait).
  void TakeUpWaitingOnControl(absl::FunctionRef<void()> end_reason = [] {});
  // Arms wait_timer_ for `deadline` unless it fires sooner already.
  void ArmWaitTimerOnControl(absl::Time deadline);
  // Applies a resolver's answer: new addresses connected, vanished ones
  // drained (OnResolvedOnControl calls it, then ends the waits on a name's
  // first answer).
  void ApplyResolvedOnControl(const HostPort& backend, absl::StatusOr<std::vector<asio::ip::tcp::endpoint>> result);
  // Power of two choices among the ready connections; with none ready, the
  // least loaded connection being made (any thread).
  Choice Pick(int64_t bytes) const;
  // Whether `c` has room for a request of `bytes`.
  bool HasRoom(const ClientConnection& c, int64_t bytes) const;
  // Whether `c` is loaded enough to want another connection beside it:
  // grow_at_pending requests, counting one per 4 KiB pending (large requests
  // reach the byte cap long before the count), or half its byte cap.
  bool IsBusy(const ClientConnection& c) const;

  void StartOnControl();
  void OnResolvedOnControl(const HostPort& backend, absl::StatusOr<std::vector<asio::ip::tcp::endpoint>> result);
  void AddAddressOnControl(const HostPort& backend, const asio::ip::tcp::endpoint& endpoint);
  void OpenConnectionOnControl(Address& address);
  // A connection's report (ClientConnection's listener), sorted into the
  // three below.
  void OnConnectionStateOnControl(const std::string& key, ClientConnection* connection, ClientConnection::State state,
                                  const absl::Status& status);
  // It retires (an answer owed past the late window): out of service,
  // replaced at once, then its unwritten requests fail.
  void OnConnectionRetiringOnControl(Address& address, ClientConnection& connection, const absl::Status& status);
  // It is ready: in service, and the address's failures end.
  void OnConnectionReadyOnControl(Address& address, ClientConnection& connection);
  // It closed: counted as a failed connect or as one that served, replaced
  // (at once or after the backoff), its address removed when draining.
  void OnConnectionClosedOnControl(Address& address, ClientConnection* closed, const absl::Status& status);
  // Logs a failed connect (the first of a run, then once a minute) and
  // ejects the address when the failures call for it. `how` prefixes the
  // reason.
  void ReportFailedConnectOnControl(Address& address, absl::string_view how, const absl::Status& status,
                                    bool in_service);
  // How many connections an address keeps open when idle (min_idle, at
  // least one, at most size).
  std::size_t ConnectionsKept() const;
  // Opens connections to `address` until it has ConnectionsKept(), counted
  // as reconnects when `reconnecting`.
  void OpenKeptConnectionsOnControl(Address& address, bool reconnecting);
  // Opens the address's wanted connections: at once for a new address, or
  // with `at_once` (one that served has closed), else after the backoff.
  void ReplenishOnControl(Address& address, bool at_once = false);
  // (Re)arms the address's reconnect timer to open its wanted connections
  // after `delay`.
  void ScheduleReconnectOnControl(Address& address, Clock::duration delay);
  // Stops the address's pending reconnect, so a later Replenish can arm it
  // again (an address that leaves DNS and comes back).
  void CancelReconnectOnControl(Address& address);
  // With no connection left in service, ejection sends requests nowhere:
  // lifts every ejection, so each address reconnects on its backoff.
  void LiftEjectionsOnControl();
  // Whether a published connection takes requests (Send() picks from them).
  bool AnyInService() const;
  void GrowOnControl(const std::string& key);
  void SweepOnControl();
  // Logs "connected after N failed connects" once a connection served.
  void ReportRecoveryOnControl(Address& address);
  void ProbeOnControl(Address& address, const std::shared_ptr<ClientConnection>& connection);
  // Takes a connection out of service; publish before closing retired ones.
  void RetireOnControl(Address& address, ClientConnection& connection);
  // Closes the address's retired connections that have nothing pending.
  void CloseRetiredOnControl(Address& address);
  void RemoveAddressOnControl(const std::string& key);
  void PublishOnControl();
  void CloseOnControl();
  void ArmSweepTimer();
  Clock::duration BackoffFor(int failures);
  ResponseCallback WrapCallback(AddressCounters* counters, ResponseCallback done);

  EventLoopGroup& loops_;
  asio::io_context& control_;
  const PoolOptions options_;
  std::shared_ptr<AddressResolver> resolver_;
  std::vector<HostPort> backends_;
  std::atomic<bool> closed_{false};
  std::atomic<int64_t> total_pending_{0};
  std::atomic<uint64_t> rejected_overload_{0};
  std::atomic<uint64_t> rejected_unavailable_{0};
  std::atomic<uint64_t> waited_for_connect_{0};
  std::atomic<uint64_t> waited_for_replacement_{0};
  // Requests waiting for the control loop to catch up (closed or self-
  // retired connections, names without an answer), and the connection
  // reports of such it is handling now.
  ReplacementWait replacement_wait_;
  std::atomic<int> closes_in_hand_{0};
  // Backend names without a first answer from the resolver yet: with
  // nothing open, a request waits for it in replacement_wait_ too.
  std::atomic<int> names_unanswered_{0};
  std::atomic<uint64_t> probe_seq_{0};

  // Control loop.
  std::map<std::string, std::unique_ptr<Address>> addresses_;
  std::map<std::string, std::shared_ptr<NameRefresher>> refreshers_;  // By backend "host:port".
  asio::steady_timer sweep_timer_;
  // Takes the waiting requests up at the earliest of their deadlines.
  asio::steady_timer wait_timer_;
  absl::Time wait_timer_at_ = absl::InfiniteFuture();  // When it fires; infinite: not armed.
  absl::flat_hash_set<std::string> names_answered_;     // Backend names the resolver has answered.
  bool control_closed_ = false;

  // Published to senders.
  mutable std::shared_mutex ready_mu_;
  std::vector<ReadyConnection> ready_;  // Guarded by ready_mu_.
  // Connections being made to addresses with no failed connect in a row (a
  // first connection, or the replacement of one that served): with nothing
  // ready, a request waits on one of them, as a gRPC channel's calls wait
  // while it is CONNECTING. Guarded by ready_mu_.
  std::vector<ReadyConnection> connecting_;

  // Connection bookkeeping for AwaitClosed/AwaitReady, and all counters
  // ever created (for stats).
  mutable std::mutex state_mu_;
  std::condition_variable state_changed_;
  int64_t live_connections_ = 0;  // Guarded by state_mu_.
  int64_t ready_connections_ = 0;  // Guarded by state_mu_.
  bool control_quiet_ = false;     // Guarded by state_mu_: CloseOnControl ran.
  std::vector<std::shared_ptr<AddressCounters>> all_counters_;  // Guarded by state_mu_.
};

}  // namespace tcpcore

#endif  // TCPCORE_POOL_CONTROL_H_
