"""The S3 side of the S3 integration tests: the strict S3 test server (tests/support/s3_server.py), the
fault-injecting proxy in front of it (tests/support/fault_proxy.py), an instance-metadata responder
(tests/support/imds_server.py), boto3 straight to the server for checking what is there, and instance.toml
text whose aws_example_bucket lives on that server (through the proxy). Every process is started here on a
free loopback port and ended by its pid."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request

import harness

SUPPORT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support")
KEY_ID = "AKIDBAKRESTIT"
SECRET = "it-s3cr3t/0123456789+abcdefghij"
BUCKET = "aws_example_bucket"


def _start(argv, ready):
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=sys.stderr.fileno())
    line = proc.stdout.readline().decode()
    if not line.startswith(ready):
        proc.kill()
        proc.wait()
        raise RuntimeError("%s did not start: %r" % (argv[1], line))
    return proc, line


def _port(text):
    return int(text.split("127.0.0.1:")[1].split()[0])


def make_certificates(directory):
    """A CA and a server certificate it signed for IP 127.0.0.1, by Debian's openssl; returns the CA's, the
    certificate's and its key's paths."""
    def openssl(*args):
        subprocess.run(["openssl"] + list(args), check=True, capture_output=True, timeout=60)
    ca_key, ca = os.path.join(directory, "ca.key"), os.path.join(directory, "ca.pem")
    key, csr = os.path.join(directory, "server.key"), os.path.join(directory, "server.csr")
    cert, ext = os.path.join(directory, "server.pem"), os.path.join(directory, "server.ext")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca, "-days", "2",
            "-subj", "/CN=bakrest test CA")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1")
    with open(ext, "w") as f:
        f.write("subjectAltName = IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", cert,
            "-days", "2", "-extfile", ext)
    return ca, cert, key


class S3World:
    """An S3 server with buckets aws_example_bucket (us-east-1) and other-region-bucket (eu-west-1); keys
    under secret/ cannot be read. A proxy in front of it."""

    def __init__(self, extra_keys=(), server_args=(), tls=False):
        """tls: the server speaks HTTPS with a certificate for 127.0.0.1 (not "localhost") signed by a CA made
        for the test (ca_file), and there is no proxy."""
        self.dir = tempfile.mkdtemp(prefix="bakrest-s3-it-")
        self.extra_keys = list(extra_keys)
        self.server_args = list(server_args)
        self.server = self.proxy = None
        self.ca_file = None
        if tls:
            self.ca_file, cert, key = make_certificates(self.dir)
            self.server_args += ["--tls-cert", cert, "--tls-key", key]
        self.start_server()
        if not tls:
            self.proxy, line = _start([sys.executable, os.path.join(SUPPORT, "fault_proxy.py"), "--target",
                                       "127.0.0.1:%d" % self.port, "--port", "0"], "fault_proxy listening on")
            self.proxy_port = _port(line)
            self.control_port = _port(line.split("control")[1])

    def start_server(self):
        argv = [sys.executable, os.path.join(SUPPORT, "s3_server.py"), "--root", os.path.join(self.dir, "s3"),
                "--port", str(getattr(self, "port", 0)), "--credentials", "%s:%s" % (KEY_ID, SECRET),
                "--bucket", BUCKET + ":us-east-1", "--bucket", "other-region-bucket:eu-west-1",
                "--deny", "get:secret/"] + self.server_args
        for k in self.extra_keys:
            argv += ["--credentials", k]
        self.server, line = _start(argv, "s3_server listening on")
        self.port = _port(line)

    def endpoint(self, through_proxy=True, host="127.0.0.1"):
        if self.ca_file:
            return "https://%s:%d" % (host, self.port)
        return "http://%s:%d" % (host, self.proxy_port if through_proxy else self.port)

    def boto3(self):
        import boto3
        from botocore.config import Config
        return boto3.client("s3", endpoint_url=self.endpoint(False), aws_access_key_id=KEY_ID,
                            aws_secret_access_key=SECRET, region_name="us-east-1", verify=self.ca_file,
                            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}))

    def keys(self, prefix=""):
        out = []
        for page in self.boto3().get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
            out += [o["Key"] for o in page.get("Contents", [])]
        return out

    def open_uploads(self, prefix=""):
        reply = self.boto3().list_multipart_uploads(Bucket=BUCKET, Prefix=prefix)
        return [u["Key"] for u in reply.get("Uploads", [])]

    def copy_object(self, bucket, source_key, target_key):
        """What harness.Server.copy_object does in the local store, on S3 (by GET and PUT)."""
        s3 = self.boto3()
        body = s3.get_object(Bucket=bucket, Key=source_key)["Body"].read()
        s3.put_object(Bucket=bucket, Key=target_key, Body=body)

    def faults(self, *rules):
        body = json.dumps({"rules": list(rules)}).encode()
        req = urllib.request.Request("http://127.0.0.1:%d/rules" % self.control_port, data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=10).read()

    def requests(self):
        """Every request the proxy saw since clear_log(): [{"method", "path", "status", "fault", "proxied"}]."""
        with urllib.request.urlopen("http://127.0.0.1:%d/log" % self.control_port, timeout=10) as r:
            return json.loads(r.read())

    def applied(self):
        return [e for e in self.requests() if e.get("fault")]

    def proxy_url(self):
        return "http://127.0.0.1:%d" % self.proxy_port

    def clear_log(self):
        req = urllib.request.Request("http://127.0.0.1:%d/log" % self.control_port, method="DELETE")
        urllib.request.urlopen(req, timeout=10).read()

    def cleanup(self):
        for proc in (self.proxy, self.server):
            if proc and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            if proc:
                proc.stdout.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()


def bucket_toml(name, endpoint, region="us-east-1", keys=True, **settings):
    """A [[buckets]] table of type s3; keys=False leaves credentials to the default chain."""
    lines = ["", "[[buckets]]", 'name = "%s"' % name, 'type = "s3"', 'endpoint = "%s"' % endpoint,
             'region = "%s"' % region]
    if keys:
        lines += ['access_key_id = "%s"' % KEY_ID, 'secret_access_key = "%s"' % SECRET]
    for k, v in settings.items():
        lines.append("%s = %s" % (k, json.dumps(v) if isinstance(v, str) else str(v).lower()
                                  if isinstance(v, bool) else v))
    return "\n".join(lines) + "\n"


def config(world, keys=True, through_proxy=True, extra_buckets="", limits=None, max_transfer_mb_per_sec=0,
           **settings):
    """instance.toml text: region us-east-1, aws_example_bucket on the S3 server (small parts that grow
    quickly, short retry windows, so that tests see multipart growth and give-ups in seconds)."""
    defaults = {"part_size_mb": 5, "parts_per_size": 4, "max_attempts": 4, "retry_seconds": 20,
                "low_speed_seconds": 3, "read_chunk_mb": 4}
    defaults.update(settings)
    # On the server, other-region-bucket is in eu-west-1: HeadBucket says so, whatever region bakrest signs for.
    buckets = (bucket_toml(BUCKET, world.endpoint(through_proxy), keys=keys, **defaults) +
               bucket_toml("other-region-bucket", world.endpoint(through_proxy), keys=keys, **defaults) +
               extra_buckets)
    return harness.config_text(limits=limits, buckets=buckets, instance_id="bakrest-s3-test",
                               max_transfer_mb_per_sec=max_transfer_mb_per_sec)
