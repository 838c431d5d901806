// SendStreamReactor: one SendStream call. Reads requests, sends each through
// the pool as it arrives, and writes each answer (or per-request error) as
// soon as it comes back, one write in flight at a time. Stops reading while
// `limits.requests` requests of the stream are pending at the backend or
// answered but not yet written, or while those hold `limits.bytes` (vals
// sent, answers unwritten), so a client that never reads its answers cannot
// make the gateway buffer without bound.
//
// Lifetime: deletes itself once gRPC is done with the call (OnDone) and every
// pool callback of the stream has run, whichever is last.
// Thread-safety: gRPC reactions and pool callbacks arrive on different
// threads; all state is guarded by one mutex, and no gRPC operation is
// started while holding it.
#ifndef GATEWAY_SEND_STREAM_REACTOR_H_
#define GATEWAY_SEND_STREAM_REACTOR_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gateway/request_metrics.h"
#include "gateway/wire_messages.h"
#include "tcpcore/pool.h"
#include "tcpgate/v1/gateway.pb.h"

namespace tcpgate {

class SendStreamReactor final : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  // Turns a request into a backend request (taking its uid and val), or the
  // status that rejects it (leaving the request as it was).
  using Admission = std::function<absl::StatusOr<tcpcore::Request>(tcpgate::v1::SendRequest&&)>;
  // What one stream may hold before it stops reading. A single request is
  // always read, whatever its size.
  struct Limits {
    int requests = 1024;
    int64_t bytes = 8 << 20;
    // The longest uid a refused request's error answer carries back; one
    // longer is refused for its length and answered with an empty uid (echoed,
    // a uid near the message limit made an answer over the client's).
    std::size_t echoed_uid_bytes = 1024;
  };

  SendStreamReactor(tcpcore::Pool& pool, Admission admit, absl::Time call_deadline, absl::Duration default_timeout,
                    Limits limits, std::atomic<int64_t>& in_flight, RequestMetrics& metrics);

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  void Dispatch();
  // Queues an answer; `settled` is the pending request it answers, if any,
  // forgotten in the same critical section.
  void Answer(const tcpgate::v1::SendResponse& response, std::optional<uint64_t> settled = std::nullopt);
  // With mu_ held: decides the next gRPC operations; runs them after unlock.
  struct Next {
    const grpc::ByteBuffer* write = nullptr;
    bool more_queued = false;  // Answers wait behind this write.
    bool read = false;
    bool finish = false;
  };
  Next PlanLocked();
  void Run(const Next& next);
  void Unref();

  tcpcore::Pool& pool_;
  const Admission admit_;
  const absl::Time call_deadline_;
  const absl::Duration default_timeout_;
  const Limits limits_;
  std::atomic<int64_t>& in_flight_;
  RequestMetrics& metrics_;

  std::mutex mu_;
  grpc::ByteBuffer incoming_;  // Target of the read in flight (raw: see wire_messages.h).
  std::deque<grpc::ByteBuffer> outgoing_;  // Serialized answers; the front is being written.
  struct Pending {
    tcpcore::CancelHandle handle;
    int64_t bytes = 0;  // Its uid and val.
    absl::Time deadline_cancel_from;  // A cancel from then on is its deadline.
  };
  absl::flat_hash_map<uint64_t, Pending> pending_;
  int64_t held_bytes_ = 0;  // Of pending_ and outgoing_: what limits_.bytes bounds.
  uint64_t next_id_ = 0;
  std::atomic<int> refs_{1};  // OnDone, plus one per pending pool request.
  bool reading_ = false;
  bool writing_ = false;
  bool reads_done_ = false;
  bool finished_ = false;
  bool cancelled_ = false;
};

}  // namespace tcpgate

#endif  // GATEWAY_SEND_STREAM_REACTOR_H_
