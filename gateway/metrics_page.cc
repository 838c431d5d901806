#include "gateway/metrics_page.h"

#include <initializer_list>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"

namespace tcpgate {
namespace {

// Appends metric families to a Prometheus text page.
class PageWriter {
 public:
  void Family(absl::string_view name, absl::string_view type, absl::string_view help) {
    absl::StrAppend(&page_, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n");
  }

  template <typename Number>
  void Sample(absl::string_view name, std::initializer_list<std::pair<absl::string_view, absl::string_view>> labels,
              Number value) {
    absl::StrAppend(&page_, name);
    if (labels.size() > 0) {
      page_ += '{';
      bool first = true;
      for (const auto& [key, label_value] : labels) {
        absl::StrAppend(&page_, first ? "" : ",", key, "=\"", Escape(label_value), "\"");
        first = false;
      }
      page_ += '}';
    }
    if constexpr (std::is_floating_point_v<Number>) {
      // StrAppend keeps 6 digits: a latency sum past 1e5 s would move in
      // whole seconds, and rate(_sum)/rate(_count) would be quantized.
      absl::StrAppend(&page_, " ", absl::StrFormat("%.15g", value), "\n");
    } else {
      absl::StrAppend(&page_, " ", value, "\n");
    }
  }

  std::string Take() { return std::move(page_); }

 private:
  static std::string Escape(absl::string_view value) {
    return absl::StrReplaceAll(value, {{"\\", "\\\\"}, {"\"", "\\\""}, {"\n", "\\n"}});
  }

  std::string page_;
};

constexpr Rpc kRpcs[] = {Rpc::kSend, Rpc::kSendStream};

}  // namespace

std::string RenderMetricsPage(const RequestMetrics& requests, int64_t calls_in_flight, const tcpcore::PoolStats& pool,
                              const ProcessStats* process, const TlsFigures* tls,
                              const FileReloadFigures* token_reloads) {
  PageWriter page;

  page.Family("tcpgate_requests_total", "counter",
              "Requests answered, by RPC and gRPC status code (each SendStream request counts on its own).");
  for (Rpc rpc : kRpcs) {
    for (int code = 0; code < RequestMetrics::kCodeCount; ++code) {
      const auto status_code = static_cast<grpc::StatusCode>(code);
      const uint64_t count = requests.requests(rpc, status_code);
      if (count == 0 && status_code != grpc::StatusCode::OK) continue;
      // Abseil's codes are gRPC's, and so are their names.
      const std::string code_name = absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
      page.Sample("tcpgate_requests_total", {{"rpc", RequestMetrics::RpcName(rpc)}, {"code", code_name}}, count);
    }
  }

  page.Family("tcpgate_request_duration_seconds", "histogram",
              "Time from a request's arrival to its answer, by RPC.");
  for (Rpc rpc : kRpcs) {
    const RequestMetrics::Histogram histogram = requests.latency(rpc);
    const absl::string_view name = RequestMetrics::RpcName(rpc);
    uint64_t cumulative = 0;
    for (std::size_t i = 0; i < RequestMetrics::kBucketBounds.size(); ++i) {
      cumulative += histogram.buckets[i];
      page.Sample("tcpgate_request_duration_seconds_bucket",
                  {{"rpc", name}, {"le", absl::StrCat(RequestMetrics::kBucketBounds[i])}}, cumulative);
    }
    page.Sample("tcpgate_request_duration_seconds_bucket", {{"rpc", name}, {"le", "+Inf"}}, histogram.count);
    page.Sample("tcpgate_request_duration_seconds_sum", {{"rpc", name}}, histogram.sum_seconds);
    page.Sample("tcpgate_request_duration_seconds_count", {{"rpc", name}}, histogram.count);
  }

  page.Family("tcpgate_requests_in_flight", "gauge", "gRPC calls not finished yet (a SendStream counts once).");
  page.Sample("tcpgate_requests_in_flight", {}, calls_in_flight);
  page.Family("tcpgate_pool_pending", "gauge", "Requests sent to a backend and not answered yet.");
  page.Sample("tcpgate_pool_pending", {}, pool.total.in_flight);
  page.Family("tcpgate_pool_rejected_total", "counter", "Requests the pool refused at once, by reason.");
  page.Sample("tcpgate_pool_rejected_total", {{"reason", "pool_full"}}, pool.rejected_overload);
  page.Sample("tcpgate_pool_rejected_total", {{"reason", "no_backend"}}, pool.rejected_unavailable);
  page.Family("tcpgate_pool_waited_for_connect_total", "counter",
              "Requests that found no ready backend connection and waited for one being made.");
  page.Sample("tcpgate_pool_waited_for_connect_total", {}, pool.waited_for_connect);
  page.Family("tcpgate_pool_waited_for_replacement_total", "counter",
              "Requests that found nothing open only because the pool had not yet caught up (connections just closed, or DNS not yet answered) and waited for it.");
  page.Sample("tcpgate_pool_waited_for_replacement_total", {}, pool.waited_for_replacement);
  page.Family("tcpgate_late_responses_total", "counter",
              "Backend answers that came after their request had given up (counted and dropped).");
  page.Sample("tcpgate_late_responses_total", {}, pool.total.late_responses);
  page.Family("tcpgate_late_response_window_retirements_total", "counter",
              "Backend connections retired because an answer was owed past --late_response_window (a backend "
              "that loses answers): replaced at once, closed once their other requests are done.");
  page.Sample("tcpgate_late_response_window_retirements_total", {}, pool.total.retired_owing_answer);

  page.Family("tcpgate_backend_connections", "gauge",
              "Backend connections by backend address and state: ready, draining (the address left DNS); "
              "ejected is 1 while the address rests after failed connects.");
  for (const tcpcore::BackendStats& backend : pool.backends) {
    const int64_t ready = backend.draining ? 0 : backend.connections_open;
    const int64_t draining = backend.draining ? backend.connections_open : 0;
    page.Sample("tcpgate_backend_connections",
                {{"backend", backend.backend}, {"address", backend.address}, {"state", "ready"}}, ready);
    page.Sample("tcpgate_backend_connections",
                {{"backend", backend.backend}, {"address", backend.address}, {"state", "draining"}}, draining);
    page.Sample("tcpgate_backend_connections",
                {{"backend", backend.backend}, {"address", backend.address}, {"state", "ejected"}},
                backend.ejected ? 1 : 0);
  }
  page.Family("tcpgate_backend_requests_total", "counter", "Requests sent to each backend address, by result.");
  for (const tcpcore::BackendStats& backend : pool.backends) {
    const std::pair<absl::string_view, uint64_t> results[] = {{"ok", backend.ok},
                                                              {"deadline_exceeded", backend.deadline},
                                                              {"connection_error", backend.conn_errors},
                                                              {"other_error", backend.other_errors}};
    for (const auto& [result, count] : results) {
      page.Sample("tcpgate_backend_requests_total",
                  {{"backend", backend.backend}, {"address", backend.address}, {"result", result}}, count);
    }
  }
  page.Family("tcpgate_backend_connect_failures_total", "counter",
              "Connects that failed (refused, timed out) before the connection was ready, by address.");
  for (const tcpcore::BackendStats& backend : pool.backends) {
    page.Sample("tcpgate_backend_connect_failures_total", {{"backend", backend.backend}, {"address", backend.address}},
                backend.connect_failures);
  }
  page.Family("tcpgate_backend_reconnects_total", "counter", "Connection attempts after a failure, by address.");
  for (const tcpcore::BackendStats& backend : pool.backends) {
    page.Sample("tcpgate_backend_reconnects_total", {{"backend", backend.backend}, {"address", backend.address}},
                backend.reconnects);
  }
  page.Family("tcpgate_backend_ejections_total", "counter", "Times an address was ejected after failed connects.");
  for (const tcpcore::BackendStats& backend : pool.backends) {
    page.Sample("tcpgate_backend_ejections_total", {{"backend", backend.backend}, {"address", backend.address}},
                backend.ejections);
  }
  page.Family("tcpgate_backend_error_lines_total", "counter", "-ERR lines received from backends, by address.");
  for (const tcpcore::BackendStats& backend : pool.backends) {
    page.Sample("tcpgate_backend_error_lines_total", {{"backend", backend.backend}, {"address", backend.address}},
                backend.error_lines);
  }
  if (tls != nullptr) {
    page.Family("tcpgate_tls_certificate_expiry_timestamp_seconds", "gauge",
                "When the certificate the gRPC port serves expires, in seconds since the Unix epoch.");
    page.Sample("tcpgate_tls_certificate_expiry_timestamp_seconds", {}, absl::ToUnixSeconds(tls->not_after));
    if (tls->reloading) {
      page.Family("tcpgate_tls_reloads_total", "counter",
                  "Changes of the TLS files since start: loaded (served to new connections) or refused (invalid, "
                  "not served; the previous certificate stays).");
      page.Sample("tcpgate_tls_reloads_total", {{"result", "loaded"}}, tls->loaded);
      page.Sample("tcpgate_tls_reloads_total", {{"result", "refused"}}, tls->refused);
      page.Family("tcpgate_tls_files_refused", "gauge",
                  "1 while the TLS files (certificate, key, client CA, revocation lists) hold a change that was "
                  "refused (the previous ones are served), else 0.");
      page.Sample("tcpgate_tls_files_refused", {}, tls->refusing ? 1 : 0);
    }
    if (tls->crl_next_update != absl::InfiniteFuture()) {
      page.Family("tcpgate_tls_client_crl_next_update_timestamp_seconds", "gauge",
                  "The earliest next update of the client revocation lists served, in seconds since the Unix "
                  "epoch: past it every client of that CA is refused.");
      page.Sample("tcpgate_tls_client_crl_next_update_timestamp_seconds", {},
                  absl::ToUnixSeconds(tls->crl_next_update));
    }
  }
  if (token_reloads != nullptr) {
    page.Family("tcpgate_auth_token_reloads_total", "counter",
                "Changes of the token file since start: loaded (its tokens check the calls that follow) or refused "
                "(invalid, not used; the previous tokens stay).");
    page.Sample("tcpgate_auth_token_reloads_total", {{"result", "loaded"}}, token_reloads->loaded);
    page.Sample("tcpgate_auth_token_reloads_total", {{"result", "refused"}}, token_reloads->refused);
    page.Family("tcpgate_auth_token_file_refused", "gauge",
                "1 while the token file holds a change that was refused (the previous tokens check calls), else 0.");
    page.Sample("tcpgate_auth_token_file_refused", {}, token_reloads->refusing ? 1 : 0);
  }
  if (process != nullptr) {
    // Each family only when its figure could be read: an absent series,
    // not a zero, when /proc fails.
    auto family = [&page](absl::string_view name, absl::string_view type, absl::string_view help, auto figure) {
      if (!figure.has_value()) return;
      page.Family(name, type, help);
      page.Sample(name, {}, *figure);
    };
    family("process_cpu_seconds_total", "counter", "CPU time this process has used (user plus system), in seconds.",
           process->cpu_seconds);
    family("process_resident_memory_bytes", "gauge", "Memory of this process held in RAM (its resident set), in bytes.",
           process->resident_bytes);
    family("process_virtual_memory_bytes", "gauge", "Address space this process has mapped, in bytes.",
           process->virtual_bytes);
    family("process_open_fds", "gauge", "File descriptors this process has open (sockets included).",
           process->open_fds);
    family("process_max_fds", "gauge", "Most file descriptors this process may open (its soft RLIMIT_NOFILE).",
           process->max_fds);
    family("process_start_time_seconds", "gauge", "When this process started, in seconds since the Unix epoch.",
           process->start_time_seconds);
  }
  return page.Take();
}

}  // namespace tcpgate
