// Tests for the codec: decoding requests and responses the way Go's
// encoding/json does, clear errors for bad input, and encodings that always
// decode again.
#include "tcpcore/message_codec.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace tcpcore {
namespace {

using ::testing::HasSubstr;

Request MustDecodeRequest(absl::string_view frame) {
  Request request;
  absl::Status status = DecodeRequest(frame, request);
  EXPECT_TRUE(status.ok()) << status << " for " << frame;
  return request;
}

absl::Status RequestError(absl::string_view frame) {
  Request request;
  return DecodeRequest(frame, request);
}

// Verify: the article's request decodes into Uid and Val.
TEST(MessageCodec, DecodesArticleRequest) {
  EXPECT_EQ(MustDecodeRequest(R"({"Uid":"pixel-1","Val":"pixelpig!"})"), (Request{"pixel-1", "pixelpig!"}));
}

// Verify: unknown fields are ignored, including nested objects and arrays.
TEST(MessageCodec, IgnoresUnknownFields) {
  EXPECT_EQ(MustDecodeRequest(R"({"x":1,"Uid":"u","deep":{"Uid":5,"a":[{"Val":true}]},"Val":"v","n":null})"),
            (Request{"u", "v"}));
}

// Verify: missing fields decode as empty strings; null leaves a field as it
// was (empty, or an earlier duplicate's value), as Go's encoding/json does.
TEST(MessageCodec, MissingOrNullFieldsAreEmpty) {
  EXPECT_EQ(MustDecodeRequest(R"({"Uid":"u"})"), (Request{"u", ""}));
  EXPECT_EQ(MustDecodeRequest(R"({"Uid":null,"Val":"v"})"), (Request{"", "v"}));
  EXPECT_EQ(MustDecodeRequest(R"({"Uid":"a","Uid":null})"), (Request{"a", ""}));
  EXPECT_EQ(MustDecodeRequest(R"({"Uid":"a","uid":null,"Val":"\u0000"})"), (Request{"a", std::string(1, '\0')}));
  EXPECT_EQ(MustDecodeRequest("{}"), (Request{"", ""}));
}

// Verify: keys match case-insensitively and a later duplicate wins, as in Go.
TEST(MessageCodec, MatchesKeysLikeGoEncodingJson) {
  EXPECT_EQ(MustDecodeRequest(R"({"uid":"a","VAL":"b"})"), (Request{"a", "b"}));
  EXPECT_EQ(MustDecodeRequest(R"({"Uid":"first","Uid":"second"})"), (Request{"second", ""}));
}

// Verify: escapes and unicode decode to UTF-8, surrogate pairs included.
TEST(MessageCodec, DecodesEscapesAndUnicode) {
  EXPECT_EQ(MustDecodeRequest(R"({"Uid":"\u00e9\ud83d\ude00","Val":"a\"b\\c\/d\n\t"})"),
            (Request{"\xC3\xA9\xF0\x9F\x98\x80", "a\"b\\c/d\n\t"}));
  EXPECT_EQ(MustDecodeRequest("{\"Uid\":\"\xE6\x97\xA5\xE6\x9C\xAC\"}"), (Request{"\xE6\x97\xA5\xE6\x9C\xAC", ""}));
}

// Verify: a non-string value for a known field is an error naming the field.
TEST(MessageCodec, RejectsWrongTypes) {
  for (const char* frame : {R"({"Uid":1})", R"({"Uid":"u","Val":true})", R"({"Val":{"a":1}})", R"({"Uid":[]})",
                            R"({"Val":1.5})"}) {
    absl::Status status = RequestError(frame);
    EXPECT_TRUE(absl::IsInvalidArgument(status)) << frame;
    EXPECT_THAT(status.message(), HasSubstr("must be a string")) << frame;
  }
}

// Verify: anything but one JSON object is rejected with a one-line reason.
TEST(MessageCodec, RejectsNonObjectsAndBrokenJson) {
  for (const char* frame : {"garbage", "[1,2]", "\"str\"", "42", "{\"Uid\":\"u\"", "{\"Uid\":\"u\"} x",
                            "{\"Uid\":\"u\",}", "{'Uid':'u'}", ""}) {
    absl::Status status = RequestError(frame);
    EXPECT_TRUE(absl::IsInvalidArgument(status)) << frame;
    EXPECT_EQ(status.message().find('\n'), absl::string_view::npos) << frame;
    EXPECT_FALSE(status.message().empty()) << frame;
  }
  EXPECT_THAT(RequestError("[1]").message(), HasSubstr("expected a JSON object"));
}

// Verify: a leading UTF-8 byte order mark is an error, as in Go's
// encoding/json (nlohmann alone would skip it), for requests and responses.
TEST(MessageCodec, RejectsByteOrderMarkLikeGo) {
  absl::Status status = RequestError("\xEF\xBB\xBF{\"Uid\":\"u\",\"Val\":\"v\"}");
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_EQ(status.message(), "invalid JSON: byte order mark (U+FEFF) before the value");
  Response response;
  EXPECT_TRUE(absl::IsInvalidArgument(DecodeResponse("\xEF\xBB\xBF{\"Uid\":\"u\"}", response)));
}

// Verify: invalid UTF-8 inside a string is an error, and the reason stays
// printable ASCII (it is echoed to the peer in a "-ERR" line).
TEST(MessageCodec, RejectsInvalidUtf8) {
  for (const char* frame : {"{\"Uid\":\"\xFF\"}", "{\"Uid\":\"\xC3\"}", "{\"Uid\":\"\xED\xA0\x80\"}",
                            "{\"Val\":\"\xC0\xAF\"}"}) {
    absl::Status status = RequestError(frame);
    EXPECT_TRUE(absl::IsInvalidArgument(status)) << frame;
    for (char c : status.message()) {
      EXPECT_TRUE(c >= 0x20 && c < 0x7f) << "unprintable byte in reason: " << status.message();
    }
  }
}

// Verify: a response without "Ts" (the article's echoing server) is valid.
TEST(MessageCodec, DecodesResponseWithAndWithoutTs) {
  Response response;
  ASSERT_TRUE(DecodeResponse(R"({"Uid":"u","Val":"v","Ts":"2026-01-02T03:04:05.000000006Z"})", response).ok());
  EXPECT_EQ(response, (Response{"u", "v", "2026-01-02T03:04:05.000000006Z"}));
  ASSERT_TRUE(DecodeResponse(R"({"Uid":"u","Val":"v"})", response).ok());
  EXPECT_EQ(response, (Response{"u", "v", ""}));
  EXPECT_TRUE(absl::IsInvalidArgument(DecodeResponse(R"({"Uid":"u","Ts":7})", response)));
}

// Verify: decoding into a reused message replaces every field.
TEST(MessageCodec, DecodingIntoReusedMessageClearsOldValues) {
  Request request{"old-uid", "old-val"};
  ASSERT_TRUE(DecodeRequest(R"({"Val":"new"})", request).ok());
  EXPECT_EQ(request, (Request{"", "new"}));
}

// Verify: encoded lines use the exact keys, end in one newline, and decode
// back to the same message.
TEST(MessageCodec, EncodesExactKeysAndRoundTrips) {
  std::string line;
  AppendResponseLine(Response{"pixel-1", "server: hello, pixelpig!", "2026-01-02T03:04:05.123456789Z"}, line);
  EXPECT_EQ(line,
            R"({"Uid":"pixel-1","Val":"server: hello, pixelpig!","Ts":"2026-01-02T03:04:05.123456789Z"})"
            "\n");
  line.clear();
  AppendRequestLine(Request{"pixel-1", "pixelpig!"}, line);
  EXPECT_EQ(line, "{\"Uid\":\"pixel-1\",\"Val\":\"pixelpig!\"}\n");

  const Request tricky{"q\"\\/\n\r\t\b\f\x01\x1f", "\xC3\xA9\xF0\x9F\x98\x80 {}[]"};
  line.clear();
  AppendRequestLine(tricky, line);
  EXPECT_EQ(line.find('\n'), line.size() - 1) << "only the terminator may be a raw newline";
  EXPECT_EQ(MustDecodeRequest(absl::string_view(line).substr(0, line.size() - 1)), tricky);
}

// Verify: invalid UTF-8 handed to the encoder becomes U+FFFD, so the line is
// still valid JSON.
TEST(MessageCodec, EncoderReplacesInvalidUtf8) {
  std::string out;
  AppendJsonString("a\xFF" "b\xC3", out);
  EXPECT_EQ(out, "\"a\\ufffdb\\ufffd\"");
  EXPECT_EQ(nlohmann::json::parse(out).get<std::string>(), "a\xEF\xBF\xBD" "b\xEF\xBF\xBD");
}

// Verify: a response with an empty Ts omits the key, like the original server.
TEST(MessageCodec, OmitsEmptyTs) {
  std::string line;
  AppendResponseLine(Response{"u", "v", ""}, line);
  EXPECT_EQ(line, "{\"Uid\":\"u\",\"Val\":\"v\"}\n");
}

// Verify: RequestLineBytes is the length of the line AppendRequestLine
// writes, whatever needs escaping (quotes, control bytes, invalid UTF-8,
// multi-byte characters).
TEST(MessageCodecTest, RequestLineBytesIsTheEncodedLength) {
  const std::vector<Request> requests = {
      {"", ""}, {"pixel-1", "pixelpig!"}, {"q\"uote", "back\\slash\n\t"},
      {"ctl", std::string("\x01\x1f\x00", 3)}, {"utf8", "h\xc3\xa9llo \xe2\x82\xac"}, {"bad", "\xff\xc3"},
  };
  for (const Request& request : requests) {
    std::string line;
    AppendRequestLine(request, line);
    EXPECT_EQ(RequestLineBytes(request), line.size()) << line;
  }
}

}  // namespace
}  // namespace tcpcore
