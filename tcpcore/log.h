// Process-wide logging to stderr: one timestamped line per call, written with
// a single write(2) so lines from different threads never interleave.
//
// Thread-safety: every function is safe from any thread.
#ifndef TCPCORE_LOG_H_
#define TCPCORE_LOG_H_

#include "absl/strings/string_view.h"

namespace tcpcore {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3, kOff = 4 };

// Lines below `level` are dropped. The default is kInfo.
void SetMinLogLevel(LogLevel level);
bool LogEnabled(LogLevel level);
void Log(LogLevel level, absl::string_view message);

}  // namespace tcpcore

#endif  // TCPCORE_LOG_H_
