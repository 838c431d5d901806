#include "gateway/wire_messages.h"

#include <google/protobuf/unknown_field_set.h>
#include <grpcpp/support/proto_buffer_reader.h>
#include <grpcpp/impl/codegen/proto_utils.h>
#include <grpcpp/support/proto_buffer_writer.h>

#include <string>

namespace tcpgate {

namespace {

// Parses the occurrences of field `number` of `fields` alone as a
// SendRequest: protobuf's own UTF-8 check of that one string field.
bool FieldAloneParses(const google::protobuf::UnknownFieldSet& fields, int number,
                      tcpgate::v1::SendRequest& into) {
  google::protobuf::UnknownFieldSet alone;
  for (int i = 0; i < fields.field_count(); ++i) {
    if (fields.field(i).number() == number) alone.AddField(fields.field(i));
  }
  std::string bytes;
  return alone.SerializeToString(&bytes) && into.ParseFromString(bytes);
}

}  // namespace

absl::StatusOr<tcpgate::v1::SendRequest> ParseSendRequest(const grpc::ByteBuffer& bytes, std::string* uid) {
  if (uid != nullptr) uid->clear();
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
  // Tell the failures apart: bytes that are sound protobuf without the
  // schema failed only the schema's UTF-8 check, of uid or of val.
  grpc::ByteBuffer again(bytes);
  grpc::ProtoBufferReader reader(&again);
  google::protobuf::UnknownFieldSet fields;
  if (!fields.ParseFromZeroCopyStream(&reader)) {
    return absl::InvalidArgumentError("the request is not a valid tcpgate.v1.SendRequest message");
  }
  constexpr int kUidField = tcpgate::v1::SendRequest::kUidFieldNumber;
  tcpgate::v1::SendRequest uid_alone;
  if (!FieldAloneParses(fields, kUidField, uid_alone)) {
    return absl::InvalidArgumentError("uid is not valid UTF-8 (proto3 strings must be)");
  }
  if (uid != nullptr) *uid = std::move(*uid_alone.mutable_uid());
  return absl::InvalidArgumentError("val is not valid UTF-8 (proto3 strings must be)");
}

grpc::ByteBuffer SerializeSendResponse(const tcpgate::v1::SendResponse& response) {
  grpc::ByteBuffer bytes;
  bool own_buffer = false;
  // Fails only for messages over 2 GiB, which a response cannot be.
  (void)grpc::SerializationTraits<tcpgate::v1::SendResponse>::Serialize(response, &bytes, &own_buffer);
  return bytes;
}

}  // namespace tcpgate
