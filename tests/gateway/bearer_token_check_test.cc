// Tests of BearerTokenCheck: which authorization metadata it accepts, that
// its refusals are UNAUTHENTICATED without the token in the message, and
// how it reads and validates a token file.
#include "gateway/bearer_token_check.h"

#include <map>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/gateway/temp_file.h"

namespace tcpgate {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using Metadata = std::multimap<grpc::string_ref, grpc::string_ref>;

constexpr char kToken[] = "s3cret-Token_0123456789";

BearerTokenCheck CheckFor(const std::string& token) {
  absl::StatusOr<BearerTokenCheck> check = BearerTokenCheck::FromToken(token);
  EXPECT_TRUE(check.ok()) << check.status();
  return *std::move(check);
}

absl::Status CheckAuthorization(const BearerTokenCheck& check, const std::string& authorization) {
  Metadata metadata;
  metadata.emplace("authorization", authorization);
  return check.Check(metadata);
}

// Verify: the right token is accepted.
TEST(BearerTokenCheckTest, AcceptsTheToken) {
  EXPECT_TRUE(CheckAuthorization(CheckFor(kToken), std::string("Bearer ") + kToken).ok());
}

// Verify: the scheme is matched in any case, as RFC 7235 says.
TEST(BearerTokenCheckTest, AcceptsTheSchemeInAnyCase) {
  EXPECT_TRUE(CheckAuthorization(CheckFor(kToken), std::string("bearer ") + kToken).ok());
  EXPECT_TRUE(CheckAuthorization(CheckFor(kToken), std::string("BEARER ") + kToken).ok());
}

// Verify: a call without authorization metadata is UNAUTHENTICATED.
TEST(BearerTokenCheckTest, RefusesMissingAuthorization) {
  Metadata metadata;
  metadata.emplace("x-other", "Bearer s3cret");
  absl::Status status = CheckFor(kToken).Check(metadata);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(status.message()), HasSubstr("missing"));
}

// Verify: another token, one of the same length, a prefix, a longer one,
// an empty one and another scheme are all UNAUTHENTICATED.
TEST(BearerTokenCheckTest, RefusesEveryOtherToken) {
  const BearerTokenCheck check = CheckFor(kToken);
  const std::string same_length(sizeof(kToken) - 1, 'x');
  for (const std::string& authorization :
       {std::string("Bearer wrong"), "Bearer " + same_length, std::string("Bearer s3cret"),
        std::string("Bearer ") + kToken + "x", std::string("Bearer "), std::string("Bearer"),
        std::string("Basic ") + kToken, std::string(kToken), "Bearer " + std::string(5000, 'a')}) {
    EXPECT_EQ(CheckAuthorization(check, authorization).code(), absl::StatusCode::kUnauthenticated) << authorization;
  }
}

// Verify: a token that differs only in its last byte is refused (the
// comparison covers the whole token).
TEST(BearerTokenCheckTest, RefusesTokenDifferingInLastByte) {
  const std::string token(BearerTokenCheck::kMaxTokenBytes, 'a');
  std::string presented = token;
  presented.back() = 'b';
  const BearerTokenCheck check = CheckFor(token);
  EXPECT_TRUE(CheckAuthorization(check, "Bearer " + token).ok());
  EXPECT_EQ(CheckAuthorization(check, "Bearer " + presented).code(), absl::StatusCode::kUnauthenticated);
}

// Verify: each of these is refused, and no refusal message echoes the
// expected or the presented token.
TEST(BearerTokenCheckTest, RefusalNeverEchoesAToken) {
  const BearerTokenCheck check = CheckFor(kToken);
  for (const std::string& authorization : {std::string("Bearer presented-guess"), std::string("Basic presented-guess"),
                                           std::string("Bearer s3cret-Token_012345678X")}) {
    absl::Status status = CheckAuthorization(check, authorization);
    EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated) << authorization;
    EXPECT_THAT(std::string(status.message()), Not(HasSubstr("s3cret")));
    EXPECT_THAT(std::string(status.message()), Not(HasSubstr("presented-guess")));
  }
}

// Verify: the token file's trailing newline (LF or CRLF) is not part of
// the token.
TEST(BearerTokenCheckTest, FileTokenLosesTrailingNewline) {
  for (const char* ending : {"", "\n", "\r\n"}) {
    TempFile file(std::string(kToken) + ending);
    absl::StatusOr<BearerTokenCheck> check = BearerTokenCheck::FromFile(file.path());
    ASSERT_TRUE(check.ok()) << check.status();
    EXPECT_TRUE(CheckAuthorization(*check, std::string("Bearer ") + kToken).ok());
  }
}

// Verify: an empty token file, or one holding only a newline, is an error.
TEST(BearerTokenCheckTest, EmptyFileIsAnError) {
  for (const char* contents : {"", "\n"}) {
    TempFile file(contents);
    absl::StatusOr<BearerTokenCheck> check = BearerTokenCheck::FromFile(file.path());
    EXPECT_EQ(check.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(check.status().message()), HasSubstr("empty"));
  }
}

// Verify: a missing file is an error naming the path.
TEST(BearerTokenCheckTest, MissingFileIsAnError) {
  absl::StatusOr<BearerTokenCheck> check = BearerTokenCheck::FromFile("/nonexistent/token");
  EXPECT_EQ(check.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(check.status().message()), HasSubstr("/nonexistent/token"));
}

// Verify: a token that could not travel in metadata (spaces, controls,
// inner newlines) or is over the length limit is refused at start-up,
// without echoing it.
TEST(BearerTokenCheckTest, RefusesTokensThatCannotBeSent) {
  for (const std::string& token : {std::string("two words"), std::string("line1\nline2"), std::string("tab\t"),
                                   std::string(BearerTokenCheck::kMaxTokenBytes + 1, 'a')}) {
    absl::StatusOr<BearerTokenCheck> check = BearerTokenCheck::FromToken(token);
    EXPECT_EQ(check.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(check.status().message()), Not(HasSubstr(token)));
  }
}

// Verify: clients read the token file as the gateway does, and from a file
// holding two tokens (a rotation under way) send the first, which the
// gateways accept until it is removed.
TEST(BearerTokenCheckTest, ClientsReadTheSameTokenAndTheFirstOfTwo) {
  TempFile file(std::string(kToken) + "\n");
  absl::StatusOr<std::string> token = ReadBearerTokenFile(file.path());
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(*token, kToken);
  TempFile two("\r\nold-token\r\nnew-token\n");
  token = ReadBearerTokenFile(two.path());
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(*token, "old-token");
}

// Verify: a file of several tokens, one per line (LF or CRLF, empty lines
// skipped), accepts each of them and nothing else: a rotation's old and new
// token work side by side.
TEST(BearerTokenCheckTest, FileOfSeveralTokensAcceptsEach) {
  TempFile file("old-token\r\n\nnew-token-longer\n");
  absl::StatusOr<BearerTokenCheck> check = BearerTokenCheck::FromFile(file.path());
  ASSERT_TRUE(check.ok()) << check.status();
  EXPECT_EQ(check->token_count(), 2u);
  EXPECT_TRUE(CheckAuthorization(*check, "Bearer old-token").ok());
  EXPECT_TRUE(CheckAuthorization(*check, "Bearer new-token-longer").ok());
  for (const char* wrong : {"Bearer old-toke", "Bearer new-token", "Bearer old-tokennew-token-longer", "Bearer "}) {
    EXPECT_EQ(CheckAuthorization(*check, wrong).code(), absl::StatusCode::kUnauthenticated) << wrong;
  }
}

// Verify: a bad line is refused naming its line, never its text; more than
// kMaxTokens tokens are refused.
TEST(BearerTokenCheckTest, BadLineIsNamedByNumberAndTooManyTokensAreRefused) {
  TempFile bad("good-token\nbad token\n");
  absl::StatusOr<BearerTokenCheck> check = BearerTokenCheck::FromFile(bad.path());
  EXPECT_EQ(check.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(check.status().message()), HasSubstr("line 2: "));
  EXPECT_THAT(std::string(check.status().message()), Not(HasSubstr("bad token")));
  std::string many;
  for (std::size_t i = 0; i <= BearerTokenCheck::kMaxTokens; ++i) many += "token-" + std::to_string(i) + "\n";
  TempFile too_many(many);
  check = BearerTokenCheck::FromFile(too_many.path());
  EXPECT_EQ(check.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(check.status().message()), HasSubstr("more than 8 tokens"));
}

}  // namespace
}  // namespace tcpgate
