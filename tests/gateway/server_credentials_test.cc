// Tests of BuildServerCredentials: which flag combinations it accepts, the
// transport it reports for the start-up line, and that each refusal names
// the flag to fix. Real handshakes are tested against the binary in
// security_test.py.
#include "gateway/server_credentials.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/gateway/temp_file.h"

namespace tcpgate {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// Looks like PEM; gRPC parses it only when a handshake starts.
constexpr char kPem[] = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";

// Verify: without flags the port is plaintext and says it is for local use.
TEST(ServerCredentialsTest, NoFlagsIsPlaintextForLocalUse) {
  absl::StatusOr<ServerSecurity> security = BuildServerCredentials({});
  ASSERT_TRUE(security.ok()) << security.status();
  EXPECT_NE(security->credentials, nullptr);
  EXPECT_THAT(security->description, StartsWith("plaintext"));
  EXPECT_THAT(security->description, HasSubstr("local use only"));
}

// Verify: cert and key give TLS; a client CA on top gives mutual TLS.
TEST(ServerCredentialsTest, CertAndKeyGiveTlsAndClientCaGivesMutualTls) {
  TempFile cert(kPem), key(kPem), ca(kPem);
  absl::StatusOr<ServerSecurity> tls = BuildServerCredentials({cert.path(), key.path(), ""});
  ASSERT_TRUE(tls.ok()) << tls.status();
  EXPECT_EQ(tls->description, "TLS");
  absl::StatusOr<ServerSecurity> mutual = BuildServerCredentials({cert.path(), key.path(), ca.path()});
  ASSERT_TRUE(mutual.ok()) << mutual.status();
  EXPECT_THAT(mutual->description, StartsWith("mutual TLS"));
}

// Verify: a cert without a key, or a key without a cert, is refused.
TEST(ServerCredentialsTest, CertAndKeyComeTogether) {
  TempFile cert(kPem), key(kPem);
  absl::StatusOr<ServerSecurity> cert_only = BuildServerCredentials({cert.path(), "", ""});
  EXPECT_EQ(cert_only.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(cert_only.status().message()), HasSubstr("--tls_cert needs --tls_key"));
  absl::StatusOr<ServerSecurity> key_only = BuildServerCredentials({"", key.path(), ""});
  EXPECT_EQ(key_only.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(key_only.status().message()), HasSubstr("--tls_key needs --tls_cert"));
}

// Verify: a client CA without a server certificate is refused.
TEST(ServerCredentialsTest, ClientCaNeedsCert) {
  TempFile ca(kPem);
  absl::StatusOr<ServerSecurity> security = BuildServerCredentials({"", "", ca.path()});
  EXPECT_EQ(security.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(security.status().message()), HasSubstr("--tls_client_ca needs --tls_cert"));
}

// Verify: an unreadable file is refused with the flag and the path.
TEST(ServerCredentialsTest, UnreadableFileNamesFlagAndPath) {
  TempFile cert(kPem);
  absl::StatusOr<ServerSecurity> security = BuildServerCredentials({cert.path(), "/nonexistent/key.pem", ""});
  EXPECT_EQ(security.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(security.status().message()), StartsWith("--tls_key: "));
  EXPECT_THAT(std::string(security.status().message()), HasSubstr("/nonexistent/key.pem"));
}

// Verify: a file without a PEM block (a wrong path, a DER file) is refused.
TEST(ServerCredentialsTest, FileWithoutPemIsRefused) {
  TempFile cert(kPem), key(kPem), not_pem("just text\n");
  absl::StatusOr<ServerSecurity> security = BuildServerCredentials({cert.path(), key.path(), not_pem.path()});
  EXPECT_EQ(security.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(security.status().message()), StartsWith("--tls_client_ca: "));
}

}  // namespace
}  // namespace tcpgate
