// Tests of BuildServerCredentials: which flag combinations it accepts, the
// transport it reports for the start-up line, and that each refusal names
// the flag to fix. Real handshakes are tested against the binary in
// security_test.py.
#include "gateway/server_credentials.h"

#include <fstream>
#include <iterator>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/gateway/temp_file.h"
#include "tests/gateway/test_certificate.h"

namespace tcpgate {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// Looks like PEM, and is no certificate: for refusals that come before any
// file is parsed.
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
  const TestCertificate made = MakeTestCertificate("server", 86400);
  TempFile cert(made.cert_pem), key(made.key_pem), ca(made.cert_pem);
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

// Verify: revocation lists need a client CA, and a reload interval (they
// are served from the stage).
TEST(ServerCredentialsTest, RevocationListsNeedAClientCaAndReloading) {
  TempFile cert(kPem), key(kPem), ca(kPem), crl(kPem);
  absl::StatusOr<ServerSecurity> security = BuildServerCredentials({cert.path(), key.path(), "", crl.path()});
  EXPECT_THAT(std::string(security.status().message()), HasSubstr("--tls_client_crl needs --tls_client_ca"));
  const TestCertificate served = MakeTestCertificate("served", 86400);
  const TestCertificate client_ca = MakeTestCertificate("client ca", 86400);
  TempFile served_cert(served.cert_pem), served_key(served.key_pem), ca_file(client_ca.cert_pem),
      crl_file(MakeTestCrl(client_ca, {1}, 3600));
  security = BuildServerCredentials({served_cert.path(), served_key.path(), ca_file.path(), crl_file.path()},
                                    {.interval = absl::ZeroDuration()});
  EXPECT_THAT(std::string(security.status().message()), HasSubstr("--tls_client_crl needs --reload_interval above 0"));
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

// Verify: a key that is not the certificate's is refused at start, naming
// the flags (gRPC would listen and fail every handshake).
TEST(ServerCredentialsTest, KeyOfAnotherCertificateIsRefusedAtStart) {
  const TestCertificate served = MakeTestCertificate("served", 86400);
  const TestCertificate other = MakeTestCertificate("other", 86400);
  TempFile cert(served.cert_pem), key(other.key_pem);
  for (absl::Duration interval : {absl::ZeroDuration(), absl::Seconds(1)}) {
    absl::StatusOr<ServerSecurity> security =
        BuildServerCredentials({cert.path(), key.path(), ""}, {interval, ::testing::TempDir()});
    EXPECT_EQ(security.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(security.status().message()), HasSubstr("--tls_key is not the private key"));
  }
}

// Verify: with a reload interval the port serves checked copies from a
// stage under --tls_stage_dir, says so in its description, and reports the
// certificate's expiry; read once, there is no reloader.
TEST(ServerCredentialsTest, ReloadIntervalServesCheckedCopiesFromTheStage) {
  const TestCertificate made = MakeTestCertificate("server", 86400);
  TempFile cert(made.cert_pem), key(made.key_pem);
  absl::StatusOr<ServerSecurity> followed =
      BuildServerCredentials({cert.path(), key.path(), ""}, {absl::Seconds(1), ::testing::TempDir()});
  ASSERT_TRUE(followed.ok()) << followed.status();
  EXPECT_EQ(followed->description, "TLS, files read again every 1s");
  ASSERT_NE(followed->reloader, nullptr);
  EXPECT_THAT(followed->reloader->stage().dir(), StartsWith(::testing::TempDir()));
  std::ifstream staged(followed->reloader->stage().private_key_path());
  const std::string staged_key((std::istreambuf_iterator<char>(staged)), std::istreambuf_iterator<char>());
  EXPECT_EQ(staged_key, made.key_pem);
  EXPECT_LT(absl::AbsDuration(followed->not_after - (absl::Now() + absl::Hours(24))), absl::Seconds(5));
  EXPECT_EQ(followed->reloader->stats().not_after, followed->not_after);

  absl::StatusOr<ServerSecurity> once = BuildServerCredentials({cert.path(), key.path(), ""});
  ASSERT_TRUE(once.ok()) << once.status();
  EXPECT_EQ(once->description, "TLS");
  EXPECT_EQ(once->reloader, nullptr);
  EXPECT_EQ(once->not_after, followed->not_after);
}

}  // namespace
}  // namespace tcpgate
