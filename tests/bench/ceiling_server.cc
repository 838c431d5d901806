// tcpgate-ceiling: a gRPC C++ callback server that answers tcpgate.v1.Gateway
// itself, with no backend: Val = "server: hello, " + Val and the time. It is
// the ceiling the gateway is measured against (docs/performance.md): what
// gRPC alone costs on this machine for the same messages.
//   tcpgate-ceiling --listen=127.0.0.1:0   (prints "listening on host:port")
// With --finish_on_loop, a unary answer is finished from a thread of its own
// (an Asio loop, as tcpgate's pool callback does) instead of inside the
// handler: the ceiling plus the gateway's thread hand-off, without a backend.
#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <deque>
#include <mutex>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "asio/post.hpp"
#include "tcpcore/event_loop_group.h"
#include "tcpcore/hello_handler.h"
#include "tcpcore/rfc3339_time.h"
#include "tcpgate/v1/gateway.grpc.pb.h"
#include "tools/own_flags_help.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:0", "host:port to listen on");
ABSL_FLAG(bool, finish_on_loop, false, "finish unary calls from an Asio loop thread instead of the handler");

namespace {

using tcpgate::v1::SendRequest;
using tcpgate::v1::SendResponse;

void Answer(const SendRequest& request, SendResponse* response) {
  response->set_uid(request.uid());
  response->set_val(absl::StrCat(tcpcore::HelloHandler::kGreeting, request.val()));
  std::string ts;
  tcpcore::AppendRfc3339Nanos(absl::Now(), ts);
  response->set_ts(std::move(ts));
}

// Answers each request as it is read; one write in flight, the rest queued.
class EchoStream final : public grpc::ServerBidiReactor<SendRequest, SendResponse> {
 public:
  EchoStream() { StartRead(&request_); }
  void OnReadDone(bool ok) override {
    bool write = false;
    bool finish = false;
    {
      std::lock_guard lock(mu_);
      if (!ok) {
        reads_done_ = true;
        finish = !writing_ && queue_.empty() && !finished_;
        finished_ = finished_ || finish;
      } else {
        queue_.emplace_back();
        Answer(request_, &queue_.back());
        write = !writing_;
        writing_ = writing_ || write;
      }
    }
    if (write) StartWrite(&queue_.front());  // Nothing queued behind it yet.
    if (ok) StartRead(&request_);
    if (finish) Finish(grpc::Status::OK);
  }
  void OnWriteDone(bool ok) override {
    bool write = false;
    bool hint = false;  // More answers wait: let gRPC coalesce, as tcpgate does.
    bool finish = false;
    {
      std::lock_guard lock(mu_);
      queue_.pop_front();
      writing_ = false;
      if (ok && !queue_.empty()) {
        writing_ = write = true;
        hint = queue_.size() > 1;
      } else if (reads_done_ || !ok) {
        finish = !finished_;
        finished_ = true;
      }
    }
    if (write) StartWrite(&queue_.front(), hint ? grpc::WriteOptions().set_buffer_hint() : grpc::WriteOptions());
    if (finish) Finish(grpc::Status::OK);
  }
  void OnDone() override { delete this; }

 private:
  std::mutex mu_;
  SendRequest request_;
  std::deque<SendResponse> queue_;
  bool writing_ = false;
  bool reads_done_ = false;
  bool finished_ = false;
};

class CeilingService final : public tcpgate::v1::Gateway::CallbackService {
 public:
  explicit CeilingService(tcpcore::EventLoopGroup* loop) : loop_(loop) {}

 private:
  grpc::ServerUnaryReactor* Send(grpc::CallbackServerContext* context, const SendRequest* request,
                                 SendResponse* response) override {
    Answer(*request, response);
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    if (loop_ != nullptr) {
      asio::post(loop_->Next(), [reactor] { reactor->Finish(grpc::Status::OK); });
    } else {
      reactor->Finish(grpc::Status::OK);
    }
    return reactor;
  }
  grpc::ServerBidiReactor<SendRequest, SendResponse>* SendStream(grpc::CallbackServerContext*) override {
    return new EchoStream();
  }

  tcpcore::EventLoopGroup* const loop_;  // Null: finish in the handler.
};

}  // namespace

int main(int argc, char** argv) {
  tcpgate::ListOwnFlagsInHelp(__FILE__,
                              "The benchmark's ceiling: a gRPC callback server that answers Send itself.\n"
                              "Usage: tcpgate-ceiling --listen=127.0.0.1:0");
  absl::ParseCommandLine(argc, argv);
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);  // As in tcpgate, for a fair ceiling.
  std::unique_ptr<tcpcore::EventLoopGroup> loop;
  if (absl::GetFlag(FLAGS_finish_on_loop)) loop = std::make_unique<tcpcore::EventLoopGroup>(1, "finisher");
  CeilingService service(loop.get());
  grpc::ServerBuilder builder;
  int port = 0;
  const std::string listen = absl::GetFlag(FLAGS_listen);
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server) return 1;
  std::fprintf(stderr, "listening on %s:%d\n", listen.substr(0, listen.rfind(':')).c_str(), port);
  server->Wait();
  return 0;
}
