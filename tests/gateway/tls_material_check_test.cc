// Tests of CheckTlsMaterial: what it accepts, what it refuses and with
// which flag named, and the facts it reads from the certificate.
#include "gateway/tls_material_check.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/gateway/test_certificate.h"

namespace tcpgate {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// Verify: a certificate with its own key passes, and the facts are the
// certificate's: its subject and its expiry.
TEST(TlsMaterialCheckTest, MatchingPairPassesWithSubjectAndExpiry) {
  const TestCertificate made = MakeTestCertificate("tcpgate unit", 86400);
  const absl::Time expected_expiry = absl::Now() + absl::Seconds(86400);
  absl::StatusOr<TlsCertificateFacts> facts = CheckTlsMaterial({made.cert_pem, made.key_pem, ""}, false);
  ASSERT_TRUE(facts.ok()) << facts.status();
  EXPECT_EQ(facts->subject, "CN=tcpgate unit");
  EXPECT_LT(absl::AbsDuration(facts->not_after - expected_expiry), absl::Seconds(5));
}

// Verify: the key of another certificate is refused, naming both flags
// (gRPC would take the pair and fail every handshake).
TEST(TlsMaterialCheckTest, KeyOfAnotherCertificateIsRefused) {
  const TestCertificate served = MakeTestCertificate("served", 86400);
  const TestCertificate other = MakeTestCertificate("other", 86400);
  absl::StatusOr<TlsCertificateFacts> facts = CheckTlsMaterial({served.cert_pem, other.key_pem, ""}, false);
  EXPECT_EQ(facts.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(facts.status().message(), "--tls_key is not the private key of the first certificate in --tls_cert");
}

// Verify: client revocation lists need a client CA bundle; with one, a
// valid list passes and its next update is a fact; a list of another CA is
// refused (CheckClientRevocationLists' own tests cover the rest).
TEST(TlsMaterialCheckTest, RevocationListsAreCheckedAgainstTheClientCa) {
  const TestCertificate served = MakeTestCertificate("served", 86400);
  const TestCertificate ca = MakeTestCertificate("client ca", 86400);
  const TestCertificate other = MakeTestCertificate("other ca", 86400);
  const std::string crl = MakeTestCrl(ca, {3}, 3600);
  EXPECT_EQ(CheckTlsMaterial({served.cert_pem, served.key_pem, "", crl}, false).status().message(),
            "--tls_client_crl needs --tls_client_ca");
  absl::StatusOr<TlsCertificateFacts> facts = CheckTlsMaterial({served.cert_pem, served.key_pem, ca.cert_pem, crl}, true);
  ASSERT_TRUE(facts.ok()) << facts.status();
  EXPECT_LT(absl::AbsDuration(facts->client_crl.next_update - (absl::Now() + absl::Seconds(3600))),
            absl::Seconds(5));
  EXPECT_EQ(facts->client_crl.files.size(), 1u);
  EXPECT_EQ(CheckTlsMaterial({served.cert_pem, served.key_pem, ca.cert_pem}, true)->client_crl.next_update,
            absl::InfiniteFuture());
  // Given the flag, an emptied list file is refused, not taken as "no lists"
  // (that would turn revocation off).
  EXPECT_THAT(std::string(CheckTlsMaterial({served.cert_pem, served.key_pem, ca.cert_pem, ""}, true,
                                           /*revocation=*/true)
                              .status()
                              .message()),
              HasSubstr("--tls_client_crl: no PEM revocation list"));
  EXPECT_THAT(std::string(CheckTlsMaterial({served.cert_pem, served.key_pem, other.cert_pem, crl}, true)
                              .status()
                              .message()),
              HasSubstr("is not of a CA in --tls_client_ca"));
}

// Verify: a chain with no certificate, a key file with no key, and a
// client CA with no certificate are each refused naming their flag.
TEST(TlsMaterialCheckTest, FileWithoutWhatItShouldHoldNamesItsFlag) {
  const TestCertificate made = MakeTestCertificate("made", 86400);
  EXPECT_THAT(std::string(CheckTlsMaterial({made.key_pem, made.key_pem, ""}, false).status().message()),
              StartsWith("--tls_cert: no PEM certificate"));
  EXPECT_THAT(std::string(CheckTlsMaterial({made.cert_pem, made.cert_pem, ""}, false).status().message()),
              StartsWith("--tls_key: no unencrypted PEM private key"));
  EXPECT_THAT(std::string(CheckTlsMaterial({made.cert_pem, made.key_pem, made.key_pem}, true).status().message()),
              StartsWith("--tls_client_ca: no PEM certificate"));
  // Half a certificate, as a copy caught half-way would leave it.
  const std::string half = made.cert_pem.substr(0, made.cert_pem.size() / 2);
  EXPECT_THAT(std::string(CheckTlsMaterial({half, made.key_pem, ""}, false).status().message()),
              StartsWith("--tls_cert: a certificate in it does not parse"));
}

// Verify: a client CA bundle of certificates passes.
TEST(TlsMaterialCheckTest, ClientCaBundlePasses) {
  const TestCertificate made = MakeTestCertificate("made", 86400);
  const TestCertificate ca1 = MakeTestCertificate("ca1", 86400);
  const TestCertificate ca2 = MakeTestCertificate("ca2", 86400);
  absl::StatusOr<TlsCertificateFacts> facts =
      CheckTlsMaterial({made.cert_pem, made.key_pem, ca1.cert_pem + ca2.cert_pem}, true);
  EXPECT_TRUE(facts.ok()) << facts.status();
}

// Verify: a chain or a CA bundle whose last certificate is cut short (a
// copy caught half-way, a writer that died) is refused, though the
// certificates before it parse: served, it would lose its tail silently.
TEST(TlsMaterialCheckTest, BundleWithACertificateCutShortIsRefused) {
  const TestCertificate made = MakeTestCertificate("made", 86400);
  const TestCertificate next = MakeTestCertificate("next", 86400);
  const std::string cut = next.cert_pem.substr(0, next.cert_pem.size() / 2);
  EXPECT_THAT(std::string(CheckTlsMaterial({made.cert_pem + cut, made.key_pem, ""}, false).status().message()),
              StartsWith("--tls_cert: a certificate in it does not parse"));
  EXPECT_THAT(
      std::string(CheckTlsMaterial({made.cert_pem, made.key_pem, next.cert_pem + cut}, true).status().message()),
      StartsWith("--tls_client_ca: a certificate in it does not parse"));
}

// Verify: with mutual TLS an empty client CA file (a rewrite caught between
// truncation and write) is refused, not taken for "no client CA".
TEST(TlsMaterialCheckTest, EmptyClientCaIsRefusedForMutualTls) {
  const TestCertificate made = MakeTestCertificate("made", 86400);
  EXPECT_THAT(std::string(CheckTlsMaterial({made.cert_pem, made.key_pem, ""}, true).status().message()),
              StartsWith("--tls_client_ca: no PEM certificate"));
}

}  // namespace
}  // namespace tcpgate
