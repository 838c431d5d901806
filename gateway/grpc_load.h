// RunGrpcLoad: closed-loop load on a tcpgate.v1.Gateway server with gRPC's
// async (callback) client: `connections` channels, each keeping `in_flight`
// requests outstanding, unary (one call per request) or streaming (one
// SendStream per channel carrying its requests), for `duration`.
//
// Every answer is checked: its uid must be the request's and its val the
// hello backend's greeting for the request's val, else it counts as crossed.
// When the run ends, requests still unanswered `lateness_base` + 2 s later
// are counted as unanswered (and their slots deliberately leaked: gRPC still
// holds them).
//
// Thread-safety: call from one thread; completions run on gRPC's threads,
// each outstanding slot touching only its own state.
#ifndef GATEWAY_GRPC_LOAD_H_
#define GATEWAY_GRPC_LOAD_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gateway/client_security.h"
#include "tools/load_result.h"

namespace tcpgate {

struct GrpcLoadOptions {
  std::string target = "127.0.0.1:50051";
  ClientSecurity security;  // TLS and bearer token; default: plaintext, none.
  int connections = 1;
  int in_flight = 1;
  bool streaming = false;
  absl::Duration duration = absl::Seconds(10);
  absl::Duration warmup = absl::Seconds(1);
  // Each unary call's deadline; zero: none. A stream carries no deadline
  // per request (gRPC has none): the server's own (tcpgate's
  // --default_timeout) applies, and this is only the lateness base.
  absl::Duration timeout = absl::Seconds(3);
  // Lateness of an answer is measured against its start + this (default:
  // `timeout`). With timeout zero the server's own deadline (tcpgate's
  // --default_timeout) is what a late answer is late for.
  absl::Duration lateness_base = absl::ZeroDuration();
  std::string val = "pixelpig!";
  // Called about once a second with (elapsed, OK answers so far, errors so
  // far), warm-up included.
  std::function<void(absl::Duration, uint64_t, uint64_t)> progress;
};

struct GrpcLoadResult {
  // answered and errors: what came in the measured window (an answer counts
  // when it comes, whenever its request was sent); latencies of those answers.
  LoadResult load;
  uint64_t errors_all = 0;  // Errors at any time, warm-up and the end's stragglers included.
  std::map<std::string, uint64_t> statuses;  // Status name -> count, OK included.
  // Why calls failed: "STATUS_NAME: message" -> count, for the first
  // kMaxErrorMessages distinct texts (a message may name an address, so the
  // texts are bounded); errors with a text beyond those count in
  // other_error_messages.
  static constexpr std::size_t kMaxErrorMessages = 16;
  std::map<std::string, uint64_t> error_messages;
  uint64_t other_error_messages = 0;
  uint64_t sent = 0;        // Requests sent, warm-up included.
  uint64_t crossed = 0;     // OK answers carrying another request's uid or val.
  uint64_t unanswered = 0;  // Requests that never got an answer or a status.
  // Some call or stream never finished: gRPC still holds state of this run,
  // so the caller must leave without unwinding it (std::_Exit).
  bool abandoned = false;
  // Latest answer relative to its request's start + lateness_base (negative
  // when every answer came before its deadline).
  absl::Duration max_lateness = -absl::InfiniteDuration();
};

absl::StatusOr<GrpcLoadResult> RunGrpcLoad(const GrpcLoadOptions& options);

}  // namespace tcpgate

#endif  // GATEWAY_GRPC_LOAD_H_
