#include "tcpcore/hello_handler.h"

#include "absl/time/clock.h"
#include "tcpcore/rfc3339_time.h"

namespace tcpcore {

void HelloHandler::OnRequest(const Request& request, ReplyContext& reply) {
  thread_local Response response;  // Reuses its strings' capacity.
  response.uid.assign(request.uid);
  response.val.assign(kGreeting);
  response.val.append(request.val);
  response.ts.clear();
  AppendRfc3339Nanos(absl::Now(), response.ts);
  reply.Reply(response);
}

}  // namespace tcpcore
