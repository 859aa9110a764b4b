"""Starts a real `bakrest serve` in a temporary data directory on a free loopback port, for one test.

Every test script takes the bakrest binary as its first argument. Only processes started here are ended,
by their pid.
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

USER = "admin"
PASSWORD = "Test-Passw0rd!"
# The master login's access key for the control endpoint (BAKREST_MASTER_ACCESS_KEY_ID / ..._SECRET_...).
ACCESS_KEY_ID = "AKIABAKRESTTESTKEY01"
SECRET_ACCESS_KEY = "bakrest-test-secret-access-key/0123456789"


class Server:
    def __init__(self, binary, data_dir=None, config_text=None, keep_data=False, umask=None, env=None):
        self.binary = binary
        self.env = env  # variables to set (a value of None removes one) in the server's environment
        self.owns_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="bakrest-it-")
        self.keep_data = keep_data
        if config_text is not None:
            self.write_config(config_text)
        self.umask = umask  # the server's umask at start (None: this process's)
        self.proc = None
        self.port = None

    def start(self):
        env = dict(os.environ, BAKREST_MASTER_USER=USER, BAKREST_MASTER_PASSWORD=PASSWORD,
                   BAKREST_MASTER_ACCESS_KEY_ID=ACCESS_KEY_ID, BAKREST_MASTER_SECRET_ACCESS_KEY=SECRET_ACCESS_KEY)
        for name, value in (self.env or {}).items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        self.log = open(os.path.join(self.data_dir, "server-output.log"), "ab")
        preexec = (lambda: os.umask(self.umask)) if self.umask is not None else None
        self.proc = subprocess.Popen([self.binary, "serve", "--data", self.data_dir, "--port", "0", "--control-port", "0"],
                                     stdout=subprocess.PIPE, stderr=self.log, env=env, preexec_fn=preexec)
        line = self.proc.stdout.readline().decode()
        if "listening on" not in line:
            # Never leave a half-started server behind.
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            self.proc.stdout.close()  # reaped: stop() has nothing left to do
            self.log.close()
            raise RuntimeError("server did not start: %r (see %s)" % (line, self.log.name))
        self.port = int(line.split("listening on ")[1].split()[0].rsplit(":", 1)[1])
        # The other start-up lines, up to the TLS certificate's, which comes last.
        self.startup_lines = [line]
        while not line.startswith("TLS certificate"):
            line = self.proc.stdout.readline().decode()
            if not line:
                raise RuntimeError("the server's start-up lines ended early: %r" % self.startup_lines)
            self.startup_lines.append(line)
        self.control_url = None  # the control endpoint, unless [control] enabled = false
        for l in self.startup_lines:
            if "--endpoint-url " in l:
                self.control_url = l.split("--endpoint-url ")[1].split()[0]
        return self

    def stop(self):
        """Shuts the server down as an operator would (SIGTERM); a shutdown that does not exit 0 fails the
        test — under ASan+UBSan that is how a leak or a sanitizer report reaches the test's result."""
        if not self.proc or self.proc.stdout.closed:
            return
        hung = False
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                hung = True
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.log.close()
        if hung or self.proc.returncode != 0:
            with open(self.log.name, "rb") as f:
                tail = f.read()[-4000:].decode(errors="replace")
            raise RuntimeError("the server %s (exit status %s); the end of %s:\n%s" % (
                "did not stop within 30 s of SIGTERM" if hung else "did not shut down cleanly",
                self.proc.returncode, self.log.name, tail))

    def kill(self):
        """Ends the server the hard way, as a crash would."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc.stdout.close()
        self.log.close()

    def cleanup(self):
        try:
            self.stop()
        finally:
            # A server that did not stop cleanly still leaves no directory behind (stop() raised with the
            # end of its log already).
            if self.owns_dir and not self.keep_data:
                shutil.rmtree(self.data_dir, ignore_errors=True)

    def write_config(self, text):
        with open(os.path.join(self.data_dir, "instance.toml"), "w") as f:
            f.write(text)

    def store_path(self, bucket, key=""):
        return os.path.join(self.data_dir, "store", bucket, "objects", key)

    def copy_object(self, bucket, source_key, target_key):
        """Copies an object inside the instance's local store, as `aws s3 cp` between two keys would."""
        shutil.copyfile(self.store_path(bucket, source_key), self.store_path(bucket, target_key))

    def tmp_files(self, bucket):
        d = os.path.join(self.data_dir, "store", bucket, "tmp")
        return os.listdir(d) if os.path.isdir(d) else []

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.cleanup()
            raise

    def __exit__(self, *exc):
        self.cleanup()


def store_mode():
    """"s3" when the test runs with aws_example_bucket on the S3 test server (BAKREST_TEST_STORE=s3, as ctest's
    *_s3 variants of some tests run them), else "local"."""
    return os.environ.get("BAKREST_TEST_STORE", "local")


class Store:
    """Where a test's aws_example_bucket lives: the instance's local store, or (store_mode() == "s3") the S3
    test server behind the fault proxy (s3_support.S3World). config() is the instance.toml to start with;
    attach(server) gives the server S3's copy_object."""

    def __init__(self, **config_overrides):
        self.world = None
        if store_mode() == "s3":
            import s3_support
            self.world = s3_support.S3World()
            self.text = s3_support.config(self.world, **config_overrides)
        else:
            self.text = config_text(**config_overrides)

    def attach(self, server):
        if self.world:
            server.copy_object = self.world.copy_object
        return server

    def cleanup(self):
        if self.world:
            self.world.cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()


def memory_mib(pid, field="VmHWM"):
    """A process's memory in MiB from /proc/<pid>/status: VmHWM (peak resident, the default), VmRSS, RssAnon..."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise ValueError("/proc/%d/status has no %s" % (pid, field))


def reset_peak_memory(pid):
    """Starts VmHWM again from the current resident size (proc(5), clear_refs), to measure one phase's peak."""
    with open("/proc/%d/clear_refs" % pid, "w") as f:
        f.write("5")


def sanitized(binary):
    """Whether binary is an AddressSanitizer build (its memory use is then much larger: shadow memory and the
    quarantine of freed blocks)."""
    try:
        out = subprocess.run(["ldd", binary], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return "libasan" in out


def binary_from_argv():
    if len(sys.argv) < 2:
        sys.exit("usage: %s path/to/bakrest" % sys.argv[0])
    return os.path.abspath(sys.argv[1])


def wait_for(predicate, timeout=120, interval=0.2, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("timed out waiting for " + what)


class Checks:
    """Counts checks and prints the closing 'N passed, N failed' line."""

    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.prefix = ""  # put before each failure, e.g. the client a part of a test runs through

    def check(self, condition, what):
        if condition:
            self.passed += 1
        else:
            self.failed += 1
            print("FAIL:", self.prefix + ": " + what if self.prefix else what, flush=True)

    def equal(self, actual, expected, what):
        self.check(actual == expected, "%s: expected %r, got %r" % (what, expected, actual))

    def contains(self, text, part, what):
        self.check(text is not None and part in text, "%s: %r not in %r" % (what, part, text))

    def finish(self):
        print("%d passed, %d failed" % (self.passed, self.failed), flush=True)
        sys.exit(1 if self.failed else 0)


def config_text(limits=None, buckets=None, **overrides):
    """A complete instance.toml like the default one, with top-level or [storage] values replaced, and
    a [limits] section from the limits dict if given. buckets: [[buckets]] tables (TOML text) in place of the
    default local aws_example_bucket and other-region-bucket."""
    values = {
        "instance_id": "bakrest-test",
        "region": "us-east-1",
        "edition": "standard",
        "max_transfer_mb_per_sec": 0,
        "bucket_region": "us-east-1",
        "account": "123456789012",
    }
    values.update(overrides)
    return """instance_id = "{instance_id}"
region = "{region}"
account = "{account}"
edition = "{edition}"
time_zone = "UTC"

[server]
host = "127.0.0.1"
port = 0

[storage]
max_transfer_mb_per_sec = {max_transfer_mb_per_sec}
""".format(**values) + (buckets if buckets is not None else """
[[buckets]]
name = "aws_example_bucket"
region = "{bucket_region}"

[[buckets]]
name = "other-region-bucket"
region = "eu-west-1"
""".format(**values)) + ("\n[limits]\n" + "".join("%s = %s\n" % kv for kv in (limits or {}).items())
                        if limits else "")
