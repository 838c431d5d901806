// Conversions between tcpgate.v1 messages and the raw bytes of a gRPC call.
// The service takes its requests as raw bytes so that one which does not
// parse — malformed, or a string field that is not valid UTF-8, which proto3
// forbids — gets INVALID_ARGUMENT saying so; gRPC C++ 1.51 itself answers
// such a request with a bare UNIMPLEMENTED. A call that carried no request
// message at all gets INVALID_ARGUMENT too (it would read as an empty one).
//
// Thread-safety: pure functions.
#ifndef GATEWAY_WIRE_MESSAGES_H_
#define GATEWAY_WIRE_MESSAGES_H_

#include <grpcpp/support/byte_buffer.h>

#include <string>

#include "absl/status/statusor.h"
#include "tcpgate/v1/gateway.pb.h"

namespace tcpgate {

// Reads a call's request message. When it cannot be read but its uid can
// (only its val is not UTF-8), `*uid` (if given) gets that uid, so a
// stream's error answer still names the request it answers; else `*uid` is
// left empty.
absl::StatusOr<tcpgate::v1::SendRequest> ParseSendRequest(const grpc::ByteBuffer& bytes, std::string* uid = nullptr);
grpc::ByteBuffer SerializeSendResponse(const tcpgate::v1::SendResponse& response);

}  // namespace tcpgate

#endif  // GATEWAY_WIRE_MESSAGES_H_
