// The client revocation lists of --tls_client_crl: checked against the
// client CA bundle and laid out as OpenSSL's hashed directory names them.
#include "gateway/client_revocation_lists.h"

#include <string>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/gateway/test_certificate.h"

namespace tcpgate {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

constexpr long kDay = 86400;

absl::Status CheckError(const std::string& crl, const std::string& cas) {
  return CheckClientRevocationLists(crl, cas, absl::Now()).status();
}

// Verify: a list of a CA in the bundle is taken, named "<8 hex>.r0" (the
// hash of its issuer, first of that hash), and its next update is reported.
TEST(ClientRevocationListsTest, ListOfABundleCaIsNamedByItsIssuerHash) {
  const TestCertificate ca = MakeTestCertificate("client ca", kDay);
  const TestCertificate other = MakeTestCertificate("another ca", kDay);
  const absl::Time before = absl::Now();
  absl::StatusOr<ClientRevocationLists> lists =
      CheckClientRevocationLists(MakeTestCrl(ca, {7, 9}, 3600), other.cert_pem + ca.cert_pem, absl::Now());
  ASSERT_TRUE(lists.ok()) << lists.status();
  ASSERT_EQ(lists->files.size(), 1u);
  EXPECT_THAT(lists->files[0].name, MatchesRegex("[0-9a-f]{8}\\.r0"));
  EXPECT_THAT(lists->files[0].pem, HasSubstr("-----BEGIN X509 CRL-----"));
  EXPECT_GE(lists->next_update, before + absl::Seconds(3600) - absl::Seconds(2));
  EXPECT_LE(lists->next_update, absl::Now() + absl::Seconds(3600) + absl::Seconds(2));
}

// Verify: two lists of issuers with the same name hash (here the same CA
// twice) get .r0 and .r1, as OpenSSL looks them up; the earliest next
// update is the one reported.
TEST(ClientRevocationListsTest, ListsOfOneIssuerHashAreNumberedInOrder) {
  const TestCertificate ca = MakeTestCertificate("client ca", kDay);
  absl::StatusOr<ClientRevocationLists> lists = CheckClientRevocationLists(
      MakeTestCrl(ca, {1}, 7200) + MakeTestCrl(ca, {2}, 3600), ca.cert_pem, absl::Now());
  ASSERT_TRUE(lists.ok()) << lists.status();
  ASSERT_EQ(lists->files.size(), 2u);
  EXPECT_EQ(lists->files[0].name.substr(0, 9), lists->files[1].name.substr(0, 9));
  EXPECT_THAT(lists->files[0].name, HasSubstr(".r0"));
  EXPECT_THAT(lists->files[1].name, HasSubstr(".r1"));
  EXPECT_LE(lists->next_update, absl::Now() + absl::Seconds(3600) + absl::Seconds(2));
}

// Verify: each way a list cannot be served is refused, naming the flag and
// what is wrong.
TEST(ClientRevocationListsTest, ListsThatCannotServeAreRefusedSayingWhy) {
  const TestCertificate ca = MakeTestCertificate("client ca", kDay);
  const TestCertificate other = MakeTestCertificate("another ca", kDay);
  // Same name as the CA, another key: its list names the CA but is not its.
  const TestCertificate impostor = MakeTestCertificate("client ca", kDay);
  const std::string good = MakeTestCrl(ca, {1}, 3600);

  EXPECT_THAT(CheckError(MakeTestCrl(other, {1}, 3600), ca.cert_pem).message(),
              HasSubstr("--tls_client_crl: the list of CN=another ca is not of a CA in --tls_client_ca"));
  EXPECT_THAT(CheckError(MakeTestCrl(impostor, {1}, 3600), ca.cert_pem).message(),
              HasSubstr("is not signed by that CA's key"));
  EXPECT_THAT(CheckError(MakeTestCrl(ca, {1}, -60), ca.cert_pem).message(),
              HasSubstr("expired at"));
  EXPECT_THAT(CheckError(good.substr(0, good.size() / 2), ca.cert_pem).message(),
              HasSubstr("does not parse (cut short?)"));
  EXPECT_THAT(CheckError(ca.cert_pem, ca.cert_pem).message(), HasSubstr("no PEM revocation list"));
  EXPECT_THAT(CheckError("", ca.cert_pem).message(), HasSubstr("no PEM revocation list"));
  EXPECT_TRUE(absl::IsInvalidArgument(CheckError(good, "")));
}

}  // namespace
}  // namespace tcpgate
