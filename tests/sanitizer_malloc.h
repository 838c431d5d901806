// Whether this test binary is built with a sanitizer that brings its own
// allocator (ASan, TSan): tests of glibc's malloc behaviour skip then.
#ifndef TESTS_SANITIZER_MALLOC_H_
#define TESTS_SANITIZER_MALLOC_H_

namespace tcpgate_test {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kSanitizerMalloc = true;
#else
inline constexpr bool kSanitizerMalloc = false;
#endif

}  // namespace tcpgate_test

#endif  // TESTS_SANITIZER_MALLOC_H_
