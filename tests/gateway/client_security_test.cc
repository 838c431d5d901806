// Tests of ClientSecurity::FromOptions: the settings tcpgate-cli refuses,
// each with the flag to fix. Handshakes and the token on the wire are tested
// against the real binaries in security_test.py.
#include "gateway/client_security.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/gateway/temp_file.h"

namespace tcpgate {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kPem[] = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";

// Verify: no options is a plaintext client; a CA, or a client certificate
// with its key, is accepted.
TEST(ClientSecurityTest, AcceptsPlaintextTlsAndMutualTls) {
  EXPECT_TRUE(ClientSecurity::FromOptions({}).ok());
  TempFile ca(kPem), cert(kPem), key(kPem);
  ClientSecurityOptions options;
  options.tls_ca = ca.path();
  EXPECT_TRUE(ClientSecurity::FromOptions(options).ok());
  options.tls_cert = cert.path();
  options.tls_key = key.path();
  EXPECT_TRUE(ClientSecurity::FromOptions(options).ok());
}

// Verify: a client certificate without its key, or a key alone, is refused.
TEST(ClientSecurityTest, CertAndKeyComeTogether) {
  TempFile pem(kPem);
  ClientSecurityOptions cert_only;
  cert_only.tls_cert = pem.path();
  EXPECT_THAT(std::string(ClientSecurity::FromOptions(cert_only).status().message()),
              HasSubstr("--tls_cert needs --tls_key"));
  ClientSecurityOptions key_only;
  key_only.tls_key = pem.path();
  EXPECT_THAT(std::string(ClientSecurity::FromOptions(key_only).status().message()),
              HasSubstr("--tls_key needs --tls_cert"));
}

// Verify: an unreadable CA file is refused with the flag's name.
TEST(ClientSecurityTest, UnreadableCaNamesTheFlag) {
  ClientSecurityOptions options;
  options.tls_ca = "/nonexistent/ca.pem";
  absl::StatusOr<ClientSecurity> security = ClientSecurity::FromOptions(options);
  EXPECT_EQ(security.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(security.status().message()), StartsWith("--tls_ca: "));
}

// Verify: an empty token file is refused with the flag's name.
TEST(ClientSecurityTest, EmptyTokenFileIsRefused) {
  TempFile empty("\n");
  ClientSecurityOptions options;
  options.auth_token_file = empty.path();
  absl::StatusOr<ClientSecurity> security = ClientSecurity::FromOptions(options);
  EXPECT_EQ(security.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(security.status().message()), StartsWith("--auth_token_file: "));
}

}  // namespace
}  // namespace tcpgate
