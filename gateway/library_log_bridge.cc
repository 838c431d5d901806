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

// Writes one library line; `limited` lines go through the per-source limit.
void WriteLibraryLine(tcpcore::LogLevel level, absl::string_view library, const char* file, int line,
                      absl::string_view message, bool limited) {
  const std::string source = absl::StrCat(SourcePath(file), ":", line);
  int64_t dropped = 0;
  if (limited) {
    const std::optional<int64_t> admitted = Limiter().Admit(absl::StrCat(library, " ", source), absl::Now());
    if (!admitted.has_value()) return;
    dropped = *admitted;
  }
  tcpcore::Log(level, absl::StrCat(library, " ", source, ": ", message,
                                   dropped > 0 ? absl::StrCat(" (", dropped, " more from here dropped)") : ""));
}

void WriteGrpcLine(gpr_log_func_args* args) {
  const absl::string_view message = args->message != nullptr ? args->message : "";
  // gpr writes these just before it aborts: always, whatever --log_level.
  if (absl::StartsWith(message, "assertion failed:") || absl::StartsWith(message, "UNREACHABLE CODE")) {
    tcpcore::LogAlways(tcpcore::LogLevel::kError,
                       absl::StrCat("grpc ", SourcePath(args->file), ":", args->line, ": ", message));
    return;
  }
  const bool error = args->severity == GPR_LOG_SEVERITY_ERROR;
  const tcpcore::LogLevel level = error                                      ? tcpcore::LogLevel::kError
                                  : args->severity == GPR_LOG_SEVERITY_INFO ? tcpcore::LogLevel::kInfo
                                                                             : tcpcore::LogLevel::kDebug;
  if (!tcpcore::LogEnabled(level)) return;
  // Debug and info lines appear only when asked for (GRPC_VERBOSITY,
  // GRPC_TRACE): a trace with holes would be no use.
  WriteLibraryLine(level, "grpc", args->file, args->line, message, /*limited=*/error);
}

void WriteProtobufLine(google::protobuf::LogLevel severity, const char* file, int line, const std::string& message) {
  if (severity == google::protobuf::LOGLEVEL_FATAL) {  // protobuf aborts next.
    tcpcore::LogAlways(tcpcore::LogLevel::kError, absl::StrCat("protobuf ", SourcePath(file), ":", line, ": ", message));
    return;
  }
  const tcpcore::LogLevel level = severity == google::protobuf::LOGLEVEL_ERROR     ? tcpcore::LogLevel::kError
                                  : severity == google::protobuf::LOGLEVEL_WARNING ? tcpcore::LogLevel::kWarning
                                                                                   : tcpcore::LogLevel::kInfo;
  if (!tcpcore::LogEnabled(level)) return;
  WriteLibraryLine(level, "protobuf", file, line, message, /*limited=*/true);
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
