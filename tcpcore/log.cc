#include "tcpcore/log.h"

#include <unistd.h>

#include <atomic>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace tcpcore {
namespace {

std::atomic<int> min_level{static_cast<int>(LogLevel::kInfo)};
std::atomic<bool> json_format{false};

constexpr absl::string_view kLevelNames[] = {"debug", "info", "warning", "error", "off"};

constexpr absl::string_view LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "D";
    case LogLevel::kInfo: return "I";
    case LogLevel::kWarning: return "W";
    case LogLevel::kError: return "E";
    case LogLevel::kOff: break;
  }
  return "?";
}

}  // namespace

absl::StatusOr<LogLevel> ParseLogLevel(absl::string_view name) {
  const std::string lower = absl::AsciiStrToLower(name);
  for (int i = 0; i <= static_cast<int>(LogLevel::kOff); ++i) {
    if (lower == kLevelNames[i]) return static_cast<LogLevel>(i);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown log level \"", name, "\" (want debug, info, warning, error or off)"));
}

absl::StatusOr<LogFormat> ParseLogFormat(absl::string_view name) {
  const std::string lower = absl::AsciiStrToLower(name);
  if (lower == "text") return LogFormat::kText;
  if (lower == "json") return LogFormat::kJson;
  return absl::InvalidArgumentError(absl::StrCat("unknown log format \"", name, "\" (want text or json)"));
}

absl::Status ConfigureLog(absl::string_view format, absl::string_view level) {
  absl::StatusOr<LogFormat> parsed_format = ParseLogFormat(format);
  if (!parsed_format.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--log_format: ", parsed_format.status().message()));
  }
  absl::StatusOr<LogLevel> parsed_level = ParseLogLevel(level);
  if (!parsed_level.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--log_level: ", parsed_level.status().message()));
  }
  SetLogFormat(*parsed_format);
  SetMinLogLevel(*parsed_level);
  return absl::OkStatus();
}

void SetLogFormat(LogFormat format) { json_format.store(format == LogFormat::kJson, std::memory_order_relaxed); }

void SetMinLogLevel(LogLevel level) { min_level.store(static_cast<int>(level), std::memory_order_relaxed); }

bool LogEnabled(LogLevel level) {
  return static_cast<int>(level) >= min_level.load(std::memory_order_relaxed);
}

void Log(LogLevel level, absl::string_view message) {
  if (LogEnabled(level)) LogAlways(level, message);
}

void LogAlways(LogLevel level, absl::string_view message) {
  const std::string time = absl::FormatTime("%Y-%m-%d%ET%H:%M:%E6SZ", absl::Now(), absl::UTCTimeZone());
  std::string line;
  if (json_format.load(std::memory_order_relaxed)) {
    const nlohmann::ordered_json object = {
        {"time", time}, {"level", kLevelNames[static_cast<int>(level)]}, {"msg", std::string(message)}};
    line = object.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    line += '\n';
  } else {
    line = absl::StrCat(LevelName(level), " ", time, " ", message, "\n");
  }
  absl::string_view rest = line;
  while (!rest.empty()) {
    ssize_t n = ::write(STDERR_FILENO, rest.data(), rest.size());
    if (n <= 0) return;
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
}

}  // namespace tcpcore
