// Tests for ProcessStatsReader, ParseProcessStat and ParseBootTime: what the process_*
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

// Verify: the fields are found after the command name's last ')', however
// many spaces and parentheses the name holds.
TEST(ParseProcessStatTest, ReadsTheFieldsAfterAnOddCommandName) {
  // Fields 3..24 of proc(5): state ppid pgrp session tty tpgid flags minflt
  // cminflt majflt cmajflt utime(14) stime(15) cutime cstime priority nice
  // num_threads itrealvalue starttime(22) vsize(23) rss(24), then more.
  const std::string stat =
      "4242 (a) b (c d) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 150 0 0 20 0 9 0 "
      "12345 104857600 2560 18446744073709551615 1 1 0 0 0 0 0 4096 0\n";
  const absl::StatusOr<ProcessStatFields> fields = ParseProcessStat(stat);
  ASSERT_TRUE(fields.ok()) << fields.status();
  EXPECT_EQ(fields->user_ticks, 250);
  EXPECT_EQ(fields->system_ticks, 150);
  EXPECT_EQ(fields->start_ticks, 12345);
  EXPECT_EQ(fields->virtual_bytes, 104857600);
  EXPECT_EQ(fields->resident_pages, 2560);
}

// Verify: a truncated stat line or a /proc/stat without btime is an error
// that says what is missing, not a zero.
TEST(ParseProcessStatTest, MissingFieldsAreUnavailable) {
  const absl::StatusOr<ProcessStatFields> truncated = ParseProcessStat("4242 (x) S 1 2 3");
  EXPECT_EQ(truncated.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(truncated.status().message(), HasSubstr("/proc/self/stat"));
  EXPECT_EQ(ParseProcessStat("4242 x S 1 2 3").status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(*ParseBootTime("cpu  1 2 3 4\nbtime 1700000000\nprocesses 42\n"), 1700000000);
  const absl::StatusOr<int64_t> no_btime = ParseBootTime("cpu 1 2 3\nbtimex 5\n");
  EXPECT_EQ(no_btime.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(no_btime.status().message(), HasSubstr("btime"));
}

// Verify: the open-descriptor count follows descriptors this process opens
// and closes, and the limit is the soft RLIMIT_NOFILE.
TEST(ProcessStatsReaderTest, CountsOpenDescriptorsAndTheirLimit) {
  const ProcessStatsReader reader;
  const ProcessStats before = reader.Read();
  ASSERT_TRUE(before.problem.ok()) << before.problem;
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const int third = open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(third, 0);
  const ProcessStats during = reader.Read();
  close(fds[0]);
  close(fds[1]);
  close(third);
  const ProcessStats after = reader.Read();
  ASSERT_TRUE(before.open_fds && during.open_fds && after.open_fds && during.max_fds);
  EXPECT_EQ(*during.open_fds, *before.open_fds + 3);
  EXPECT_EQ(*after.open_fds, *before.open_fds);
  rlimit limit{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &limit), 0);
  EXPECT_EQ(static_cast<rlim_t>(*during.max_fds), limit.rlim_cur);
}

// Verify: resident memory grows by what the process touches, and CPU time
// by what it burns.
TEST(ProcessStatsReaderTest, MemoryAndCpuFollowTheProcess) {
  const ProcessStatsReader reader;
  const ProcessStats before = reader.Read();
  ASSERT_TRUE(before.problem.ok()) << before.problem;
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
  const ProcessStats after = reader.Read();
  ASSERT_TRUE(after.problem.ok()) << after.problem;
  EXPECT_GE(*after.resident_bytes - *before.resident_bytes, static_cast<int64_t>(kTouched) * 9 / 10);
  EXPECT_GE(*after.virtual_bytes, *after.resident_bytes);
  // 300 ms burnt, counted in clock ticks (10 ms here): at least 250 ms.
  EXPECT_GE(*after.cpu_seconds - *before.cpu_seconds, 0.25);
  EXPECT_EQ(block[kTouched / 2], 1);
}

// Verify: the start time is this process's, a moment ago by the wall clock,
// and a reader gives the same one at every read.
TEST(ProcessStatsReaderTest, StartTimeIsWhenThisProcessStarted) {
  const ProcessStatsReader reader;
  const ProcessStats stats = reader.Read();
  ASSERT_TRUE(stats.start_time_seconds.has_value()) << stats.problem;
  const double now = absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch());
  // btime is whole seconds, so allow one; a test binary runs for less than
  // ten minutes before this test.
  EXPECT_LE(*stats.start_time_seconds, now + 1.0);
  EXPECT_GE(*stats.start_time_seconds, now - 600.0);
  EXPECT_EQ(reader.Read().start_time_seconds, stats.start_time_seconds);
}

}  // namespace
}  // namespace tcpgate
