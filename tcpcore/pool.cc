#include "tcpcore/pool.h"

#include "tcpcore/pool_control.h"

namespace tcpcore {

Pool::Pool(EventLoopGroup& loops, PoolOptions options, std::shared_ptr<AddressResolver> resolver)
    : control_(std::make_shared<PoolControl>(loops, std::move(options), std::move(resolver))) {}

Pool::~Pool() { Close(); }

absl::Status Pool::Start() { return control_->Start(); }

CancelHandle Pool::Send(Request request, absl::Time deadline, ResponseCallback done) {
  return control_->Send(std::move(request), deadline, std::move(done));
}

std::future<absl::StatusOr<Response>> Pool::SendAsync(Request request, absl::Time deadline) {
  auto [callback, future] = MakeResponseFuture();
  Send(std::move(request), deadline, std::move(callback));
  return std::move(future);
}

bool Pool::AwaitReady(int count, absl::Duration timeout) { return control_->AwaitReady(count, timeout); }

void Pool::Close() {
  control_->RequestClose();
  if (!control_->OnLoopThread()) control_->AwaitClosed();
}

PoolStats Pool::stats() const { return control_->stats(); }

}  // namespace tcpcore
