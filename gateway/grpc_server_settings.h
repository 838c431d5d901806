// GrpcServerSettings: the gRPC server options the gateway sets explicitly
// rather than leave to gRPC's defaults, and ApplyGrpcServerSettings, which
// puts them on a ServerBuilder: message sizes, concurrent streams, keepalive
// enforcement, connection age, compression refused, no SO_REUSEPORT, and
// the memory quota. The comments in grpc_server_settings.cc say why each is
// what it is; the values come from tcpgate's flags (README.md, docs/).
//
// Thread-safety: call from the thread building the server.
#ifndef GATEWAY_GRPC_SERVER_SETTINGS_H_
#define GATEWAY_GRPC_SERVER_SETTINGS_H_

#include <grpcpp/server_builder.h>

#include <cstdint>

#include "absl/time/time.h"

namespace tcpgate {

// Every field is set by the caller (from the flags, which hold the
// defaults): no second set of defaults here to drift from theirs.
struct GrpcServerSettings {
  int max_receive_message_bytes;
  int max_send_message_bytes;
  int max_concurrent_streams;
  // Client connections are closed (GOAWAY, then the grace for calls in
  // flight) this long after they opened; 0 or infinite: never.
  absl::Duration max_connection_age;
  absl::Duration max_connection_age_grace;
  // gRPC's memory for client connections and calls; 0: no quota.
  int64_t memory_quota_bytes;
};

void ApplyGrpcServerSettings(const GrpcServerSettings& settings, grpc::ServerBuilder& builder);

}  // namespace tcpgate

#endif  // GATEWAY_GRPC_SERVER_SETTINGS_H_
