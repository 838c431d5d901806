// Pool: the connections the gateway uses to reach its backends. Resolves
// each backend "host:port" (and re-resolves it every `resolve_interval`, and
// soon after a connection to one of its addresses fails, at most once per
// `resolve_min_gap`), keeps connections to every address, sends
// each request on the least loaded healthy connection, replaces broken
// connections with backoff, ejects addresses that keep failing, and bounds
// the work it accepts.
//
// Send() never blocks and never queues without bound: beyond `max_pending`
// requests, or when every connection is at its cap, it fails at once with
// kResourceExhausted. With no ready connection, a request waits on a
// connection being made to an address with no failed connect in a row (the
// pool's first connections, a new address, the replacement of a connection
// that served and closed): like a gRPC channel's calls while it is
// CONNECTING, it goes out when that connect succeeds and fails with
// kUnavailable when it fails (at most `dial_timeout` later), or with
// kDeadlineExceeded at its deadline. With no such connection either (the
// addresses keep failing, or the names resolved to none or to an error) it fails at once
// with kUnavailable rather than waiting for the deadline. A request that
// finds nothing open only because a name has no answer from the resolver
// yet (just after Start()), or because connections closed or retired
// themselves a moment before (the control loop has not yet heard of it, or
// is handling it), waits until the pool has handled that, then is sent as
// above: to a connection being made, or failed at once when there is none;
// at its deadline it ends kDeadlineExceeded, and a cancel meanwhile ends it
// too, unsent. Every other outcome is ClientConnection's (see
// client_connection.h).
//
// Balancing: power of two choices over the ready connections of healthy
// addresses, comparing pending requests plus pending bytes (one "request"
// per 4 KiB), so one huge request does not pile small ones behind it; each
// connection also has a cap on its pending bytes.
//
// Discovery: an address that appears in a name's answer is connected at
// once; one that vanishes is drained: it gets no new requests, the requests
// already on its connections finish, then they close. A name that fails to
// resolve keeps its addresses.
//
// Health: an address that fails `eject_after_failures` connects in a row is
// ejected for `ejection_time`. With `health_interval` set, an idle
// connection sends a probe (Uid prefix kProbeUidPrefix) and is replaced when
// no answer comes within `read_timeout` (within `health_interval` when the
// read timeout is off): keepalive cannot see a backend that is alive at the
// TCP level but stuck.
//
// Thread-safety: Send(), Close() and stats() are safe from any thread.
// Structure (addresses, connections, timers) lives on the control loop, the
// group's loop 0. Callbacks run on a connection's loop, inline in Send()
// when it fails at once, or on the control loop for a request that waited
// for a replacement and ends there. Close() the pool (or destroy it) while
// the loops run.
#ifndef TCPCORE_POOL_H_
#define TCPCORE_POOL_H_

#include <cstdint>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "tcpcore/address_resolver.h"
#include "tcpcore/client_connection.h"
#include "tcpcore/event_loop_group.h"

namespace tcpcore {

struct PoolOptions {
  // Backends, each "host:port"; names are resolved by DNS.
  std::vector<std::string> backends;
  // Most connections to one backend address.
  int size = 4;
  // Connections kept open to each address even when idle (at least 1).
  int min_idle = 1;
  // A connection beyond min_idle idle this long is closed.
  absl::Duration idle_timeout = absl::Seconds(60);
  // Per-connection settings: dial_timeout, read_timeout, keepalive, ...
  ConnectionOptions connection;
  // Caps: requests pending on one connection, bytes pending on one
  // connection, requests pending in the whole pool.
  int max_pending_per_connection = 1024;
  int64_t max_pending_bytes_per_connection = 16 << 20;
  int max_pending = 65536;
  // A connection this loaded asks for another to its address (up to
  // `size`): this many pending requests, each 4 KiB pending counting as one
  // more, or half of max_pending_bytes_per_connection pending. The pool
  // opens one when every connection of the address is that loaded.
  int grow_at_pending = 64;
  // How often names are resolved again.
  absl::Duration resolve_interval = absl::Seconds(10);
  // A connection that fails to connect or breaks has its name resolved again
  // early, but never sooner than this after the name's previous resolve (a
  // crash-looping backend must not hammer DNS); never more often than
  // `resolve_interval` would anyway.
  absl::Duration resolve_min_gap = absl::Seconds(1);
  // Reconnect backoff: the first retry after `initial`, doubling with each
  // failure in a row, each delay drawn from 50% to 150% of its step and never
  // over `max`.
  absl::Duration reconnect_backoff_initial = absl::Milliseconds(100);
  absl::Duration reconnect_backoff_max = absl::Seconds(10);
  // Outlier detection.
  int eject_after_failures = 3;
  absl::Duration ejection_time = absl::Seconds(10);
  // Active health check of idle connections; zero turns it off.
  absl::Duration health_interval = absl::ZeroDuration();
};

// Counters of one backend address, or of the whole pool. A snapshot.
struct BackendStats {
  std::string backend;  // As configured, "host:port".
  std::string address;  // Resolved "ip:port"; empty for the totals.
  uint64_t sent = 0;
  uint64_t ok = 0;
  uint64_t deadline = 0;     // Failed with kDeadlineExceeded.
  uint64_t conn_errors = 0;  // Failed with kUnavailable (connection trouble).
  uint64_t other_errors = 0;  // Cancelled, rejected by the backend.
  uint64_t late_responses = 0;
  // Connections retired for an answer owed past late_response_window.
  uint64_t retired_owing_answer = 0;
  uint64_t error_lines = 0;
  uint64_t reconnects = 0;
  uint64_t ejections = 0;  // Times the address was ejected.
  uint64_t connect_failures = 0;  // Connections that closed before they were ready.
  int64_t in_flight = 0;
  int64_t connections_open = 0;
  bool ejected = false;
  bool draining = false;
};

struct PoolStats {
  BackendStats total;
  std::vector<BackendStats> backends;
  // Connections a new request can go to now: ready, of an address neither
  // ejected nor draining, not retired. total.connections_open also counts
  // ready connections that only finish the requests they hold.
  int64_t connections_in_service = 0;
  // Connections being made that a request finding nothing ready waits on
  // (see Send()).
  int64_t connections_awaited = 0;
  uint64_t rejected_overload = 0;     // kResourceExhausted at Send().
  uint64_t rejected_unavailable = 0;  // No healthy connection at Send().
  // Sent to a connection still being made, nothing being ready.
  uint64_t waited_for_connect = 0;
  // Found nothing open only because connections had just closed (or
  // retired themselves) or a name had no answer from the resolver yet, and
  // waited for the pool to catch up (see Send()).
  uint64_t waited_for_replacement = 0;
};

class PoolControl;

class Pool {
 public:
  // Requests whose Uid starts with this are the pool's own health probes;
  // callers may not use it.
  static constexpr char kProbeUidPrefix[] = "_tcpgate_probe_";

  // `resolver` may be null for DNS.
  Pool(EventLoopGroup& loops, PoolOptions options, std::shared_ptr<AddressResolver> resolver = nullptr);
  ~Pool();  // Close().

  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // Validates the options and starts resolving and connecting. Fails on a
  // malformed backend address, or on options CheckPoolOptions() refuses
  // (pool_options_check.h).
  [[nodiscard]] absl::Status Start();

  // Sends `request` to a backend; `done` runs exactly once.
  CancelHandle Send(Request request, absl::Time deadline, ResponseCallback done);
  std::future<absl::StatusOr<Response>> SendAsync(Request request, absl::Time deadline);

  // Waits (up to `timeout`) until at least `count` connections are ready.
  bool AwaitReady(int count, absl::Duration timeout);

  // Fails every pending request with kUnavailable ("pool closed"), stops the
  // timers and closes every connection. Idempotent, callable from any
  // thread; from a non-loop thread it returns once every callback ran.
  void Close();

  PoolStats stats() const;

 private:
  std::shared_ptr<PoolControl> control_;
};

}  // namespace tcpcore

#endif  // TCPCORE_POOL_H_
