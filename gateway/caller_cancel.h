// What a caller's cancel does to its pool request. gRPC cancels a call whose
// deadline passed (the reactor's OnCancel), and a client cancels its own at
// its deadline, at about the moment the pool's own deadline for the request
// fires, with no way to tell either from a caller that gave up. A cancel
// that close to the request's deadline is taken for the deadline: the pool
// request is cancelled as DEADLINE_EXCEEDED (as the caller saw it), not
// CANCELLED, in the metrics and the pool's counters (docs/gateway.md).
//
// Thread-safety: pure functions; CancelPoolRequest is CancelHandle's.
#ifndef GATEWAY_CALLER_CANCEL_H_
#define GATEWAY_CALLER_CANCEL_H_

#include "absl/time/time.h"
#include "tcpcore/client_connection.h"

namespace tcpgate {

// From when a cancel of a request that arrived at `start` and is due at
// `deadline` is taken for the deadline: 50 ms before it (the server's
// deadline runs from when the call reached it, the client's from when it
// started the call: a network hop and a busy server's queueing apart, and
// timer wake-ups; 10 ms was too little under ASan in CI, and 25 ms left a
// thin margin on a CPU-starved machine), and 1 % of the
// request's time more, since clients round the timeout they send up (gRPC:
// to 10 ms for 1-10 s, 100 ms up to 100 s, and so on), so a client's cancel
// at its own deadline comes that much before the server's. Never, for an
// infinite deadline.
absl::Time DeadlineCancelFrom(absl::Time start, absl::Time deadline);

// Cancels a pool request whose caller gave up: as its deadline from
// `deadline_cancel_from` on, else as a cancel.
void CancelPoolRequest(const tcpcore::CancelHandle& handle, absl::Time deadline_cancel_from);

}  // namespace tcpgate

#endif  // GATEWAY_CALLER_CANCEL_H_
