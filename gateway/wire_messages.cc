#include "gateway/wire_messages.h"

#include <google/protobuf/unknown_field_set.h>
#include <grpcpp/support/proto_buffer_reader.h>
#include <grpcpp/impl/codegen/proto_utils.h>
#include <grpcpp/support/proto_buffer_writer.h>

namespace tcpgate {

absl::StatusOr<tcpgate::v1::SendRequest> ParseSendRequest(const grpc::ByteBuffer& bytes) {
  // No buffer at all (not an empty message, which is a valid one): the
  // client ended the call without sending its request. It would otherwise
  // read as an empty SendRequest and go to a backend.
  if (!bytes.Valid()) return absl::InvalidArgumentError("the call carried no request message; Send takes one");
  tcpgate::v1::SendRequest request;
  {
    // The reader only reads the slices, but its constructor wants a mutable
    // buffer; a copy would cost an allocation per request.
    grpc::ProtoBufferReader reader(const_cast<grpc::ByteBuffer*>(&bytes));
    if (request.ParseFromZeroCopyStream(&reader)) return request;
  }
  // Tell the two failures apart: bytes that are sound protobuf without the
  // schema failed only the schema's UTF-8 check of uid or val.
  grpc::ByteBuffer again(bytes);
  grpc::ProtoBufferReader reader(&again);
  google::protobuf::UnknownFieldSet fields;
  if (fields.ParseFromZeroCopyStream(&reader)) {
    return absl::InvalidArgumentError("uid or val is not valid UTF-8 (proto3 strings must be)");
  }
  return absl::InvalidArgumentError("the request is not a valid tcpgate.v1.SendRequest message");
}

grpc::ByteBuffer SerializeSendResponse(const tcpgate::v1::SendResponse& response) {
  grpc::ByteBuffer bytes;
  bool own_buffer = false;
  // Fails only for messages over 2 GiB, which a response cannot be.
  (void)grpc::SerializationTraits<tcpgate::v1::SendResponse>::Serialize(response, &bytes, &own_buffer);
  return bytes;
}

}  // namespace tcpgate
