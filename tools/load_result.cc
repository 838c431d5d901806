#include "tools/load_result.h"

#include "absl/strings/str_format.h"

namespace tcpgate {
namespace {

std::string Micros(int64_t nanos) { return absl::StrFormat("%.1f", static_cast<double>(nanos) / 1000.0); }

}  // namespace

std::string FormatLoadLine(absl::string_view fields, const LoadResult& result) {
  const LoadHistogram& h = result.latency;
  return absl::StrFormat(
      "%s answered=%d errors=%d msgs_per_s=%.0f p50_us=%s p90_us=%s p99_us=%s p99.9_us=%s max_us=%s", fields,
      result.answered, result.errors, result.seconds > 0 ? static_cast<double>(result.answered) / result.seconds : 0.0,
      Micros(h.Percentile(50)), Micros(h.Percentile(90)), Micros(h.Percentile(99)), Micros(h.Percentile(99.9)),
      Micros(h.max()));
}

}  // namespace tcpgate
