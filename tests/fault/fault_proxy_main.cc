// tcpgate-faultproxy: the FaultProxy as a process, for the fault suite
// (tests/fault/fault_suite.py). It logs "faultproxy listening on
// 127.0.0.1:PORT" on stderr and takes one command per line on stdin,
// answering "ok <command>" on stdout once it has taken effect:
//   delay UP_MS DOWN_MS   add latency towards the backend / the client
//   stall | resume        stop / restart forwarding on every connection
//   cut                   reset every open connection
//   refuse on|off         reset new connections as soon as they arrive
//   blackhole             open connections go silent forever (half-open)
//   stats                 "stats open=N accepted=M"
#include <cstdio>
#include <future>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "asio/io_context.hpp"
#include "asio/post.hpp"
#include "tcpcore/host_port.h"
#include "tests/fault/fault_proxy.h"
#include "tools/own_flags_help.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:0", "host:port to listen on");
ABSL_FLAG(std::string, target, "", "backend host:port (an IP address)");

namespace {

// Runs one command on the proxy's thread; returns the reply line.
std::string Execute(tcpgate::fault::FaultProxy& proxy, const std::string& line) {
  std::vector<std::string> words = absl::StrSplit(line, ' ', absl::SkipWhitespace());
  if (words.empty()) return "error empty command";
  const std::string& verb = words[0];
  int up = 0, down = 0;
  if (verb == "delay" && words.size() == 3 && absl::SimpleAtoi(words[1], &up) && absl::SimpleAtoi(words[2], &down)) {
    proxy.SetDelay(std::chrono::milliseconds(up), std::chrono::milliseconds(down));
  } else if (verb == "stall") {
    proxy.Stall();
  } else if (verb == "resume") {
    proxy.Resume();
  } else if (verb == "cut") {
    proxy.CutAll();
  } else if (verb == "refuse" && words.size() == 2 && (words[1] == "on" || words[1] == "off")) {
    proxy.SetRefuse(words[1] == "on");
  } else if (verb == "blackhole") {
    proxy.BlackholeAll();
  } else if (verb == "stats") {
    return "stats open=" + std::to_string(proxy.open_connections()) + " accepted=" + std::to_string(proxy.accepted());
  } else {
    return "error unknown command: " + line;
  }
  return "ok " + line;
}

}  // namespace

int main(int argc, char** argv) {
  tcpgate::ListOwnFlagsInHelp(__FILE__,
                              "A TCP proxy whose faults (delay, stall, cut, refuse, blackhole) a test commands on stdin.\n"
                              "Usage: tcpgate-faultproxy --listen=127.0.0.1:0 --target=IP:PORT");
  absl::ParseCommandLine(argc, argv);
  absl::StatusOr<tcpcore::HostPort> listen = tcpcore::HostPort::Parse(absl::GetFlag(FLAGS_listen));
  absl::StatusOr<tcpcore::HostPort> target = tcpcore::HostPort::Parse(absl::GetFlag(FLAGS_target));
  if (!listen.ok() || !target.ok()) {
    std::fprintf(stderr, "usage: tcpgate-faultproxy --listen=127.0.0.1:0 --target=IP:PORT\n");
    return 2;
  }
  asio::io_context context(1);
  tcpgate::fault::FaultProxy proxy(
      context, asio::ip::tcp::endpoint(asio::ip::make_address(target->host), target->port));
  absl::StatusOr<uint16_t> port =
      proxy.Start(asio::ip::tcp::endpoint(asio::ip::make_address(listen->host), listen->port));
  if (!port.ok()) {
    std::fprintf(stderr, "%s\n", std::string(port.status().message()).c_str());
    return 1;
  }
  std::fprintf(stderr, "faultproxy listening on %s:%u\n", listen->host.c_str(), *port);
  auto work = asio::make_work_guard(context);
  std::thread commands([&] {
    std::string line;
    while (std::getline(std::cin, line)) {
      std::promise<std::string> reply;
      asio::post(context, [&] { reply.set_value(Execute(proxy, line)); });
      std::printf("%s\n", reply.get_future().get().c_str());
      std::fflush(stdout);
    }
    work.reset();
    context.stop();  // stdin closed: the suite is done with us.
  });
  context.run();
  commands.join();
  return 0;
}
