#include "gateway/callback_thread_heartbeat.h"

#include <grpcpp/generic/generic_stub.h>
#include <pthread.h>

#include <chrono>
#include <utility>

namespace tcpgate {
namespace {

// grpc.health.v1.HealthCheckRequest with no field set: the server's overall
// health. Empty bytes are its whole encoding.
constexpr char kCheckMethod[] = "/grpc.health.v1.Health/Check";

}  // namespace

CallbackThreadHeartbeat::CallbackThreadHeartbeat(std::shared_ptr<grpc::Channel> channel, absl::Duration interval)
    : channel_(std::move(channel)), interval_(interval), thread_([this] { Run(); }) {}

CallbackThreadHeartbeat::~CallbackThreadHeartbeat() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();  // After the beat in flight, if any, is answered or times out.
}

int CallbackThreadHeartbeat::beats() const {
  absl::MutexLock lock(&mu_);
  return beats_;
}

void CallbackThreadHeartbeat::Run() {
  pthread_setname_np(pthread_self(), "grpc-heartbeat");  // For top -H and perf.
  grpc::GenericStub stub(channel_);
  const grpc::Slice nothing;
  const grpc::ByteBuffer request(&nothing, 1);  // A default ByteBuffer is no message at all.
  while (true) {
    grpc::ClientContext context;
    // Short: a slow peer must not stretch the gap between events past gRPC's
    // 1 s, and a stalled one holds the destructor up briefly. Not TryCancel
    // from the destructor: it may run the callback inline, which takes mu_.
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
    grpc::ByteBuffer response;
    bool done = false;
    stub.UnaryCall(&context, kCheckMethod, grpc::StubOptions(), &request, &response, [this, &done](grpc::Status) {
      absl::MutexLock lock(&mu_);
      done = true;
      ++beats_;
    });
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(&done));  // The callback's captures live on this frame.
    // The next beat after `interval_`, or return at once when stopping.
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), interval_);
    if (stopping_) return;
  }
}

}  // namespace tcpgate
