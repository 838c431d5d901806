// RouteGrpcLogsToLog: sends gRPC's own log lines (connection errors, a
// refused compressed call, a bind failure) through tcpcore::Log, so they
// follow --log_format (one JSON object per line for collectors) and
// --log_level like the gateway's lines, and are rate limited per source
// line in gRPC: 10 at once, then one a second, the next one written saying
// how many were dropped. Without it, gRPC writes its own format to stderr,
// one line per event: a client sending refused calls in a loop wrote one
// line per call.
//
// Thread-safety: call once at start-up, before gRPC starts; the installed
// function is safe from any gRPC thread.
#ifndef GATEWAY_GRPC_LOG_BRIDGE_H_
#define GATEWAY_GRPC_LOG_BRIDGE_H_

namespace tcpgate {

void RouteGrpcLogsToLog();

}  // namespace tcpgate

#endif  // GATEWAY_GRPC_LOG_BRIDGE_H_
