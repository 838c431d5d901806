#!/usr/bin/python3
"""tcpgate takes the hard limit on open files at start: a gateway started
with a soft limit of 256 (hard 4096) keeps accepting clients beyond 256
connections. gRPC 1.51 stops accepting for good after one accept fails
for want of a descriptor (grpc/grpc issue 20418), so a gateway left at its
soft limit would be lost to new clients after such a burst. A hard limit
that is itself low gets a warning at start.

Usage: open_file_limit_test.py TCPGATE_BINARY REPO_ROOT
"""
import os
import resource
import socket
import sys

TCPGATE, ROOT = sys.argv[1], sys.argv[2]

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gateway_process import Checks, begin_test, eventually, log_text, open_fds, scrape, start_gateway, stop  # noqa: E402

WORK = begin_test(ROOT, "tcpgate-fds-", stuck_after=100)
import grpc  # noqa: E402
from tcpgate.v1 import gateway_pb2, gateway_pb2_grpc  # noqa: E402

check = Checks(WORK)
CONNECTIONS = 400  # More than the soft limit the gateway is started with.


def limited(soft, hard):
    """prlimit sets the gateway's limits and execs it: its pid is the gateway's."""
    return ("prlimit", f"--nofile={soft}:{hard}")


def send(port, uid):
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        try:
            answer = gateway_pb2_grpc.GatewayStub(channel).Send(gateway_pb2.SendRequest(uid=uid, val="v"), timeout=5)
            return answer.val
        except grpc.RpcError as error:
            return error.code().name


# The test itself holds CONNECTIONS sockets; the gateway gets a hard limit
# of up to 4096, under the machine's.
_, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
HARD = min(hard, 4096)
if HARD < CONNECTIONS + 100:
    print(f"SKIP: the hard open-file limit here is {hard}; this test needs {CONNECTIONS + 100}", flush=True)
    sys.exit(77)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

proc, port = start_gateway(TCPGATE, WORK, launcher=limited(256, HARD))
try:
    check(f"open file limit raised from 256 to {HARD}" in log_text(proc), "the soft limit is raised to the hard one")
    check(scrape(proc).get("process_max_fds") == HARD, "process_max_fds reports the raised limit")
    clients = []
    try:
        for _ in range(CONNECTIONS):
            clients.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        # Its own descriptors come and go (an admin connection in its drain,
        # the pool's), so no exact count: past 256 it could not go without
        # the raise; with it, the 400 on top of its ~26.
        check(eventually(lambda: open_fds(proc) >= CONNECTIONS + 10, timeout=20),
              f"the gateway accepts the {CONNECTIONS} connections (it holds {open_fds(proc)} descriptors)")
        check(send(port, "while-held") == "server: hello, v", "a client is served beside them")
    finally:
        for client in clients:
            client.close()
    check(send(port, "after") == "server: hello, v", "and after they close")
    check(f"open file limit is only {HARD}:" in log_text(proc), f"a hard limit of {HARD} is warned about")
finally:
    stop(proc)

# A limit already at its hard value is not reported as raised; the warning
# comes only when that value is low (under 16384).
proc, port = start_gateway(TCPGATE, WORK, launcher=limited(hard, hard))
try:
    check("open file limit raised" not in log_text(proc), "a soft limit already at the hard one is left as it is")
    check(("open file limit is only" in log_text(proc)) == (hard < 16384),
          f"the low-limit warning comes only under 16384 (hard limit here: {hard})")
    check(send(port, "roomy") == "server: hello, v", "that gateway serves")
finally:
    stop(proc)

check.exit()
