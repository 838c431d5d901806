#include "tcpcore/cancel_relay.h"

#include <utility>

namespace tcpcore {

absl::Status CallerCancelStatus(absl::StatusCode code) {
  return code == absl::StatusCode::kDeadlineExceeded ? absl::DeadlineExceededError("the caller's deadline passed")
                                                     : absl::CancelledError("cancelled by the caller");
}

void CancelRelay::Cancel(absl::StatusCode code) {
  std::optional<CancelHandle> handle;
  {
    std::lock_guard lock(mu_);
    if (!attached_) {
      if (!cancelled_) cancelled_ = code;
      return;
    }
    handle = attached_;
  }
  handle->Cancel(code);
}

std::optional<absl::StatusCode> CancelRelay::cancelled() const {
  std::lock_guard lock(mu_);
  return cancelled_;
}

void CancelRelay::Attach(CancelHandle handle) {
  std::optional<absl::StatusCode> code;
  {
    std::lock_guard lock(mu_);
    attached_ = handle;
    code = cancelled_;
  }
  if (code) handle.Cancel(*code);
}

}  // namespace tcpcore
