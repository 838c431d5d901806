// tcpgate-cli: a command-line client of the gateway.
//   tcpgate-cli send --target=127.0.0.1:50051 --uid=pixel-1 --val=pixelpig! [--timeout=3s]
// prints the answer, or the gRPC status on stderr with a non-zero exit code.
#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tcpgate/v1/gateway.grpc.pb.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "gateway host:port");
ABSL_FLAG(std::string, uid, "", "request uid; empty: the gateway makes one");
ABSL_FLAG(std::string, val, "", "request val");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(3), "call deadline");

namespace {

const char* CodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK: return "OK";
    case grpc::StatusCode::CANCELLED: return "CANCELLED";
    case grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    case grpc::StatusCode::INTERNAL: return "INTERNAL";
    case grpc::StatusCode::UNIMPLEMENTED: return "UNIMPLEMENTED";
    default: return "ERROR";
  }
}

int Send() {
  auto stub = tcpgate::v1::Gateway::NewStub(
      grpc::CreateChannel(absl::GetFlag(FLAGS_target), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::GetFlag(FLAGS_timeout)));
  tcpgate::v1::SendRequest request;
  request.set_uid(absl::GetFlag(FLAGS_uid));
  request.set_val(absl::GetFlag(FLAGS_val));
  tcpgate::v1::SendResponse response;
  grpc::Status status = stub->Send(&context, request, &response);
  if (!status.ok()) {
    std::fprintf(stderr, "error: %s: %s\n", CodeName(status.error_code()), status.error_message().c_str());
    return 1;
  }
  std::printf("uid: %s\nval: %s\nts:  %s\n", response.uid().c_str(), response.val().c_str(), response.ts().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "A client of the tcpgate gateway.\n"
      "Usage: tcpgate-cli send --target=127.0.0.1:50051 --uid=pixel-1 --val=pixelpig! [--timeout=3s]");
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() == 2 && std::string(args[1]) == "send") return Send();
  std::fprintf(stderr, "usage: tcpgate-cli send --target=HOST:PORT --uid=UID --val=VAL [--timeout=3s]\n");
  return 2;
}
