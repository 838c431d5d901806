#include "gateway/send_stream_reactor.h"

#include <iterator>
#include <optional>
#include <utility>
#include <vector>

#include "gateway/caller_cancel.h"

namespace tcpgate {
namespace {

tcpgate::v1::SendResponse ErrorResponse(const std::string& uid, const absl::Status& status) {
  tcpgate::v1::SendResponse response;
  response.set_uid(uid);
  response.mutable_error()->set_code(static_cast<int32_t>(status.code()));
  response.mutable_error()->set_message(std::string(status.message()));
  return response;
}

}  // namespace

SendStreamReactor::SendStreamReactor(tcpcore::Pool& pool, Admission admit, absl::Time call_deadline,
                                     absl::Duration default_timeout, Limits limits,
                                     std::atomic<int64_t>& in_flight, RequestMetrics& metrics)
    : pool_(pool),
      admit_(std::move(admit)),
      call_deadline_(call_deadline),
      default_timeout_(default_timeout),
      limits_(limits),
      in_flight_(in_flight),
      metrics_(metrics) {
  in_flight_.fetch_add(1, std::memory_order_relaxed);
  Next next;
  {
    std::lock_guard lock(mu_);
    next = PlanLocked();
  }
  Run(next);
}

void SendStreamReactor::OnReadDone(bool ok) {
  if (ok) {
    Dispatch();
  } else {
    std::lock_guard lock(mu_);
    reading_ = false;
    reads_done_ = true;
  }
  Next next;
  {
    std::lock_guard lock(mu_);
    if (ok) reading_ = false;
    next = PlanLocked();
  }
  Run(next);
}

void SendStreamReactor::Dispatch() {
  const absl::Time arrived = absl::Now();
  std::string unreadable_uid;  // A request that fails to parse may still have a readable uid.
  absl::StatusOr<tcpgate::v1::SendRequest> parsed = ParseSendRequest(incoming_, &unreadable_uid);
  // Admission takes uid and val only when it admits, so a refused request
  // still has its uid for the error answer.
  absl::StatusOr<tcpcore::Request> request = parsed.ok() ? admit_(std::move(*parsed)) : parsed.status();
  if (!request.ok()) {
    metrics_.Record(Rpc::kSendStream, static_cast<grpc::StatusCode>(request.status().code()), absl::ZeroDuration());
    const std::string& uid = parsed.ok() ? parsed->uid() : unreadable_uid;
    Answer(ErrorResponse(uid.size() <= limits_.echoed_uid_bytes ? uid : std::string(), request.status()));
    return;
  }
  const std::string uid = request->uid;
  const auto bytes = static_cast<int64_t>(request->uid.size() + request->val.size());
  const absl::Time deadline = std::min(call_deadline_, arrived + default_timeout_);
  const absl::Time deadline_cancel_from = DeadlineCancelFrom(arrived, deadline);
  uint64_t id;
  {
    std::lock_guard lock(mu_);
    if (cancelled_) {
      // Read as the call was cancelled: not sent, its answer could not go out.
      metrics_.Record(Rpc::kSendStream, grpc::StatusCode::CANCELLED, absl::ZeroDuration());
      return;
    }
    id = next_id_++;
    pending_.emplace(id, Pending{tcpcore::CancelHandle(), bytes, deadline_cancel_from});
    held_bytes_ += bytes;
  }
  refs_.fetch_add(1, std::memory_order_relaxed);
  tcpcore::CancelHandle handle =
      pool_.Send(*std::move(request), deadline, [this, id, uid, arrived](absl::StatusOr<tcpcore::Response> answer) {
        metrics_.Record(Rpc::kSendStream, static_cast<grpc::StatusCode>(answer.status().code()),
                        absl::Now() - arrived);
        tcpgate::v1::SendResponse response;
        if (answer.ok()) {
          response.set_uid(std::move(answer->uid));
          response.set_val(std::move(answer->val));
          response.set_ts(std::move(answer->ts));
        } else {
          response = ErrorResponse(uid, answer.status());
        }
        Answer(response, id);
        Unref();
      });
  std::lock_guard lock(mu_);
  auto it = pending_.find(id);
  if (it != pending_.end()) {
    it->second.handle = handle;
    if (cancelled_) CancelPoolRequest(handle, deadline_cancel_from);
  }
}

void SendStreamReactor::Answer(const tcpgate::v1::SendResponse& response, std::optional<uint64_t> settled) {
  grpc::ByteBuffer bytes = SerializeSendResponse(response);
  Next next;
  {
    std::lock_guard lock(mu_);
    if (settled) {
      auto it = pending_.find(*settled);
      if (it != pending_.end()) {
        held_bytes_ -= it->second.bytes;
        pending_.erase(it);
      }
    }
    if (!finished_ && !cancelled_) {
      held_bytes_ += static_cast<int64_t>(bytes.Length());
      outgoing_.push_back(std::move(bytes));
    }
    next = PlanLocked();
  }
  Run(next);
}

void SendStreamReactor::OnWriteDone(bool ok) {
  Next next;
  grpc::ByteBuffer written;  // Freed after unlocking.
  {
    std::lock_guard lock(mu_);
    writing_ = false;
    written.Swap(&outgoing_.front());
    outgoing_.pop_front();
    held_bytes_ -= static_cast<int64_t>(written.Length());
    if (!ok) cancelled_ = true;  // The stream is broken; answers can't go out.
    next = PlanLocked();
  }
  Run(next);
}

SendStreamReactor::Next SendStreamReactor::PlanLocked() {
  Next next;
  if (finished_) return next;
  if (cancelled_) {
    // Drop the answers not yet written, but not the one being written: gRPC
    // reads it until OnWriteDone, which then pops it.
    const auto first_dropped = writing_ ? std::next(outgoing_.begin()) : outgoing_.begin();
    for (auto it = first_dropped; it != outgoing_.end(); ++it) held_bytes_ -= static_cast<int64_t>(it->Length());
    outgoing_.erase(first_dropped, outgoing_.end());
    if (!writing_ && !reading_) {
      finished_ = true;
      next.finish = true;
    }
    return next;
  }
  if (!writing_ && !outgoing_.empty()) {
    writing_ = true;
    next.write = &outgoing_.front();
    next.more_queued = outgoing_.size() > 1;
  }
  // Answers not yet written count against the limits too: a client that
  // never reads its stream stops being read from, and HTTP/2 flow control
  // then holds it back, so its answers cannot pile up here.
  if (!reading_ && !reads_done_ && static_cast<int>(pending_.size() + outgoing_.size()) < limits_.requests &&
      held_bytes_ < limits_.bytes) {
    reading_ = true;
    next.read = true;
  }
  if (reads_done_ && pending_.empty() && outgoing_.empty() && !writing_) {
    finished_ = true;
    next.finish = true;
  }
  return next;
}

void SendStreamReactor::Run(const Next& next) {
  if (next.write != nullptr) {
    // With answers queued behind it, the write may wait in gRPC's buffer
    // for the next one, so several answers leave in one socket write; the
    // last queued answer is written without the hint and flushes them.
    grpc::WriteOptions options;
    if (next.more_queued) options.set_buffer_hint();
    StartWrite(next.write, options);
  }
  if (next.read) StartRead(&incoming_);
  if (next.finish) {
    bool cancelled;
    {
      std::lock_guard lock(mu_);
      cancelled = cancelled_;
    }
    Finish(cancelled ? grpc::Status(grpc::StatusCode::CANCELLED, "stream cancelled") : grpc::Status::OK);
  }
}

void SendStreamReactor::OnCancel() {
  std::vector<std::pair<tcpcore::CancelHandle, absl::Time>> handles;
  Next next;
  {
    std::lock_guard lock(mu_);
    cancelled_ = true;
    for (auto& [id, pending] : pending_) handles.emplace_back(pending.handle, pending.deadline_cancel_from);
    next = PlanLocked();
  }
  // A request whose own deadline ended the stream (the stream's deadline
  // passed) is cancelled as that deadline: caller_cancel.h.
  for (const auto& [handle, deadline_cancel_from] : handles) CancelPoolRequest(handle, deadline_cancel_from);
  Run(next);
}

void SendStreamReactor::OnDone() {
  in_flight_.fetch_sub(1, std::memory_order_relaxed);
  Unref();
}

void SendStreamReactor::Unref() {
  if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
}

}  // namespace tcpgate
