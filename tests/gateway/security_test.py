#!/usr/bin/python3
"""Process-level check of tcpgate's transport security and bearer token,
against the real binaries, with certificates made by `openssl` at test time
(a CA, a server certificate for localhost/127.0.0.1, a client certificate
from the CA, and one from another CA).

Usage: security_test.py TCPGATE_BINARY TCPGATE_CLI_BINARY REPO_ROOT
Checks: TLS (a client trusting the CA is answered; a plaintext client and a
client trusting another CA are not); mutual TLS (only a client certificate
from --tls_client_ca gets in); the bearer token (right, missing, wrong,
wrong with the right length; health needs none; the token never reaches the
log; /metrics counts the refusals; several tokens, the file followed);
flags from TCPGATE_* variables; start-up errors; rotation (the files replaced while the gateway runs: new valid
content served to new connections, open connections kept, invalid content
not served, the client CA too; the expiry and reload metrics); tcpgate-cli send with --tls_ca, a client certificate and
--auth_token_file.
"""
import atexit
import datetime
import os
import secrets
import shutil
import subprocess
import sys
import time

TCPGATE, CLI, ROOT = sys.argv[1], sys.argv[2], sys.argv[3]
if "ASAN_OPTIONS" in os.environ:
    # For the gateways started here: OpenSSL's per-thread state of a gRPC
    # thread still ending at exit (see the file).
    os.environ["LSAN_OPTIONS"] = "suppressions=" + os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "lsan_openssl_thread_state.supp")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gateway_process import Checks, begin_test, eventually, log_text, scrape, start_gateway, stop  # noqa: E402

WORK = begin_test(ROOT, "tcpgate-sec-", stuck_after=160)
atexit.register(shutil.rmtree, WORK, ignore_errors=True)  # Keys and tokens.
import grpc  # noqa: E402
from tcpgate.v1 import gateway_pb2, gateway_pb2_grpc  # noqa: E402
import health_pb2, health_pb2_grpc  # noqa: E402

EXTENSIONS = """
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
[client]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
"""


def path(name):
    return os.path.join(WORK, name)


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def make_cert(name, extensions, ca=None):
    """Writes NAME.key and NAME.pem (P-256), signed by `ca` or self-signed."""
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", path(f"{name}.key"), "-out", path(f"{name}.csr"), "-subj", f"/CN=tcpgate test {name}")
    signer = ["-signkey", path(f"{name}.key")] if ca is None else [
        "-CA", path(f"{ca}.pem"), "-CAkey", path(f"{ca}.key"), "-set_serial", str(secrets.randbits(63))]
    openssl("x509", "-req", "-in", path(f"{name}.csr"), "-days", "1", "-out", path(f"{name}.pem"),
            "-extfile", path("extensions.cnf"), "-extensions", extensions, *signer)


def read(name):
    with open(path(name), "rb") as f:
        return f.read()


with open(path("extensions.cnf"), "w") as f:
    f.write(EXTENSIONS)
make_cert("ca", "ca")
make_cert("other-ca", "ca")
make_cert("server", "server", ca="ca")
make_cert("client", "client", ca="ca")
make_cert("other-client", "client", ca="other-ca")

check = Checks()
REQUEST = gateway_pb2.SendRequest(uid="sec-1", val="pixelpig!")


def tls_channel(port, roots="ca.pem", client=None):
    credentials = grpc.ssl_channel_credentials(
        root_certificates=read(roots),
        private_key=read(f"{client}.key") if client else None,
        certificate_chain=read(f"{client}.pem") if client else None)
    return grpc.secure_channel(f"127.0.0.1:{port}", credentials)


def send_code(channel, metadata=None):
    """The status code of one Send on `channel` (OK when answered right)."""
    try:
        answer = gateway_pb2_grpc.GatewayStub(channel).Send(REQUEST, timeout=10, metadata=metadata)
        return grpc.StatusCode.OK if answer.val == "server: hello, pixelpig!" else "wrong answer"
    except grpc.RpcError as error:
        return error.code()
    finally:
        channel.close()


def cli_send(port, *flags):
    result = subprocess.run([CLI, "send", f"--target=127.0.0.1:{port}", "--uid=cli-1", "--val=pixelpig!", *flags],
                            capture_output=True, text=True, timeout=30)
    return result.returncode, result.stdout + result.stderr


# TLS, configured through the environment (TCPGATE_TLS_CERT, TCPGATE_TLS_KEY).
proc, port = start_gateway(TCPGATE, WORK, env={"TCPGATE_TLS_CERT": path("server.pem"),
                                                "TCPGATE_TLS_KEY": path("server.key")})
try:
    check("transport=TLS" in log_text(proc), "TLS: the start-up line says TLS")
    check(send_code(tls_channel(port)) == grpc.StatusCode.OK, "TLS: a client trusting the CA is answered")
    code = send_code(grpc.insecure_channel(f"127.0.0.1:{port}"))
    check(code == grpc.StatusCode.UNAVAILABLE, f"TLS: a plaintext client is UNAVAILABLE (got {code})")
    code = send_code(tls_channel(port, roots="other-ca.pem"))
    check(code == grpc.StatusCode.UNAVAILABLE, f"TLS: a client trusting another CA is UNAVAILABLE (got {code})")
    status, output = cli_send(port, f"--tls_ca={path('ca.pem')}")
    check(status == 0 and "val: server: hello, pixelpig!" in output, f"TLS: tcpgate-cli send --tls_ca ({output!r})")
    status, output = cli_send(port, f"--tls_ca={path('ca.pem')}", "--tls_server_name=elsewhere.example")
    check(status == 1 and "UNAVAILABLE" in output, "TLS: tcpgate-cli with another --tls_server_name is refused")
finally:
    stop(proc)

# Mutual TLS.
proc, port = start_gateway(TCPGATE, WORK, f"--tls_cert={path('server.pem')}", f"--tls_key={path('server.key')}",
                           f"--tls_client_ca={path('ca.pem')}")
try:
    check("transport=mutual TLS" in log_text(proc), "mTLS: the start-up line says mutual TLS")
    code = send_code(tls_channel(port, client="client"))
    check(code == grpc.StatusCode.OK, f"mTLS: a client certificate from the CA is answered (got {code})")
    code = send_code(tls_channel(port))
    check(code == grpc.StatusCode.UNAVAILABLE, f"mTLS: a client without a certificate is UNAVAILABLE (got {code})")
    code = send_code(tls_channel(port, client="other-client"))
    check(code == grpc.StatusCode.UNAVAILABLE,
          f"mTLS: a client certificate from another CA is UNAVAILABLE (got {code})")
    status, output = cli_send(port, f"--tls_ca={path('ca.pem')}", f"--tls_cert={path('client.pem')}",
                              f"--tls_key={path('client.key')}")
    check(status == 0 and "val: server: hello, pixelpig!" in output, "mTLS: tcpgate-cli send with a client cert")
finally:
    stop(proc)

# Read once (--reload_interval=0): the same TLS, gRPC's static credentials.
proc, port = start_gateway(TCPGATE, WORK, f"--tls_cert={path('server.pem')}", f"--tls_key={path('server.key')}",
                           "--reload_interval=0")
try:
    check("transport=TLS " in log_text(proc), "read once: the start-up line says TLS, without a reload")
    check(send_code(tls_channel(port)) == grpc.StatusCode.OK, "read once: a client trusting the CA is answered")
finally:
    stop(proc)


# Rotation while the gateway runs.
def not_after(name):
    """The notAfter of a certificate file, in seconds since the epoch."""
    out = subprocess.run(["openssl", "x509", "-noout", "-enddate", "-in", path(name)], check=True,
                         capture_output=True, text=True).stdout.strip().split("=", 1)[1]
    when = datetime.datetime.strptime(out.replace("  ", " "), "%b %d %H:%M:%S %Y GMT")
    return when.replace(tzinfo=datetime.timezone.utc).timestamp()


def replace(live, source):
    """Replaces file `live` by a copy of `source` in one rename, as an operator's tool would."""
    shutil.copy(path(source), path(live + ".tmp"))
    os.replace(path(live + ".tmp"), path(live))


def answered_over(channel):
    """Send on a channel that stays open: OK when answered right."""
    try:
        answer = gateway_pb2_grpc.GatewayStub(channel).Send(REQUEST, timeout=10)
        return grpc.StatusCode.OK if answer.val == "server: hello, pixelpig!" else "wrong answer"
    except grpc.RpcError as error:
        return error.code()


make_cert("server-next", "server", ca="other-ca")  # Trusted only by clients trusting the other CA.
make_cert("client-next", "client", ca="other-ca")
replace("live.pem", "server.pem")
replace("live.key", "server.key")
replace("live-ca.pem", "ca.pem")
os.mkdir(path("stage"))
proc, port = start_gateway(TCPGATE, WORK, f"--tls_cert={path('live.pem')}", f"--tls_key={path('live.key')}",
                           f"--tls_client_ca={path('live-ca.pem')}", "--reload_interval=500ms",
                           f"--tls_stage_dir={path('stage')}")
try:
    check("files read again every 500ms" in log_text(proc), "rotation: the start-up line says the files are followed")
    held = tls_channel(port, client="client")  # Stays open across the rotation.
    check(answered_over(held) == grpc.StatusCode.OK, "rotation: a client of the first CA is answered")
    metrics = scrape(proc)
    check(metrics.get("tcpgate_tls_certificate_expiry_timestamp_seconds") == not_after("server.pem"),
          "rotation: /metrics gives the served certificate's expiry")
    check(len(os.listdir(path("stage"))) == 1, "rotation: the checked copies live in --tls_stage_dir")
    # As an operator copying files one by one: for an instant the key is not
    # the certificate's; that is no error (unless it stays for two reads, a
    # second at this interval).
    replace("live.pem", "server-next.pem")
    replace("live.key", "server-next.key")
    replace("live-ca.pem", "other-ca.pem")
    check(eventually(lambda: send_code(tls_channel(port, roots="other-ca.pem", client="client-next"))
                     == grpc.StatusCode.OK, timeout=20),
          "rotation: new connections get the new certificate, and the new client CA admits its clients")
    code = send_code(tls_channel(port, client="client"))
    check(code == grpc.StatusCode.UNAVAILABLE, f"rotation: a client trusting only the old CA no longer gets in ({code})")
    check(answered_over(held) == grpc.StatusCode.OK, "rotation: the connection opened before it is still answered")
    metrics = scrape(proc)
    check(metrics.get("tcpgate_tls_certificate_expiry_timestamp_seconds") == not_after("server-next.pem"),
          "rotation: /metrics gives the new certificate's expiry")
    loaded = (metrics.get('tcpgate_tls_reloads_total{result="loaded"}'),
              metrics.get('tcpgate_tls_reloads_total{result="refused"}'))
    check(loaded[0] >= 1 and loaded[1] == 0, f"rotation: counted as loaded, none refused (got {loaded})")
    check("serving the new certificate" in log_text(proc) and "server-next" in log_text(proc),
          "rotation: the log names the new certificate")
    # A bad rotation: a key that is not the certificate's. Not served.
    replace("live.key", "server.key")
    check(eventually(lambda: scrape(proc).get('tcpgate_tls_reloads_total{result="refused"}') == 1, timeout=20),
          "bad rotation: counted as refused")
    check("cannot be used; new connections keep the previous certificate" in log_text(proc)
          and "--tls_key is not the private key" in log_text(proc), "bad rotation: the log says why")
    before = scrape(proc).get('tcpgate_tls_reloads_total{result="loaded"}')
    # Counted as refused after two reads that could each have published it:
    # the stage gRPC reads still holds the previous pair, so gRPC cannot have
    # seen the bad one (had it, handshakes would fail from then on).
    staged = [os.path.join(path("stage"), d, "current") for d in os.listdir(path("stage"))]
    check(len(staged) == 1 and open(os.path.join(staged[0], "key.pem"), "rb").read() == read("server-next.key")
          and open(os.path.join(staged[0], "cert.pem"), "rb").read() == read("server-next.pem"),
          "bad rotation: the stage gRPC reads still holds the previous pair")
    code = send_code(tls_channel(port, roots="other-ca.pem", client="client-next"))
    check(code == grpc.StatusCode.OK, f"bad rotation: new connections still get the previous certificate ({code})")
    check(scrape(proc).get("tcpgate_tls_files_refused") == 1, "bad rotation: /metrics says the files are refused now")
    replace("live.key", "server-next.key")  # Fixed: the served content again, nothing to load.
    check(eventually(lambda: scrape(proc).get("tcpgate_tls_files_refused") == 0, timeout=20),
          "bad rotation fixed: /metrics no longer says the files are refused")
    time.sleep(1.2)  # Two reads at 500 ms: what is checked is that nothing happens.
    after = scrape(proc).get('tcpgate_tls_reloads_total{result="loaded"}')
    check(after == before, f"bad rotation fixed: the content served already is not loaded again ({before} -> {after})")
finally:
    stop(proc)
check(os.listdir(path("stage")) == [], "rotation: the checked copies are removed at exit")

# Revocation lists (--tls_client_crl), made by `openssl ca` as a CA would:
# a client whose certificate a list revokes is refused at the handshake, and
# a new list is taken up without a restart.
with open(path("ca.cnf"), "w") as f:
    f.write(f"[ca]\ndefault_ca = test_ca\n[test_ca]\ndatabase = {path('index.txt')}\n"
            "default_md = sha256\ndefault_crl_days = 1\n")
open(path("index.txt"), "w").close()
make_cert("client-revoked", "client", ca="ca")


def revoke(name):
    openssl("ca", "-config", path("ca.cnf"), "-keyfile", path("ca.key"), "-cert", path("ca.pem"),
            "-revoke", path(f"{name}.pem"))


def write_crl(name):
    openssl("ca", "-config", path("ca.cnf"), "-keyfile", path("ca.key"), "-cert", path("ca.pem"), "-gencrl",
            "-out", path(name))


revoke("client-revoked")
write_crl("crl-1.pem")
replace("live-crl.pem", "crl-1.pem")
proc, port = start_gateway(TCPGATE, WORK, f"--tls_cert={path('server.pem')}", f"--tls_key={path('server.key')}",
                           f"--tls_client_ca={path('ca.pem')}", f"--tls_client_crl={path('live-crl.pem')}",
                           "--reload_interval=200ms", f"--tls_stage_dir={path('stage')}")
try:
    check("not revoked by --tls_client_crl" in log_text(proc), "revocation: the start-up line says so")
    code = send_code(tls_channel(port, client="client"))
    check(code == grpc.StatusCode.OK, f"revocation: a client the list does not name is answered ({code})")
    code = send_code(tls_channel(port, client="client-revoked"))
    check(code == grpc.StatusCode.UNAVAILABLE, f"revocation: a revoked client is refused ({code})")
    next_update = scrape(proc).get("tcpgate_tls_client_crl_next_update_timestamp_seconds")
    check(next_update is not None and time.time() < next_update <= time.time() + 86400 + 60,
          f"revocation: /metrics gives the list's next update ({next_update})")
    held = tls_channel(port, client="client")  # Opened before the new list.
    check(answered_over(held) == grpc.StatusCode.OK, "revocation: a connection of the client, before the new list")
    revoke("client")
    write_crl("crl-2.pem")
    replace("live-crl.pem", "crl-2.pem")
    check(eventually(lambda: send_code(tls_channel(port, client="client")) == grpc.StatusCode.UNAVAILABLE, timeout=20),
          "revocation: a new list is taken up without a restart: the client it adds is refused")
    check("checked against the new revocation lists of --tls_client_crl" in log_text(proc)
          and "serving the new certificate" not in log_text(proc),
          "revocation: the log says the lists changed, not the certificate")
    check(answered_over(held) == grpc.StatusCode.OK,
          "revocation: a connection opened before the new list keeps going (the handshake is what is checked)")
    held.close()
    open(path("live-crl.pem"), "w").close()  # Emptied: must not turn revocation off.
    check(eventually(lambda: scrape(proc).get("tcpgate_tls_files_refused") == 1, timeout=20),
          "revocation: an emptied list file is refused")
    code = send_code(tls_channel(port, client="client-revoked"))
    check(code == grpc.StatusCode.UNAVAILABLE, f"revocation: after an emptied file the lists served still apply ({code})")
finally:
    stop(proc)

# Bearer token, on a TLS port.
token = secrets.token_hex(24)
same_length = secrets.token_hex(24)
with open(path("token"), "w") as f:
    f.write(token + "\n")
with open(path("wrong-token"), "w") as f:
    f.write(same_length + "\n")
proc, port = start_gateway(TCPGATE, WORK, f"--tls_cert={path('server.pem')}", f"--tls_key={path('server.key')}",
                           env={"TCPGATE_AUTH_TOKEN_FILE": path("token")})
try:
    check("auth=bearer token" in log_text(proc), "token: the start-up line says a token is needed")
    code = send_code(tls_channel(port), [("authorization", f"Bearer {token}")])
    check(code == grpc.StatusCode.OK, f"token: the right token is answered (got {code})")
    code = send_code(tls_channel(port))
    check(code == grpc.StatusCode.UNAUTHENTICATED, f"token: no token is UNAUTHENTICATED (got {code})")
    code = send_code(tls_channel(port), [("authorization", "Bearer wrong")])
    check(code == grpc.StatusCode.UNAUTHENTICATED, f"token: a wrong token is UNAUTHENTICATED (got {code})")
    code = send_code(tls_channel(port), [("authorization", f"Bearer {same_length}")])
    check(code == grpc.StatusCode.UNAUTHENTICATED,
          f"token: a wrong token of the same length is UNAUTHENTICATED (got {code})")
    try:
        channel = tls_channel(port)
        list(gateway_pb2_grpc.GatewayStub(channel).SendStream(iter([REQUEST]), timeout=10))
        code = grpc.StatusCode.OK
    except grpc.RpcError as error:
        code = error.code()
    check(code == grpc.StatusCode.UNAUTHENTICATED, f"token: SendStream without it is UNAUTHENTICATED (got {code})")
    channel = tls_channel(port)
    health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
    check(health.status in (health_pb2.HealthCheckResponse.SERVING,
                            health_pb2.HealthCheckResponse.NOT_SERVING),
          "token: grpc.health.v1 answers without a token")
    status, output = cli_send(port, f"--tls_ca={path('ca.pem')}", f"--auth_token_file={path('token')}")
    check(status == 0 and "val: server: hello, pixelpig!" in output, "token: tcpgate-cli send --auth_token_file")
    status, output = cli_send(port, f"--tls_ca={path('ca.pem')}", f"--auth_token_file={path('wrong-token')}")
    check(status == 1 and "error: UNAUTHENTICATED" in output and same_length not in output,
          "token: tcpgate-cli with a wrong token is UNAUTHENTICATED, and the token is not echoed")
    metrics = scrape(proc)
    refused = (metrics.get('tcpgate_requests_total{rpc="Send",code="UNAUTHENTICATED"}'),
               metrics.get('tcpgate_requests_total{rpc="SendStream",code="UNAUTHENTICATED"}'))
    check(refused == (4, 1), f"token: /metrics counts 4 Send and 1 SendStream UNAUTHENTICATED (got {refused})")
finally:
    stop(proc)
log = log_text(proc)
check(token not in log and same_length not in log, "token: neither token appears in the gateway's log")

# Token rotation while the gateway runs: a second token added, the old one
# removed, a bad file refused (the tokens before it stay), none in the log.
old_token, new_token = secrets.token_hex(16), secrets.token_hex(16)


def write_tokens(*lines):
    with open(path("rotating-token.tmp"), "w") as f:
        f.write("".join(line + "\n" for line in lines))
    os.replace(path("rotating-token.tmp"), path("rotating-token"))


def token_code(port, presented):
    return send_code(tls_channel(port), [("authorization", f"Bearer {presented}")])


write_tokens(old_token)
proc, port = start_gateway(TCPGATE, WORK, f"--tls_cert={path('server.pem')}", f"--tls_key={path('server.key')}",
                           f"--auth_token_file={path('rotating-token')}", "--reload_interval=200ms")
try:
    check("(--auth_token_file, 1 token)" in log_text(proc), "token rotation: the start-up line counts 1 token")
    check(token_code(port, old_token) == grpc.StatusCode.OK, "token rotation: the first token is answered")
    write_tokens(old_token, new_token)
    check(eventually(lambda: token_code(port, new_token) == grpc.StatusCode.OK, timeout=20),
          "token rotation: a token added to the file is answered without a restart")
    check(token_code(port, old_token) == grpc.StatusCode.OK, "token rotation: the old token still, beside it")
    write_tokens(new_token)
    check(eventually(lambda: token_code(port, old_token) == grpc.StatusCode.UNAUTHENTICATED, timeout=20),
          "token rotation: a token removed from the file is refused")
    write_tokens("not a token")
    check(eventually(lambda: scrape(proc).get('tcpgate_auth_token_reloads_total{result="refused"}') == 1, timeout=20),
          "token rotation: an invalid file is counted as refused")
    check(token_code(port, new_token) == grpc.StatusCode.OK,
          "token rotation: after an invalid file, the tokens before it still work")
    check(scrape(proc).get("tcpgate_auth_token_file_refused") == 1,
          "token rotation: /metrics says the file is refused now")
    loaded = scrape(proc).get('tcpgate_auth_token_reloads_total{result="loaded"}')
    check(loaded == 2, f"token rotation: two changes loaded (got {loaded})")
    check("calls are checked against the previous tokens" in log_text(proc) and "line 1" in log_text(proc),
          "token rotation: the log says why the file was not used, by line")
finally:
    stop(proc)
log = log_text(proc)
check(old_token not in log and new_token not in log and "not a token" not in log,
      "token rotation: no token, valid or not, appears in the log")

# Start-up errors: a clear message and a non-zero exit, never a listening port.
with open(path("empty-token"), "w") as f:
    f.write("\n")
for flags, message in [
        ([f"--tls_cert={path('server.pem')}"], "--tls_cert needs --tls_key"),
        ([f"--tls_key={path('server.key')}"], "--tls_key needs --tls_cert"),
        ([f"--tls_client_ca={path('ca.pem')}"], "--tls_client_ca needs --tls_cert"),
        ([f"--tls_cert={path('missing.pem')}", f"--tls_key={path('server.key')}"], "--tls_cert: cannot read"),
        ([f"--tls_cert={path('server.pem')}", f"--tls_key={path('ca.key')}"],
         "--tls_key is not the private key of the first certificate in --tls_cert"),
        ([f"--tls_cert={path('server.pem')}", f"--tls_key={path('ca.key')}", "--reload_interval=0"],
         "--tls_key is not the private key of the first certificate in --tls_cert"),
        ([f"--tls_cert={path('server.key')}", f"--tls_key={path('server.key')}"], "--tls_cert: no PEM certificate"),
        ([f"--tls_cert={path('server.pem')}", f"--tls_key={path('server.pem')}"], "--tls_key: no unencrypted PEM"),
        # A PEM block that is no certificate (a key) as the client CA: the
        # message names that flag.
        ([f"--tls_cert={path('server.pem')}", f"--tls_key={path('server.key')}",
          f"--tls_client_ca={path('server.key')}"], "--tls_client_ca: no PEM certificate"),
        ([f"--tls_cert={path('server.pem')}", f"--tls_key={path('server.key')}",
          f"--tls_stage_dir={path('missing-dir')}"], "--tls_stage_dir: cannot make a directory in"),
        ([f"--tls_cert={path('server.pem')}", f"--tls_key={path('server.key')}", "--reload_interval=10ms"],
         "--reload_interval=10ms: must be 0"),
        ([f"--tls_cert={path('server.pem')}", f"--tls_key={path('server.key')}",
          f"--tls_client_crl={path('crl-1.pem')}"], "--tls_client_crl needs --tls_client_ca"),
        ([f"--tls_cert={path('server.pem')}", f"--tls_key={path('server.key')}", f"--tls_client_ca={path('ca.pem')}",
          f"--tls_client_crl={path('crl-1.pem')}", "--reload_interval=0"],
         "--tls_client_crl needs --reload_interval above 0"),
        # A list of another CA than the bundle's.
        ([f"--tls_cert={path('server.pem')}", f"--tls_key={path('server.key')}",
          f"--tls_client_ca={path('other-ca.pem')}", f"--tls_client_crl={path('crl-1.pem')}"],
         "is not of a CA in --tls_client_ca"),
        ([f"--auth_token_file={path('empty-token')}"], "the token is empty"),
        ([f"--auth_token_file={path('missing-token')}"], "--auth_token_file: cannot read")]:
    result = subprocess.run([TCPGATE, "--listen=127.0.0.1:0", "--admin_listen=127.0.0.1:0", *flags],
                            capture_output=True, text=True, timeout=60)
    check(result.returncode != 0 and message in result.stderr and "tcpgate listening" not in result.stderr,
          f"start-up error: {' '.join(f.split('/')[-1] for f in flags)} exits {result.returncode}: {message!r}")

check.exit()
