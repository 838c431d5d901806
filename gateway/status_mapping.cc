#include "gateway/status_mapping.h"

#include <string>

namespace tcpgate {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

void CancelPoolRequest(const tcpcore::CancelHandle& handle, absl::Time deadline_cancel_from) {
  if (absl::Now() >= deadline_cancel_from) {
    handle.CancelAsDeadline();
  } else {
    handle.Cancel();
  }
}

absl::Time DeadlineCancelFrom(absl::Time start, absl::Time deadline) {
  if (deadline == absl::InfiniteFuture()) return absl::InfiniteFuture();
  return deadline - absl::Milliseconds(10) - (deadline - start) / 100;
}

}  // namespace tcpgate
