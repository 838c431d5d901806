// tcpgate-backend: the reference newline-JSON TCP backend. Answers every
// request {"Uid":u,"Val":v} with {"Uid":u,"Val":"server: hello, "+v,"Ts":now},
// at once or after --answer_delay.
// See docs/protocol.md and README.md.
#include <csignal>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "asio/io_context.hpp"
#include "asio/signal_set.hpp"
#include "tcpcore/event_loop_group.h"
#include "tcpcore/heap_trimmer.h"
#include "tcpcore/hello_handler.h"
#include "tcpcore/large_block_release.h"
#include "tcpcore/log.h"
#include "tcpcore/open_file_limit.h"
#include "tcpcore/option_rules.h"
#include "tcpcore/server.h"
#include "tcpcore/server_options_check.h"
#include "tools/delayed_hello_handler.h"
#include "tools/own_flags_help.h"

ABSL_FLAG(std::string, listen, "0.0.0.0:3000", "host:port to listen on (port 0: any free port)");
ABSL_FLAG(int, threads, 0, "event-loop threads; 0 means one per core");
ABSL_FLAG(int, max_connections, 10000, "open connections allowed at once (beyond: -ERR and close); 0 means no limit");
ABSL_FLAG(absl::Duration, idle_timeout, absl::ZeroDuration(),
          "close a connection idle this long, e.g. 5m; 0 means never");
ABSL_FLAG(int64_t, max_frame_bytes, 1 << 20, "longest request line accepted, in bytes");
ABSL_FLAG(int, max_depth, 32, "deepest JSON nesting accepted");
ABSL_FLAG(bool, tcp_nodelay, true, "set TCP_NODELAY on connections");
ABSL_FLAG(absl::Duration, keepalive_idle, absl::Seconds(30),
          "TCP keepalive on accepted connections: silence before the first probe (a vanished peer is closed after "
          "idle + interval x count); 0 turns keepalive off");
ABSL_FLAG(absl::Duration, keepalive_interval, absl::Seconds(10), "TCP keepalive: time between probes");
ABSL_FLAG(int, keepalive_count, 3, "TCP keepalive: unanswered probes before the connection is dead");
ABSL_FLAG(absl::Duration, tcp_user_timeout, absl::Seconds(60),
          "close a connection whose peer acknowledges nothing this long while answers wait for it (gone with "
          "answers unacknowledged, or not reading); 0: the kernel's default (about 15 min; a peer that stops "
          "reading: never)");
ABSL_FLAG(bool, log_connections, true, "log each connect and disconnect");
ABSL_FLAG(std::string, log_format, "text", "log lines as text or json (one object per line)");
ABSL_FLAG(std::string, log_level, "info", "least important log lines written: debug, info, warning, error, off");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(5),
          "on SIGINT/SIGTERM, how long connections may take to flush their answers");
ABSL_FLAG(absl::Duration, answer_delay, absl::ZeroDuration(),
          "answer each request this long after it arrived, to model a slow backend; 0: at once");

int main(int argc, char** argv) {
  tcpcore::ReleaseLargeBlocksWhenFreed();  // Large lines' memory goes back to the system once answered.
  tcpgate::ListOwnFlagsInHelp(__FILE__,
                              "The tcpgate reference backend: newline-delimited JSON over TCP.\n"
                              "Usage: tcpgate-backend [--listen=0.0.0.0:3000] [--threads=N] ...");
  const std::vector<char*> arguments = absl::ParseCommandLine(argc, argv);
  auto refuse = [](absl::string_view why) {
    tcpcore::Log(tcpcore::LogLevel::kError, absl::StrCat("tcpgate-backend: ", why));
    return 1;
  };
  if (arguments.size() > 1) return refuse(absl::StrCat("unexpected argument \"", arguments[1], "\""));
  if (absl::Status status = tcpcore::ConfigureLog(absl::GetFlag(FLAGS_log_format), absl::GetFlag(FLAGS_log_level));
      !status.ok()) {
    return refuse(status.message());
  }
  if (absl::Status status = tcpcore::CheckCountOption("threads", absl::GetFlag(FLAGS_threads), 0, 256,
                                                      "must be between 0 (one per core) and 256");
      !status.ok()) {
    return refuse(absl::StrCat("--", status.message()));
  }

  for (const auto& [name, value] : {std::pair{"answer_delay", absl::GetFlag(FLAGS_answer_delay)},
                                    std::pair{"shutdown_grace", absl::GetFlag(FLAGS_shutdown_grace)}}) {
    if (absl::Status status = tcpcore::CheckDurationOption(name, value, absl::ZeroDuration(),
                                                           tcpcore::kLongestOptionDuration, "must be 0 or more, and finite");
        !status.ok()) {
      return refuse(absl::StrCat("--", status.message()));
    }
  }

  tcpcore::ServerOptions options;
  options.listen = absl::GetFlag(FLAGS_listen);
  options.max_connections = absl::GetFlag(FLAGS_max_connections);
  options.idle_timeout = absl::GetFlag(FLAGS_idle_timeout);
  options.frame_limits.max_frame_bytes = static_cast<std::size_t>(absl::GetFlag(FLAGS_max_frame_bytes));
  options.frame_limits.max_depth = absl::GetFlag(FLAGS_max_depth);
  options.tcp_nodelay = absl::GetFlag(FLAGS_tcp_nodelay);
  options.keepalive.enabled = absl::GetFlag(FLAGS_keepalive_idle) != absl::ZeroDuration();
  options.keepalive.idle = absl::GetFlag(FLAGS_keepalive_idle);
  options.keepalive.interval = absl::GetFlag(FLAGS_keepalive_interval);
  options.keepalive.count = absl::GetFlag(FLAGS_keepalive_count);
  options.user_timeout = absl::GetFlag(FLAGS_tcp_user_timeout);
  options.log_connections = absl::GetFlag(FLAGS_log_connections);
  // The options carry the flags' names: the error names the flag.
  if (absl::Status status = tcpcore::CheckServerOptions(options); !status.ok()) {
    return refuse(absl::StrCat("--", status.message()));
  }

  int threads = absl::GetFlag(FLAGS_threads);
  if (threads <= 0) threads = tcpcore::DefaultLoopCount();

  // Signals are taken by the main thread's own context, set up before any
  // loop thread exists.
  asio::io_context main_context(1);
  asio::signal_set signals(main_context, SIGINT, SIGTERM);
  std::signal(SIGPIPE, SIG_IGN);

  tcpcore::EventLoopGroup loops(threads, "backend");
  std::shared_ptr<tcpcore::RequestHandler> handler = std::make_shared<tcpcore::HelloHandler>();
  if (const absl::Duration delay = absl::GetFlag(FLAGS_answer_delay); delay > absl::ZeroDuration()) {
    handler = std::make_shared<tcpgate::DelayedHelloHandler>(loops.loop(0), delay);
  }
  // One descriptor per connection: take the hard limit (at the limit the
  // server waits and accepts again; see ServerCore).
  tcpcore::RaiseOpenFileLimitAndLog();
  auto server = std::make_unique<tcpcore::Server>(loops, options, std::move(handler));
  if (absl::Status status = server->Start(); !status.ok()) return refuse(status.message());
  const auto endpoint = server->local_endpoint();
  tcpcore::Log(tcpcore::LogLevel::kInfo,
               absl::StrCat("tcpgate-backend listening on ", endpoint.address().to_string(), ":", endpoint.port(),
                            " with ", threads, " threads"));

  tcpcore::HeapTrimmer heap_trimmer;  // Resident memory follows use after a burst of large lines.
  int signal_number = 0;
  signals.async_wait([&](const asio::error_code&, int number) { signal_number = number; });
  main_context.run();

  tcpcore::Log(tcpcore::LogLevel::kInfo,
               absl::StrCat("signal ", signal_number, ": draining connections, then exiting"));
  server->Shutdown(absl::GetFlag(FLAGS_shutdown_grace));
  const tcpcore::ServerStats stats = server->stats();
  server.reset();
  loops.Drain();
  loops.Join();
  tcpcore::Log(tcpcore::LogLevel::kInfo, absl::StrCat("tcpgate-backend stopped after ", stats.requests, " requests (",
                                                      stats.bad_requests, " bad, ", stats.connections_accepted,
                                                      " connections)"));
  return 0;
}
