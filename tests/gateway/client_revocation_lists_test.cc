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

// `next_update` is an hour after a check made from `before` until now
// (give or take the lists' whole seconds).
void ExpectAnHourAfterTheCheck(absl::Time next_update, absl::Time before) {
  EXPECT_GE(next_update, before + absl::Seconds(3600) - absl::Seconds(2));
  EXPECT_LE(next_update, absl::Now() + absl::Seconds(3600) + absl::Seconds(2));
}

absl::Status CheckError(const std::string& crl, const std::string& cas) {
  return CheckClientRevocationLists(crl, cas, absl::Now()).status();
}

// Verify: a list of a CA in the bundle is taken, named "<8 hex>.r0" (the
// hash of its issuer, first of that hash), and its next update is reported.
TEST(ClientRevocationListsTest, ListOfABundleCaIsNamedByItsIssuerHash) {
  const TestCertificate ca = MakeTestCertificate("client ca", kDay);
  const TestCertificate other = MakeTestCertificate("another ca", kDay);
  const absl::Time before = absl::Now();
  // Made before the check's clock is read: an argument's order of evaluation
  // is the compiler's, and a list dated after that clock is refused.
  const std::string crl = MakeTestCrl(ca, {7, 9}, 3600);
  absl::StatusOr<ClientRevocationLists> lists =
      CheckClientRevocationLists(crl, other.cert_pem + ca.cert_pem, absl::Now());
  ASSERT_TRUE(lists.ok()) << lists.status();
  ASSERT_EQ(lists->files.size(), 1u);
  EXPECT_THAT(lists->files[0].name, MatchesRegex("[0-9a-f]{8}\\.r0"));
  EXPECT_THAT(lists->files[0].pem, HasSubstr("-----BEGIN X509 CRL-----"));
  ExpectAnHourAfterTheCheck(lists->next_update, before);
}

// Verify: lists of issuers with the same name hash (here the same CA three
// times) get .r0, .r1, .r2, as OpenSSL looks them up; the earliest next
// update is the one reported, wherever that list stands in the file.
TEST(ClientRevocationListsTest, ListsOfOneIssuerHashAreNumberedInOrder) {
  const TestCertificate ca = MakeTestCertificate("client ca", kDay);
  const absl::Time before = absl::Now();
  const std::string crls = MakeTestCrl(ca, {1}, 7200) + MakeTestCrl(ca, {2}, 3600) + MakeTestCrl(ca, {3}, 10800);
  absl::StatusOr<ClientRevocationLists> lists = CheckClientRevocationLists(crls, ca.cert_pem, absl::Now());
  ASSERT_TRUE(lists.ok()) << lists.status();
  ASSERT_EQ(lists->files.size(), 3u);
  EXPECT_EQ(lists->files[0].name.substr(0, 9), lists->files[2].name.substr(0, 9));
  EXPECT_THAT(lists->files[0].name, HasSubstr(".r0"));
  EXPECT_THAT(lists->files[1].name, HasSubstr(".r1"));
  EXPECT_THAT(lists->files[2].name, HasSubstr(".r2"));
  ExpectAnHourAfterTheCheck(lists->next_update, before);
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
              HasSubstr("is not signed by the key of that CA"));
  EXPECT_THAT(CheckError(MakeTestCrl(ca, {1}, -60), ca.cert_pem).message(),
              HasSubstr("expired at"));
  EXPECT_THAT(CheckError(good.substr(0, good.size() / 2), ca.cert_pem).message(),
              HasSubstr("does not parse (cut short?)"));
  EXPECT_THAT(CheckError(ca.cert_pem, ca.cert_pem).message(), HasSubstr("no PEM revocation list"));
  EXPECT_THAT(CheckError("", ca.cert_pem).message(), HasSubstr("no PEM revocation list"));
  EXPECT_TRUE(absl::IsInvalidArgument(CheckError(good, "")));
  // What OpenSSL would not apply (revoked clients admitted) or would refuse
  // every client of the CA with.
  EXPECT_THAT(CheckError(MakeTestCrl(ca, {1}, 3600, 0, /*partitioned=*/true), ca.cert_pem).message(),
              HasSubstr("is partitioned (issuing distribution point) or a delta list"));
  const TestCertificate no_crl_sign = MakeTestCertificate("strict ca", kDay, 0, "critical,keyCertSign");
  EXPECT_THAT(CheckError(MakeTestCrl(no_crl_sign, {1}, 3600), no_crl_sign.cert_pem).message(),
              HasSubstr("its key usage lacks cRLSign"));
  const TestCertificate crl_sign = MakeTestCertificate("good ca", kDay, 0, "critical,keyCertSign,cRLSign");
  EXPECT_TRUE(CheckError(MakeTestCrl(crl_sign, {1}, 3600), crl_sign.cert_pem).ok());
}

// Verify: a list whose last update is still ahead (the CA's clock ahead of
// ours) is UNAVAILABLE, not INVALID_ARGUMENT: valid later (the follower,
// which tries every refused change again at each read, serves it then).
TEST(ClientRevocationListsTest, ListNotValidYetIsRetryable) {
  const TestCertificate ca = MakeTestCertificate("client ca", kDay);
  const std::string ahead = MakeTestCrl(ca, {1}, 7200, /*last_update_seconds=*/600);
  const absl::Status status = CheckError(ahead, ca.cert_pem);
  EXPECT_TRUE(absl::IsUnavailable(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("is not valid before"));
  EXPECT_TRUE(CheckClientRevocationLists(ahead, ca.cert_pem, absl::Now() + absl::Minutes(11)).ok());
}

// Verify: a CA rolling its key over is in the bundle twice under one name;
// a list signed by either key is taken.
TEST(ClientRevocationListsTest, ListOfEitherKeyOfACaInTheBundleTwiceIsTaken) {
  const TestCertificate old_key = MakeTestCertificate("client ca", kDay);
  const TestCertificate new_key = MakeTestCertificate("client ca", kDay);
  const std::string bundle = old_key.cert_pem + new_key.cert_pem;
  EXPECT_TRUE(CheckError(MakeTestCrl(old_key, {1}, 3600), bundle).ok());
  EXPECT_TRUE(CheckError(MakeTestCrl(new_key, {1}, 3600), bundle).ok());
}

}  // namespace
}  // namespace tcpgate
