#include "gateway/callback_thread_heartbeat.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>
#include <pthread.h>

#include <chrono>
#include <utility>

namespace tcpgate {
namespace {

// procfs lets no one create a socket here, so a connect fails at once.
constexpr char kNowhere[] = "unix:/proc/self/tcpgate-callback-thread-heartbeat";
constexpr char kMethod[] = "/tcpgate.v1.CallbackThreadHeartbeat/Beat";

}  // namespace

CallbackThreadHeartbeat::CallbackThreadHeartbeat(absl::Duration interval)
    : interval_(interval), thread_([this] { Run(); }) {}

CallbackThreadHeartbeat::~CallbackThreadHeartbeat() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();  // After the beat in flight, if any, completed.
}

int CallbackThreadHeartbeat::beats() const {
  absl::MutexLock lock(&mu_);
  return beats_;
}

void CallbackThreadHeartbeat::Run() {
  pthread_setname_np(pthread_self(), "grpc-heartbeat");  // For top -H and perf.
  grpc::GenericStub stub(grpc::CreateChannel(kNowhere, grpc::InsecureChannelCredentials()));
  const grpc::Slice nothing;
  const grpc::ByteBuffer request(&nothing, 1);  // A default ByteBuffer is no message at all.
  while (true) {
    grpc::ClientContext context;
    // A bound, should a connect ever hang: beats stay under gRPC's 1 s apart.
    // Not TryCancel from the destructor: it may run the callback inline,
    // which takes mu_.
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
    grpc::ByteBuffer response;
    bool done = false;
    stub.UnaryCall(&context, kMethod, grpc::StubOptions(), &request, &response, [this, &done](grpc::Status) {
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
