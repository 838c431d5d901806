#include "tests/fault/fault_proxy.h"

#include <algorithm>
#include <array>
#include <functional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "asio/steady_timer.hpp"
#include "asio/write.hpp"

namespace tcpgate::fault {

// One proxied connection: the client's socket, the backend's socket and two
// pumps, up (client -> backend) and down (backend -> client). A pump reads a
// chunk, waits out the delay, writes it on and reads again; while stalled it
// parks before reading.
class FaultProxy::Link : public std::enable_shared_from_this<Link> {
 public:
  Link(asio::io_context& context, asio::ip::tcp::socket client, const FaultProxy& proxy)
      : proxy_(proxy),
        client_(std::move(client)),
        backend_(context),
        up_timer_(context),
        down_timer_(context) {}

  void Start(const asio::ip::tcp::endpoint& target) {
    backend_.async_connect(target, [self = shared_from_this()](const asio::error_code& error) {
      if (error) return self->Reset();
      asio::error_code ignored;
      self->client_.set_option(asio::ip::tcp::no_delay(true), ignored);
      self->backend_.set_option(asio::ip::tcp::no_delay(true), ignored);
      self->Pump(self->client_, self->backend_, self->up_buffer_, self->up_timer_, true);
      self->Pump(self->backend_, self->client_, self->down_buffer_, self->down_timer_, false);
    });
  }

  // Restarts pumps parked by a stall.
  void Resume() {
    auto parked = std::move(parked_);
    parked_.clear();
    for (auto& pump : parked) pump();
  }

  // Closes both sides with RST (SO_LINGER 0).
  void Reset() {
    if (closed_) return;
    closed_ = true;
    asio::error_code ignored;
    for (asio::ip::tcp::socket* socket : {&client_, &backend_}) {
      if (!socket->is_open()) continue;
      socket->set_option(asio::socket_base::linger(true, 0), ignored);
      socket->close(ignored);
    }
    up_timer_.cancel();
    down_timer_.cancel();
    parked_.clear();  // They hold this link: a stalled link closed must still go.
  }

  // From now on nothing moves and nothing closes: a half-open connection as
  // the peer sees it. The sockets stay open until the proxy is destroyed.
  void Blackhole() { blackholed_ = true; }

  bool closed() const { return closed_; }

 private:
  void Pump(asio::ip::tcp::socket& from, asio::ip::tcp::socket& to, std::array<char, 65536>& buffer,
            asio::steady_timer& timer, bool up) {
    if (closed_ || blackholed_) return;
    if (proxy_.stalled_) {
      parked_.push_back([self = shared_from_this(), &from, &to, &buffer, &timer, up] {
        self->Pump(from, to, buffer, timer, up);
      });
      return;
    }
    from.async_read_some(asio::buffer(buffer), [self = shared_from_this(), &from, &to, &buffer, &timer, up](
                                                     const asio::error_code& error, std::size_t n) {
      if (self->closed_ || self->blackholed_) return;
      if (error) {
        // A clean end on one side is passed on as a half-close; anything
        // else resets both.
        if (error == asio::error::eof) {
          asio::error_code ignored;
          to.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
          if (++self->half_closed_ == 2) self->Reset();
        } else {
          self->Reset();
        }
        return;
      }
      auto forward = [self, &from, &to, &buffer, &timer, up, n] {
        if (self->closed_ || self->blackholed_) return;
        asio::async_write(to, asio::buffer(buffer.data(), n),
                          [self, &from, &to, &buffer, &timer, up](const asio::error_code& write_error, std::size_t) {
                            if (write_error) return self->Reset();
                            self->Pump(from, to, buffer, timer, up);
                          });
      };
      auto deliver = [self, &timer, up, forward] {
        const std::chrono::milliseconds delay = up ? self->proxy_.delay_up_ : self->proxy_.delay_down_;
        if (delay.count() == 0) return forward();
        timer.expires_after(delay);
        timer.async_wait([forward](const asio::error_code& wait_error) {
          if (!wait_error) forward();
        });
      };
      // A chunk read just before a stall waits for the resume too.
      if (self->proxy_.stalled_) return self->parked_.push_back(deliver);
      deliver();
    });
  }

  const FaultProxy& proxy_;
  asio::ip::tcp::socket client_;
  asio::ip::tcp::socket backend_;
  asio::steady_timer up_timer_;
  asio::steady_timer down_timer_;
  std::array<char, 65536> up_buffer_;
  std::array<char, 65536> down_buffer_;
  std::vector<std::function<void()>> parked_;
  int half_closed_ = 0;
  bool closed_ = false;
  bool blackholed_ = false;
};

FaultProxy::FaultProxy(asio::io_context& context, asio::ip::tcp::endpoint target)
    : context_(context), target_(std::move(target)), acceptor_(context) {}

FaultProxy::~FaultProxy() {
  asio::error_code ignored;
  acceptor_.close(ignored);
  for (auto& link : links_) link->Reset();
}

absl::StatusOr<uint16_t> FaultProxy::Start(const asio::ip::tcp::endpoint& listen) {
  asio::error_code error;
  acceptor_.open(listen.protocol(), error);
  if (!error) acceptor_.set_option(asio::socket_base::reuse_address(true), error);
  if (!error) acceptor_.bind(listen, error);
  if (!error) acceptor_.listen(asio::socket_base::max_listen_connections, error);
  if (error) return absl::UnavailableError(absl::StrCat("fault proxy cannot listen: ", error.message()));
  Accept();
  return acceptor_.local_endpoint().port();
}

void FaultProxy::Accept() {
  acceptor_.async_accept([this](const asio::error_code& error, asio::ip::tcp::socket socket) {
    if (error == asio::error::operation_aborted) return;
    if (!error) {
      ++accepted_;
      Forget();
      auto link = std::make_shared<Link>(context_, std::move(socket), *this);
      links_.push_back(link);
      if (refuse_) {
        link->Reset();
      } else {
        link->Start(target_);
      }
    }
    Accept();
  });
}

void FaultProxy::Forget() {
  links_.erase(std::remove_if(links_.begin(), links_.end(), [](const auto& link) { return link->closed(); }),
               links_.end());
}

void FaultProxy::SetDelay(std::chrono::milliseconds up, std::chrono::milliseconds down) {
  delay_up_ = up;
  delay_down_ = down;
}

void FaultProxy::Stall() { stalled_ = true; }

void FaultProxy::Resume() {
  stalled_ = false;
  for (auto& link : links_) link->Resume();
}

void FaultProxy::CutAll() {
  for (auto& link : links_) link->Reset();
  Forget();
}

void FaultProxy::SetRefuse(bool refuse) { refuse_ = refuse; }

void FaultProxy::BlackholeAll() {
  for (auto& link : links_) link->Blackhole();
}

int FaultProxy::open_connections() const {
  return static_cast<int>(std::count_if(links_.begin(), links_.end(), [](const auto& link) { return !link->closed(); }));
}

}  // namespace tcpgate::fault
