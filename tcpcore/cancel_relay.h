// CancelRelay: the cancel handle of a request the pool holds before any
// connection has taken it (while it waits through the replacement of a
// connection that closed). A cancel that comes meanwhile is kept, and the
// request ends with it when the pool takes the request up again; one that
// comes after a connection took the request is passed to that connection's
// handle.
//
// Thread-safety: every method from any thread.
#ifndef TCPCORE_CANCEL_RELAY_H_
#define TCPCORE_CANCEL_RELAY_H_

#include <mutex>
#include <optional>

#include "absl/status/status.h"
#include "tcpcore/client_connection.h"

namespace tcpcore {

// What a request cancelled by its caller ends with: kDeadlineExceeded for a
// caller whose own deadline ended the wait, else kCancelled. A new Status
// each call, built on the thread that uses it (see "No absl::Status rep
// shared across threads" in docs/architecture.md).
absl::Status CallerCancelStatus(absl::StatusCode code);

class CancelRelay {
 public:
  void Cancel(absl::StatusCode code);
  // The code of a cancel that came before Attach(), if one did.
  std::optional<absl::StatusCode> cancelled() const;
  // Hands over the handle of the connection that took the request: a cancel
  // from now on goes there, and one that came before goes there now.
  void Attach(CancelHandle handle);

 private:
  mutable std::mutex mu_;
  std::optional<absl::StatusCode> cancelled_;  // Guarded by mu_.
  std::optional<CancelHandle> attached_;       // Guarded by mu_.
};

}  // namespace tcpcore

#endif  // TCPCORE_CANCEL_RELAY_H_
