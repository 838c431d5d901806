// Tests of FileChangeFollower over real files: a change is applied once, a
// change `apply` refuses leaves the last applied content in force and is
// counted only when it stays, and a mix seen once on the way to a valid
// change is no error.
#include "gateway/file_change_follower.h"

#include <cstdio>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/eventually.h"
#include "tests/gateway/temp_file.h"

namespace tcpgate {
namespace {

constexpr absl::Duration kInterval = absl::Milliseconds(20);

void Write(const std::string& path, const std::string& contents) {
  const std::string temporary = path + ".new";
  std::ofstream(temporary, std::ios::binary) << contents;
  ASSERT_EQ(std::rename(temporary.c_str(), path.c_str()), 0);
}

// Waits (bounded) until the follower has read its files `count` more times.
void AwaitMoreReads(const FileChangeFollower& follower, uint64_t count) {
  const uint64_t reads = follower.stats().reads;
  ASSERT_TRUE(tcpgate_test::Eventually([&] { return follower.stats().reads >= reads + count; }));
}

// What `apply` saw, for the test's thread.
class Applied {
 public:
  void Add(const std::string& content) {
    std::lock_guard lock(mu_);
    seen_.push_back(content);
  }
  std::vector<std::string> seen() const {
    std::lock_guard lock(mu_);
    return seen_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> seen_;
};

// Verify: a change of the file is applied once, content equal to what is
// in force is never applied again, and a refused change stays refused
// (counted once, however many reads see it) until the file changes again.
TEST(FileChangeFollowerTest, ChangeIsAppliedOnceAndARefusalThatStaysIsCountedOnce) {
  TempFile file("first");
  Applied applied;
  FileChangeFollower follower({"test", "the previous stays", {file.path()}, {"first"}, kInterval},
                              [&](const std::vector<std::string>& contents) {
                                applied.Add(contents[0]);
                                return contents[0] == "bad" ? absl::InvalidArgumentError("bad content")
                                                            : absl::OkStatus();
                              });
  Write(file.path(), "second");
  ASSERT_TRUE(tcpgate_test::Eventually([&] { return follower.stats().loaded == 1; }));
  AwaitMoreReads(follower, 3);  // Of the content in force.
  EXPECT_EQ(applied.seen(), std::vector<std::string>{"second"});

  EXPECT_FALSE(follower.stats().refusing);
  Write(file.path(), "bad");
  ASSERT_TRUE(tcpgate_test::Eventually([&] { return follower.stats().refused == 1; }));
  const std::size_t tries = applied.seen().size();
  ASSERT_TRUE(tcpgate_test::Eventually([&] { return applied.seen().size() >= tries + 3; }));  // Still bad at later reads.
  EXPECT_EQ(follower.stats().refused, 1u);
  EXPECT_EQ(follower.stats().loaded, 1u);
  EXPECT_TRUE(follower.stats().refusing) << "the refusal stands while the file stays bad";

  Write(file.path(), "third");
  ASSERT_TRUE(tcpgate_test::Eventually([&] { return follower.stats().loaded == 2; }));
  EXPECT_EQ(follower.stats().refused, 1u);
  EXPECT_FALSE(follower.stats().refusing);
}

// Verify: content refused once and gone at the next read (files replaced
// one after the other, caught half-way) is not counted as refused.
TEST(FileChangeFollowerTest, RefusalSeenOnceOnTheWayToAValidChangeIsNoError) {
  TempFile file("first");
  std::string path = file.path();
  FileChangeFollower follower({"test", "the previous stays", {path}, {"first"}, kInterval},
                              [&](const std::vector<std::string>& contents) {
                                if (contents[0] != "half-way") return absl::OkStatus();
                                Write(path, "whole");  // The rotation completes before the next read.
                                return absl::InvalidArgumentError("half-way");
                              });
  Write(path, "half-way");
  ASSERT_TRUE(tcpgate_test::Eventually([&] { return follower.stats().loaded == 1; }));
  EXPECT_EQ(follower.stats().refused, 0u);
}

// Verify: a file that cannot be read leaves the content in force and is
// counted once it stays unreadable.
TEST(FileChangeFollowerTest, UnreadableFileIsRefusedOnceItStays) {
  TempFile file("first");
  FileChangeFollower follower({"test", "the previous stays", {file.path()}, {"first"}, kInterval},
                              [](const std::vector<std::string>&) { return absl::OkStatus(); });
  ASSERT_EQ(std::remove(file.path().c_str()), 0);
  ASSERT_TRUE(tcpgate_test::Eventually([&] { return follower.stats().refused == 1; }));
  EXPECT_EQ(follower.stats().loaded, 0u);
  EXPECT_TRUE(follower.stats().refusing);
  Write(file.path(), "first");  // Back as it was: nothing to apply.
  AwaitMoreReads(follower, 3);
  EXPECT_EQ(follower.stats().loaded, 0u);
  EXPECT_EQ(follower.stats().refused, 1u);
  EXPECT_FALSE(follower.stats().refusing) << "back to the content in force";
}

}  // namespace
}  // namespace tcpgate
