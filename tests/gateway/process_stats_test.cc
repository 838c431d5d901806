// Tests for ReadProcessStats and ParseProcessStat: what the process_*
// metrics report, checked against this very test process.
#include "gateway/process_stats.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tcpgate {
namespace {

using ::testing::HasSubstr;

constexpr absl::string_view kProcStat = "cpu  1 2 3 4\nbtime 1700000000\nprocesses 42\n";

// Verify: the fields are found after the command name's last ')', however
// many spaces and parentheses the name holds.
TEST(ParseProcessStatTest, ReadsTheFieldsAfterAnOddCommandName) {
  // Fields 3..24 of proc(5): state ppid pgrp session tty tpgid flags minflt
  // cminflt majflt cmajflt utime(14) stime(15) cutime cstime priority nice
  // num_threads itrealvalue starttime(22) vsize(23) rss(24), then more.
  const std::string stat =
      "4242 (a) b (c d) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 150 0 0 20 0 9 0 "
      "12345 104857600 2560 18446744073709551615 1 1 0 0 0 0 0 4096 0\n";
  const absl::StatusOr<ProcessStats> stats = ParseProcessStat(stat, kProcStat, 100, 4096);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_DOUBLE_EQ(stats->cpu_seconds, 4.0);  // (250 + 150) / 100.
  EXPECT_EQ(stats->virtual_bytes, 104857600);
  EXPECT_EQ(stats->resident_bytes, 2560 * 4096);
  EXPECT_DOUBLE_EQ(stats->start_time_seconds, 1700000000 + 123.45);
}

// Verify: a truncated stat line or a /proc/stat without btime is an error
// that says what is missing, not a page of zeros.
TEST(ParseProcessStatTest, MissingFieldsAreUnavailable) {
  const absl::StatusOr<ProcessStats> truncated = ParseProcessStat("4242 (x) S 1 2 3", kProcStat, 100, 4096);
  EXPECT_EQ(truncated.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(truncated.status().message(), HasSubstr("/proc/self/stat"));
  const absl::StatusOr<ProcessStats> no_command = ParseProcessStat("4242 x S 1 2 3", kProcStat, 100, 4096);
  EXPECT_EQ(no_command.status().code(), absl::StatusCode::kUnavailable);
  const std::string stat = "1 (x) S 1 1 1 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 5 4096 1 0\n";
  const absl::StatusOr<ProcessStats> no_btime = ParseProcessStat(stat, "cpu 1 2 3\n", 100, 4096);
  EXPECT_EQ(no_btime.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(no_btime.status().message(), HasSubstr("btime"));
}

// Verify: the open-descriptor count follows descriptors this process opens
// and closes, and the limit is the soft RLIMIT_NOFILE.
TEST(ReadProcessStatsTest, CountsOpenDescriptorsAndTheirLimit) {
  const absl::StatusOr<ProcessStats> before = ReadProcessStats();
  ASSERT_TRUE(before.ok()) << before.status();
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const int third = open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(third, 0);
  const absl::StatusOr<ProcessStats> during = ReadProcessStats();
  close(fds[0]);
  close(fds[1]);
  close(third);
  const absl::StatusOr<ProcessStats> after = ReadProcessStats();
  ASSERT_TRUE(during.ok() && after.ok());
  EXPECT_EQ(during->open_fds, before->open_fds + 3);
  EXPECT_EQ(after->open_fds, before->open_fds);
  rlimit limit{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &limit), 0);
  EXPECT_EQ(static_cast<rlim_t>(during->max_fds), limit.rlim_cur);
}

// Verify: resident memory grows by what the process touches, and CPU time
// by what it burns.
TEST(ReadProcessStatsTest, MemoryAndCpuFollowTheProcess) {
  const absl::StatusOr<ProcessStats> before = ReadProcessStats();
  ASSERT_TRUE(before.ok()) << before.status();
  constexpr std::size_t kTouched = 64 << 20;
  std::vector<char> block(kTouched);
  std::memset(block.data(), 1, block.size());
  timespec start{}, now{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &start);
  volatile uint64_t spin = 0;
  do {
    for (int i = 0; i < 100000; ++i) spin = spin + static_cast<uint64_t>(i);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  } while ((now.tv_sec - start.tv_sec) * 1e9 + (now.tv_nsec - start.tv_nsec) < 300e6);
  const absl::StatusOr<ProcessStats> after = ReadProcessStats();
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_GE(after->resident_bytes - before->resident_bytes, static_cast<int64_t>(kTouched) * 9 / 10);
  EXPECT_GE(after->virtual_bytes, after->resident_bytes);
  // 300 ms burnt, counted in clock ticks (10 ms here): at least 250 ms.
  EXPECT_GE(after->cpu_seconds - before->cpu_seconds, 0.25);
  EXPECT_EQ(block[kTouched / 2], 1);
}

// Verify: the start time is this process's, a moment ago by the wall clock.
TEST(ReadProcessStatsTest, StartTimeIsWhenThisProcessStarted) {
  const absl::StatusOr<ProcessStats> stats = ReadProcessStats();
  ASSERT_TRUE(stats.ok()) << stats.status();
  const double now = absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch());
  // btime is whole seconds, so allow one; a test binary runs for less than
  // ten minutes before this test.
  EXPECT_LE(stats->start_time_seconds, now + 1.0);
  EXPECT_GE(stats->start_time_seconds, now - 600.0);
}

}  // namespace
}  // namespace tcpgate
