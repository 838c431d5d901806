// Process-wide logging to stderr: one timestamped line per event, written
// with a single write(2) so lines from different threads never interleave;
// plain text for people or one JSON object per line for log collectors.
//
// Thread-safety: every function is safe from any thread.
#ifndef TCPCORE_LOG_H_
#define TCPCORE_LOG_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tcpcore {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3, kOff = 4 };
enum class LogFormat {
  kText,  // "I 2026-11-25T12:00:00.123456Z message"
  kJson,  // {"time":"2026-11-25T12:00:00.123456Z","level":"info","msg":"message"}
};

// "debug", "info", "warning", "error", "off".
absl::StatusOr<LogLevel> ParseLogLevel(absl::string_view name);
// "text", "json".
absl::StatusOr<LogFormat> ParseLogFormat(absl::string_view name);
void SetLogFormat(LogFormat format);
// A binary's start: sets the format and the minimum level from the values of
// its --log_format and --log_level flags; an error names the flag.
absl::Status ConfigureLog(absl::string_view format, absl::string_view level);

// Lines below `level` are dropped. The default is kInfo.
void SetMinLogLevel(LogLevel level);
bool LogEnabled(LogLevel level);
void Log(LogLevel level, absl::string_view message);
// Log() whatever the minimum level, even kOff: for a library's last words
// before it aborts the process.
void LogAlways(LogLevel level, absl::string_view message);

}  // namespace tcpcore

#endif  // TCPCORE_LOG_H_
