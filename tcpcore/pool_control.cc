#include "tcpcore/pool_control.h"

#include <algorithm>
#include <optional>
#include <random>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "asio/post.hpp"
#include "tcpcore/cancel_relay.h"
#include "tcpcore/log.h"
#include "tcpcore/message_codec.h"
#include "tcpcore/pool_options_check.h"
#include "tcpcore/steady_deadline.h"

namespace tcpcore {
namespace {

constexpr int64_t kBytesPerRequestWeight = 4096;

// How loaded `c` is: its pending requests, plus one per 4 KiB pending, so
// one huge request weighs like many small ones.
int64_t Load(const ClientConnection& c) { return c.pending_count() + c.pending_bytes() / kBytesPerRequestWeight; }

// A fast per-thread generator for the two random choices.
uint64_t NextRandom() {
  thread_local uint64_t state = std::random_device{}() | 1;
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return state;
}

}  // namespace

void AddressCounters::Record(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk: ok.fetch_add(1, std::memory_order_relaxed); break;
    case absl::StatusCode::kDeadlineExceeded: deadline.fetch_add(1, std::memory_order_relaxed); break;
    case absl::StatusCode::kUnavailable: conn_errors.fetch_add(1, std::memory_order_relaxed); break;
    default: other_errors.fetch_add(1, std::memory_order_relaxed); break;
  }
  in_flight.fetch_sub(1, std::memory_order_relaxed);
}

PoolControl::PoolControl(EventLoopGroup& loops, PoolOptions options, std::shared_ptr<AddressResolver> resolver)
    : loops_(loops),
      control_(loops.loop(0)),
      options_(std::move(options)),
      resolver_(resolver ? std::move(resolver) : std::make_shared<DnsResolver>(loops.loop(0))),
      sweep_timer_(control_),
      wait_timer_(control_) {}

PoolControl::~PoolControl() = default;

bool PoolControl::OnLoopThread() const {
  for (std::size_t i = 0; i < loops_.size(); ++i) {
    if (loops_.loop(i).get_executor().running_in_this_thread()) return true;
  }
  return false;
}

absl::Status PoolControl::Start() {
  if (options_.backends.empty()) return absl::InvalidArgumentError("the pool needs at least one backend");
  if (absl::Status status = CheckPoolOptions(options_); !status.ok()) return status;
  absl::flat_hash_set<std::string> names;
  for (const std::string& text : options_.backends) {
    backends_.push_back(*HostPort::Parse(text));  // Checked above.
    names.insert(backends_.back().ToString());
  }
  names_unanswered_.store(static_cast<int>(names.size()), std::memory_order_release);
  asio::post(control_, [self = shared_from_this()] { self->StartOnControl(); });
  return absl::OkStatus();
}

// ---- Sending (any thread) ----

CancelHandle PoolControl::Send(Request request, absl::Time deadline, ResponseCallback done) {
  if (closed_.load(std::memory_order_acquire)) {
    std::move(done)(absl::UnavailableError("pool closed"));
    return {};
  }
  if (absl::StartsWith(request.uid, Pool::kProbeUidPrefix)) {
    std::move(done)(absl::InvalidArgumentError(
        absl::StrCat("Uid prefix \"", Pool::kProbeUidPrefix, "\" is reserved for health probes")));
    return {};
  }
  // Escapes make a line up to six bytes per byte of text: only a request
  // that might be too long is measured exactly.
  const std::size_t line_limit = options_.connection.max_request_line_bytes;
  if ((request.uid.size() + request.val.size()) * 6 + 32 > line_limit) {
    const std::size_t line = RequestLineBytes(request) - 1;  // Without its newline, as the backend counts.
    if (line > line_limit) {
      std::move(done)(absl::InvalidArgumentError(absl::StrCat("the request is ", line,
                                                              " bytes as a JSON line (escapes included), over the "
                                                              "backends' line limit of ",
                                                              line_limit)));
      return {};
    }
  }
  if (total_pending_.fetch_add(1, std::memory_order_relaxed) >= options_.max_pending) {
    rejected_overload_.fetch_add(1, std::memory_order_relaxed);
    FailBeforeAdmission(done, absl::ResourceExhaustedError(
                                  absl::StrCat("pool has ", options_.max_pending, " requests pending; try again later")));
    return {};
  }
  return Dispatch(request, deadline, done, nullptr);
}

CancelHandle PoolControl::Dispatch(Request& request, absl::Time deadline, ResponseCallback& done,
                                   std::shared_ptr<CancelRelay> relay) {
  const int64_t bytes = ClientConnection::WireBytes(request);
  // A connection the control loop retired (idle, or its address left DNS)
  // refuses the request instead of failing it, and is out of the ready set
  // by then, so a second pick finds another. Pick() passes over one that
  // broke or retired itself; one that does so after the pick refuses too.
  constexpr int kRefusalsAllowed = 3;
  for (int refusals = 0;;) {
    const uint64_t round = replacement_wait_.round();
    Choice choice = Pick(bytes);
    if (choice.connection == nullptr) {
      if (choice.any_open) {
        rejected_overload_.fetch_add(1, std::memory_order_relaxed);
        FailBeforeAdmission(done, absl::ResourceExhaustedError("every backend connection is at its pending cap"));
        return {};
      }
      switch (WaitForCatchUp(round, choice.saw_leaving, request, deadline, done, relay)) {
        case CatchUp::kKept:
          return CancelHandle(relay);
        case CatchUp::kLookAgain:
          continue;
        case CatchUp::kPoolClosed:
          FailBeforeAdmission(done, absl::UnavailableError("pool closed"));
          return {};
        case CatchUp::kNothingToWaitFor:
          rejected_unavailable_.fetch_add(1, std::memory_order_relaxed);
          FailBeforeAdmission(done, absl::UnavailableError("no healthy backend connection"));
          return {};
      }
    }
    AddressCounters* counters = choice.counters;
    // Counted before the request can complete. Close() returns only after
    // every callback ran, so `counters` (and the pool) outlive the wrapper.
    auto admit = [&]() -> ResponseCallback {
      counters->sent.fetch_add(1, std::memory_order_relaxed);
      counters->in_flight.fetch_add(1, std::memory_order_relaxed);
      return WrapCallback(counters, std::move(done));
    };
    CancelHandle handle;
    if (choice.connection->TrySend(request, deadline, admit, handle)) {
      if (choice.connecting) waited_for_connect_.fetch_add(1, std::memory_order_relaxed);
      if (IsBusy(*choice.connection) && !counters->grow_requested.exchange(true, std::memory_order_relaxed)) {
        asio::post(control_, [self = shared_from_this(), counters] {
          counters->grow_requested.store(false, std::memory_order_relaxed);
          self->GrowOnControl(absl::StrCat(counters->backend, "|", counters->address));
        });
      }
      if (relay) relay->Attach(handle);
      return handle;
    }
    if (++refusals == kRefusalsAllowed) {
      admit()(NotSent(choice.connection->close_reason()));
      return {};
    }
  }
}

PoolControl::CatchUp PoolControl::WaitForCatchUp(uint64_t round, bool saw_leaving, Request& request,
                                                 absl::Time deadline, ResponseCallback& done,
                                                 std::shared_ptr<CancelRelay>& relay) {
  // Nothing open only because connections just closed or retired
  // themselves, or a name has no answer yet: wait for the control loop to
  // handle that and publish the connections it opens (the handshake is
  // ReplacementWait's).
  auto reason_to_wait = [&] {
    return saw_leaving || closes_in_hand_.load(std::memory_order_acquire) > 0 ||
           names_unanswered_.load(std::memory_order_acquire) > 0;
  };
  if (!reason_to_wait()) {
    // A reason that ended since this look (its take-up ran) may have
    // published what takes the request.
    return replacement_wait_.round() != round ? CatchUp::kLookAgain : CatchUp::kNothingToWaitFor;
  }
  // The pool's last take-up may have run: nothing would end the wait.
  if (closed_.load(std::memory_order_acquire)) return CatchUp::kPoolClosed;
  const bool first_wait = relay == nullptr;
  if (first_wait) relay = std::make_shared<CancelRelay>();
  const ReplacementWait::Added added = replacement_wait_.Add(round, reason_to_wait, request, deadline, done, relay);
  if (added == ReplacementWait::Added::kLookAgain) return CatchUp::kLookAgain;
  if (first_wait) waited_for_replacement_.fetch_add(1, std::memory_order_relaxed);
  if (added == ReplacementWait::Added::kKeptEarliest && deadline != absl::InfiniteFuture()) {
    asio::post(control_, [self = shared_from_this(), deadline] { self->ArmWaitTimerOnControl(deadline); });
  }
  return CatchUp::kKept;
}

void PoolControl::FailBeforeAdmission(ResponseCallback& done, absl::Status status) {
  total_pending_.fetch_sub(1, std::memory_order_relaxed);
  std::move(done)(std::move(status));
}

void PoolControl::ArmWaitTimerOnControl(absl::Time deadline) {
  if (control_closed_ || deadline >= wait_timer_at_) return;
  wait_timer_at_ = deadline;
  wait_timer_.expires_at(SteadyAfter(deadline - absl::Now()));  // Re-arming cancels the wait in progress.
  wait_timer_.async_wait([self = shared_from_this(), deadline](const asio::error_code& error) {
    // A wait cancelled by a re-arm, or that fired after one, leaves the
    // timer to the later arming.
    if (error || self->wait_timer_at_ != deadline) return;
    self->wait_timer_at_ = absl::InfiniteFuture();
    self->TakeUpWaitingOnControl();
  });
}

void PoolControl::TakeUpWaitingOnControl(absl::FunctionRef<void()> end_reason) {
  for (ReplacementWait::Waiting& waiting : replacement_wait_.TakeAll(end_reason)) {
    if (std::optional<absl::StatusCode> code = waiting.relay->cancelled()) {
      FailBeforeAdmission(waiting.done, CallerCancelStatus(*code));
    } else if (control_closed_) {
      FailBeforeAdmission(waiting.done, absl::UnavailableError("pool closed"));
    } else if (waiting.deadline <= absl::Now()) {
      FailBeforeAdmission(waiting.done, absl::DeadlineExceededError(
                                            "deadline exceeded before a backend connection took the request"));
    } else {
      Dispatch(waiting.request, waiting.deadline, waiting.done, std::move(waiting.relay));
    }
  }
}

bool PoolControl::IsBusy(const ClientConnection& c) const {
  const int64_t count = c.pending_count();
  const int64_t bytes = c.pending_bytes();
  return count + bytes / kBytesPerRequestWeight >= options_.grow_at_pending ||
         (count > 0 && bytes * 2 >= options_.max_pending_bytes_per_connection);
}

bool PoolControl::HasRoom(const ClientConnection& c, int64_t bytes) const {
  const int64_t count = c.pending_count();
  return count < options_.max_pending_per_connection &&
         (count == 0 || c.pending_bytes() + bytes <= options_.max_pending_bytes_per_connection);
}

PoolControl::Choice PoolControl::Pick(int64_t bytes) const {
  // A connection that closed stays published until the control loop hears
  // of it; it is neither chosen nor counted as open meanwhile.
  Choice choice;
  auto usable = [&](const ClientConnection& c) {
    const ClientConnection::State state = c.state();
    const bool retired_itself = c.retiring();
    if (state == ClientConnection::State::kClosed || retired_itself) choice.saw_leaving = true;
    if (state != ClientConnection::State::kReady || retired_itself) return false;
    choice.any_open = true;
    return HasRoom(c, bytes);
  };
  // Only the connection is copied out of the lock (it must stay alive for
  // the send); the counters live as long as the pool (all_counters_).
  std::shared_lock lock(ready_mu_);
  const std::size_t n = ready_.size();
  const ReadyConnection* best = nullptr;
  // Keeps `candidate` if it can take the request and is less loaded.
  auto consider = [&](const ReadyConnection& candidate, bool can_take) {
    if (can_take && (best == nullptr || Load(*candidate.connection) < Load(*best->connection))) best = &candidate;
  };
  if (n == 1) {
    consider(ready_[0], usable(*ready_[0].connection));
  } else if (n > 1) {
    const std::size_t i = NextRandom() % n;
    std::size_t j = NextRandom() % (n - 1);
    if (j >= i) ++j;
    for (std::size_t k : {i, j}) consider(ready_[k], usable(*ready_[k].connection));
    if (best == nullptr) {  // Both closed or at their cap: look at every connection.
      for (const ReadyConnection& candidate : ready_) consider(candidate, usable(*candidate.connection));
    }
  }
  if (best == nullptr && !choice.any_open) {
    // Nothing ready: wait on a connection being made (see connecting_). One
    // that became ready since the control loop published it does as well.
    for (const ReadyConnection& candidate : connecting_) {
      const ClientConnection& c = *candidate.connection;
      if (c.state() == ClientConnection::State::kClosed) continue;
      choice.any_open = true;
      consider(candidate, HasRoom(c, bytes));
    }
    // One the control loop has not republished as ready yet is ready.
    choice.connecting = best != nullptr && best->connection->state() == ClientConnection::State::kConnecting;
  }
  if (best != nullptr) {
    choice.connection = best->connection;
    choice.counters = best->counters.get();
  }
  return choice;
}

ResponseCallback PoolControl::WrapCallback(AddressCounters* counters, ResponseCallback done) {
  return [this, counters, done = std::move(done)](absl::StatusOr<Response> result) mutable {
    counters->Record(result.status());
    total_pending_.fetch_sub(1, std::memory_order_relaxed);
    std::move(done)(std::move(result));
  };
}

// ---- Control loop ----

void PoolControl::StartOnControl() {
  if (control_closed_) return;
  for (const HostPort& backend : backends_) {
    auto [it, added] = refreshers_.try_emplace(backend.ToString());
    if (!added) continue;  // The same name twice.
    it->second = std::make_shared<NameRefresher>(
        control_, backend, resolver_, options_.resolve_interval, options_.resolve_min_gap,
        [weak = weak_from_this()](const HostPort& name, absl::StatusOr<std::vector<asio::ip::tcp::endpoint>> answer) {
          if (auto self = weak.lock()) self->OnResolvedOnControl(name, std::move(answer));
        });
    it->second->Start();
  }
  ArmSweepTimer();
}

void PoolControl::OnResolvedOnControl(const HostPort& backend,
                                      absl::StatusOr<std::vector<asio::ip::tcp::endpoint>> result) {
  ApplyResolvedOnControl(backend, std::move(result));
  if (names_answered_.insert(backend.ToString()).second) {
    // The first answer for the name (addresses, none, or an error): its
    // connections, if any, are published as being made; requests that
    // waited for it go to them, or fail as they would have.
    TakeUpWaitingOnControl([this] { names_unanswered_.fetch_sub(1, std::memory_order_release); });
  }
}

void PoolControl::ApplyResolvedOnControl(const HostPort& backend,
                                         absl::StatusOr<std::vector<asio::ip::tcp::endpoint>> result) {
  if (control_closed_) return;
  const std::string prefix = absl::StrCat(backend.ToString(), "|");
  if (!result.ok() || result->empty()) {
    // Keep what we have: a resolver hiccup must not drop healthy backends.
    Log(LogLevel::kWarning, absl::StrCat("pool: ", backend.ToString(), ": ",
                                         result.ok() ? "resolved to no address" : result.status().message()));
    return;
  }
  bool changed = false;
  absl::flat_hash_set<std::string> current;
  for (const asio::ip::tcp::endpoint& endpoint : *result) {
    const std::string key = absl::StrCat(prefix, endpoint.address().to_string(), ":", endpoint.port());
    current.insert(key);
    auto it = addresses_.find(key);
    if (it == addresses_.end()) {
      AddAddressOnControl(backend, endpoint);
    } else if (it->second->draining) {  // Came back before it was gone.
      Address& back = *it->second;
      back.draining = false;
      // Its connections not yet closing are in service again (one that
      // retired itself, an answer owed too long, is closing).
      absl::erase_if(back.retiring, [](const auto& entry) { return !entry.second; });
      ReplenishOnControl(back);
      changed = true;
    }
  }
  std::vector<std::string> gone;
  for (auto& [key, address] : addresses_) {
    if (absl::StartsWith(key, prefix) && !current.contains(key) && !address->draining) {
      Log(LogLevel::kInfo, absl::StrCat("pool: ", address->counters->address, " left ", backend.ToString(),
                                        "; draining it"));
      address->draining = true;
      CancelReconnectOnControl(*address);
      for (const auto& connection : address->connections) RetireOnControl(*address, *connection);
      changed = true;
      if (address->connections.empty()) gone.push_back(key);
    }
  }
  for (const std::string& key : gone) RemoveAddressOnControl(key);
  if (!changed) return;
  // Out of the ready set first, so no sender can still be handing them a
  // request; then close the idle ones (the rest at a later sweep).
  PublishOnControl();
  // The addresses that left may have held the last connections in service:
  // an ejection then only keeps requests from the addresses that remain,
  // as when the last connection closes.
  if (!AnyInService()) LiftEjectionsOnControl();
  for (auto& [key, address] : addresses_) {
    if (!absl::StartsWith(key, prefix)) continue;
    // Shown in stats() only now, when senders already see the change.
    address->counters->draining.store(address->draining, std::memory_order_release);
    if (address->draining) CloseRetiredOnControl(*address);
  }
}

void PoolControl::AddAddressOnControl(const HostPort& backend, const asio::ip::tcp::endpoint& endpoint) {
  auto address = std::make_unique<Address>();
  address->backend = backend;
  address->endpoint = endpoint;
  address->counters = std::make_shared<AddressCounters>();
  address->counters->backend = backend.ToString();
  address->counters->address = absl::StrCat(endpoint.address().to_string(), ":", endpoint.port());
  address->key = absl::StrCat(address->counters->backend, "|", address->counters->address);
  address->reconnect_timer = std::make_unique<asio::steady_timer>(control_);
  {
    std::lock_guard lock(state_mu_);
    all_counters_.push_back(address->counters);
  }
  Log(LogLevel::kInfo, absl::StrCat("pool: ", address->counters->address, " joined ", backend.ToString()));
  Address& added = *address;
  addresses_.emplace(address->key, std::move(address));
  ReplenishOnControl(added);
}

void PoolControl::OpenConnectionOnControl(Address& address) {
  std::weak_ptr<PoolControl> weak = weak_from_this();
  std::string key = address.key;
  auto connection = ClientConnection::Create(
      loops_.Next(), address.endpoint, options_.connection, address.counters->connection,
      [weak, key](ClientConnection& reporter, ClientConnection::State state, const absl::Status& status) {
        // Runs on the connection's loop; the control loop owns the structure.
        // The pointer only identifies the connection there (holding it here
        // would be a cycle); the control loop still owns it when this lands.
        auto self = weak.lock();
        if (!self) return;
        asio::post(self->control_, [self, key, raw = &reporter, state,
                                    reason = absl::Status(status.code(), status.message())] {
          self->OnConnectionStateOnControl(key, raw, state, reason);
        });
      });
  address.connections.push_back(connection);
  {
    std::lock_guard lock(state_mu_);
    ++live_connections_;
  }
  connection->Start();
}

void PoolControl::OnConnectionStateOnControl(const std::string& key, ClientConnection* connection,
                                             ClientConnection::State state, const absl::Status& status) {
  auto it = addresses_.find(key);
  if (state == ClientConnection::State::kReady && status.ok()) {
    if (it != addresses_.end()) OnConnectionReadyOnControl(*it->second, *connection);
    return;
  }
  // It closed or retired itself. Requests that find nothing open meanwhile
  // wait for this report to be handled (replacement_wait_), and are taken
  // up once it is: with the replacement published, or failing as they
  // would have.
  closes_in_hand_.fetch_add(1, std::memory_order_acq_rel);
  if (it != addresses_.end()) {
    if (state == ClientConnection::State::kClosed) {
      OnConnectionClosedOnControl(*it->second, connection, status);
    } else {
      OnConnectionRetiringOnControl(*it->second, *connection, status);
    }
  }
  TakeUpWaitingOnControl([this] { closes_in_hand_.fetch_sub(1, std::memory_order_release); });
}

void PoolControl::OnConnectionRetiringOnControl(Address& address, ClientConnection& connection,
                                                const absl::Status& status) {
  // It retired (an answer owed too long): out of service now, replaced at
  // once; it closes by itself once its requests are done.
  if (control_closed_) return;  // Closing it fails what it holds.
  Log(LogLevel::kWarning, absl::StrCat("pool: ", status.message()));
  // Closing by itself from now on, whether or not the control loop had
  // taken it out of service already (its address left DNS).
  if (const auto [entry, added] = address.retiring.insert_or_assign(&connection, true); added) {
    PublishOnControl();
    ReplenishOnControl(address, /*at_once=*/true);
  }
  // Now that senders see the replacement (ready or being made), the
  // requests it holds unwritten may fail: a retry waits for that one.
  connection.ReleaseUnsent();
}

void PoolControl::OnConnectionReadyOnControl(Address& address, ClientConnection& connection) {
  int newly_ready = 0;
  if (connection.state() == ClientConnection::State::kReady &&
      address.ready.try_emplace(&connection, Address::ReadySince{Clock::now(), address.consecutive_failures}).second) {
    ++newly_ready;
  }
  // One that closed before this report (a backend that accepts and turns
  // it away at once) never served: its close report counts it as a
  // failed connect, so the address's failures stand.
  if (newly_ready > 0) {
    if (address.consecutive_failures > 0) address.failures_to_report = address.consecutive_failures;
    address.consecutive_failures = 0;
    if (address.counters->ejected.exchange(false, std::memory_order_relaxed)) {
      Log(LogLevel::kInfo, absl::StrCat("pool: ", address.counters->address, " is healthy again"));
    }
  }
  // Published before it is counted: whoever sees the connection counted
  // (AwaitReady(), stats()' connections_open) can send on it.
  PublishOnControl();
  {
    std::lock_guard lock(state_mu_);
    address.counters->connections_open.fetch_add(newly_ready, std::memory_order_release);
    ready_connections_ += newly_ready;
  }
  state_changed_.notify_all();
  if (control_closed_) connection.Close("pool closed");
}

// Reported once per connection, after all its callbacks ran.
void PoolControl::OnConnectionClosedOnControl(Address& address, ClientConnection* closed,
                                              const absl::Status& status) {
  // `closed` may be gone already (its address removed and added again):
  // only compared until it is found among the address's connections.
  auto c = std::find_if(address.connections.begin(), address.connections.end(),
                        [closed](const auto& candidate) { return candidate.get() == closed; });
  if (c == address.connections.end()) return;
  const ClientConnection& connection = *closed;
  const std::string key = address.key;  // RemoveAddressOnControl destroys `address`.
  bool closed_before_ready = false;
  Clock::duration served_for{};
  int failures_before_ready = 0;
  {
    std::lock_guard lock(state_mu_);
    if (auto ready = address.ready.find(closed); ready != address.ready.end()) {
      served_for = Clock::now() - ready->second.at;
      failures_before_ready = ready->second.failures_before;
      address.ready.erase(ready);
      address.counters->connections_open.fetch_sub(1, std::memory_order_relaxed);
      --ready_connections_;
    } else {
      closed_before_ready = true;
    }
    --live_connections_;
  }
  // A connection the backend turned away (at its connection limit), or
  // closed within an initial backoff step without answering anything while
  // a request was on it or within kQuickClose of the connect (a proxy with
  // no upstream accepts and drops), was a failed connect, not one that
  // worked: the failures before it count on, so its replacements back off
  // instead of coming every initial backoff, and no "connected" line is
  // logged for it. An idle connection the backend closes at its idle
  // timeout, even one under the initial backoff, served.
  constexpr std::chrono::milliseconds kQuickClose{50};
  const bool refused = connection.refused_by_backend();
  const bool never_served = !closed_before_ready && !connection.answered_any() &&
                            served_for < absl::ToChronoNanoseconds(options_.reconnect_backoff_initial) &&
                            (connection.wrote_any() || served_for < kQuickClose);
  if (refused || never_served) {
    address.consecutive_failures = std::max(address.consecutive_failures, failures_before_ready);
  }
  address.probing.erase(closed);
  address.probed_at.erase(closed);
  const bool retired = address.retiring.erase(closed) > 0;
  address.connections.erase(c);  // May destroy `connection`.
  state_changed_.notify_all();
  if (control_closed_) {  // CloseOnControl published the empty sets.
    if (address.connections.empty()) RemoveAddressOnControl(key);
    return;
  }
  const bool failed_connect = (closed_before_ready || refused || never_served) && !retired;
  if (failed_connect) {
    address.counters->connect_failures.fetch_add(1, std::memory_order_relaxed);
    ++address.consecutive_failures;
  }
  // Without the closed connection, and with the failure counted: requests
  // no longer wait on the address's other connects (connecting_).
  PublishOnControl();
  const bool in_service = AnyInService();
  if (!in_service) LiftEjectionsOnControl();
  if (!retired && !address.draining) {
    // It failed to connect or broke: the backend may have moved or gone.
    auto refresher = refreshers_.find(address.counters->backend);
    if (refresher != refreshers_.end()) refresher->second->RefreshSoon();
  }
  bool replace_at_once = false;
  if (failures_before_ready > 0 && !refused && !never_served) {  // Found ready: it did not close before.
    ReportRecoveryOnControl(address);
  }
  if (failed_connect) {
    ReportFailedConnectOnControl(address, never_served && !refused ? "closed before it served: " : "", status,
                                 in_service);
  } else {
    Log(LogLevel::kInfo, absl::StrCat("pool: connection to ", address.counters->address, " closed: ",
                                      status.message()));
    // A connection that served for at least one initial backoff step and
    // then closed (a backend closing idle connections, a restart) is
    // replaced at once: waiting the backoff would leave the address, often
    // the pool, without a connection, failing calls UNAVAILABLE meanwhile.
    // One that closes sooner (a backend that accepts and drops) backs off.
    replace_at_once = !retired && address.consecutive_failures == 0 &&
                      served_for >= absl::ToChronoNanoseconds(options_.reconnect_backoff_initial);
  }
  if (address.draining && address.connections.empty()) {
    RemoveAddressOnControl(key);
    return;
  }
  ReplenishOnControl(address, replace_at_once);
}

void PoolControl::ReportFailedConnectOnControl(Address& address, absl::string_view how, const absl::Status& status,
                                               bool in_service) {
  // The first of a run of failures, then one line a minute while it lasts:
  // an operator finds why nothing connects without a line per attempt.
  const Clock::time_point now = Clock::now();
  if (address.consecutive_failures == 1 || now - address.failure_logged_at >= std::chrono::minutes(1)) {
    address.failure_logged_at = now;
    Log(LogLevel::kWarning, absl::StrCat("pool: cannot connect to ", address.counters->address, " (",
                                         address.consecutive_failures, " failed in a row): ", how, status.message(),
                                         "; retrying with backoff"));
  }
  // Failed connects beside a working connection mean a backend slow to
  // accept, not a dead one: only an address with no ready connection is
  // ejected (ejection takes all of its connections out of service). And
  // only while a connection (of another address) is in service: ejection
  // is there to send requests to the healthy ones, and with none it would
  // only keep a backend that restarts in a second out for the cooldown.
  if (address.consecutive_failures >= options_.eject_after_failures && address.ready.empty() && in_service &&
      !address.counters->ejected.load()) {
    address.counters->ejected.store(true, std::memory_order_relaxed);
    address.counters->ejections.fetch_add(1, std::memory_order_relaxed);
    address.ejected_until = SteadyAfter(options_.ejection_time);
    Log(LogLevel::kWarning, absl::StrCat("pool: ejecting ", address.counters->address, " for ",
                                         absl::FormatDuration(options_.ejection_time), " after ",
                                         address.consecutive_failures, " failed connects: ", status.message()));
  }
}

bool PoolControl::AnyInService() const {
  std::shared_lock lock(ready_mu_);
  return !ready_.empty();
}

void PoolControl::LiftEjectionsOnControl() {
  for (auto& [key, address] : addresses_) {
    if (!address->counters->ejected.exchange(false, std::memory_order_relaxed)) continue;
    Log(LogLevel::kWarning, absl::StrCat("pool: lifting the ejection of ", address->counters->address,
                                         ": no backend connection is in service; reconnecting now"));
    // Its backend may have been back for long; with nothing else in
    // service, one attempt now (a failure backs off from there).
    if (address->reconnect_scheduled) ScheduleReconnectOnControl(*address, Clock::duration::zero());
  }
}

std::chrono::steady_clock::duration PoolControl::BackoffFor(int failures) {
  const auto initial = absl::ToChronoNanoseconds(options_.reconnect_backoff_initial);
  const auto most = absl::ToChronoNanoseconds(options_.reconnect_backoff_max);
  // The first retry after `initial`, then doubling.
  auto delay = initial;
  for (int i = 1; i < failures && delay < most; ++i) delay *= 2;
  // Jitter: 50% to 150%, so many gateways do not reconnect in step; never
  // over the maximum.
  const double factor = 0.5 + static_cast<double>(NextRandom() % 1000) / 1000.0;
  return std::min(std::chrono::duration_cast<Clock::duration>(std::min(delay, most) * factor),
                  std::chrono::duration_cast<Clock::duration>(most));
}

std::size_t PoolControl::ConnectionsKept() const {
  return static_cast<std::size_t>(std::max(1, std::min(options_.min_idle, options_.size)));
}

void PoolControl::OpenKeptConnectionsOnControl(Address& address, bool reconnecting) {
  bool opened = false;
  while (address.connections.size() - address.retiring.size() < ConnectionsKept()) {
    if (reconnecting) address.counters->reconnects.fetch_add(1, std::memory_order_relaxed);
    OpenConnectionOnControl(address);
    opened = true;
  }
  if (opened) PublishOnControl();  // Requests may wait on them (connecting_).
}

void PoolControl::ReplenishOnControl(Address& address, bool at_once) {
  if (control_closed_ || address.draining || address.reconnect_scheduled) return;
  if (address.connections.size() - address.retiring.size() >= ConnectionsKept()) return;
  if (!address.connected_once) {
    // First connections of a new address: no delay.
    address.connected_once = true;
    OpenKeptConnectionsOnControl(address, /*reconnecting=*/false);
    return;
  }
  if (at_once) {
    OpenKeptConnectionsOnControl(address, /*reconnecting=*/true);
    return;
  }
  Clock::duration delay = BackoffFor(address.consecutive_failures);
  if (address.counters->ejected.load()) delay = std::max(delay, address.ejected_until - Clock::now());
  ScheduleReconnectOnControl(address, delay);
}

void PoolControl::ScheduleReconnectOnControl(Address& address, Clock::duration delay) {
  address.reconnect_scheduled = true;
  // Re-arming cancels the wait in progress; one that had fired already and
  // waits to run sees a newer generation and does nothing.
  const uint64_t generation = ++address.reconnect_generation;
  address.reconnect_timer->expires_after(delay);
  address.reconnect_timer->async_wait([self = shared_from_this(), key = address.key,
                                       generation](const asio::error_code& error) {
    if (error || self->control_closed_) return;
    auto it = self->addresses_.find(key);
    if (it == self->addresses_.end()) return;
    Address& target = *it->second;
    if (generation != target.reconnect_generation) return;
    target.reconnect_scheduled = false;
    if (!target.draining) self->OpenKeptConnectionsOnControl(target, /*reconnecting=*/true);
  });
}

void PoolControl::CancelReconnectOnControl(Address& address) {
  address.reconnect_timer->cancel();
  // A wait that had fired already sees a newer generation and does nothing.
  ++address.reconnect_generation;
  address.reconnect_scheduled = false;
}

void PoolControl::GrowOnControl(const std::string& key) {
  if (control_closed_) return;
  auto it = addresses_.find(key);
  if (it == addresses_.end()) return;
  Address& address = *it->second;
  if (address.draining || address.counters->ejected.load() ||
      address.connections.size() >= static_cast<std::size_t>(options_.size)) {
    return;
  }
  // Grow only when every connection of this address is busy.
  for (const auto& connection : address.connections) {
    if (address.retiring.contains(connection.get())) continue;
    if (connection->state() != ClientConnection::State::kReady || !IsBusy(*connection)) {
      return;
    }
  }
  OpenConnectionOnControl(address);
}

void PoolControl::ArmSweepTimer() {
  absl::Duration period = std::min(options_.idle_timeout, absl::Seconds(1));
  if (options_.health_interval > absl::ZeroDuration()) period = std::min(period, options_.health_interval / 2);
  period = std::max(period, absl::Milliseconds(5));
  sweep_timer_.expires_after(absl::ToChronoNanoseconds(period));
  sweep_timer_.async_wait([self = shared_from_this()](const asio::error_code& error) {
    if (error || self->control_closed_) return;
    self->SweepOnControl();
    self->ArmSweepTimer();
  });
}

void PoolControl::ReportRecoveryOnControl(Address& address) {
  if (address.failures_to_report == 0) return;
  Log(LogLevel::kInfo, absl::StrCat("pool: connected to ", address.counters->address, " after ",
                                    address.failures_to_report, " failed connects"));
  address.failures_to_report = 0;
}

void PoolControl::SweepOnControl() {
  // Every close handled takes the waiting requests up; this bounds the wait
  // of any the handshake might miss.
  TakeUpWaitingOnControl();
  const Clock::time_point now = Clock::now();
  const std::size_t keep = ConnectionsKept();
  bool retired = false;
  for (auto& [key, address_ptr] : addresses_) {
    Address& address = *address_ptr;
    if (address.failures_to_report > 0) {
      // One of the connections made after the failures (not one that served
      // all along) must have served.
      for (const auto& [connection, since] : address.ready) {
        if (since.failures_before > 0 &&
            (connection->answered_any() ||
             now - since.at >= absl::ToChronoNanoseconds(options_.reconnect_backoff_initial))) {
          ReportRecoveryOnControl(address);
          break;
        }
      }
    }
    if (address.draining) continue;  // Every connection is retiring already.
    std::size_t open = address.connections.size() - address.retiring.size();
    for (const auto& connection : address.connections) {
      if (connection->state() != ClientConnection::State::kReady || connection->pending_count() != 0 ||
          address.retiring.contains(connection.get())) {
        continue;
      }
      const auto idle_for = now - connection->idle_since();
      if (open > keep && idle_for >= absl::ToChronoNanoseconds(options_.idle_timeout)) {
        RetireOnControl(address, *connection);
        retired = true;
        --open;
        continue;
      }
      const auto interval = absl::ToChronoNanoseconds(options_.health_interval);
      if (options_.health_interval > absl::ZeroDuration() && idle_for >= interval &&
          !address.probing.contains(connection.get())) {
        auto probed = address.probed_at.find(connection.get());
        if (probed == address.probed_at.end() || now - probed->second >= interval) {
          ProbeOnControl(address, connection);
        }
      }
    }
  }
  if (retired) PublishOnControl();  // Before closing them, as in OnResolvedOnControl.
  for (auto& [key, address] : addresses_) {
    if (!address->retiring.empty()) CloseRetiredOnControl(*address);
  }
}

void PoolControl::ProbeOnControl(Address& address, const std::shared_ptr<ClientConnection>& connection) {
  address.probing.insert(connection.get());
  address.probed_at[connection.get()] = Clock::now();
  Request probe{absl::StrCat(Pool::kProbeUidPrefix, probe_seq_.fetch_add(1, std::memory_order_relaxed)), "health"};
  std::weak_ptr<ClientConnection> weak_connection = connection;
  // With the read timeout off, the probe gets one interval to answer.
  const absl::Duration answer_within = options_.connection.read_timeout > absl::ZeroDuration()
                                           ? options_.connection.read_timeout
                                           : options_.health_interval;
  connection->SendProbe(
      std::move(probe), absl::Now() + answer_within,
      [weak_self = weak_from_this(), weak_connection, key = address.key](absl::StatusOr<Response> result) {
        auto probed = weak_connection.lock();
        if (!result.ok() && probed) {
          probed->Close(absl::StrCat("health check failed: ", result.status().message()));
        }
        auto self = weak_self.lock();
        if (!self) return;
        asio::post(self->control_, [self, key, raw = probed.get()] {
          auto it = self->addresses_.find(key);
          if (it != self->addresses_.end()) it->second->probing.erase(raw);
        });
      });
}

void PoolControl::RetireOnControl(Address& address, ClientConnection& connection) {
  address.retiring.try_emplace(&connection, false);
}

void PoolControl::CloseRetiredOnControl(Address& address) {
  const absl::string_view why = address.draining ? "address left DNS" : "idle";
  for (auto& [connection, closing] : address.retiring) {
    if (!closing) closing = connection->CloseIfIdle(why);
  }
}

void PoolControl::RemoveAddressOnControl(const std::string& key) {
  auto it = addresses_.find(key);
  if (it == addresses_.end()) return;
  it->second->reconnect_timer->cancel();
  it->second->counters->removed.store(true, std::memory_order_relaxed);
  addresses_.erase(it);
}

void PoolControl::PublishOnControl() {
  std::vector<ReadyConnection> ready;
  std::vector<ReadyConnection> connecting;
  if (!control_closed_) {
    for (const auto& [key, address] : addresses_) {
      if (address->draining || address->counters->ejected.load()) continue;
      for (const auto& connection : address->connections) {
        if (address->retiring.contains(connection.get())) continue;
        const ClientConnection::State state = connection->state();
        if (state == ClientConnection::State::kReady) {
          ready.push_back({connection, address->counters});
        } else if (state == ClientConnection::State::kConnecting && address->consecutive_failures == 0) {
          connecting.push_back({connection, address->counters});
        }
      }
    }
  }
  std::unique_lock lock(ready_mu_);
  ready_.swap(ready);
  connecting_.swap(connecting);
}

// ---- Closing ----

void PoolControl::RequestClose() {
  if (closed_.exchange(true, std::memory_order_acq_rel)) return;
  asio::post(control_, [self = shared_from_this()] { self->CloseOnControl(); });
}

void PoolControl::CloseOnControl() {
  control_closed_ = true;
  for (auto& [name, refresher] : refreshers_) refresher->Stop();
  sweep_timer_.cancel();
  wait_timer_.cancel();
  wait_timer_at_ = absl::InfiniteFuture();
  PublishOnControl();
  std::vector<std::string> empty;
  for (auto& [key, address] : addresses_) {
    address->reconnect_timer->cancel();
    for (const auto& connection : address->connections) connection->Close("pool closed");
    if (address->connections.empty()) empty.push_back(key);
  }
  for (const std::string& key : empty) RemoveAddressOnControl(key);
  TakeUpWaitingOnControl();  // They fail: the pool is closed.
  // Queued after the cancelled timers' handlers: once this runs, none of
  // them is left holding the pool.
  asio::post(control_, [self = shared_from_this()] {
    std::lock_guard lock(self->state_mu_);
    self->control_quiet_ = true;
    self->state_changed_.notify_all();
  });
}

void PoolControl::AwaitClosed() {
  std::unique_lock lock(state_mu_);
  state_changed_.wait(lock, [this] { return control_quiet_ && live_connections_ == 0; });
}

bool PoolControl::AwaitReady(int count, absl::Duration timeout) {
  std::unique_lock lock(state_mu_);
  return state_changed_.wait_for(lock, absl::ToChronoNanoseconds(timeout), [&] { return ready_connections_ >= count; });
}

PoolStats PoolControl::stats() const {
  PoolStats stats;
  stats.total.backend = "total";
  stats.rejected_overload = rejected_overload_.load(std::memory_order_relaxed);
  stats.rejected_unavailable = rejected_unavailable_.load(std::memory_order_relaxed);
  stats.waited_for_connect = waited_for_connect_.load(std::memory_order_relaxed);
  stats.waited_for_replacement = waited_for_replacement_.load(std::memory_order_relaxed);
  {
    std::shared_lock lock(ready_mu_);
    stats.connections_in_service = static_cast<int64_t>(ready_.size());
    stats.connections_awaited = static_cast<int64_t>(connecting_.size());
  }
  std::lock_guard lock(state_mu_);
  for (const auto& counters : all_counters_) {
    BackendStats b;
    b.backend = counters->backend;
    b.address = counters->address;
    b.sent = counters->sent.load(std::memory_order_relaxed);
    b.ok = counters->ok.load(std::memory_order_relaxed);
    b.deadline = counters->deadline.load(std::memory_order_relaxed);
    b.conn_errors = counters->conn_errors.load(std::memory_order_relaxed);
    b.other_errors = counters->other_errors.load(std::memory_order_relaxed);
    b.late_responses = counters->connection->late_responses.load(std::memory_order_relaxed);
    b.error_lines = counters->connection->error_lines.load(std::memory_order_relaxed);
    b.retired_owing_answer = counters->connection->retired_owing_answer.load(std::memory_order_relaxed);
    b.reconnects = counters->reconnects.load(std::memory_order_relaxed);
    b.ejections = counters->ejections.load(std::memory_order_relaxed);
    b.connect_failures = counters->connect_failures.load(std::memory_order_relaxed);
    b.in_flight = counters->in_flight.load(std::memory_order_relaxed);
    b.connections_open = counters->connections_open.load(std::memory_order_acquire);
    b.ejected = counters->ejected.load(std::memory_order_relaxed);
    b.draining = counters->draining.load(std::memory_order_acquire);
    BackendStats& t = stats.total;
    t.sent += b.sent;
    t.ok += b.ok;
    t.deadline += b.deadline;
    t.conn_errors += b.conn_errors;
    t.other_errors += b.other_errors;
    t.late_responses += b.late_responses;
    t.error_lines += b.error_lines;
    t.retired_owing_answer += b.retired_owing_answer;
    t.reconnects += b.reconnects;
    t.ejections += b.ejections;
    t.connect_failures += b.connect_failures;
    t.in_flight += b.in_flight;
    t.connections_open += b.connections_open;
    if (!counters->removed.load(std::memory_order_relaxed)) stats.backends.push_back(std::move(b));
  }
  return stats;
}

}  // namespace tcpcore
