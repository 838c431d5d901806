// tcpgate-cli: a command-line client of the gateway.
//   tcpgate-cli send --target=127.0.0.1:50051 --uid=pixel-1 --val=pixelpig! [--timeout=3s]
//     prints the answer, or the gRPC status on stderr with a non-zero exit code.
//   tcpgate-cli bench --target=... --connections=16 --in_flight=32 [--stream] [--duration=10s] [--json]
//     closed-loop load; prints QPS, latency percentiles and the count of each
//     status (live progress on a terminal); --histogram_out writes the
//     latency curve for tests/bench/latency.gp.
// Both reach a secured gateway with --tls_ca (and --tls_cert/--tls_key for
// mutual TLS, --tls_server_name when the certificate names another host) and
// --auth_token_file.
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "gateway/client_security.h"
#include "tcpcore/message_codec.h"
#include "gateway/grpc_load.h"
#include "tools/own_flags_help.h"
#include "tcpgate/v1/gateway.grpc.pb.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "gateway host:port");
ABSL_FLAG(std::string, uid, "", "request uid; empty: the gateway makes one");
ABSL_FLAG(std::string, val, "", "request val");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(3),
          "call deadline (bench: each unary call's; a --stream bench sets none per request, so the "
          "gateway's --default_timeout applies); 0 or inf: none (the gateway's --default_timeout applies)");
ABSL_FLAG(int, connections, 1, "bench: gRPC channels, each its own TCP connection (C)");
ABSL_FLAG(int, in_flight, 1, "bench: requests outstanding per channel (P)");
ABSL_FLAG(bool, stream, false, "bench: one SendStream per channel instead of unary calls");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(10), "bench: measured time");
ABSL_FLAG(absl::Duration, warmup, absl::Seconds(1), "bench: unmeasured warm-up");
ABSL_FLAG(absl::Duration, lateness_base, absl::ZeroDuration(),
          "bench: report answers later than start + this (default: --timeout; with --timeout=0, pass the "
          "gateway's --default_timeout)");
ABSL_FLAG(bool, json, false, "bench: print a JSON summary instead of the text line");
ABSL_FLAG(std::string, histogram_out, "", "bench: write 'percentile latency_us' rows here for gnuplot");
ABSL_FLAG(bool, tls, false, "use TLS, trusting the system's roots (implied by the other --tls_* flags)");
ABSL_FLAG(std::string, tls_ca, "", "PEM roots that sign the gateway's certificate (turns on TLS)");
ABSL_FLAG(std::string, tls_cert, "", "PEM client certificate chain for mutual TLS (with --tls_key)");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert");
ABSL_FLAG(std::string, tls_server_name, "",
          "name to verify in the gateway's certificate instead of the target's host");
ABSL_FLAG(std::string, auth_token_file, "", "file holding the gateway's bearer token, sent with every call");

namespace {

absl::StatusOr<tcpgate::ClientSecurity> SecurityFromFlags() {
  tcpgate::ClientSecurityOptions options;
  options.tls = absl::GetFlag(FLAGS_tls);
  options.tls_ca = absl::GetFlag(FLAGS_tls_ca);
  options.tls_cert = absl::GetFlag(FLAGS_tls_cert);
  options.tls_key = absl::GetFlag(FLAGS_tls_key);
  options.tls_server_name = absl::GetFlag(FLAGS_tls_server_name);
  options.auth_token_file = absl::GetFlag(FLAGS_auth_token_file);
  return tcpgate::ClientSecurity::FromOptions(options);
}

int Send(const tcpgate::ClientSecurity& security) {
  auto stub = tcpgate::v1::Gateway::NewStub(security.NewChannel(absl::GetFlag(FLAGS_target)));
  grpc::ClientContext context;
  // As in bench: no deadline of the caller's own for 0 (or inf).
  if (const absl::Duration timeout = absl::GetFlag(FLAGS_timeout);
      timeout > absl::ZeroDuration() && timeout != absl::InfiniteDuration()) {
    context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  }
  tcpgate::v1::SendRequest request;
  request.set_uid(absl::GetFlag(FLAGS_uid));
  request.set_val(absl::GetFlag(FLAGS_val));
  tcpgate::v1::SendResponse response;
  grpc::Status status = stub->Send(&context, request, &response);
  if (!status.ok()) {
    std::fprintf(stderr, "error: %s: %s\n", absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code())).c_str(), status.error_message().c_str());
    return 1;
  }
  std::printf("uid: %s\nval: %s\nts:  %s\n", response.uid().c_str(), response.val().c_str(), response.ts().c_str());
  return 0;
}

// Why the bench flags cannot make a run, naming the flag; empty when they can.
std::string BenchFlagError() {
  constexpr int kMostConnections = 10000;
  constexpr int kMostInFlight = 100000;
  constexpr int64_t kMostSlots = 1000000;  // Requests outstanding in all: each holds a call's state.
  // Longest run: the tool's deadlines stay far from int64 nanoseconds.
  const absl::Duration kLongest = absl::Hours(1000);
  const int connections = absl::GetFlag(FLAGS_connections);
  const int in_flight = absl::GetFlag(FLAGS_in_flight);
  const absl::Duration duration = absl::GetFlag(FLAGS_duration);
  const absl::Duration warmup = absl::GetFlag(FLAGS_warmup);
  const absl::Duration lateness_base = absl::GetFlag(FLAGS_lateness_base);
  if (connections < 1 || connections > kMostConnections) {
    return absl::StrCat("--connections=", connections, ": must be between 1 and ", kMostConnections);
  }
  if (in_flight < 1 || in_flight > kMostInFlight) {
    return absl::StrCat("--in_flight=", in_flight, ": must be between 1 and ", kMostInFlight);
  }
  if (int64_t{connections} * in_flight > kMostSlots) {
    return absl::StrCat("--connections=", connections, " --in_flight=", in_flight, ": at most ", kMostSlots,
                        " requests outstanding in all");
  }
  if (duration <= absl::ZeroDuration() || duration > kLongest) {
    return absl::StrCat("--duration=", absl::FormatDuration(duration), ": must be more than 0 and at most 1000h");
  }
  if (warmup < absl::ZeroDuration() || warmup > kLongest) {
    return absl::StrCat("--warmup=", absl::FormatDuration(warmup), ": must be between 0 and 1000h");
  }
  if (lateness_base < absl::ZeroDuration() || (lateness_base > kLongest && lateness_base != absl::InfiniteDuration())) {
    return absl::StrCat("--lateness_base=", absl::FormatDuration(lateness_base), ": must be between 0 and 1000h");
  }
  return "";
}

int Bench(const tcpgate::ClientSecurity& security) {
  tcpgate::GrpcLoadOptions options;
  options.target = absl::GetFlag(FLAGS_target);
  options.security = security;
  options.connections = absl::GetFlag(FLAGS_connections);
  options.in_flight = absl::GetFlag(FLAGS_in_flight);
  options.streaming = absl::GetFlag(FLAGS_stream);
  options.duration = absl::GetFlag(FLAGS_duration);
  options.warmup = absl::GetFlag(FLAGS_warmup);
  // "inf" means none, as for send: the load tool takes zero for that (an
  // infinite duration would overflow the deadlines it computes).
  const auto finite_or_zero = [](absl::Duration d) { return d == absl::InfiniteDuration() ? absl::ZeroDuration() : d; };
  options.timeout = finite_or_zero(absl::GetFlag(FLAGS_timeout));
  options.lateness_base = finite_or_zero(absl::GetFlag(FLAGS_lateness_base));
  if (!absl::GetFlag(FLAGS_val).empty()) options.val = absl::GetFlag(FLAGS_val);
  const bool live = ::isatty(STDERR_FILENO) != 0;
  if (live) {
    // Elapsed time, the rate of answers since the last line (warm-up
    // included), and the errors so far.
    options.progress = [last_elapsed = absl::ZeroDuration(), last_answers = uint64_t{0}](
                           absl::Duration elapsed, uint64_t answers, uint64_t errors) mutable {
      const double seconds = absl::ToDoubleSeconds(elapsed - last_elapsed);
      const double rate = seconds > 0 ? static_cast<double>(answers - last_answers) / seconds : 0.0;
      last_elapsed = elapsed;
      last_answers = answers;
      std::fprintf(stderr, "\r%6.1fs  %10.0f answers/s  %8llu errors", absl::ToDoubleSeconds(elapsed), rate,
                   static_cast<unsigned long long>(errors));
    };
  }
  absl::StatusOr<tcpgate::GrpcLoadResult> result = tcpgate::RunGrpcLoad(options);
  if (live) std::fprintf(stderr, "\n");
  if (!result.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(result.status().message()).c_str());
    return 2;
  }
  const tcpgate::LoadResult& load = result->load;
  std::vector<std::string> statuses;
  for (const auto& [name, count] : result->statuses) statuses.push_back(absl::StrCat(name, "=", count));
  const std::string mode = options.streaming ? "stream" : "unary";
  if (absl::GetFlag(FLAGS_json)) {
    std::vector<std::string> status_json;
    for (const auto& [name, count] : result->statuses) status_json.push_back(absl::StrCat("\"", name, "\":", count));
    std::vector<std::string> message_json;
    for (const auto& [text, count] : result->error_messages) {
      std::string entry;
      tcpcore::AppendJsonString(text, entry);  // Escaped; invalid UTF-8 becomes U+FFFD.
      message_json.push_back(absl::StrCat(entry, ":", count));
    }
    const tcpgate::LoadHistogram& h = load.latency;
    std::printf(
        "{\"target\":\"%s\",\"mode\":\"%s\",\"connections\":%d,\"in_flight\":%d,\"duration_s\":%.1f,"
        "\"answered\":%llu,\"errors\":%llu,\"qps\":%.0f,\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,"
        "\"p99_9_us\":%.1f,\"max_us\":%.1f,\"sent\":%llu,\"crossed\":%llu,\"unanswered\":%llu,"
        "\"max_lateness_ms\":%.1f,\"statuses\":{%s},\"error_messages\":{%s},\"other_error_messages\":%llu}\n",
        options.target.c_str(), mode.c_str(), options.connections, options.in_flight, load.seconds,
        static_cast<unsigned long long>(load.answered), static_cast<unsigned long long>(load.errors),
        load.seconds > 0 ? static_cast<double>(load.answered) / load.seconds : 0.0, h.Percentile(50) / 1e3,
        h.Percentile(90) / 1e3, h.Percentile(99) / 1e3, h.Percentile(99.9) / 1e3, h.max() / 1e3,
        static_cast<unsigned long long>(result->sent), static_cast<unsigned long long>(result->crossed),
        static_cast<unsigned long long>(result->unanswered),
        result->max_lateness == -absl::InfiniteDuration() ? 0.0 : absl::ToDoubleMilliseconds(result->max_lateness),
        absl::StrJoin(status_json, ",").c_str(),
        absl::StrJoin(message_json, ",").c_str(),
        static_cast<unsigned long long>(result->other_error_messages));
  } else {
    const std::string fields =
        absl::StrFormat("target=%s mode=%s connections=%d in_flight=%d duration=%.1fs", options.target, mode,
                        options.connections, options.in_flight, load.seconds);
    std::printf("%s statuses=%s sent=%llu crossed=%llu unanswered=%llu\n", tcpgate::FormatLoadLine(fields, load).c_str(),
                absl::StrJoin(statuses, ",").c_str(), static_cast<unsigned long long>(result->sent),
                static_cast<unsigned long long>(result->crossed), static_cast<unsigned long long>(result->unanswered));
    // Why calls failed, most frequent first.
    std::vector<std::pair<uint64_t, std::string>> why;
    for (const auto& [text, count] : result->error_messages) why.emplace_back(count, text);
    // Ties keep the map's (alphabetical) order.
    std::stable_sort(why.begin(), why.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    for (const auto& [count, text] : why) std::printf("  %llu x %s\n", static_cast<unsigned long long>(count), text.c_str());
    if (result->other_error_messages > 0) {
      std::printf("  %llu x (other messages)\n", static_cast<unsigned long long>(result->other_error_messages));
    }
  }
  if (const std::string path = absl::GetFlag(FLAGS_histogram_out); !path.empty()) {
    std::ofstream out(path);
    out << "# percentile latency_us\n";
    for (double p : {0.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.5, 99.9, 99.95, 99.99, 100.0}) {
      out << p << " " << static_cast<double>(load.latency.Percentile(p)) / 1e3 << "\n";
    }
  }
  if (result->abandoned) {
    // Calls still held by gRPC reference this run: leave without unwinding.
    std::fflush(stdout);
    std::_Exit(1);
  }
  return result->errors_all == 0 && result->crossed == 0 && result->unanswered == 0 && load.answered > 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  tcpgate::ListOwnFlagsInHelp(
      __FILE__,
      "A client of the tcpgate gateway.\n"
      "Usage: tcpgate-cli send --target=127.0.0.1:50051 --uid=pixel-1 --val=pixelpig! [--timeout=3s]\n"
      "       tcpgate-cli bench --target=127.0.0.1:50051 [--connections=C] [--in_flight=P] [--duration=D] "
      "[--stream] [--json]");
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);  // As in tcpgate: costly under load.
  const std::string command = args.size() == 2 ? args[1] : "";
  if (command != "send" && command != "bench") {
    std::fprintf(stderr,
                 "usage: tcpgate-cli send --target=HOST:PORT --uid=UID --val=VAL [--timeout=3s]\n"
                 "       tcpgate-cli bench --target=HOST:PORT --connections=C --in_flight=P [--stream] "
                 "[--duration=10s] [--json] [--histogram_out=FILE]\n"
                 "  either with [--tls_ca=PEM] [--tls_cert=PEM --tls_key=PEM] [--tls_server_name=NAME] [--tls]\n"
                 "  [--auth_token_file=FILE] to reach a gateway with TLS, mutual TLS or a bearer token\n");
    return 2;
  }
  if (absl::GetFlag(FLAGS_timeout) < absl::ZeroDuration()) {
    std::fprintf(stderr, "error: --timeout=%s: must be 0 (none) or more\n",
                 absl::FormatDuration(absl::GetFlag(FLAGS_timeout)).c_str());
    return 2;
  }
  if (command == "bench") {
    if (const std::string error = BenchFlagError(); !error.empty()) {
      std::fprintf(stderr, "error: %s\n", error.c_str());
      return 2;
    }
  }
  absl::StatusOr<tcpgate::ClientSecurity> security = SecurityFromFlags();
  if (!security.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(security.status().message()).c_str());
    return 2;
  }
  return command == "send" ? Send(*security) : Bench(*security);
}
