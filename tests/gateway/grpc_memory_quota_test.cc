// Tests for GrpcMemoryQuota: the container limit read from cgroup files,
// and the quota chosen from the flag.
#include "gateway/grpc_memory_quota.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tcpgate {
namespace {

using ::testing::HasSubstr;

TEST(ParseCgroupMemoryLimit, ReadsBytesAndNoLimitInBothVersions) {
  EXPECT_EQ(ParseCgroupMemoryLimit("536870912\n"), int64_t{512} << 20);
  EXPECT_EQ(ParseCgroupMemoryLimit("max\n"), std::nullopt);                  // cgroup v2, no limit.
  EXPECT_EQ(ParseCgroupMemoryLimit("9223372036854771712\n"), std::nullopt);  // cgroup v1, no limit.
  EXPECT_EQ(ParseCgroupMemoryLimit(""), std::nullopt);
  EXPECT_EQ(ParseCgroupMemoryLimit("0"), std::nullopt);
}

TEST(CgroupMemoryLimitFiles, OwnCgroupThenEachAncestorThenTheMountRootForBothVersions) {
  EXPECT_THAT(CgroupMemoryLimitFiles("0::/lim.slice/run-x.scope\n"),
              ::testing::ElementsAre("/sys/fs/cgroup/lim.slice/run-x.scope/memory.max",
                                     "/sys/fs/cgroup/lim.slice/memory.max", "/sys/fs/cgroup/memory.max"));
  EXPECT_THAT(CgroupMemoryLimitFiles("0::/\n"), ::testing::ElementsAre("/sys/fs/cgroup/memory.max"));
  EXPECT_THAT(CgroupMemoryLimitFiles("12:pids:/x\n9:cpuacct,memory:/docker/abc\n1:name=systemd:/\n"),
              ::testing::ElementsAre("/sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes",
                                     "/sys/fs/cgroup/memory/docker/memory.limit_in_bytes",
                                     "/sys/fs/cgroup/memory/memory.limit_in_bytes"));
  EXPECT_THAT(CgroupMemoryLimitFiles("3:cpu:/\n"), ::testing::IsEmpty());
}

TEST(ChooseGrpcMemoryQuota, DefaultIsHalfTheContainerLimitAndNoneWithoutOne) {
  absl::StatusOr<GrpcMemoryQuota> in_pod = ChooseGrpcMemoryQuota(-1, int64_t{512} << 20);
  ASSERT_TRUE(in_pod.ok());
  EXPECT_EQ(in_pod->bytes, int64_t{256} << 20);
  EXPECT_EQ(in_pod->how, "256MiB (half the container's 512MiB limit)");
  absl::StatusOr<GrpcMemoryQuota> bare = ChooseGrpcMemoryQuota(-1, std::nullopt);
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->bytes, 0);
  // A tiny limit still leaves gRPC the least quota.
  EXPECT_EQ(ChooseGrpcMemoryQuota(-1, int64_t{8} << 20)->bytes, kLeastGrpcMemoryQuota);
}

TEST(ChooseGrpcMemoryQuota, ZeroIsNoneAndBytesAreTakenAsGiven) {
  EXPECT_EQ(ChooseGrpcMemoryQuota(0, int64_t{512} << 20)->bytes, 0);
  EXPECT_EQ(ChooseGrpcMemoryQuota(int64_t{100} << 20, std::nullopt)->bytes, int64_t{100} << 20);
}

TEST(ChooseGrpcMemoryQuota, RefusesValuesThatCannotWork) {
  for (int64_t flag : {int64_t{-2}, int64_t{1}, kLeastGrpcMemoryQuota - 1}) {
    absl::StatusOr<GrpcMemoryQuota> quota = ChooseGrpcMemoryQuota(flag, std::nullopt);
    EXPECT_TRUE(absl::IsInvalidArgument(quota.status())) << flag;
    EXPECT_THAT(quota.status().message(), HasSubstr("--grpc_memory_quota=")) << flag;
  }
}

}  // namespace
}  // namespace tcpgate
