// tcpgate: the gRPC gateway. Serves tcpgate.v1.Gateway, forwarding each call
// through a tcpcore pool to the TCP backends given by --backends, or to a
// backend embedded in this process when --backends is empty (the default, so
// `tcpgate` alone answers calls). Every flag can also be set through the
// environment: TCPGATE_<FLAG_IN_CAPITALS>. Plaintext unless --tls_cert and
// --tls_key are given; see README.md and docs/gateway.md ("Security").
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <optional>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "asio/io_context.hpp"
#include "asio/signal_set.hpp"
#include "asio/steady_timer.hpp"
#include "gateway/admin_server.h"
#include "gateway/bearer_token_check.h"
#include "gateway/bearer_token_in_force.h"
#include "gateway/bearer_token_reloader.h"
#include "gateway/file_change_follower.h"
#include "gateway/file_contents.h"
#include "gateway/callback_thread_heartbeat.h"
#include "gateway/command_line_arguments.h"
#include "gateway/flag_values.h"
#include "gateway/flags_from_env.h"
#include "gateway/gateway_service.h"
#include "gateway/grpc_memory_quota.h"
#include "gateway/grpc_server_drain.h"
#include "gateway/grpc_server_settings.h"
#include "gateway/health_publisher.h"
#include "gateway/library_log_bridge.h"
#include "gateway/metrics_page.h"
#include "gateway/process_stats.h"
#include "gateway/server_credentials.h"
#include "grpc/health/v1/health.pb.h"
#include "tcpcore/event_loop_group.h"
#include "tcpcore/heap_trimmer.h"
#include "tcpcore/hello_handler.h"
#include "tcpcore/host_port.h"
#include "tcpcore/large_block_release.h"
#include "tcpcore/log.h"
#include "tcpcore/open_file_limit.h"
#include "tcpcore/option_rules.h"
#include "tcpcore/pool_options_check.h"
#include "tcpcore/server.h"

ABSL_FLAG(std::string, listen, "0.0.0.0:50051", "gRPC host:port to listen on (port 0: any free port)");
ABSL_FLAG(std::string, backends, "",
          "comma-separated backend host:port list (names are resolved by DNS); empty: run an embedded backend");
ABSL_FLAG(int, threads, 0, "event-loop threads for backend connections; 0 means one per core");
ABSL_FLAG(int, pool_size, 4, "most connections to one backend address");
ABSL_FLAG(int, min_idle, 1, "connections kept open to each backend address when idle");
ABSL_FLAG(int, max_pending, 65536,
          "requests pending in the pool; beyond: RESOURCE_EXHAUSTED (each call held costs ~17 KiB of memory)");
ABSL_FLAG(int, max_pending_per_connection, 1024, "requests pending on one backend connection");
ABSL_FLAG(int, grow_at_pending, 64,
          "a backend connection with this many requests pending (each 4 KiB pending counts as one more), or half of "
          "--max_pending_bytes_per_connection, makes the pool open another to its address (up to --pool_size)");
ABSL_FLAG(int64_t, max_pending_bytes_per_connection, 16 << 20, "request bytes pending on one backend connection");
ABSL_FLAG(int64_t, backend_max_line_bytes, 1 << 20,
          "longest request line the backends accept (their --max_frame_bytes; the embedded backend's own limit), "
          "JSON escapes included; a longer request is refused with INVALID_ARGUMENT instead of being sent");
ABSL_FLAG(absl::Duration, dial_timeout, absl::Seconds(5), "backend connect timeout");
ABSL_FLAG(absl::Duration, tcp_user_timeout, absl::ZeroDuration(),
          "TCP_USER_TIMEOUT on backend connections (unacknowledged data); 0: kernel default");
ABSL_FLAG(absl::Duration, late_response_window, absl::Seconds(30),
          "how long an answer may be owed after its request gave up on the wire (its uid stays blocked on that "
          "connection meanwhile); past it the connection is replaced and closed once its other requests are done; "
          "at least 1s");
ABSL_FLAG(absl::Duration, reconnect_backoff_initial, absl::Milliseconds(100),
          "first backend reconnect delay after a failed connect, doubling with each failure in a row (every delay "
          "drawn between 50% and 150% of its step)");
ABSL_FLAG(absl::Duration, reconnect_backoff_max, absl::Seconds(10), "longest backend reconnect delay, jitter included");
ABSL_FLAG(absl::Duration, read_timeout, absl::Seconds(10),
          "a backend connection silent this long with requests pending is dead");
ABSL_FLAG(absl::Duration, keepalive_idle, absl::Seconds(30), "TCP keepalive: idle time before probes");
ABSL_FLAG(absl::Duration, keepalive_interval, absl::Seconds(10), "TCP keepalive: time between probes");
ABSL_FLAG(int, keepalive_count, 3, "TCP keepalive: unanswered probes before the connection is dead");
ABSL_FLAG(int64_t, grpc_memory_quota, -1,
          "bytes gRPC may hold for client connections and calls: as they fill, flow-control windows shrink (a client "
          "that sends and never reads is held back sooner), and at the quota gRPC cancels a stream rather than grow; "
          "-1: half the container's memory limit (cgroup), none without one; 0: none");
ABSL_FLAG(absl::Duration, idle_timeout, absl::Seconds(60), "close backend connections beyond min_idle idle this long");
ABSL_FLAG(absl::Duration, resolve_interval, absl::Seconds(10), "how often backend names are resolved again");
ABSL_FLAG(absl::Duration, resolve_min_gap, absl::Seconds(1),
          "after a backend connection fails its name is resolved again, but at most this often");
ABSL_FLAG(absl::Duration, health_interval, absl::ZeroDuration(), "probe idle backend connections this often (a probe is not use: a probed connection beyond min_idle still "
          "closes after idle_timeout); 0: off");
ABSL_FLAG(int, eject_after_failures, 3, "failed connects in a row before a backend address is ejected");
ABSL_FLAG(absl::Duration, ejection_time, absl::Seconds(10), "how long an ejected backend address rests");
ABSL_FLAG(absl::Duration, default_timeout, absl::Seconds(3),
          "deadline of a Send call that carries none; on SendStream, each request's own deadline from its arrival "
          "(or the stream's deadline, if sooner)");
ABSL_FLAG(absl::Duration, drain_timeout, absl::Seconds(10), "on SIGTERM, how long calls in flight may finish");
ABSL_FLAG(absl::Duration, drain_notice, absl::Milliseconds(200),
          "on SIGTERM, how long the gateway reports NOT_SERVING and refuses calls before it sends clients a GOAWAY "
          "(part of drain_timeout): clients that watch health move away first");
ABSL_FLAG(int64_t, max_val_bytes, 512 * 1024, "longest val accepted; longer: INVALID_ARGUMENT");
ABSL_FLAG(int, max_message_bytes, 4 << 20, "largest gRPC message received");
ABSL_FLAG(int, max_concurrent_streams, 1000, "most calls in progress at once on one client HTTP/2 connection");
ABSL_FLAG(absl::Duration, max_connection_age, absl::Minutes(30),
          "close client HTTP/2 connections after this long so clients re-balance; 0: never");
ABSL_FLAG(absl::Duration, max_connection_age_grace, absl::Seconds(30),
          "time calls get to finish on a connection closed for its age");
ABSL_FLAG(std::string, admin_listen, "0.0.0.0:9090",
          "HTTP host:port for /metrics, /healthz and /readyz (port 0: any free port; empty: off)");
ABSL_FLAG(std::string, log_format, "text", "log lines as text or json (one object per line)");
ABSL_FLAG(std::string, log_level, "info", "least important log lines written: debug, info, warning, error, off");
ABSL_FLAG(std::string, tls_cert, "", "PEM certificate chain of the gRPC port; with --tls_key turns on TLS");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA bundle; when set, clients must present a certificate it signed (mutual TLS)");
ABSL_FLAG(std::string, tls_client_crl, "",
          "PEM certificate revocation lists of --tls_client_ca's CAs: a client certificate they revoke is refused; "
          "read again every --reload_interval like the other TLS files (needs it above 0)");
ABSL_FLAG(absl::Duration, reload_interval, absl::Seconds(30),
          "how often the TLS files and the token file are read again: a new valid certificate and key are served to "
          "new connections, new valid tokens check the calls that follow, without a restart; invalid content is "
          "logged and not used; 0: read once, at start");
ABSL_FLAG(std::string, tls_stage_dir, "/dev/shm",
          "directory (best in memory) for the checked copies of the TLS files that the gRPC port serves while "
          "--reload_interval is on; removed at exit");
ABSL_FLAG(std::string, auth_token_file, "",
          "file of bearer tokens, one per line, one of which every Send/SendStream call must carry as "
          "'authorization: Bearer <token>'");

namespace {

// Under this many descriptors allowed, the gateway warns at start.
constexpr uint64_t kWarnBelowOpenFileLimit = 16384;

tcpcore::PoolOptions PoolOptionsFromFlags(std::vector<std::string> backends) {
  tcpcore::PoolOptions options;
  options.backends = std::move(backends);
  options.size = absl::GetFlag(FLAGS_pool_size);
  options.min_idle = absl::GetFlag(FLAGS_min_idle);
  options.max_pending = absl::GetFlag(FLAGS_max_pending);
  options.max_pending_per_connection = absl::GetFlag(FLAGS_max_pending_per_connection);
  options.grow_at_pending = absl::GetFlag(FLAGS_grow_at_pending);
  options.max_pending_bytes_per_connection = absl::GetFlag(FLAGS_max_pending_bytes_per_connection);
  options.reconnect_backoff_initial = absl::GetFlag(FLAGS_reconnect_backoff_initial);
  options.reconnect_backoff_max = absl::GetFlag(FLAGS_reconnect_backoff_max);
  options.connection.user_timeout = absl::GetFlag(FLAGS_tcp_user_timeout);
  options.connection.late_response_window = absl::GetFlag(FLAGS_late_response_window);
  options.idle_timeout = absl::GetFlag(FLAGS_idle_timeout);
  options.resolve_interval = absl::GetFlag(FLAGS_resolve_interval);
  options.resolve_min_gap = absl::GetFlag(FLAGS_resolve_min_gap);
  options.health_interval = absl::GetFlag(FLAGS_health_interval);
  options.eject_after_failures = absl::GetFlag(FLAGS_eject_after_failures);
  options.ejection_time = absl::GetFlag(FLAGS_ejection_time);
  options.connection.dial_timeout = absl::GetFlag(FLAGS_dial_timeout);
  options.connection.read_timeout = absl::GetFlag(FLAGS_read_timeout);
  options.connection.keepalive.idle = absl::GetFlag(FLAGS_keepalive_idle);
  options.connection.keepalive.interval = absl::GetFlag(FLAGS_keepalive_interval);
  options.connection.keepalive.count = absl::GetFlag(FLAGS_keepalive_count);
  // A negative value becomes huge here, and CheckPoolOptions refuses it.
  options.connection.max_request_line_bytes = static_cast<std::size_t>(absl::GetFlag(FLAGS_backend_max_line_bytes));
  options.connection.frame_limits.max_frame_bytes =
      tcpcore::ConnectionOptions::AnswerLineLimit(options.connection.max_request_line_bytes);
  return options;
}

// The TLS stage directory (copies of the key) to remove on a fatal exit,
// which runs no destructor; empty when there is none.
std::string stage_dir_to_remove;

void Fatal(absl::string_view message) {
  tcpcore::Log(tcpcore::LogLevel::kError, absl::StrCat("tcpgate: ", message));
  if (!stage_dir_to_remove.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(stage_dir_to_remove, ignored);
  }
  // Not exit(): the event loops (pool, embedded backend) may be running,
  // and static destructors run under them: UBSan caught a loop thread
  // using an error category exit() had destroyed (a gateway refused its
  // port, tcpgate_flags_test under ASan+UBSan).
  std::fflush(nullptr);
  std::_Exit(1);
}

// --backends as entries, each trimmed (CheckPoolOptions checks each is
// host:port); an error when the flag is set but names nothing (a blank
// TCPGATE_BACKENDS must not silently mean the embedded backend, which
// answers every call itself).
absl::StatusOr<std::vector<std::string>> BackendsFromFlag() {
  const std::string text = absl::GetFlag(FLAGS_backends);
  std::vector<std::string> backends;
  for (absl::string_view entry : absl::StrSplit(text, ',')) {
    entry = absl::StripAsciiWhitespace(entry);
    if (!entry.empty()) backends.emplace_back(entry);
  }
  if (!text.empty() && backends.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--backends=\"", text, "\" names no backend; leave it empty for the embedded one"));
  }
  return backends;
}

// Why the gateway's own flags (not the pool's: CheckPoolOptions) cannot
// work: "flag=value: rule", as tcpcore's option checks say it; OK when they
// can.
absl::Status CheckGatewayFlags() {
  using tcpcore::CheckCountOption;
  using tcpcore::CheckDurationOption;
  using tcpcore::InvalidOption;
  const absl::Duration kYear = tcpcore::kLongestOptionDuration;
  const absl::Duration kLongestGrpcMillis = absl::Milliseconds(INT_MAX);  // gRPC takes these as int ms.
  const std::string listen = absl::GetFlag(FLAGS_listen);
  if (absl::StatusOr<tcpcore::HostPort> parsed = tcpcore::HostPort::Parse(listen); !parsed.ok()) {
    return InvalidOption("listen", listen, parsed.status().message());
  }
  if (const std::string admin = absl::GetFlag(FLAGS_admin_listen); !admin.empty()) {
    if (absl::StatusOr<tcpcore::HostPort> parsed = tcpcore::HostPort::Parse(admin); !parsed.ok()) {
      return InvalidOption("admin_listen", admin, parsed.status().message());
    }
  }
  const absl::Duration drain_timeout = absl::GetFlag(FLAGS_drain_timeout);
  const int max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  const absl::Duration age = absl::GetFlag(FLAGS_max_connection_age);
  const std::vector<absl::Status> checks = {
      CheckCountOption("threads", absl::GetFlag(FLAGS_threads), 0, 256, "must be between 0 (one per core) and 256"),
      CheckDurationOption("default_timeout", absl::GetFlag(FLAGS_default_timeout), absl::Nanoseconds(1), kYear,
                          "must be between 1ns and a year"),
      CheckDurationOption("drain_timeout", drain_timeout, absl::ZeroDuration(), kYear, "must be between 0 and a year"),
      CheckDurationOption("drain_notice", absl::GetFlag(FLAGS_drain_notice), absl::ZeroDuration(), drain_timeout,
                          absl::StrCat("must be between 0 and drain_timeout (", absl::FormatDuration(drain_timeout),
                                       ")")),
      CheckCountOption("max_message_bytes", max_message_bytes, 1, INT_MAX, "must be at least 1"),
      CheckCountOption("max_val_bytes", absl::GetFlag(FLAGS_max_val_bytes), 1, int64_t{max_message_bytes} - 1,
                       absl::StrCat("must be at least 1 and under max_message_bytes (", max_message_bytes,
                                    "), or a long val gets RESOURCE_EXHAUSTED instead of INVALID_ARGUMENT")),
      CheckCountOption("max_concurrent_streams", absl::GetFlag(FLAGS_max_concurrent_streams), 1, INT_MAX,
                       "must be at least 1"),
      // 0 and inf both mean never.
      age == absl::InfiniteDuration()
          ? absl::OkStatus()
          : CheckDurationOption("max_connection_age", age, absl::ZeroDuration(), kLongestGrpcMillis,
                                "must be between 0 and 596h (0 or inf: never)"),
      CheckDurationOption("max_connection_age_grace", absl::GetFlag(FLAGS_max_connection_age_grace),
                          absl::ZeroDuration(), kLongestGrpcMillis, "must be between 0 and 596h"),
      absl::GetFlag(FLAGS_reload_interval) == absl::ZeroDuration()
          ? absl::OkStatus()
          : CheckDurationOption("reload_interval", absl::GetFlag(FLAGS_reload_interval),
                                absl::Milliseconds(100), kYear, "must be 0 (read once) or between 100ms and a year"),
  };
  for (const absl::Status& status : checks) {
    if (!status.ok()) return status;
  }
  // The value alone (the container's limit is read at the listen).
  return tcpgate::ChooseGrpcMemoryQuota(absl::GetFlag(FLAGS_grpc_memory_quota), std::nullopt).status();
}

// The bearer tokens of --auth_token_file (null when the flag is empty) and,
// with --reload_interval, the follower that takes up changes of the file.
struct BearerTokenSetup {
  std::shared_ptr<tcpgate::BearerTokenInForce> in_force;
  std::unique_ptr<tcpgate::FileChangeFollower> follower;
};

BearerTokenSetup BearerTokenFromFlags() {
  const std::string path = absl::GetFlag(FLAGS_auth_token_file);
  if (path.empty()) return {};
  absl::StatusOr<std::string> contents = tcpgate::ReadFileContents(path);
  if (!contents.ok()) Fatal(absl::StrCat("--auth_token_file: ", contents.status().message()));
  absl::StatusOr<tcpgate::BearerTokenCheck> check = tcpgate::BearerTokenCheck::FromFileContents(*contents, path);
  if (!check.ok()) Fatal(absl::StrCat("--auth_token_file: ", check.status().message()));
  if (absl::GetFlag(FLAGS_tls_cert).empty()) {
    tcpcore::Log(tcpcore::LogLevel::kWarning,
                 "--auth_token_file without --tls_cert: the token crosses the network in clear text");
  }
  BearerTokenSetup setup;
  setup.in_force = std::make_shared<tcpgate::BearerTokenInForce>(*std::move(check));
  const absl::Duration interval = absl::GetFlag(FLAGS_reload_interval);
  if (interval > absl::ZeroDuration()) {
    setup.follower = tcpgate::FollowBearerTokenFile(path, *std::move(contents), setup.in_force, interval);
  }
  return setup;
}

// The log format asked for, read before the flags are parsed (the command
// line first, then TCPGATE_LOG_FORMAT), so that an error in the flags
// themselves is written as the log collector expects it.
tcpcore::LogFormat EarlyLogFormat(const std::vector<tcpgate::FlagArgument>& arguments) {
  absl::string_view asked;
  if (const char* env = std::getenv("TCPGATE_LOG_FORMAT"); env != nullptr) asked = env;
  if (std::optional<absl::string_view> given = tcpgate::LastValueOf(arguments, "log_format")) asked = *given;
  absl::StatusOr<tcpcore::LogFormat> format = tcpcore::ParseLogFormat(asked);
  return format.ok() ? *format : tcpcore::LogFormat::kText;
}

// The embedded backend (the reference one, tcpcore's HelloHandler) on a
// loopback port, taking the lines the pool lets through
// (--backend_max_line_bytes), not its own 1 MiB default.
std::unique_ptr<tcpcore::Server> StartEmbeddedBackend(tcpcore::EventLoopGroup& loops, std::size_t max_line_bytes) {
  tcpcore::ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.log_connections = false;
  options.frame_limits.max_frame_bytes = max_line_bytes;
  auto embedded = std::make_unique<tcpcore::Server>(loops, options, std::make_shared<tcpcore::HelloHandler>());
  if (absl::Status status = embedded->Start(); !status.ok()) Fatal(status.message());
  return embedded;
}

// The admin port's /metrics page: the service's, the pool's and the
// process's figures, the certificate's and the secret files' reloads. Called
// on the admin server's thread.
class MetricsPageRenderer {
 public:
  MetricsPageRenderer(const tcpgate::GatewayService& service, const tcpcore::Pool& pool,
                      const tcpgate::ServerSecurity& security, const tcpgate::FileChangeFollower* token_follower)
      : service_(service), pool_(pool), security_(security), token_follower_(token_follower) {}

  std::string Render() const {
    const tcpgate::ProcessStats process = process_stats_.Read();
    if (!process.problem.ok() && !problem_logged_.exchange(true)) {
      tcpcore::Log(tcpcore::LogLevel::kWarning,
                   absl::StrCat("/metrics: process figures missing (said once): ", process.problem.message()));
    }
    std::optional<tcpgate::TlsFigures> tls;
    if (security_.reloader != nullptr) {
      const tcpgate::TlsFileReloader::Stats reloads = security_.reloader->stats();
      tls = tcpgate::TlsFigures{reloads.not_after, true, reloads.loaded, reloads.refused, reloads.refusing,
                                reloads.crl_next_update};
    } else if (security_.not_after != absl::InfinitePast()) {
      tls = tcpgate::TlsFigures{security_.not_after};
    }
    std::optional<tcpgate::FileReloadFigures> token_reloads;
    if (token_follower_ != nullptr) {
      const tcpgate::FileChangeFollower::Stats changes = token_follower_->stats();
      token_reloads = tcpgate::FileReloadFigures{changes.loaded, changes.refused, changes.refusing};
    }
    return tcpgate::RenderMetricsPage(service_.metrics(), service_.in_flight(), pool_.stats(), &process,
                                      tls ? &*tls : nullptr, token_reloads ? &*token_reloads : nullptr);
  }

 private:
  const tcpgate::GatewayService& service_;
  const tcpcore::Pool& pool_;
  const tcpgate::ServerSecurity& security_;
  const tcpgate::FileChangeFollower* const token_follower_;  // Null: the token file is not followed.
  const tcpgate::ProcessStatsReader process_stats_;           // The start time, read now.
  mutable std::atomic<bool> problem_logged_{false};
};

}  // namespace

int main(int argc, char** argv) {
  // Before any thread: large messages' memory goes back to the system.
  tcpcore::ReleaseLargeBlocksWhenFreed();
  const std::vector<tcpgate::FlagArgument> flag_arguments = tcpgate::FlagArguments(argc, argv);
  tcpcore::SetLogFormat(EarlyLogFormat(flag_arguments));
  absl::SetProgramUsageMessage(
      "tcpgate: a gRPC gateway to newline-JSON TCP backends.\n"
      "Usage: tcpgate [--listen=0.0.0.0:50051] [--backends=host:port,...] ...\n"
      "Every flag can also be set as TCPGATE_<FLAG_IN_CAPITALS> in the environment.");
  const std::vector<std::string> own_flags = tcpgate::FlagsDefinedIn(__FILE__);
  for (const std::string& error :
       tcpgate::ApplyFlagsFromEnv("TCPGATE_", tcpgate::FlagsNotSetOnTheCommandLine(flag_arguments, own_flags))) {
    Fatal(error);
  }
  for (const std::string& error : tcpgate::CommandLineValueErrors(flag_arguments, own_flags)) Fatal(error);
  const std::vector<char*> arguments = absl::ParseCommandLine(argc, argv);
  if (arguments.size() > 1) {
    Fatal(absl::StrCat("unexpected argument \"", arguments[1], "\" (flags are --name=value; quote lists)"));
  }
  if (absl::Status status = tcpcore::ConfigureLog(absl::GetFlag(FLAGS_log_format), absl::GetFlag(FLAGS_log_level));
      !status.ok()) {
    Fatal(status.message());
  }
  tcpgate::RouteLibraryLogsToLog();
  for (const std::string& variable : tcpgate::UnknownEnvVariables("TCPGATE_", own_flags)) {
    tcpcore::Log(tcpcore::LogLevel::kWarning, absl::StrCat(variable, " sets no flag of tcpgate; ignored"));
  }
  // Every flag is checked before anything starts.
  if (absl::Status status = CheckGatewayFlags(); !status.ok()) Fatal(absl::StrCat("--", status.message()));
  absl::StatusOr<tcpgate::ServerSecurity> security = tcpgate::BuildServerCredentials(
      {absl::GetFlag(FLAGS_tls_cert), absl::GetFlag(FLAGS_tls_key), absl::GetFlag(FLAGS_tls_client_ca),
       absl::GetFlag(FLAGS_tls_client_crl)},
      {absl::GetFlag(FLAGS_reload_interval), absl::GetFlag(FLAGS_tls_stage_dir)});
  if (!security.ok()) Fatal(security.status().message());
  if (security->reloader != nullptr) stage_dir_to_remove = security->reloader->stage().dir();
  if (security->not_after != absl::InfinitePast() && security->not_after <= absl::Now()) {
    tcpcore::Log(tcpcore::LogLevel::kWarning,
                 absl::StrCat("--tls_cert: the certificate expired at ",
                              absl::FormatTime(absl::RFC3339_sec, security->not_after, absl::UTCTimeZone()),
                              ": clients will refuse it"));
  }
  const BearerTokenSetup bearer_token_setup = BearerTokenFromFlags();
  const std::shared_ptr<const tcpgate::BearerTokenInForce> bearer_token = bearer_token_setup.in_force;
  std::signal(SIGPIPE, SIG_IGN);
  // One descriptor per client and backend connection. gRPC 1.51 stops
  // accepting on its port for good after one accept fails for want of a
  // descriptor (grpc/grpc issue 20418): the gateway would live on, healthy
  // to its probes, and take no new client. So take the hard limit, and say
  // so when even that is low.
  const uint64_t max_fds = tcpcore::RaiseOpenFileLimitAndLog();
  if (max_fds > 0 && max_fds < kWarnBelowOpenFileLimit) {
    tcpcore::Log(tcpcore::LogLevel::kWarning,
                 absl::StrCat("open file limit is only ", max_fds,
                              ": once the gateway runs out, gRPC 1.51 accepts no client connection again until "
                              "restarted; raise the hard limit (ulimit -Hn, systemd LimitNOFILE=, the container "
                              "runtime's nofile)"));
  }
  // gRPC locks absl::Mutex on every call; Debian's Abseil checks each lock
  // for deadlock cycles, which took ~10% of the gateway's CPU under load.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

  absl::StatusOr<std::vector<std::string>> backends_from_flag = BackendsFromFlag();
  if (!backends_from_flag.ok()) Fatal(backends_from_flag.status().message());
  // Empty backends (the embedded one is added below) pass the pool's check.
  tcpcore::PoolOptions pool_options = PoolOptionsFromFlags(*std::move(backends_from_flag));
  if (absl::Status status = tcpcore::CheckPoolOptions(pool_options); !status.ok()) {
    Fatal(absl::StrCat("--", status.message()));
  }

  asio::io_context main_context(1);  // Signals and the health publisher.
  asio::signal_set signals(main_context, SIGINT, SIGTERM);

  int threads = absl::GetFlag(FLAGS_threads);
  if (threads <= 0) threads = tcpcore::DefaultLoopCount();
  tcpcore::EventLoopGroup loops(threads, "tcpgate");

  std::unique_ptr<tcpcore::Server> embedded;
  std::vector<std::string>& backends = pool_options.backends;
  if (backends.empty()) {
    embedded = StartEmbeddedBackend(loops, pool_options.connection.max_request_line_bytes);
    backends.push_back(absl::StrCat("127.0.0.1:", embedded->local_endpoint().port()));
  }

  tcpcore::Pool pool(loops, pool_options);
  if (absl::Status status = pool.Start(); !status.ok()) Fatal(status.message());

  tcpgate::GatewayOptions gateway_options;
  gateway_options.default_timeout = absl::GetFlag(FLAGS_default_timeout);
  gateway_options.max_val_bytes = static_cast<std::size_t>(std::max<int64_t>(0, absl::GetFlag(FLAGS_max_val_bytes)));
  gateway_options.bearer_token = bearer_token;
  tcpgate::GatewayService service(pool, gateway_options);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  // gRPC serves grpc.health.v1.Health without its descriptor: this links
  // ours in (proto/grpc/health/v1/health.proto), so reflection can describe
  // the service it lists and grpcurl can call it.
  (void)grpc::health::v1::HealthCheckRequest::descriptor();
  absl::StatusOr<tcpgate::GrpcMemoryQuota> grpc_memory =
      tcpgate::ChooseGrpcMemoryQuota(absl::GetFlag(FLAGS_grpc_memory_quota), tcpgate::ContainerMemoryLimit());
  if (!grpc_memory.ok()) Fatal(grpc_memory.status().message());
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(absl::GetFlag(FLAGS_listen), security->credentials, &port);
  builder.RegisterService(&service);
  tcpgate::ApplyGrpcServerSettings(
      {
          .max_receive_message_bytes = absl::GetFlag(FLAGS_max_message_bytes),
          // Answers are as large as the backend makes them (one line, up to
          // the pool's frame limit), whatever clients may send: a limit under
          // that would fail the call (a whole stream) instead of sending the
          // answer.
          .max_send_message_bytes =
              std::max<int>(absl::GetFlag(FLAGS_max_message_bytes),
                            static_cast<int>(pool_options.connection.frame_limits.max_frame_bytes) + 4096),
          .max_concurrent_streams = absl::GetFlag(FLAGS_max_concurrent_streams),
          .max_connection_age = absl::GetFlag(FLAGS_max_connection_age),
          .max_connection_age_grace = absl::GetFlag(FLAGS_max_connection_age_grace),
          .memory_quota_bytes = grpc_memory->bytes,
      },
      builder);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    // The TLS files passed CheckTlsMaterial; what gRPC may still refuse
    // here (read once: at this point) its own error lines above say.
    std::string tls_hint;
    if (!absl::GetFlag(FLAGS_tls_cert).empty()) tls_hint = " (or gRPC refused the TLS files: see its error above)";
    Fatal(absl::StrCat("cannot listen on ", absl::GetFlag(FLAGS_listen), tls_hint));
  }
  // SERVING while at least one backend connection can take a request (not
  // one that only finishes the requests of an address that left DNS or was
  // ejected).
  tcpgate::HealthPublisher health(main_context, *server->GetHealthCheckService(),
                                  [&pool] { return pool.stats().connections_in_service > 0; });

  const std::string listen = absl::GetFlag(FLAGS_listen);
  tcpcore::Log(tcpcore::LogLevel::kInfo,
               absl::StrCat("tcpgate listening on ", listen.substr(0, listen.rfind(':')), ":", port,
                            " transport=", security->description,
                            " auth=",
                            bearer_token ? absl::StrCat("bearer token (--auth_token_file, ", bearer_token->token_count(),
                                                        bearer_token->token_count() == 1 ? " token)" : " tokens)")
                                         : "none",
                            " backends=", absl::StrJoin(backends, ","), embedded ? " (embedded)" : "",
                            " threads=", threads, max_fds > 0 ? absl::StrCat(" max_fds=", max_fds) : "",
                            " grpc_memory_quota=", grpc_memory->how,
                            // Every flag, as the command line, the environment
                            // and the defaults made it.
                            " flags: ", tcpgate::FlagValues(own_flags)));

  const MetricsPageRenderer metrics_page(service, pool, *security, bearer_token_setup.follower.get());
  tcpgate::AdminServer admin({
      .metrics = [&metrics_page] { return metrics_page.Render(); },
      .ready = [&health] { return health.ready(); },
  });
  if (const std::string admin_listen = absl::GetFlag(FLAGS_admin_listen); !admin_listen.empty()) {
    absl::StatusOr<int> admin_port = admin.Start(admin_listen);
    if (!admin_port.ok()) Fatal(admin_port.status().message());
    tcpcore::Log(tcpcore::LogLevel::kInfo,
                 absl::StrCat("admin listening on ", admin_listen.substr(0, admin_listen.rfind(':')), ":",
                              *admin_port, " (/metrics /healthz /readyz)"));
  }
  health.Start();
  // Library errors dropped by the log's rate limit, from sources gone quiet.
  asio::steady_timer dropped_lines_timer(main_context);
  std::function<void()> report_dropped_lines = [&] {
    tcpgate::ReportDroppedLibraryLines();
    dropped_lines_timer.expires_after(std::chrono::seconds(10));
    dropped_lines_timer.async_wait([&](const asio::error_code& error) {
      if (!error) report_dropped_lines();
    });
  };
  report_dropped_lines();

  signals.async_wait([&](const asio::error_code&, int number) {
    tcpcore::Log(tcpcore::LogLevel::kInfo, absl::StrCat("signal ", number, ": draining"));
    service.BeginDrain();  // Refusing before health says so: no caller that saw NOT_SERVING gets in.
    health.BeginDrain();
    dropped_lines_timer.cancel();
  });
  // Without it, the first call after a quiet second may wait up to 100 ms
  // for one of gRPC's callback threads (see the header). Started last, so no
  // Fatal() above exits with its thread running.
  tcpgate::CallbackThreadHeartbeat heartbeat;  // Through the drain, to the exit.
  tcpcore::HeapTrimmer heap_trimmer;  // Resident memory follows use after a burst.
  main_context.run();

  tcpgate::DrainGrpcServer(*server, [&service] { return service.in_flight(); }, absl::GetFlag(FLAGS_drain_notice),
                           absl::GetFlag(FLAGS_drain_timeout));
  admin.Stop();
  pool.Close();
  if (embedded) embedded->Shutdown(absl::Seconds(1));
  embedded.reset();
  loops.Drain();
  loops.Join();
  tcpgate::ReportDroppedLibraryLines();
  tcpcore::Log(tcpcore::LogLevel::kInfo, "tcpgate stopped");
  return 0;
}
