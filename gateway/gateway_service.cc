#include "gateway/gateway_service.h"

#include <chrono>
#include <mutex>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gateway/caller_cancel.h"
#include "gateway/send_stream_reactor.h"
#include "gateway/status_mapping.h"
#include "gateway/wire_messages.h"

namespace tcpgate {
namespace {

// The reactor of one Send call. It is deleted when both the gRPC call is
// done (OnDone) and Send() has finished setting it up, whichever is last:
// the pool may complete the call before Send() returns.
class SendReactor final : public grpc::ServerUnaryReactor {
 public:
  SendReactor(std::atomic<int64_t>& in_flight, RequestMetrics& metrics) : in_flight_(in_flight), metrics_(metrics) {
    in_flight_.fetch_add(1, std::memory_order_relaxed);
  }

  void Start(tcpcore::Pool& pool, tcpcore::Request request, absl::Time deadline, grpc::ByteBuffer* response_bytes) {
    tcpcore::CancelHandle handle =
        pool.Send(std::move(request), deadline, [this, response_bytes](absl::StatusOr<tcpcore::Response> answer) {
          if (answer.ok()) {
            tcpgate::v1::SendResponse response;
            response.set_uid(std::move(answer->uid));
            response.set_val(std::move(answer->val));
            response.set_ts(std::move(answer->ts));
            *response_bytes = SerializeSendResponse(response);
            FinishAndRecord(grpc::Status::OK);
          } else {
            FinishAndRecord(ToGrpcStatus(answer.status()));
          }
        });
    {
      std::lock_guard lock(mu_);
      handle_ = handle;
      deadline_cancel_from_ = DeadlineCancelFrom(arrived_, deadline);
      started_ = true;
      if (cancelled_) CancelPoolRequest(handle_, deadline_cancel_from_);
    }
    Unref();
  }

  void FinishNow(const grpc::Status& status) {
    FinishAndRecord(status);
    Unref();
  }

  void OnCancel() override {
    std::lock_guard lock(mu_);
    cancelled_ = true;
    if (started_) CancelPoolRequest(handle_, deadline_cancel_from_);
  }

  void OnDone() override {
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
    Unref();
  }

  // Lets gRPC run OnCancel() and OnDone() on the thread that completes the
  // call instead of handing them to its executor thread. Safe because
  // neither blocks or calls into gRPC.
  bool InternalInlineable() override { return true; }

 private:
  void FinishAndRecord(const grpc::Status& status) {
    metrics_.Record(Rpc::kSend, status.error_code(), absl::Now() - arrived_);
    Finish(status);
  }

  void Unref() {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  std::atomic<int64_t>& in_flight_;
  RequestMetrics& metrics_;
  const absl::Time arrived_ = absl::Now();
  std::atomic<int> refs_{2};  // Set-up and OnDone.
  std::mutex mu_;
  tcpcore::CancelHandle handle_;  // Guarded by mu_.
  absl::Time deadline_cancel_from_;  // Guarded by mu_ (caller_cancel.h).
  bool started_ = false;          // Guarded by mu_.
  bool cancelled_ = false;        // Guarded by mu_.
};

std::string RandomPrefix() {
  std::random_device device;
  return absl::StrFormat("gw-%08x%08x-", device(), device());
}

}  // namespace

GatewayService::GatewayService(tcpcore::Pool& pool, GatewayOptions options)
    : pool_(pool), options_(options), uid_prefix_(RandomPrefix()) {}

std::string GatewayService::NewUid() {
  return absl::StrCat(uid_prefix_, uid_seq_.fetch_add(1, std::memory_order_relaxed));
}

grpc::ServerUnaryReactor* GatewayService::Send(grpc::CallbackServerContext* context,
                                               const grpc::ByteBuffer* request_bytes,
                                               grpc::ByteBuffer* response_bytes) {
  auto* reactor = new SendReactor(in_flight_, metrics_);
  if (grpc::Status refusal = Refusal(*context); !refusal.ok()) {
    reactor->FinishNow(refusal);
    return reactor;
  }
  absl::StatusOr<tcpgate::v1::SendRequest> request = ParseSendRequest(*request_bytes);
  if (!request.ok()) {
    reactor->FinishNow(ToGrpcStatus(request.status()));
    return reactor;
  }
  absl::StatusOr<tcpcore::Request> backend_request = Admit(*std::move(request));
  if (!backend_request.ok()) {
    reactor->FinishNow(ToGrpcStatus(backend_request.status()));
    return reactor;
  }
  const auto call_deadline = context->deadline();
  const absl::Time deadline = call_deadline == std::chrono::system_clock::time_point::max()
                                  ? absl::Now() + options_.default_timeout
                                  : absl::FromChrono(call_deadline);
  reactor->Start(pool_, *std::move(backend_request), deadline, response_bytes);
  return reactor;
}

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* GatewayService::SendStream(
    grpc::CallbackServerContext* context) {
  if (grpc::Status refusal = Refusal(*context); !refusal.ok()) {
    // A reactor that only finishes: the stream is refused, and counted as
    // one request with the refusal's code.
    class Refused final : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
     public:
      Refused(const grpc::Status& status, RequestMetrics& metrics) {
        metrics.Record(Rpc::kSendStream, status.error_code(), absl::ZeroDuration());
        Finish(status);
      }
      void OnDone() override { delete this; }
    };
    return new Refused(refusal, metrics_);
  }
  const auto call_deadline = context->deadline();
  const absl::Time deadline = call_deadline == std::chrono::system_clock::time_point::max()
                                  ? absl::InfiniteFuture()
                                  : absl::FromChrono(call_deadline);
  return new SendStreamReactor(
      pool_, [this](tcpgate::v1::SendRequest&& request) { return Admit(std::move(request)); }, deadline,
      options_.default_timeout,
      SendStreamReactor::Limits{.requests = options_.max_pending_per_stream,
                                .bytes = options_.max_held_bytes_per_stream,
                                .echoed_uid_bytes = options_.max_uid_bytes},
      in_flight_, metrics_);
}

grpc::Status GatewayService::Refusal(const grpc::CallbackServerContext& context) const {
  if (options_.bearer_token) {
    if (absl::Status status = options_.bearer_token->Check(context.client_metadata()); !status.ok()) {
      return ToGrpcStatus(status);
    }
  }
  if (draining_.load(std::memory_order_acquire)) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "gateway is shutting down");
  }
  return grpc::Status::OK;
}

absl::StatusOr<tcpcore::Request> GatewayService::Admit(tcpgate::v1::SendRequest&& request) {
  if (request.val().size() > options_.max_val_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("val is ", request.val().size(), " bytes; the limit is ", options_.max_val_bytes));
  }
  if (request.uid().size() > options_.max_uid_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("uid is ", request.uid().size(), " bytes; the limit is ", options_.max_uid_bytes));
  }
  return tcpcore::Request{request.uid().empty() ? NewUid() : std::move(*request.mutable_uid()),
                          std::move(*request.mutable_val())};
}

}  // namespace tcpgate
