#!/usr/bin/python3
"""A strict S3-compatible server for tests, on loopback, storing to a directory.

    s3_server.py --root DIR [--port 0] [--host 127.0.0.1]
                 [--credentials KEY:SECRET[:SESSION_TOKEN]]... [--bucket NAME:REGION]...
                 [--deny RULE]... [--no-conditional-writes] [--min-part-size BYTES] [--expired-token KEY]
                 [--accept-session-keys]
                 [--quiet] [--tls-cert PEM --tls-key PEM]

Prints "s3_server listening on 127.0.0.1:PORT" once it accepts connections (port 0: a free one), and (unless
--quiet) one line per request to stderr (method, target, status, request id). Everything lives under --root
(objects, their ETags, open multipart uploads), written by rename, so a server killed with SIGKILL and started
again on the same root has the same objects and the same unfinished uploads.

Strict where S3 is strict, so that a client that passes here is right about S3:
- SigV4 (Authorization header) is verified: unknown key 403 InvalidAccessKeyId, wrong signature 403
  SignatureDoesNotMatch, x-amz-date and x-amz-content-sha256 required, a payload hash that is not the body's
  400 XAmzContentSHA256Mismatch, a key registered with a session token needs x-amz-security-token (403
  InvalidToken); --expired-token KEY makes that key's requests 400 ExpiredToken. --accept-session-keys: a key
  this server does not know that is a temporary one (ASIA...), whose request signs x-amz-security-token, is
  let in without its signature checked, as only an STS that shares its secrets with S3 could check it (the
  tests check who issued it instead). A request signed for another
  region than the bucket's gets 400 AuthorizationHeaderMalformed naming the region (HEAD: the status and the
  x-amz-bucket-region header, as AWS answers). Without any --credentials, requests need not be signed.
- Content-MD5 is checked (400 InvalidDigest, 400 BadDigest); ETags are quoted MD5s, a multipart object's the MD5
  of its parts' MD5s and "-<parts>".
- Multipart: part numbers 1..10000; completion needs ascending parts (InvalidPartOrder) that exist with their
  ETags (InvalidPart) and, but for the last, at least --min-part-size bytes (EntityTooSmall; default 5 MiB).
- If-None-Match: * on PutObject and CompleteMultipartUpload: 412 PreconditionFailed when the key exists (ignored
  with --no-conditional-writes, as older endpoints do). If-Match on GET/HEAD: 412 on another ETag.
- Ranges: bytes=a-b, a-, -n; 206 with Content-Range; a start at or past the end 416 InvalidRange.
- ListObjectsV2 pages hold at most 1000 keys (max-keys), in UTF-8 byte order, with continuation tokens.
Path-style (/bucket/key) and virtual-host (Host: bucket.localhost:PORT) addressing. Operations: HeadBucket,
GetBucketLocation, CreateBucket, DeleteBucket, ListObjectsV2, PutObject, GetObject, HeadObject, DeleteObject,
CreateMultipartUpload, UploadPart, CompleteMultipartUpload, AbortMultipartUpload, ListMultipartUploads. Anything
else is 501 NotImplemented.

--deny RULE refuses with 403 AccessDenied: "get:PREFIX" (GetObject/HeadObject of keys starting with PREFIX),
"put:PREFIX" (PutObject and multipart uploads), "list:BUCKET" (ListObjectsV2, ListMultipartUploads),
"all:BUCKET" (every request on the bucket).
"""
import argparse
import base64
import datetime
import hashlib
import hmac
import http.server
import json
import os
import secrets
import ssl
import sys
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

NS = "http://s3.amazonaws.com/doc/2006-03-01/"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
CHUNK = 1 << 20


class S3Error(Exception):
    def __init__(self, status, code, message, headers=None, region=None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}
        self.region = region


def iso(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + \
        "%03dZ" % int((t % 1) * 1000)


def http_date(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%a, %d %b %Y %H:%M:%S GMT")


def write_json(path, doc):
    tmp = path + ".tmp-" + secrets.token_hex(4)
    with open(tmp, "w") as f:
        json.dump(doc, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class Store:
    """Buckets, objects and uploads under root. Object data and metadata are named by the SHA-256 of the key
    (keys may be 1024 bytes, longer than a file name); the metadata holds the key."""

    def __init__(self, root):
        self.root = root
        self.lock = threading.Lock()
        for d in ("buckets", "uploads", "tmp"):
            os.makedirs(os.path.join(root, d), exist_ok=True)
        for name in os.listdir(os.path.join(root, "tmp")):
            os.unlink(os.path.join(root, "tmp", name))

    def tmp_path(self):
        return os.path.join(self.root, "tmp", secrets.token_hex(8))

    def bucket_dir(self, bucket):
        return os.path.join(self.root, "buckets", bucket)

    def region(self, bucket):
        try:
            with open(os.path.join(self.bucket_dir(bucket), "bucket.json")) as f:
                return json.load(f)["region"]
        except FileNotFoundError:
            return None

    def create_bucket(self, bucket, region):
        with self.lock:
            existing = self.region(bucket)
            if existing is not None:
                return existing
            os.makedirs(os.path.join(self.bucket_dir(bucket), "objects"), exist_ok=True)
            write_json(os.path.join(self.bucket_dir(bucket), "bucket.json"), {"region": region})
            return None

    def object_path(self, bucket, key):
        return os.path.join(self.bucket_dir(bucket), "objects", hashlib.sha256(key.encode()).hexdigest())

    def head(self, bucket, key):
        try:
            with open(self.object_path(bucket, key) + ".json") as f:
                return json.load(f)
        except FileNotFoundError:
            return None

    def publish(self, bucket, key, data_file, etag, size, if_none_match):
        """Moves data_file in as the object, atomically; if_none_match: fail if the key exists."""
        with self.lock:
            if if_none_match and self.head(bucket, key) is not None:
                os.unlink(data_file)
                raise S3Error(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
            path = self.object_path(bucket, key)
            # Data first, then the metadata that makes it visible; a reader opens the data by the metadata's
            # generation, so a replaced object is never read half old, half new.
            generation = secrets.token_hex(6)
            os.replace(data_file, path + "." + generation)
            old = self.head(bucket, key)
            write_json(path + ".json", {"key": key, "etag": etag, "size": size, "mtime": time.time(),
                                        "generation": generation})
            if old and old.get("generation") != generation:
                try:
                    os.unlink(path + "." + old["generation"])
                except FileNotFoundError:
                    pass

    def data_file(self, bucket, key, meta):
        return self.object_path(bucket, key) + "." + meta["generation"]

    def delete(self, bucket, key):
        with self.lock:
            meta = self.head(bucket, key)
            if meta is None:
                return
            path = self.object_path(bucket, key)
            os.unlink(path + ".json")
            try:
                os.unlink(path + "." + meta["generation"])
            except FileNotFoundError:
                pass

    def keys(self, bucket):
        d = os.path.join(self.bucket_dir(bucket), "objects")
        out = []
        for name in os.listdir(d):
            if name.endswith(".json") and ".tmp-" not in name:
                try:
                    with open(os.path.join(d, name)) as f:
                        out.append(json.load(f))
                except (FileNotFoundError, ValueError):
                    pass
        out.sort(key=lambda m: m["key"].encode())
        return out

    # Multipart uploads: uploads/<id>/upload.json and a file per part.
    def upload_dir(self, upload_id):
        if not upload_id or not all(c in "0123456789abcdef" for c in upload_id):
            raise S3Error(404, "NoSuchUpload", "The specified upload does not exist. The upload ID may be invalid, "
                                               "or the upload may have been aborted or completed.")
        return os.path.join(self.root, "uploads", upload_id)

    def upload(self, bucket, key, upload_id):
        d = self.upload_dir(upload_id)
        try:
            with open(os.path.join(d, "upload.json")) as f:
                doc = json.load(f)
        except FileNotFoundError:
            doc = None
        if doc is None or doc["bucket"] != bucket or doc["key"] != key:
            raise S3Error(404, "NoSuchUpload", "The specified upload does not exist. The upload ID may be invalid, "
                                               "or the upload may have been aborted or completed.")
        return d, doc

    def start_upload(self, bucket, key):
        upload_id = secrets.token_hex(16)
        d = self.upload_dir(upload_id)
        os.makedirs(d)
        write_json(os.path.join(d, "upload.json"), {"bucket": bucket, "key": key, "initiated": time.time()})
        return upload_id

    def uploads(self, bucket):
        out = []
        base = os.path.join(self.root, "uploads")
        for upload_id in os.listdir(base):
            try:
                with open(os.path.join(base, upload_id, "upload.json")) as f:
                    doc = json.load(f)
            except (FileNotFoundError, NotADirectoryError, ValueError):
                continue
            if doc["bucket"] == bucket:
                out.append((doc["key"], upload_id, doc["initiated"]))
        out.sort(key=lambda u: (u[0].encode(), u[2], u[1]))
        return out

    def end_upload(self, upload_id):
        d = self.upload_dir(upload_id)
        with self.lock:
            for name in os.listdir(d):
                os.unlink(os.path.join(d, name))
            os.rmdir(d)


def uri_encode(text, encode_slash):
    return urllib.parse.quote(text, safe="/~" if not encode_slash else "~")


def canonical_query(raw_query):
    pairs = urllib.parse.parse_qsl(raw_query, keep_blank_values=True)
    encoded = sorted((uri_encode(k, True), uri_encode(v, True)) for k, v in pairs)
    return "&".join("%s=%s" % kv for kv in encoded)


def signing_key(secret, date, region, service):
    k = hmac.new(("AWS4" + secret).encode(), date.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    return k


def main():
    parser = argparse.ArgumentParser(description="A strict S3-compatible server for tests.")
    parser.add_argument("--root", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--credentials", action="append", default=[], help="KEY:SECRET[:SESSION_TOKEN]")
    parser.add_argument("--bucket", action="append", default=[], help="NAME:REGION, created at start")
    parser.add_argument("--deny", action="append", default=[], help="get:PREFIX, put:PREFIX, list:BUCKET, all:BUCKET")
    parser.add_argument("--no-conditional-writes", action="store_true")
    parser.add_argument("--min-part-size", type=int, default=5 * 1024 * 1024)
    parser.add_argument("--expired-token", action="append", default=[])
    parser.add_argument("--quiet", action="store_true", help="no line per request on stderr (for benchmarks)")
    parser.add_argument("--accept-session-keys", action="store_true",
                        help="let in temporary keys (ASIA...) it does not know, unchecked")
    parser.add_argument("--tls-cert", help="serve HTTPS with this certificate chain (PEM)")
    parser.add_argument("--tls-key", help="the private key of --tls-cert (PEM)")
    args = parser.parse_args()

    store = Store(args.root)
    for spec in args.bucket:
        name, region = spec.split(":", 1)
        store.create_bucket(name, region)
    keys = {}
    for spec in args.credentials:
        parts = spec.split(":", 2)
        keys[parts[0]] = (parts[1], parts[2] if len(parts) > 2 else None)
    denials = [tuple(rule.split(":", 1)) for rule in args.deny]

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "bakrest-s3-test"

        def log_message(self, fmt, *values):
            pass

        # --- replies --------------------------------------------------------------------------------------
        def send(self, status, body=b"", headers=None, content_type="application/xml"):
            self.send_response(status)
            self.send_header("x-amz-request-id", self.request_id)
            self.send_header("x-amz-id-2", base64.b64encode(self.request_id.encode()).decode())
            self.send_header("Date", http_date(time.time()))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            if body or self.command != "HEAD":
                self.send_header("Content-Type", content_type)
            if "Content-Length" not in (headers or {}):
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD" and body:
                self.wfile.write(body)
            self.status = status

        def send_error_reply(self, e):
            if self.command == "HEAD":
                return self.send(e.status, b"", e.headers)
            region = "<Region>%s</Region>" % escape(e.region) if e.region else ""
            body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code><Message>%s</Message>'
                    '<Resource>%s</Resource>%s<RequestId>%s</RequestId></Error>' % (
                        e.code, escape(e.message), escape(self.path.split("?")[0]), region,
                        self.request_id)).encode()
            self.send(e.status, body, e.headers)

        def xml(self, root_name, inner):
            return ('<?xml version="1.0" encoding="UTF-8"?>\n<%s xmlns="%s">%s</%s>' % (
                root_name, NS, inner, root_name)).encode()

        # --- the request ------------------------------------------------------------------------------------
        def handle_any(self):
            self.request_id = secrets.token_hex(8).upper()
            self.status = 0
            self.body_file = None
            try:
                self.read_body()
                self.route()
            except S3Error as e:
                self.send_error_reply(e)
            except (ConnectionError, BrokenPipeError):
                self.close_connection = True
                self.status = "disconnected"
            except Exception as e:  # a bug in this server: say so loudly, as S3's InternalError
                import traceback
                traceback.print_exc()
                try:
                    self.send_error_reply(S3Error(500, "InternalError", "test server bug: %r" % e))
                except OSError:
                    self.close_connection = True
            finally:
                if self.body_file and os.path.exists(self.body_file):
                    os.unlink(self.body_file)
                if not args.quiet:
                    sys.stderr.write("s3_server: %s %s %s %s\n" % (self.command, self.path, self.status,
                                                                    self.request_id))

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any

        def read_body(self):
            """Streams the body to a temp file (PUT and POST) computing its MD5 and SHA-256."""
            length = self.headers.get("Content-Length")
            if self.headers.get("Transfer-Encoding"):
                self.close_connection = True
                raise S3Error(501, "NotImplemented", "Transfer-Encoding is not supported by this test server")
            self.md5, self.sha256, self.size = hashlib.md5(), hashlib.sha256(), 0
            if length is None:
                if self.command in ("PUT", "POST"):
                    self.close_connection = True
                    raise S3Error(411, "MissingContentLength", "You must provide the Content-Length HTTP header.")
                return
            remaining = int(length)
            self.body_file = store.tmp_path()
            with open(self.body_file, "wb") as f:
                while remaining > 0:
                    chunk = self.rfile.read(min(CHUNK, remaining))
                    if not chunk:
                        raise ConnectionError("the client sent less than its Content-Length")
                    f.write(chunk)
                    self.md5.update(chunk)
                    self.sha256.update(chunk)
                    remaining -= len(chunk)
                    self.size += len(chunk)

        def body_bytes(self, limit=1 << 20):
            if self.size > limit:
                raise S3Error(400, "MalformedXML", "The XML you provided was too large")
            with open(self.body_file, "rb") as f:
                return f.read()

        def route(self):
            target = urllib.parse.urlsplit(self.path)
            raw_path, self.raw_query = target.path, target.query
            self.query = dict(urllib.parse.parse_qsl(target.query, keep_blank_values=True))
            host = (self.headers.get("Host") or "").rsplit(":", 1)[0]
            path = urllib.parse.unquote(raw_path)
            if host.endswith(".localhost"):
                bucket, key = host[: -len(".localhost")], path[1:]
            else:
                bucket, _, key = path[1:].partition("/")
            self.bucket, self.key = bucket, key
            self.authenticate(raw_path)
            if not bucket:
                raise S3Error(501, "NotImplemented", "ListBuckets is not implemented by this test server")
            if self.command == "PUT" and not key:
                return self.create_bucket()
            region = store.region(bucket)
            if region is None:
                if self.command == "HEAD":
                    raise S3Error(404, "NoSuchBucket", "")
                raise S3Error(404, "NoSuchBucket", "The specified bucket does not exist")
            if self.scope_region and self.scope_region != region:
                raise S3Error(400, "AuthorizationHeaderMalformed",
                              "The authorization header is malformed; the region '%s' is wrong; expecting '%s'" % (
                                  self.scope_region, region), {"x-amz-bucket-region": region}, region=region)
            self.check_denied("all", bucket)
            q = self.query
            if not key:
                if self.command == "HEAD":
                    return self.send(200, b"", {"x-amz-bucket-region": region})
                if self.command == "GET" and "location" in q:
                    return self.send(200, self.xml("LocationConstraint", "" if region == "us-east-1" else region))
                if self.command == "GET" and "uploads" in q:
                    return self.list_uploads()
                if self.command == "GET" and q.get("list-type") == "2":
                    return self.list_objects()
                if self.command == "DELETE" and not q:
                    return self.delete_bucket()
                raise S3Error(501, "NotImplemented", "This bucket operation is not implemented by this test server")
            if len(key.encode()) > 1024:
                raise S3Error(400, "KeyTooLongError", "Your key is too long")
            if self.command == "PUT" and "partNumber" in q and "uploadId" in q:
                return self.upload_part()
            if self.command == "PUT" and not q:
                if self.headers.get("x-amz-copy-source"):
                    raise S3Error(501, "NotImplemented", "CopyObject is not implemented by this test server")
                return self.put_object()
            if self.command == "POST" and "uploads" in q:
                return self.create_upload()
            if self.command == "POST" and "uploadId" in q:
                return self.complete_upload()
            if self.command == "DELETE" and "uploadId" in q:
                return self.abort_upload()
            if self.command == "DELETE" and not q:
                store.delete(bucket, key)
                return self.send(204)
            if self.command in ("GET", "HEAD") and not ({"uploadId", "partNumber", "acl", "tagging"} & set(q)):
                return self.get_object()
            raise S3Error(501, "NotImplemented", "This object operation is not implemented by this test server")

        # --- SigV4 ---------------------------------------------------------------------------------------------
        def authenticate(self, raw_path):
            self.scope_region = None
            auth = self.headers.get("Authorization")
            if not keys:
                return
            if not auth:
                raise S3Error(403, "AccessDenied", "Access Denied (the request is not signed)")
            if not auth.startswith("AWS4-HMAC-SHA256 "):
                raise S3Error(400, "InvalidArgument", "Only AWS4-HMAC-SHA256 is supported")
            fields = {}
            for item in auth[len("AWS4-HMAC-SHA256 "):].split(","):
                name, _, value = item.strip().partition("=")
                fields[name] = value
            try:
                key_id, date, region, service, terminator = fields["Credential"].split("/")
                signed = fields["SignedHeaders"].split(";")
                signature = fields["Signature"]
            except (KeyError, ValueError):
                raise S3Error(400, "AuthorizationHeaderMalformed", "The authorization header is malformed")
            if (key_id not in keys and args.accept_session_keys and key_id.startswith("ASIA")
                    and "x-amz-security-token" in signed and self.headers.get("x-amz-security-token")):
                self.scope_region = region
                return
            if key_id not in keys:
                raise S3Error(403, "InvalidAccessKeyId",
                              "The AWS Access Key Id you provided does not exist in our records.")
            secret, token = keys[key_id]
            amz_date = self.headers.get("x-amz-date")
            payload = self.headers.get("x-amz-content-sha256")
            if not amz_date or "x-amz-date" not in signed or "host" not in signed:
                raise S3Error(403, "AccessDenied", "x-amz-date and host must be signed")
            if not payload:
                raise S3Error(400, "InvalidRequest", "Missing required header for this request: x-amz-content-sha256")
            if service != "s3" or terminator != "aws4_request" or amz_date[:8] != date:
                raise S3Error(400, "AuthorizationHeaderMalformed", "The credential scope is malformed")
            canonical_headers = ""
            for name in signed:
                value = self.headers.get(name)
                if value is None:
                    raise S3Error(403, "SignatureDoesNotMatch", "A signed header is missing: " + name)
                canonical_headers += "%s:%s\n" % (name, " ".join(value.strip().split()))
            canonical = "\n".join([self.command, uri_encode(urllib.parse.unquote(raw_path), False),
                                   canonical_query(self.raw_query), canonical_headers, ";".join(signed), payload])
            to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, "/".join([date, region, service, terminator]),
                                 hashlib.sha256(canonical.encode()).hexdigest()])
            expected = hmac.new(signing_key(secret, date, region, service), to_sign.encode(), hashlib.sha256).hexdigest()
            if not hmac.compare_digest(expected, signature):
                raise S3Error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the "
                                                            "signature you provided. Check your key and signing method.")
            if key_id in args.expired_token:
                raise S3Error(400, "ExpiredToken", "The provided token has expired.")
            if token is not None and self.headers.get("x-amz-security-token") != token:
                raise S3Error(403, "InvalidToken", "The provided token is malformed or otherwise invalid.")
            if payload not in ("UNSIGNED-PAYLOAD",) and not payload.startswith("STREAMING-"):
                if payload != self.sha256.hexdigest():
                    raise S3Error(400, "XAmzContentSHA256Mismatch",
                                  "The provided 'x-amz-content-sha256' header does not match what was computed.")
            self.scope_region = region

        def check_denied(self, kind, subject):
            for rule_kind, value in denials:
                if rule_kind == kind and (subject == value if kind in ("all", "list") else subject.startswith(value)):
                    raise S3Error(403, "AccessDenied", "Access Denied")

        def check_md5(self):
            given = self.headers.get("Content-MD5")
            if given is None:
                return
            try:
                digest = base64.b64decode(given, validate=True)
            except ValueError:
                digest = b""
            if len(digest) != 16:
                raise S3Error(400, "InvalidDigest", "The Content-MD5 you specified was invalid.")
            if digest != self.md5.digest():
                raise S3Error(400, "BadDigest", "The Content-MD5 you specified did not match what we received.")

        def if_none_match(self):
            value = self.headers.get("If-None-Match")
            if value is None or args.no_conditional_writes:
                return False
            if value.strip() != "*":
                raise S3Error(501, "NotImplemented", "Only If-None-Match: * is supported on writes")
            return True

        # --- buckets --------------------------------------------------------------------------------------------
        def create_bucket(self):
            region = "us-east-1"
            if self.size:
                try:
                    root = ET.fromstring(self.body_bytes())
                    node = root.find("{%s}LocationConstraint" % NS)
                    if node is None:
                        node = root.find("LocationConstraint")
                    if node is not None and node.text:
                        region = node.text
                except ET.ParseError:
                    raise S3Error(400, "MalformedXML", "The XML you provided was not well-formed")
            existing = store.create_bucket(self.bucket, region)
            if existing is not None:
                raise S3Error(409, "BucketAlreadyOwnedByYou", "Your previous request to create the named bucket "
                                                              "succeeded and you already own it.")
            self.send(200, b"", {"Location": "/" + self.bucket})

        def delete_bucket(self):
            if store.keys(self.bucket) or store.uploads(self.bucket):
                raise S3Error(409, "BucketNotEmpty", "The bucket you tried to delete is not empty")
            d = store.bucket_dir(self.bucket)
            os.unlink(os.path.join(d, "bucket.json"))
            os.rmdir(os.path.join(d, "objects"))
            os.rmdir(d)
            self.send(204)

        def list_objects(self):
            self.check_denied("list", self.bucket)
            q = self.query
            prefix = q.get("prefix", "")
            try:
                max_keys = min(int(q.get("max-keys", "1000")), 1000)
            except ValueError:
                raise S3Error(400, "InvalidArgument", "max-keys is not an integer")
            after = q.get("start-after", "")
            token = q.get("continuation-token")
            if token is not None:
                try:
                    after = base64.urlsafe_b64decode(token.encode()).decode()
                except ValueError:
                    raise S3Error(400, "InvalidArgument", "The continuation token provided is incorrect")
            if q.get("delimiter"):
                raise S3Error(501, "NotImplemented", "delimiter is not implemented by this test server")
            matching = [m for m in store.keys(self.bucket)
                        if m["key"].startswith(prefix) and m["key"].encode() > after.encode()]
            page = matching[:max_keys]
            truncated = len(matching) > len(page)
            inner = "<Name>%s</Name><Prefix>%s</Prefix><KeyCount>%d</KeyCount><MaxKeys>%d</MaxKeys>" \
                    "<IsTruncated>%s</IsTruncated>" % (escape(self.bucket), escape(prefix), len(page), max_keys,
                                                       "true" if truncated else "false")
            if token is not None:
                inner += "<ContinuationToken>%s</ContinuationToken>" % escape(token)
            if truncated:
                inner += "<NextContinuationToken>%s</NextContinuationToken>" % \
                    base64.urlsafe_b64encode(page[-1]["key"].encode()).decode()
            for m in page:
                inner += "<Contents><Key>%s</Key><LastModified>%s</LastModified><ETag>&quot;%s&quot;</ETag>" \
                         "<Size>%d</Size><StorageClass>STANDARD</StorageClass></Contents>" % (
                             escape(m["key"]), iso(m["mtime"]), m["etag"], m["size"])
            self.send(200, self.xml("ListBucketResult", inner))

        def list_uploads(self):
            self.check_denied("list", self.bucket)
            q = self.query
            prefix, key_marker, id_marker = q.get("prefix", ""), q.get("key-marker", ""), q.get("upload-id-marker", "")
            max_uploads = min(int(q.get("max-uploads", "1000")), 1000)
            uploads = [u for u in store.uploads(self.bucket) if u[0].startswith(prefix)]
            if key_marker:
                uploads = [u for u in uploads if u[0].encode() > key_marker.encode() or
                           (u[0] == key_marker and id_marker and (u[2], u[1]) > self.initiated_of(id_marker))]
            page = uploads[:max_uploads]
            truncated = len(uploads) > len(page)
            inner = "<Bucket>%s</Bucket><KeyMarker>%s</KeyMarker><UploadIdMarker>%s</UploadIdMarker>" \
                    "<Prefix>%s</Prefix><MaxUploads>%d</MaxUploads><IsTruncated>%s</IsTruncated>" % (
                        escape(self.bucket), escape(key_marker), escape(id_marker), escape(prefix), max_uploads,
                        "true" if truncated else "false")
            if truncated:
                inner += "<NextKeyMarker>%s</NextKeyMarker><NextUploadIdMarker>%s</NextUploadIdMarker>" % (
                    escape(page[-1][0]), page[-1][1])
            for key, upload_id, initiated in page:
                inner += "<Upload><Key>%s</Key><UploadId>%s</UploadId><Initiated>%s</Initiated>" \
                         "<StorageClass>STANDARD</StorageClass></Upload>" % (escape(key), upload_id, iso(initiated))
            self.send(200, self.xml("ListMultipartUploadsResult", inner))

        def initiated_of(self, upload_id):
            try:
                with open(os.path.join(store.upload_dir(upload_id), "upload.json")) as f:
                    return (json.load(f)["initiated"], upload_id)
            except (FileNotFoundError, S3Error):
                return (0, upload_id)

        # --- objects --------------------------------------------------------------------------------------------
        def put_object(self):
            self.check_denied("put", self.key)
            self.check_md5()
            conditional = self.if_none_match()
            etag = self.md5.hexdigest()
            body, self.body_file = self.body_file, None
            store.publish(self.bucket, self.key, body, etag, self.size, conditional)
            self.send(200, b"", {"ETag": '"%s"' % etag})

        def get_object(self):
            self.check_denied("get", self.key)
            meta = store.head(self.bucket, self.key)
            if meta is None:
                raise S3Error(404, "NoSuchKey", "The specified key does not exist.")
            etag = '"%s"' % meta["etag"]
            if_match = self.headers.get("If-Match")
            if if_match is not None and if_match.strip() not in (etag, "*", meta["etag"]):
                raise S3Error(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
            size = meta["size"]
            start, end, status = 0, size, 200
            headers = {"ETag": etag, "Last-Modified": http_date(meta["mtime"]), "Accept-Ranges": "bytes"}
            rng = self.headers.get("Range")
            if rng:
                start, end = self.parse_range(rng, size)
                status = 206
                headers["Content-Range"] = "bytes %d-%d/%d" % (start, end - 1, size)
            headers["Content-Length"] = str(end - start)
            try:
                f = open(store.data_file(self.bucket, self.key, meta), "rb")
            except FileNotFoundError:  # replaced between reading the metadata and opening: as S3, the new one
                raise S3Error(503, "SlowDown", "Please reduce your request rate.")
            with f:
                self.send_response(status)
                self.send_header("x-amz-request-id", self.request_id)
                self.send_header("Content-Type", "application/octet-stream")
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.status = status
                if self.command == "HEAD":
                    return
                f.seek(start)
                remaining = end - start
                while remaining > 0:
                    chunk = f.read(min(CHUNK, remaining))
                    self.wfile.write(chunk)
                    remaining -= len(chunk)

        def parse_range(self, text, size):
            unit, _, spec = text.partition("=")
            if unit.strip() != "bytes" or "," in spec:
                raise S3Error(400, "InvalidArgument", "Only one byte range is supported")
            first, _, last = spec.strip().partition("-")
            try:
                if first == "":
                    n = int(last)
                    return max(0, size - n), size
                start = int(first)
                end = size if last == "" else min(size, int(last) + 1)
            except ValueError:
                raise S3Error(400, "InvalidArgument", "The range is malformed")
            if start >= size or end <= start:
                raise S3Error(416, "InvalidRange", "The requested range is not satisfiable",
                              {"Content-Range": "bytes */%d" % size})
            return start, end

        def create_upload(self):
            self.check_denied("put", self.key)
            upload_id = store.start_upload(self.bucket, self.key)
            self.send(200, self.xml("InitiateMultipartUploadResult", "<Bucket>%s</Bucket><Key>%s</Key>"
                                    "<UploadId>%s</UploadId>" % (escape(self.bucket), escape(self.key), upload_id)))

        def upload_part(self):
            self.check_denied("put", self.key)
            try:
                number = int(self.query["partNumber"])
            except ValueError:
                number = 0
            if not 1 <= number <= 10000:
                raise S3Error(400, "InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive")
            d, _ = store.upload(self.bucket, self.key, self.query["uploadId"])
            self.check_md5()
            etag = self.md5.hexdigest()
            body, self.body_file = self.body_file, None
            with store.lock:
                if not os.path.isdir(d):
                    os.unlink(body)
                    raise S3Error(404, "NoSuchUpload", "The specified upload does not exist.")
                write_json(os.path.join(d, "%05d.json" % number), {"etag": etag, "size": self.size})
                os.replace(body, os.path.join(d, "%05d.part" % number))
            self.send(200, b"", {"ETag": '"%s"' % etag})

        def complete_upload(self):
            self.check_denied("put", self.key)
            upload_id = self.query["uploadId"]
            d, _ = store.upload(self.bucket, self.key, upload_id)
            try:
                root = ET.fromstring(self.body_bytes())
            except ET.ParseError:
                raise S3Error(400, "MalformedXML", "The XML you provided was not well-formed or did not validate "
                                                   "against our published schema")
            parts = []
            for part in root.iter():
                if part.tag.split("}")[-1] != "Part":
                    continue
                fields = {child.tag.split("}")[-1]: (child.text or "") for child in part}
                try:
                    parts.append((int(fields["PartNumber"]), fields["ETag"].strip().strip('"')))
                except (KeyError, ValueError):
                    raise S3Error(400, "MalformedXML", "A Part lacks PartNumber or ETag")
            if not parts:
                raise S3Error(400, "MalformedXML", "The XML you provided did not list any parts")
            numbers = [n for n, _ in parts]
            if numbers != sorted(numbers) or len(set(numbers)) != len(numbers):
                raise S3Error(400, "InvalidPartOrder", "The list of parts was not in ascending order. The parts list "
                                                       "must be specified in order by part number.")
            metas = []
            for i, (n, etag) in enumerate(parts):
                try:
                    with open(os.path.join(d, "%05d.json" % n)) as f:
                        meta = json.load(f)
                except FileNotFoundError:
                    meta = None
                if meta is None or meta["etag"] != etag:
                    raise S3Error(400, "InvalidPart", "One or more of the specified parts could not be found. The part "
                                                      "may not have been uploaded, or the specified entity tag may not "
                                                      "match the part's entity tag.")
                if i < len(parts) - 1 and meta["size"] < args.min_part_size:
                    raise S3Error(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size")
                metas.append(meta)
            conditional = self.if_none_match()
            combined = store.tmp_path()
            digests = b""
            size = 0
            with open(combined, "wb") as out:
                for n, _ in parts:
                    with open(os.path.join(d, "%05d.part" % n), "rb") as f:
                        while True:
                            chunk = f.read(CHUNK)
                            if not chunk:
                                break
                            out.write(chunk)
                            size += len(chunk)
                for meta in metas:
                    digests += bytes.fromhex(meta["etag"])
            etag = "%s-%d" % (hashlib.md5(digests).hexdigest(), len(parts))
            store.publish(self.bucket, self.key, combined, etag, size, conditional)
            store.end_upload(upload_id)
            self.send(200, self.xml("CompleteMultipartUploadResult", "<Location>http://%s/%s/%s</Location>"
                                    "<Bucket>%s</Bucket><Key>%s</Key><ETag>&quot;%s&quot;</ETag>" % (
                                        escape(self.headers.get("Host", "")), escape(self.bucket), escape(self.key),
                                        escape(self.bucket), escape(self.key), etag)))

        def abort_upload(self):
            upload_id = self.query["uploadId"]
            store.upload(self.bucket, self.key, upload_id)
            store.end_upload(upload_id)
            self.send(204)

    class Server(http.server.ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 64

    server = Server((args.host, args.port), Handler)
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    print("s3_server listening on %s:%d" % (args.host, server.server_address[1]), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
