// Tests for parsing "host:port" addresses from flags.
#include "tcpcore/host_port.h"

#include "gtest/gtest.h"

namespace tcpcore {
namespace {

// Verify: IPv4, names and bracketed IPv6 parse; ToString() restores them.
TEST(HostPort, ParsesHostsAndPorts) {
  for (const char* text : {"0.0.0.0:3000", "backend.default.svc:80", "[::1]:0", "localhost:65535"}) {
    absl::StatusOr<HostPort> parsed = HostPort::Parse(text);
    ASSERT_TRUE(parsed.ok()) << text << ": " << parsed.status();
    EXPECT_EQ(parsed->ToString(), text);
  }
  EXPECT_EQ(HostPort::Parse("[::1]:7")->host, "::1");
}

// Verify: malformed addresses are rejected with a reason.
TEST(HostPort, RejectsMalformedAddresses) {
  for (const char* text : {"3000", "host:", ":3000", "host:70000", "host:x", "::1:3000", "host:-1"}) {
    EXPECT_TRUE(absl::IsInvalidArgument(HostPort::Parse(text).status())) << text;
  }
}

}  // namespace
}  // namespace tcpcore
