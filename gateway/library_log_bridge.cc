#include "gateway/library_log_bridge.h"

#include <google/protobuf/stubs/logging.h>
#include <grpc/support/log.h>

#include <optional>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "tcpcore/log.h"
#include "tcpcore/log_line_limiter.h"

namespace tcpgate {
namespace {

tcpcore::LogLineLimiter& Limiter() {
  static auto* limiter = new tcpcore::LogLineLimiter(/*burst=*/10, absl::Seconds(1));
  return *limiter;
}

// The path from the library's source root ("src/core/lib/surface/call.cc"):
// basenames repeat within gRPC.
absl::string_view SourcePath(const char* file) {
  absl::string_view path = file != nullptr ? file : "?";
  if (const std::size_t src = path.rfind("src/"); src != absl::string_view::npos) return path.substr(src);
  if (const std::size_t google = path.rfind("google/"); google != absl::string_view::npos) return path.substr(google);
  return path;
}

// What happens to a library line besides its level check.
enum class LinePolicy {
  kLimited,    // Errors a client can cause at its request rate.
  kWhole,      // Asked-for info and debug lines (GRPC_VERBOSITY, GRPC_TRACE).
  kLastWords,  // Written before the library aborts: whatever --log_level.
};

void WriteLibraryLine(tcpcore::LogLevel level, absl::string_view library, const char* file, int line,
                      absl::string_view message, LinePolicy policy) {
  if (policy != LinePolicy::kLastWords && !tcpcore::LogEnabled(level)) return;
  // "grpc src/core/lib/surface/call.cc:1211": the line's prefix and the
  // limiter's key.
  const std::string source = absl::StrCat(library, " ", SourcePath(file), ":", line);
  int64_t dropped = 0;
  if (policy == LinePolicy::kLimited) {
    const std::optional<int64_t> admitted = Limiter().Admit(source, absl::Now());
    if (!admitted.has_value()) return;
    dropped = *admitted;
  }
  const std::string text = absl::StrCat(
      source, ": ", message, dropped > 0 ? absl::StrCat(" (", dropped, " more from here dropped)") : "");
  if (policy == LinePolicy::kLastWords) {
    tcpcore::LogAlways(level, text);
  } else {
    tcpcore::Log(level, text);
  }
}

void WriteGrpcLine(gpr_log_func_args* args) {
  const absl::string_view message = args->message != nullptr ? args->message : "";
  // gpr writes these just before it aborts.
  const bool last_words =
      absl::StartsWith(message, "assertion failed:") || absl::StartsWith(message, "UNREACHABLE CODE");
  const bool error = last_words || args->severity == GPR_LOG_SEVERITY_ERROR;
  const tcpcore::LogLevel level = error                                      ? tcpcore::LogLevel::kError
                                  : args->severity == GPR_LOG_SEVERITY_INFO ? tcpcore::LogLevel::kInfo
                                                                             : tcpcore::LogLevel::kDebug;
  WriteLibraryLine(level, "grpc", args->file, args->line, message,
                   last_words ? LinePolicy::kLastWords : error ? LinePolicy::kLimited : LinePolicy::kWhole);
}

void WriteProtobufLine(google::protobuf::LogLevel severity, const char* file, int line, const std::string& message) {
  const bool fatal = severity == google::protobuf::LOGLEVEL_FATAL;  // protobuf aborts next.
  const tcpcore::LogLevel level = fatal || severity == google::protobuf::LOGLEVEL_ERROR ? tcpcore::LogLevel::kError
                                  : severity == google::protobuf::LOGLEVEL_WARNING       ? tcpcore::LogLevel::kWarning
                                                                                         : tcpcore::LogLevel::kInfo;
  WriteLibraryLine(level, "protobuf", file, line, message, fatal ? LinePolicy::kLastWords : LinePolicy::kLimited);
}

}  // namespace

void ReportDroppedLibraryLines() {
  for (const auto& [source, dropped] : Limiter().TakeDropped()) {
    tcpcore::Log(tcpcore::LogLevel::kWarning,
                 absl::StrCat(source, ": ", dropped, " more from here dropped since the last one written"));
  }
}

void RouteLibraryLogsToLog() {
  gpr_set_log_function(&WriteGrpcLine);
  google::protobuf::SetLogHandler(&WriteProtobufLine);
}

}  // namespace tcpgate
