// Tests for ParseSendRequest: what the service makes of a call's raw bytes.
#include "gateway/wire_messages.h"

#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/slice.h>

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tcpgate {
namespace {

using ::testing::HasSubstr;

grpc::ByteBuffer BufferOf(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

// Verify: a call that ended without any request message (gRPC hands the
// handler a buffer that holds nothing, not even an empty message) is
// refused, not read as an empty SendRequest that would go to a backend.
TEST(ParseSendRequestTest, NoMessageAtAllIsInvalid) {
  const grpc::ByteBuffer none;
  ASSERT_FALSE(none.Valid());
  const absl::StatusOr<tcpgate::v1::SendRequest> request = ParseSendRequest(none);
  EXPECT_EQ(request.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(request.status().message(), HasSubstr("no request message"));
}

// Verify: an empty message is a valid SendRequest (proto3: every field at
// its default), as every client library encodes SendRequest{}.
TEST(ParseSendRequestTest, EmptyMessageIsTheDefaultRequest) {
  const absl::StatusOr<tcpgate::v1::SendRequest> request = ParseSendRequest(BufferOf(""));
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->uid(), "");
  EXPECT_EQ(request->val(), "");
}

// Verify: fields are read; bytes that are not a SendRequest, and strings
// that are not UTF-8, are told apart.
TEST(ParseSendRequestTest, FieldsAndTheTwoKindsOfBadBytes) {
  tcpgate::v1::SendRequest sent;
  sent.set_uid("pixel-1");
  sent.set_val("pixelpig!");
  const absl::StatusOr<tcpgate::v1::SendRequest> request = ParseSendRequest(BufferOf(sent.SerializeAsString()));
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->uid(), "pixel-1");
  EXPECT_EQ(request->val(), "pixelpig!");

  const absl::StatusOr<tcpgate::v1::SendRequest> garbage = ParseSendRequest(BufferOf("\xff\xff\xff"));
  EXPECT_EQ(garbage.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(garbage.status().message(), HasSubstr("not a valid tcpgate.v1.SendRequest"));
  const absl::StatusOr<tcpgate::v1::SendRequest> not_utf8 = ParseSendRequest(BufferOf("\x0a\x02\xff\xfe"));
  EXPECT_EQ(not_utf8.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(not_utf8.status().message(), HasSubstr("UTF-8"));
}

// Verify: the message says which string is not UTF-8, and when only the
// val is, the uid is still read, so a stream's error answer can carry it.
TEST(ParseSendRequestTest, AValThatIsNotUtf8LeavesTheUidReadable) {
  std::string uid = "stale";
  // uid "ok-1", val "\xff".
  const absl::StatusOr<tcpgate::v1::SendRequest> bad_val = ParseSendRequest(BufferOf("\x0a\x04ok-1\x12\x01\xff"), &uid);
  EXPECT_EQ(bad_val.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad_val.status().message(), HasSubstr("val is not valid UTF-8"));
  EXPECT_EQ(uid, "ok-1");

  // Proto3 reads the last of repeated fields: the uid too.
  ASSERT_FALSE(ParseSendRequest(BufferOf("\x0a\x01" "a" "\x12\x01\xff" "\x0a\x01" "b"), &uid).ok());
  EXPECT_EQ(uid, "b");

  // uid "\xff\xfe", val "x": nothing to name the request by.
  const absl::StatusOr<tcpgate::v1::SendRequest> bad_uid = ParseSendRequest(BufferOf("\x0a\x02\xff\xfe\x12\x01x"), &uid);
  EXPECT_EQ(bad_uid.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad_uid.status().message(), HasSubstr("uid is not valid UTF-8"));
  EXPECT_EQ(uid, "");

  ASSERT_FALSE(ParseSendRequest(BufferOf("\x0a\x04ok-1\xff\xff"), &uid).ok());
  EXPECT_EQ(uid, "") << "bytes that are not a SendRequest name no uid";
}

}  // namespace
}  // namespace tcpgate
