// Tests of TlsFileStage: what a reader of its paths sees across publishes
// (the content, a modification time that moves on every time), and that it
// leaves nothing behind.
#include "gateway/tls_file_stage.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/gateway/test_certificate.h"

namespace tcpgate {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

time_t ModificationTime(const std::string& path) {
  struct stat info {};
  EXPECT_EQ(::stat(path.c_str(), &info), 0) << path;
  return info.st_mtime;
}

mode_t Mode(const std::string& path) {
  struct stat info {};
  EXPECT_EQ(::stat(path.c_str(), &info), 0) << path;
  return info.st_mode & 0777;
}

// Verify: revocation lists go to the hashed directory under their names,
// and the client CA file's content differs at every publish (the CA bundle,
// then a comment line), so gRPC, which builds its TLS context anew only on a
// change of content, reads the lists again.
TEST(TlsFileStageTest, RevocationListsGoToTheHashedDirectoryAndChangeTheCaFile) {
  absl::StatusOr<std::unique_ptr<TlsFileStage>> stage = TlsFileStage::Create(::testing::TempDir());
  ASSERT_TRUE(stage.ok()) << stage.status();
  const TlsFileStage& staged = **stage;
  const TestCertificate ca = MakeTestCertificate("client ca", 86400);
  const std::string crl = MakeTestCrl(ca, {5}, 3600);
  ASSERT_TRUE((*stage)->Publish({"cert", "key", ca.cert_pem, crl}, {{"0badcafe.r0", crl}}).ok());
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(staged.client_crl_dir())) {
    names.push_back(entry.path().filename().string());
    EXPECT_EQ(Read(entry.path().string()), crl);
    EXPECT_EQ(Mode(entry.path().string()), 0600u);
  }
  EXPECT_EQ(names, std::vector<std::string>{"0badcafe.r0"});
  const std::string first_ca = Read(staged.client_ca_path());
  EXPECT_THAT(first_ca, StartsWith(ca.cert_pem));
  const std::string next = MakeTestCrl(ca, {5, 6}, 3600);
  ASSERT_TRUE((*stage)->Publish({"cert", "key", ca.cert_pem, next}, {{"0badcafe.r0", next}}).ok());
  const std::string second_ca = Read(staged.client_ca_path());
  EXPECT_THAT(second_ca, StartsWith(ca.cert_pem));
  EXPECT_NE(second_ca, first_ca);
  EXPECT_EQ(Read(staged.client_crl_dir() + "/0badcafe.r0"), next);
}

// Verify: the fixed paths read each published generation whole; the files
// are private to the owner; every publish moves the modification time on,
// even several within one second (a reader that re-reads when it changes
// then never mixes two generations).
TEST(TlsFileStageTest, PathsReadEachPublishWithALaterModificationTime) {
  absl::StatusOr<std::unique_ptr<TlsFileStage>> stage = TlsFileStage::Create(::testing::TempDir());
  ASSERT_TRUE(stage.ok()) << stage.status();
  const TlsFileStage& staged = **stage;
  EXPECT_EQ(Mode(staged.dir()), 0700u);
  time_t previous = 0;
  for (int generation = 1; generation <= 4; ++generation) {
    const std::string n = std::to_string(generation);
    ASSERT_TRUE((*stage)->Publish({"cert " + n, "key " + n, "ca " + n}).ok());
    EXPECT_EQ(Read(staged.cert_chain_path()), "cert " + n);
    EXPECT_EQ(Read(staged.private_key_path()), "key " + n);
    EXPECT_EQ(Read(staged.client_ca_path()), "ca " + n);
    EXPECT_EQ(Mode(staged.private_key_path()), 0600u);
    const time_t mtime = ModificationTime(staged.private_key_path());
    EXPECT_EQ(ModificationTime(staged.cert_chain_path()), mtime);
    EXPECT_GT(mtime, previous) << "generation " << generation;
    previous = mtime;
  }
  // The current generation and the one before it (maybe still being read).
  int generations = 0;
  for (const auto& entry : std::filesystem::directory_iterator(staged.dir())) {
    if (entry.path().filename().string().rfind("generation-", 0) == 0) ++generations;
  }
  EXPECT_EQ(generations, 2);
}

// Verify: the stage's directory, copies of the key included, goes with it.
TEST(TlsFileStageTest, DirectoryIsRemovedWithTheStage) {
  std::string dir;
  {
    absl::StatusOr<std::unique_ptr<TlsFileStage>> stage = TlsFileStage::Create(::testing::TempDir());
    ASSERT_TRUE(stage.ok()) << stage.status();
    ASSERT_TRUE((*stage)->Publish({"cert", "key", ""}).ok());
    dir = (*stage)->dir();
    ASSERT_TRUE(std::filesystem::exists(dir + "/current/key.pem"));
  }
  EXPECT_FALSE(std::filesystem::exists(dir));
}

// Verify: a parent that does not exist is refused, naming it.
TEST(TlsFileStageTest, MissingParentIsRefusedNamingIt) {
  absl::StatusOr<std::unique_ptr<TlsFileStage>> stage = TlsFileStage::Create("/nonexistent/stage");
  EXPECT_EQ(stage.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(stage.status().message()), HasSubstr("cannot make a directory in /nonexistent/stage"));
}

// Verify: a stage left by a gateway that is gone (killed outright: its
// lock released, its copy of the key still there) is removed when the next
// stage is made in the same directory; a live stage (its lock held) and
// other entries are kept.
TEST(TlsFileStageTest, AbandonedStageIsRemovedAndALiveOneKept) {
  const std::string parent = ::testing::TempDir() + "/stage-sweep-" + std::to_string(::getpid());
  std::filesystem::create_directories(parent);
  absl::StatusOr<std::unique_ptr<TlsFileStage>> live = TlsFileStage::Create(parent);
  ASSERT_TRUE(live.ok()) << live.status();
  const std::string abandoned = parent + "/tcpgate-tls-gone00";
  std::filesystem::create_directories(abandoned + "/generation-1");
  std::ofstream(abandoned + "/owner.lock") << "";
  std::ofstream(abandoned + "/generation-1/key.pem") << "a key";
  std::filesystem::create_directories(parent + "/someone-elses");

  absl::StatusOr<std::unique_ptr<TlsFileStage>> next = TlsFileStage::Create(parent);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_FALSE(std::filesystem::exists(abandoned));
  EXPECT_TRUE(std::filesystem::exists((*live)->dir()));
  EXPECT_TRUE(std::filesystem::exists(parent + "/someone-elses"));
  live->reset();
  next->reset();
  std::filesystem::remove_all(parent);
}

}  // namespace
}  // namespace tcpgate
