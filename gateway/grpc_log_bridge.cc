#include "gateway/grpc_log_bridge.h"

#include <grpc/support/log.h>

#include <optional>
#include <string>

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

void WriteGrpcLine(gpr_log_func_args* args) {
  const tcpcore::LogLevel level = args->severity == GPR_LOG_SEVERITY_ERROR  ? tcpcore::LogLevel::kError
                                  : args->severity == GPR_LOG_SEVERITY_INFO ? tcpcore::LogLevel::kInfo
                                                                            : tcpcore::LogLevel::kDebug;
  if (!tcpcore::LogEnabled(level)) return;
  absl::string_view file = args->file != nullptr ? args->file : "?";
  if (const std::size_t slash = file.rfind('/'); slash != absl::string_view::npos) file.remove_prefix(slash + 1);
  const std::string source = absl::StrCat(file, ":", args->line);
  const std::optional<int64_t> dropped = Limiter().Admit(source, absl::Now());
  if (!dropped.has_value()) return;
  tcpcore::Log(level, absl::StrCat("grpc ", source, ": ", args->message != nullptr ? args->message : "",
                                   *dropped > 0 ? absl::StrCat(" (", *dropped, " more from here dropped)") : ""));
}

}  // namespace

void RouteGrpcLogsToLog() { gpr_set_log_function(&WriteGrpcLine); }

}  // namespace tcpgate
