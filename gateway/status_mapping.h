// Maps tcpcore's absl::Status to the grpc::Status a caller receives. Abseil's
// codes are gRPC's codes, so the mapping keeps the code and the message; this
// is the one place where the two meet (docs/gateway.md lists what each code
// means for Send).
//
// It also decides what a cancelled call means: gRPC cancels a call whose
// deadline passed (the reactor's OnCancel) at about the moment the pool's own
// deadline for the request fires, and with no way to tell it from a caller's
// cancel. A cancel this close to the request's deadline is taken for the
// deadline: the request is left to expire in the pool within the slack, so
// it counts as DEADLINE_EXCEEDED (as the caller saw it), not CANCELLED.
//
// Thread-safety: pure functions.
#ifndef GATEWAY_STATUS_MAPPING_H_
#define GATEWAY_STATUS_MAPPING_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace tcpgate {

grpc::Status ToGrpcStatus(const absl::Status& status);

// Covers the gap between gRPC's deadline timer and the pool's (clock
// conversions, timer wake-ups) and a client's own cancel at its deadline
// arriving a network hop before the server's timer.
inline constexpr absl::Duration kDeadlineCancelSlack = absl::Milliseconds(10);

// Whether a cancel at `now` of a request due at `deadline` is the deadline.
bool CancelIsTheDeadline(absl::Time deadline, absl::Time now);

}  // namespace tcpgate

#endif  // GATEWAY_STATUS_MAPPING_H_
