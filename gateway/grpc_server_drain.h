// DrainGrpcServer: the gateway's graceful stop, once health says
// NOT_SERVING and the service refuses new calls (UNAVAILABLE). First the
// notice: clients that watch health stop sending here before anything else
// happens. Then Server::Shutdown sends every client connection a GOAWAY and
// closes the listener: calls a client starts from then on go to another
// connection (another replica) or fail UNAVAILABLE. Calls in flight finish,
// up to the timeout (counted from the call, the notice included), after
// which what is left is cancelled and the log says how many. Shutdown also
// waits for clients to close their idle connections after the GOAWAY, which
// some take seconds to do (a Python channel: about 5 s), so once no call is
// in flight the rest are closed at once (grpc_server_cancel_all_calls, what
// Shutdown itself does at its deadline). That can run before the GOAWAYs
// went out only when nothing was in flight; clients then see their idle
// connection drop, and reconnect elsewhere.
//
// gRPC itself cancels (CANCELLED) calls whose headers reach it after
// Shutdown began and before the client read the GOAWAY; they never reached
// the service. The notice keeps clients that watch health out of that
// window. See docs/gateway.md ("Shutdown").
//
// Thread-safety: blocks the calling thread until the server has stopped;
// `calls_in_flight` is read from it (every 5 ms).
#ifndef GATEWAY_GRPC_SERVER_DRAIN_H_
#define GATEWAY_GRPC_SERVER_DRAIN_H_

#include <grpcpp/server.h>

#include <cstdint>

#include "absl/functional/function_ref.h"
#include "absl/time/time.h"

namespace tcpgate {

void DrainGrpcServer(grpc::Server& server, absl::FunctionRef<int64_t()> calls_in_flight, absl::Duration notice,
                     absl::Duration timeout);

}  // namespace tcpgate

#endif  // GATEWAY_GRPC_SERVER_DRAIN_H_
