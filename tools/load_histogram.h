// LoadHistogram: latency histogram for load tools. Log-linear buckets (64 per
// power of two, so about 1.5% resolution) from 1 ns to about 1 hour; fixed
// memory, O(1) record, percentiles by walking the buckets.
//
// Thread-safety: none; one thread records, then reads.
#ifndef TOOLS_LOAD_HISTOGRAM_H_
#define TOOLS_LOAD_HISTOGRAM_H_

#include <array>
#include <cstdint>

namespace tcpgate {

class LoadHistogram {
 public:
  void Record(int64_t nanos);
  void Merge(const LoadHistogram& other);
  uint64_t count() const { return count_; }
  int64_t max() const { return max_; }
  // The value at or below which `percentile` percent of samples fall (an
  // upper bound of its bucket), 0 when empty. The nearest rank, with
  // `percentile` taken to 0.01 (99.999 counts as 100).
  int64_t Percentile(double percentile) const;

 private:
  static constexpr int kSubBits = 6;  // 64 linear buckets per power of two.
  static constexpr int kMaxExponent = 42;  // 2^42 ns is about 73 minutes.
  static constexpr int kBuckets = (kMaxExponent + 1) << kSubBits;
  static int BucketOf(int64_t nanos);
  static int64_t UpperBoundOf(int bucket);

  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  int64_t max_ = 0;
};

}  // namespace tcpgate

#endif  // TOOLS_LOAD_HISTOGRAM_H_
