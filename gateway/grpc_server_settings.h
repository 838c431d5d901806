// GrpcServerSettings: the gRPC server options the gateway sets explicitly
// rather than leave to gRPC's defaults, and ApplyGrpcServerSettings, which
// puts them on a ServerBuilder: message sizes, concurrent streams, keepalive
// enforcement, connection age, compression refused, no SO_REUSEPORT, and
// the memory quota. docs/gateway.md says why each is what it is.
//
// Thread-safety: call from the thread building the server.
#ifndef GATEWAY_GRPC_SERVER_SETTINGS_H_
#define GATEWAY_GRPC_SERVER_SETTINGS_H_

#include <grpcpp/server_builder.h>

#include <cstdint>

#include "absl/time/time.h"

namespace tcpgate {

struct GrpcServerSettings {
  int max_receive_message_bytes = 4 << 20;
  int max_send_message_bytes = 4 << 20;
  int max_concurrent_streams = 1000;
  // Client connections are closed (GOAWAY, then the grace for calls in
  // flight) this long after they opened; 0 or infinite: never.
  absl::Duration max_connection_age = absl::Minutes(30);
  absl::Duration max_connection_age_grace = absl::Seconds(30);
  // gRPC's memory for client connections and calls; 0: no quota.
  int64_t memory_quota_bytes = 0;
};

void ApplyGrpcServerSettings(const GrpcServerSettings& settings, grpc::ServerBuilder& builder);

}  // namespace tcpgate

#endif  // GATEWAY_GRPC_SERVER_SETTINGS_H_
