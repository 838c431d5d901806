#include "tools/load_histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace tcpgate {

int LoadHistogram::BucketOf(int64_t nanos) {
  uint64_t v = static_cast<uint64_t>(std::max<int64_t>(nanos, 1));
  int exponent = std::bit_width(v) - 1;  // v in [2^exponent, 2^(exponent+1))
  if (exponent < kSubBits) return static_cast<int>(v);  // Exact below 64 ns.
  if (exponent > kMaxExponent) return kBuckets - 1;
  int sub = static_cast<int>((v >> (exponent - kSubBits)) & ((1 << kSubBits) - 1));
  return ((exponent - kSubBits + 1) << kSubBits) + sub;
}

int64_t LoadHistogram::UpperBoundOf(int bucket) {
  if (bucket < (1 << kSubBits)) return bucket;
  int exponent = (bucket >> kSubBits) + kSubBits - 1;
  int sub = bucket & ((1 << kSubBits) - 1);
  uint64_t base = (uint64_t{1} << exponent) + (static_cast<uint64_t>(sub) << (exponent - kSubBits));
  return static_cast<int64_t>(base + (uint64_t{1} << (exponent - kSubBits)) - 1);
}

void LoadHistogram::Record(int64_t nanos) {
  ++counts_[BucketOf(nanos)];
  ++count_;
  max_ = std::max(max_, nanos);
}

void LoadHistogram::Merge(const LoadHistogram& other) {
  for (int i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  max_ = std::max(max_, other.max_);
}

int64_t LoadHistogram::Percentile(double percentile) const {
  if (count_ == 0) return 0;
  // Nearest rank, ceil(percentile/100 * count), in integers to 0.01 of a
  // percent: in doubles, 99.9/100 * 1000 came to a hair over 999 and the
  // rank to 1000, the maximum, for most counts that are multiples of 1000.
  const auto hundredths = static_cast<uint64_t>(std::llround(std::clamp(percentile, 0.0, 100.0) * 100.0));
  const uint64_t rank = (hundredths * count_ + 9'999) / 10'000;
  uint64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= std::max<uint64_t>(rank, 1)) return std::min(UpperBoundOf(i), max_);
  }
  return max_;
}

}  // namespace tcpgate
