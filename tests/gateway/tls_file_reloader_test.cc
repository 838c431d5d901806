// Tests of TlsFileReloader over real files and its stage: what reaches the
// stage gRPC reads when the operator's files change, and what does not.
#include "gateway/tls_file_reloader.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/eventually.h"
#include "tests/gateway/temp_file.h"
#include "tests/gateway/test_certificate.h"

namespace tcpgate {
namespace {

std::string Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

void Write(const std::string& path, const std::string& contents) {
  std::ofstream(path + ".new", std::ios::binary) << contents;
  ASSERT_EQ(std::rename((path + ".new").c_str(), path.c_str()), 0);
}

class TlsFileReloaderTest : public ::testing::Test {
 protected:
  // Serves `first`; with a client CA, mutual TLS, and with a revocation
  // list too, revocation.
  void StartWith(const TestCertificate& first, const std::string& client_ca = "", const std::string& crl = "") {
    Write(cert_.path(), first.cert_pem);
    Write(key_.path(), first.key_pem);
    Write(client_ca_.path(), client_ca);
    Write(crl_.path(), crl);
    const TlsMaterial material{first.cert_pem, first.key_pem, client_ca, crl};
    absl::StatusOr<TlsCertificateFacts> facts = CheckTlsMaterial(material, !client_ca.empty(), !crl.empty());
    ASSERT_TRUE(facts.ok()) << facts.status();
    facts_ = *facts;
    absl::StatusOr<std::unique_ptr<TlsFileStage>> stage = TlsFileStage::Create(::testing::TempDir());
    ASSERT_TRUE(stage.ok()) << stage.status();
    absl::StatusOr<std::unique_ptr<TlsFileReloader>> reloader = TlsFileReloader::Start(
        {cert_.path(), key_.path(), client_ca.empty() ? "" : client_ca_.path(), crl.empty() ? "" : crl_.path()},
        material, *facts, *std::move(stage), absl::Milliseconds(20));
    ASSERT_TRUE(reloader.ok()) << reloader.status();
    reloader_ = *std::move(reloader);
  }

  TempFile cert_{""};
  TempFile key_{""};
  TempFile client_ca_{""};
  TempFile crl_{""};
  TlsCertificateFacts facts_;  // Of what StartWith served.
  std::unique_ptr<TlsFileReloader> reloader_;
};

// Verify: a new valid pair reaches the stage and the expiry follows it.
TEST_F(TlsFileReloaderTest, NewValidPairReachesTheStage) {
  const TestCertificate first = MakeTestCertificate("first", 86400);
  const TestCertificate second = MakeTestCertificate("second", 2 * 86400);
  StartWith(first);
  Write(cert_.path(), second.cert_pem);
  Write(key_.path(), second.key_pem);
  ASSERT_TRUE(tcpgate_test::Eventually([&] { return reloader_->stats().loaded == 1; }));
  EXPECT_EQ(Read(reloader_->stage().cert_chain_path()), second.cert_pem);
  EXPECT_EQ(Read(reloader_->stage().private_key_path()), second.key_pem);
  EXPECT_LT(absl::AbsDuration(reloader_->stats().not_after - (absl::Now() + absl::Hours(48))), absl::Seconds(5));
}

// Verify: a certificate already expired (an old Secret restored) is refused
// and never reaches the stage: the one in force stays.
TEST_F(TlsFileReloaderTest, ExpiredCertificateIsRefusedAndThePreviousStays) {
  const TestCertificate first = MakeTestCertificate("first", 86400);
  const TestCertificate expired = MakeTestCertificate("expired", 86400, -2 * 86400);
  StartWith(first);
  Write(cert_.path(), expired.cert_pem);
  Write(key_.path(), expired.key_pem);
  ASSERT_TRUE(tcpgate_test::Eventually([&] { return reloader_->stats().refused == 1; }));
  EXPECT_EQ(reloader_->stats().loaded, 0u);
  EXPECT_EQ(Read(reloader_->stage().cert_chain_path()), first.cert_pem);
  EXPECT_EQ(Read(reloader_->stage().private_key_path()), first.key_pem);
}

// Verify: with revocation lists, a new list reaches the stage's hashed
// directory and its next update follows it; an emptied list file is refused
// (it would turn revocation off) and the list in force stays.
TEST_F(TlsFileReloaderTest, NewListReachesTheStageAndAnEmptiedOneIsRefused) {
  const TestCertificate served = MakeTestCertificate("served", 86400);
  const TestCertificate ca = MakeTestCertificate("client ca", 86400);
  const std::string first_list = MakeTestCrl(ca, {1}, 3600);
  ASSERT_NO_FATAL_FAILURE(StartWith(served, ca.cert_pem, first_list));
  const std::string list_file = reloader_->stage().client_crl_dir() + "/" + facts_.client_crl.files[0].name;
  EXPECT_EQ(Read(list_file), first_list);
  EXPECT_LT(absl::AbsDuration(reloader_->stats().crl_next_update - (absl::Now() + absl::Hours(1))), absl::Seconds(5));

  const std::string second_list = MakeTestCrl(ca, {1, 2}, 7200);
  Write(crl_.path(), second_list);
  ASSERT_TRUE(tcpgate_test::Eventually([&] { return reloader_->stats().loaded == 1; }));
  EXPECT_EQ(Read(list_file), second_list);
  EXPECT_LT(absl::AbsDuration(reloader_->stats().crl_next_update - (absl::Now() + absl::Hours(2))), absl::Seconds(5));

  Write(crl_.path(), "");
  ASSERT_TRUE(tcpgate_test::Eventually([&] { return reloader_->stats().refused == 1; }));
  EXPECT_TRUE(reloader_->stats().refusing);
  EXPECT_EQ(Read(list_file), second_list);
}

}  // namespace
}  // namespace tcpgate
