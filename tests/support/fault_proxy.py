#!/usr/bin/python3
"""A fault-injecting HTTP reverse proxy for tests: a client sends its S3 requests here, the proxy forwards them
unchanged (Host included, so SigV4 signatures still verify) to --target, and breaks the requests its rules name.
It also takes requests in a forward proxy's absolute form (`GET http://host/path`, from a client whose
http_proxy names it), sending them to --target as `GET /path`; the log marks them "proxied".

    fault_proxy.py --target 127.0.0.1:PORT [--port 0]

Prints "fault_proxy listening on 127.0.0.1:PORT control 127.0.0.1:CPORT" once ready. Bodies are streamed (never
held whole), client connections are kept alive; each forwarded request uses a new connection to the target.

Control, on the control port (JSON):
  POST /rules {"rules": [RULE, ...]}  replaces the rules      DELETE /rules  clears them
  GET /log   every request so far: [{"method", "path", "status", "fault", "proxied", "key_id", "token"}]
             (key_id: the access key ID of the request's SigV4 Credential, token: whether it carried
             x-amz-security-token)   DELETE /log  clears it
RULE: {"fault": NAME, "method": "PUT", "match": "partNumber=3&", "times": N, "every": K, "after_bytes": B,
"seconds": S}; all but "fault" optional. "match" is a substring of the request target (path and query);
"times": only the first N matching requests; "every": only every K-th. The first rule that matches (and whose
fault applies to the request) decides; a request no rule takes is forwarded as it is.
Faults:
  status_500            500 InternalError (S3's XML with a request id), not forwarded
  status_503_slowdown   503 SlowDown with Retry-After: 1, not forwarded
  status_403            403 AccessDenied, not forwarded
  complete_error        (POST with uploadId= only) 200 OK whose body is an S3 <Error> InternalError, not forwarded
  reset_request         read after_bytes (default: half) of the request body, then reset the connection (RST)
  reset_response        forward; send the reply's headers and after_bytes (default: half) of its body, then RST
  stall                 forward; send headers and after_bytes (default 0) of the body, then nothing for `seconds`
                        (default 60) with the connection open, then close it
  truncate              forward; send headers (with the true Content-Length) and after_bytes (default: half) of
                        the body, then close the connection normally
  delay                 wait `seconds` (default 5), then forward normally
"""
import argparse
import http.server
import json
import secrets
import socket
import struct
import sys
import threading
import time

CHUNK = 1 << 20
FAULTS = {"status_500", "status_503_slowdown", "status_403", "complete_error", "reset_request", "reset_response",
          "stall", "truncate", "delay"}


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.rules = []  # [rule, matched, applied]
        self.log = []

    def choose(self, method, target):
        with self.lock:
            for entry in self.rules:
                rule = entry[0]
                if rule.get("method") and rule["method"] != method:
                    continue
                if rule.get("match") and rule["match"] not in target:
                    continue
                if rule["fault"] == "complete_error" and not (method == "POST" and "uploadId=" in target):
                    continue
                entry[1] += 1
                if rule.get("every") and entry[1] % int(rule["every"]) != 0:
                    continue
                if rule.get("times") is not None and entry[2] >= int(rule["times"]):
                    continue
                entry[2] += 1
                return rule
        return None


state = State()


def read_head(f):
    """The request or status line and the headers, as (line, [(name, value)]); None at end of stream."""
    line = f.readline(65536)
    if not line:
        return None
    headers = []
    while True:
        h = f.readline(65536)
        if not h or h in (b"\r\n", b"\n"):
            break
        name, _, value = h.decode("latin-1").partition(":")
        headers.append((name.strip(), value.strip()))
    return line.decode("latin-1").rstrip("\r\n"), headers


def header(headers, name):
    for k, v in headers:
        if k.lower() == name:
            return v
    return None


def head_bytes(line, headers):
    return (line + "\r\n" + "".join("%s: %s\r\n" % kv for kv in headers) + "\r\n").encode("latin-1")


def copy(src, dst, n):
    """Copies n bytes from file src to socket dst (dst None: discard); returns the count copied."""
    done = 0
    while done < n:
        chunk = src.read(min(CHUNK, n - done))
        if not chunk:
            break
        if dst is not None:
            dst.sendall(chunk)
        done += len(chunk)
    return done


def reset(sock):
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def xml_error(status, code, message, extra=()):
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code><Message>%s</Message>'
            '<RequestId>PROXY%s</RequestId></Error>' % (code, message, secrets.token_hex(6).upper())).encode()
    reason = {200: "OK", 403: "Forbidden", 500: "Internal Server Error", 503: "Service Unavailable"}[status]
    headers = [("Content-Type", "application/xml"), ("Content-Length", str(len(body))),
               ("x-amz-request-id", "PROXY" + secrets.token_hex(6).upper())] + list(extra)
    return head_bytes("HTTP/1.1 %d %s" % (status, reason), headers) + body


def serve_client(client, target):
    f = client.makefile("rb")
    try:
        while True:
            head = read_head(f)
            if head is None:
                return
            line, headers = head
            method, path, version = line.split(" ", 2)
            # The absolute form of a client that uses this as its forward proxy (http_proxy): sent on to the
            # target in origin form.
            proxied = path.startswith("http://")
            if proxied:
                rest = path[len("http://"):]
                path = rest[rest.find("/"):] if "/" in rest else "/"
                line = "%s %s %s" % (method, path, version)
            length = int(header(headers, "content-length") or 0)
            rule = state.choose(method, path)
            fault = rule["fault"] if rule else None
            credential = (header(headers, "authorization") or "").partition("Credential=")[2]
            entry = {"method": method, "path": path, "status": None, "fault": fault, "proxied": proxied,
                     "key_id": credential.split("/")[0] if credential else None,
                     "token": header(headers, "x-amz-security-token") is not None}
            with state.lock:
                state.log.append(entry)
            canned = {"status_500": (500, "InternalError", "We encountered an internal error. Please try again.", ()),
                      "status_503_slowdown": (503, "SlowDown", "Please reduce your request rate.",
                                              (("Retry-After", "1"),)),
                      "status_403": (403, "AccessDenied", "Access Denied", ()),
                      "complete_error": (200, "InternalError", "We encountered an internal error. Please try again.",
                                         ())}
            if fault in canned:
                copy(f, None, length)
                status, code, message, extra = canned[fault]
                client.sendall(xml_error(status, code, message, extra))
                entry["status"] = status
                continue
            if fault == "reset_request":
                copy(f, None, int(rule.get("after_bytes", length // 2)))
                entry["status"] = "reset"
                reset(client)
                return
            if fault == "delay":
                time.sleep(float(rule.get("seconds", 5)))
            upstream = socket.create_connection(target)
            try:
                upstream.sendall(head_bytes(line, headers))
                if copy(f, upstream, length) < length:
                    return  # the client went away mid-body
                uf = upstream.makefile("rb")
                reply = read_head(uf)
                if reply is None:
                    reset(client)
                    return
                status_line, reply_headers = reply
                status = int(status_line.split(" ")[1])
                entry["status"] = status
                body_length = header(reply_headers, "content-length")
                no_body = method == "HEAD" or status in (204, 304)
                n = 0 if no_body else int(body_length) if body_length is not None else None
                client.sendall(head_bytes(status_line, reply_headers))
                if fault in ("reset_response", "stall", "truncate") and not no_body and n:
                    default = 0 if fault == "stall" else n // 2
                    copy(uf, client, min(n, int(rule.get("after_bytes", default))))
                    if fault == "reset_response":
                        reset(client)
                    elif fault == "stall":
                        time.sleep(float(rule.get("seconds", 60)))
                        client.close()
                    else:
                        client.shutdown(socket.SHUT_RDWR)
                        client.close()
                    return
                if n is None:
                    while True:
                        chunk = uf.read(CHUNK)
                        if not chunk:
                            break
                        client.sendall(chunk)
                    client.close()
                    return
                copy(uf, client, n)
                uf.close()
            finally:
                upstream.close()
            if (header(headers, "connection") or "").lower() == "close":
                return
    except (ConnectionError, OSError):
        return
    finally:
        try:
            f.close()
            client.close()
        except OSError:
            pass


class Control(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def reply(self, status, doc=None):
        body = json.dumps(doc if doc is not None else {}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path != "/rules":
            return self.reply(404)
        try:
            rules = json.loads(body)["rules"]
            bad = [r for r in rules if r.get("fault") not in FAULTS]
        except (ValueError, KeyError, AttributeError):
            return self.reply(400, {"error": "expected {\"rules\": [...]}"})
        if bad:
            return self.reply(400, {"error": "unknown faults", "rules": bad})
        with state.lock:
            state.rules = [[r, 0, 0] for r in rules]
        self.reply(200, {"rules": len(rules)})

    def do_DELETE(self):
        with state.lock:
            if self.path == "/rules":
                state.rules = []
            elif self.path == "/log":
                state.log = []
            else:
                return self.reply(404)
        self.reply(200)

    def do_GET(self):
        if self.path != "/log":
            return self.reply(404)
        with state.lock:
            log = list(state.log)
        self.reply(200, log)

    def log_message(self, fmt, *values):
        pass


def main():
    parser = argparse.ArgumentParser(description="A fault-injecting HTTP reverse proxy for tests.")
    parser.add_argument("--target", required=True, help="HOST:PORT")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    host, port = args.target.rsplit(":", 1)
    target = (host, int(port))

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", args.port))
    listener.listen(64)
    control = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Control)
    control.daemon_threads = True
    threading.Thread(target=control.serve_forever, daemon=True).start()
    print("fault_proxy listening on 127.0.0.1:%d control 127.0.0.1:%d" % (listener.getsockname()[1],
                                                                        control.server_address[1]), flush=True)
    while True:
        client, _ = listener.accept()
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=serve_client, args=(client, target), daemon=True).start()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
