// The load tools' latency histogram: nearest-rank percentiles.
#include "tools/load_histogram.h"

#include "gtest/gtest.h"

namespace tcpgate {
namespace {

// Verify: the percentile is the nearest rank, ceil(p/100 * count): with
// 999 answers of 10 ns and one of 60 ns, p99.9 is the 999th, 10 ns, not the
// maximum (in doubles, 99.9/100 * 1000 rounded up to 1000 for most counts
// that are multiples of 1000).
TEST(LoadHistogramTest, PercentileIsTheNearestRankForCountsThatAreMultiplesOfAThousand) {
  for (int thousands : {1, 2, 7, 200}) {
    LoadHistogram histogram;
    const int count = 1000 * thousands;
    for (int i = 0; i < count - thousands; ++i) histogram.Record(10);
    for (int i = 0; i < thousands; ++i) histogram.Record(60);  // The slowest 0.1 %.
    EXPECT_EQ(histogram.Percentile(99.9), 10) << count;
    EXPECT_EQ(histogram.Percentile(99.95), 60) << count;
    EXPECT_EQ(histogram.Percentile(100), 60) << count;
    EXPECT_EQ(histogram.Percentile(50), 10) << count;
  }
}

// Verify: p0 is the fastest answer, and one answer is every percentile.
TEST(LoadHistogramTest, ZeroIsTheFastestAndOneAnswerIsEveryPercentile) {
  LoadHistogram one;
  one.Record(42);
  for (double p : {0.0, 50.0, 99.9, 100.0}) EXPECT_EQ(one.Percentile(p), 42) << p;
  LoadHistogram two;
  two.Record(5);
  two.Record(50);
  EXPECT_EQ(two.Percentile(0), 5);
  EXPECT_EQ(two.Percentile(50), 5);
  EXPECT_EQ(two.Percentile(50.01), 50);
  EXPECT_EQ(LoadHistogram().Percentile(50), 0);
}

}  // namespace
}  // namespace tcpgate
