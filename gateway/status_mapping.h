// Maps tcpcore's absl::Status to the grpc::Status a caller receives. Abseil's
// codes are gRPC's codes, so the mapping keeps the code and the message; this
// is the one place where the two meet (docs/gateway.md lists what each code
// means for Send).
//
// Thread-safety: a pure function.
#ifndef GATEWAY_STATUS_MAPPING_H_
#define GATEWAY_STATUS_MAPPING_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace tcpgate {

grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace tcpgate

#endif  // GATEWAY_STATUS_MAPPING_H_
