"""Shared by the Python process-level tests of tcpgate: gRPC stubs generated
from proto/ at test time, the real binary started on a free port, and
ok/FAIL bookkeeping. Needs Debian's python3-grpcio and python3-grpc-tools
(run with /usr/bin/python3).
"""
import atexit
import faulthandler
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request


def begin_test(root, prefix, stuck_after):
    """What every process-level test does first: arms a watchdog (a test
    still running `stuck_after` seconds from now is stuck, so it prints every
    thread's Python stack and exits 1, before ctest's TIMEOUT, which must be
    longer, kills it without a word), makes a scratch directory named
    `prefix`..., and generates the gRPC stubs there, importable. Returns the
    directory."""
    faulthandler.dump_traceback_later(stuck_after, exit=True)
    work = tempfile.mkdtemp(prefix=prefix)
    generate_stubs(root, work)
    return work


def generate_stubs(root, work):
    """Generates the Gateway and Health stubs into `work` and makes them importable."""
    subprocess.run(
        # The health proto from its own directory: as grpc/health/v1/, its
        # module would sit inside the grpc package and could not be imported.
        [sys.executable, "-m", "grpc_tools.protoc", f"-I{root}/proto", f"-I{root}/proto/grpc/health/v1",
         f"--python_out={work}", f"--grpc_python_out={work}",
         "tcpgate/v1/gateway.proto", "health.proto"],
        check=True)
    sys.path.insert(0, work)


# Every process spawn() started, killed at exit if still running.
_spawned = []


@atexit.register
def _kill_leftovers():
    """However a test ends (a failed check, an uncaught exception), nothing
    it started outlives it: a process left running keeps ctest's output pipe
    open, which turned one failure into a silent 120 s TIMEOUT."""
    for proc in _spawned:
        if proc.poll() is None:
            proc.kill()


def spawn(work, name, argv, env=None, **popen_args):
    """Starts `argv` with its stderr in a new file under `work`; returns the
    process, with proc.name = `name` and proc.log = that file (see log_text).
    `env` is added to the environment."""
    log = open(os.path.join(work, f"{name}-{len(os.listdir(work))}.log"), "w+")
    proc = subprocess.Popen(argv, stderr=log, env=None if env is None else {**os.environ, **env}, **popen_args)
    proc.name = name
    proc.log = log
    _spawned.append(proc)
    return proc


def eventually(condition, timeout=10):
    """Polls `condition` every 20 ms until it holds (True) or `timeout` s pass (False)."""
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            return False
        time.sleep(0.02)
    return True


def wait_log(proc, pattern, timeout=10):
    """Polls the log of a process from spawn() until `pattern` appears;
    returns the match, or None if the process exits or `timeout` s pass first."""
    match = None

    def found_or_exited():
        nonlocal match
        exited = proc.poll() is not None  # Before reading: its last line counts.
        match = re.search(pattern, log_text(proc))
        return match or exited

    eventually(found_or_exited, timeout)
    return match


def start_gateway(tcpgate, work, *flags, env=None, launcher=()):
    """Starts tcpgate with its gRPC and admin ports on 127.0.0.1:0 and returns
    (process, gRPC port) once it logs both; process.admin is the admin port,
    process.log the file holding its stderr. `launcher` is a command that
    execs tcpgate in its own process (e.g. prlimit with its options)."""
    proc = spawn(work, "gateway",
                 [*launcher, tcpgate, "--listen=127.0.0.1:0", "--admin_listen=127.0.0.1:0", *flags], env=env)
    port = wait_log(proc, r"tcpgate listening on 127\.0\.0\.1:(\d+)")
    admin = port and wait_log(proc, r"admin listening on 127\.0\.0\.1:(\d+)")
    if not admin:
        raise SystemExit("FAIL: tcpgate did not report its ports:\n" + log_text(proc))
    proc.admin = int(admin.group(1))
    return proc, int(port.group(1))


def open_fds(proc):
    """How many file descriptors the process has open now."""
    return len(os.listdir(f"/proc/{proc.pid}/fd"))


def peak_rss_kib(proc):
    """The process's peak resident memory so far (VmHWM), in KiB."""
    return int(re.search(r"VmHWM:\s+(\d+)", open(f"/proc/{proc.pid}/status").read()).group(1))


def stop(proc):
    """SIGTERM; the gateway must exit 0."""
    proc.terminate()
    code = proc.wait(timeout=20)
    # The log's end says why (a sanitizer's report, a drain that timed out).
    assert code == 0, f"tcpgate did not exit 0 on SIGTERM (exit {code}); its log ends:\n" + log_text(proc)[-6000:]


def scrape(proc):
    """The gateway's /metrics page as {'name{labels}': value}."""
    with urllib.request.urlopen(f"http://127.0.0.1:{proc.admin}/metrics", timeout=5) as page:
        text = page.read().decode()
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def log_text(proc):
    proc.log.seek(0)
    return proc.log.read()


def finish(failures, work=None):
    """Ends a test: prints PASS, or FAILED with the failures, and exits 0 or 1.
    `work` (the test's log directory) is removed on a pass and kept, with its
    path printed, on a failure; any other way out keeps it too."""
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures) + (f"\nlogs in {work}" if work else ""), flush=True)
        sys.exit(1)
    if work:
        shutil.rmtree(work, ignore_errors=True)
    print("PASS", flush=True)
    sys.exit(0)


class Checks:
    """Prints one ok/FAIL line per check and remembers the failures; exit()
    ends the test through finish(), removing `work` on a pass."""

    def __init__(self, work=None):
        self.failures = []
        self.work = work

    def __call__(self, condition, what):
        print(("ok   " if condition else "FAIL ") + what, flush=True)
        if not condition:
            self.failures.append(what)

    def exit(self):
        finish(self.failures, self.work)
