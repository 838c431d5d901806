// LoadResult: what one load run measured, and the one-line report every
// tcpgate load tool prints (key=value pairs, easy to grep and compare).
//
// Plain value; no thread-safety of its own.
#ifndef TOOLS_LOAD_RESULT_H_
#define TOOLS_LOAD_RESULT_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "tools/load_histogram.h"

namespace tcpgate {

struct LoadResult {
  uint64_t answered = 0;  // Correct answers to requests sent in the measured window.
  uint64_t errors = 0;    // Errors, wrong answers, broken connections.
  double seconds = 0;     // Length of the measured window.
  LoadHistogram latency;  // Of the answered requests, in nanoseconds.
};

// "<fields> answered=.. errors=.. msgs_per_s=.. p50_us=.. p90_us=.. p99_us=..
// p99.9_us=.. max_us=..".
std::string FormatLoadLine(absl::string_view fields, const LoadResult& result);

}  // namespace tcpgate

#endif  // TOOLS_LOAD_RESULT_H_
