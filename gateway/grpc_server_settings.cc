#include "gateway/grpc_server_settings.h"

#include <grpc/grpc.h>
#include <grpcpp/resource_quota.h>

#include <cstddef>

namespace tcpgate {

void ApplyGrpcServerSettings(const GrpcServerSettings& settings, grpc::ServerBuilder& builder) {
  builder.SetMaxReceiveMessageSize(settings.max_receive_message_bytes);
  builder.SetMaxSendMessageSize(settings.max_send_message_bytes);
  // Compressed requests are refused (UNIMPLEMENTED, "... is disabled")
  // before anything is inflated: gRPC 1.51 inflates a message whole before
  // it applies the receive limit, so a 300 KB gzip request took 300 MB.
  builder.SetCompressionAlgorithmSupportStatus(GRPC_COMPRESS_DEFLATE, false);
  builder.SetCompressionAlgorithmSupportStatus(GRPC_COMPRESS_GZIP, false);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, settings.max_concurrent_streams);
  // gRPC sets SO_REUSEPORT by default: a second process (a gateway started
  // twice, another program) could then bind the same port and silently take
  // part of the connections. A port in use is an error instead.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // Keepalive enforcement: accept client pings every 5 s or more (so a client
  // pinging every 10 s never gets a too_many_pings GOAWAY), even between
  // calls; ping idle clients every 60 s ourselves.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 5000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 2);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 60000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20000);
  if (const absl::Duration age = settings.max_connection_age;
      age > absl::ZeroDuration() && age != absl::InfiniteDuration()) {
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS, static_cast<int>(absl::ToInt64Milliseconds(age)));
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
                               static_cast<int>(absl::ToInt64Milliseconds(settings.max_connection_age_grace)));
  }
  if (settings.memory_quota_bytes > 0) {
    // Kept for the process's life, as long as any server built with it.
    static grpc::ResourceQuota* const quota = new grpc::ResourceQuota("tcpgate");
    quota->Resize(static_cast<std::size_t>(settings.memory_quota_bytes));
    builder.SetResourceQuota(*quota);
  }
}

}  // namespace tcpgate
