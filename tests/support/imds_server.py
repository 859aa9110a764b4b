#!/usr/bin/python3
"""An EC2 instance-metadata responder (IMDSv2) for tests, on loopback.

    imds_server.py [--port 0] [--role NAME] --credentials KEY:SECRET:TOKEN [--expires-in SECONDS]

Answers what the AWS SDKs ask for, and nothing else:
  PUT /latest/api/token  (needs X-aws-ec2-metadata-token-ttl-seconds)  -> a session token
  GET /latest/meta-data/iam/security-credentials/        (needs X-aws-ec2-metadata-token) -> the role name
  GET /latest/meta-data/iam/security-credentials/<role>  (same)  -> {"Code": "Success", "AccessKeyId": ...,
      "SecretAccessKey": ..., "Token": ..., "Expiration": now + expires-in}
A request without a valid token gets 401, as IMDSv2 answers. Every time the role's keys are fetched the
key id gets a suffix "-<n>" (n = 1, 2, ...) unless --same-keys, so a test can see a refresh; the S3 test
server accepts such keys when given the same KEY as a prefix rule (see s3_server.py --credentials).
Prints "imds_server listening on 127.0.0.1:PORT" when ready; logs one line per request to stderr.
"""
import argparse
import datetime
import http.server
import json
import secrets
import sys
import threading


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--role", default="bakrest-backup-restore")
    parser.add_argument("--credentials", required=True, help="KEY:SECRET:TOKEN")
    parser.add_argument("--expires-in", type=int, default=3600)
    parser.add_argument("--same-keys", action="store_true")
    args = parser.parse_args()
    key, secret, token = args.credentials.split(":", 2)
    tokens = set()
    fetches = [0]
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def reply(self, status, body=b"", content_type="text/plain"):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def authorized(self):
            return self.headers.get("X-aws-ec2-metadata-token") in tokens

        def do_PUT(self):
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            if self.path != "/latest/api/token":
                return self.reply(404)
            if not self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
                return self.reply(400)
            session = secrets.token_hex(16)
            with lock:
                tokens.add(session)
            self.reply(200, session.encode())

        def do_GET(self):
            base = "/latest/meta-data/iam/security-credentials/"
            if not self.path.startswith(base):
                return self.reply(404)
            if not self.authorized():
                return self.reply(401)
            role = self.path[len(base):]
            if role == "":
                return self.reply(200, args.role.encode())
            if role != args.role:
                return self.reply(404)
            with lock:
                fetches[0] += 1
                n = fetches[0]
            expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=args.expires_in)
            doc = {
                "Code": "Success",
                "LastUpdated": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "Type": "AWS-HMAC",
                "AccessKeyId": key if args.same_keys else "%s-%d" % (key, n),
                "SecretAccessKey": secret,
                "Token": token,
                "Expiration": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
            self.reply(200, json.dumps(doc).encode(), "application/json")

        def log_message(self, fmt, *values):
            sys.stderr.write("imds_server: " + (fmt % values) + "\n")

    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print("imds_server listening on 127.0.0.1:%d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
