#include "gateway/caller_cancel.h"

#include "absl/time/clock.h"

namespace tcpgate {

absl::Time DeadlineCancelFrom(absl::Time start, absl::Time deadline) {
  if (deadline == absl::InfiniteFuture()) return absl::InfiniteFuture();
  return deadline - absl::Milliseconds(50) - (deadline - start) / 100;
}

void CancelPoolRequest(const tcpcore::CancelHandle& handle, absl::Time deadline_cancel_from) {
  if (absl::Now() >= deadline_cancel_from) {
    handle.CancelAsDeadline();
  } else {
    handle.Cancel();
  }
}

}  // namespace tcpgate
