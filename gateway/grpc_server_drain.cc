#include "gateway/grpc_server_drain.h"

#include <grpc/grpc.h>

#include <algorithm>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tcpcore/log.h"

namespace tcpgate {

void DrainGrpcServer(grpc::Server& server, absl::FunctionRef<int64_t()> calls_in_flight, absl::Duration notice,
                     absl::Duration timeout) {
  const absl::Time drain_until = absl::Now() + timeout;
  absl::SleepFor(std::min(notice, drain_until - absl::Now()));
  // Shutdown's own deadline comes a second after ours, so that at ours
  // this thread still sees what is left, says so, and cancels it itself.
  std::thread shutdown([&] { server.Shutdown(absl::ToChronoTime(drain_until + absl::Seconds(1))); });
  while (calls_in_flight() > 0 && absl::Now() < drain_until) absl::SleepFor(absl::Milliseconds(5));
  if (const int64_t left = calls_in_flight(); left > 0) {
    tcpcore::Log(tcpcore::LogLevel::kWarning, absl::StrCat("drain timeout: cancelling ", left, " calls still in flight"));
  }
  grpc_server_cancel_all_calls(server.c_server());
  shutdown.join();
  server.Wait();
}

}  // namespace tcpgate
