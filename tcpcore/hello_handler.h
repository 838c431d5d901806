// HelloHandler: the reference backend's behaviour. Answers every request at
// once with Val = "server: hello, " + Val and the current time in Ts.
//
// Thread-safety: stateless apart from a per-thread scratch response; safe
// from any number of loops.
#ifndef TCPCORE_HELLO_HANDLER_H_
#define TCPCORE_HELLO_HANDLER_H_

#include "tcpcore/request_handler.h"

namespace tcpcore {

class HelloHandler : public RequestHandler {
 public:
  static constexpr char kGreeting[] = "server: hello, ";
  void OnRequest(const Request& request, ReplyContext& reply) override;
};

}  // namespace tcpcore

#endif  // TCPCORE_HELLO_HANDLER_H_
