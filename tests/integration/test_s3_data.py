"""Backups on an S3 bucket, through pymssql and the real server, with the S3 test server behind the fault proxy:
(a) a database of a few hundred MB, so multipart uploads grow their parts, downloaded byte for byte by
`aws s3 cp` and boto3 (the ETag is the MD5 of the parts bakrest sent), and a copy uploaded by `aws s3 cp`
restores; (b) one fault of each kind during a backup and its restore (500, 503 SlowDown, resets in both
directions, a stall, an error inside a 200 CompleteMultipartUpload, a truncated GET): both succeed with
identical rows; (c) a fault on every request: the task ends ERROR naming the operation, key, HTTP status, S3's
code and the request id, and leaves neither an object nor an open upload; (d) SIGKILL during a multipart
upload: after the restart neither an object nor an open upload remains; (e) wildcard restores list the bucket
through every page of ListObjectsV2: one match restores, more than 1,000 give RDS's more-than-10 message."""
import concurrent.futures
import hashlib
import os
import shutil
import subprocess
import tempfile

import json
import urllib.request

import harness
import s3_support
import seed_flow
from clients import PymssqlClient, exec_text

checks = harness.Checks()
binary = harness.binary_from_argv()
ARN = "arn:aws:s3:::aws_example_bucket/"
MiB = 1 << 20
# Below the 300 MB database, so that a backup that kept its parts after sending them would pass the bound.
MAX_BUFFER_MB = 100
LARGEST_PART_MIB = 80  # 5 MiB parts doubling every 4 (s3_support.config): 5, 10, 20, 40, 80


def status(c, task_id):
    return c.query("exec msdb.dbo.rds_task_status @task_id=%d" % task_id)[0]


def submit_backup(c, db, key):
    return c.proc("msdb.dbo.rds_backup_database", {"@source_db_name": db, "@s3_arn_to_backup_to": ARN + key,
                                                   "@overwrite_s3_backup_file": 1, "@type": "FULL"})[0][0]


def backup(c, db, key):
    return seed_flow.wait_task(c, submit_backup(c, db, key), timeout=600)


def restore(c, db, key):
    rows = c.proc("msdb.dbo.rds_restore_database", {"@restore_db_name": db, "@s3_arn_to_restore_from": ARN + key})
    return seed_flow.wait_task(c, rows[0][0], timeout=600)


def make_database(c, name, blob_mib):
    """seed_flow's items table and blob_mib MiB of random blobs (so the backup is about that large)."""
    seed_flow.create_source(c, name)
    c.batch("CREATE TABLE %s.dbo.blobs (id INT PRIMARY KEY, b VARBINARY(MAX))" % name)
    for start in range(0, blob_mib, 50):
        count = min(50, blob_mib - start)
        c.batch("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d) "
                "INSERT INTO %s.dbo.blobs SELECT %d + i, randomblob(1048576) FROM n" % (count, name, start))


def same_rows(c, a, b, what):
    for table, order in (("items", "id"), ("blobs", "id")):
        checks.check(c.query("SELECT * FROM %s.dbo.%s ORDER BY %s" % (a, table, order)) ==
                     c.query("SELECT * FROM %s.dbo.%s ORDER BY %s" % (b, table, order)),
                     "%s: %s rows equal" % (what, table))


def part_sizes(total, first_mib=5, per_size=4):
    """The part sizes S3Store uses for an object of `total` bytes (docs/OPERATIONS.md, "S3 buckets")."""
    sizes, n = [], 0
    while total > 0:
        size = min(total, (first_mib * MiB) << (n // per_size))
        sizes.append(size)
        total -= size
        n += 1
    return sizes


def multipart_etag(data, sizes):
    digests, at = b"", 0
    for size in sizes:
        digests += hashlib.md5(data[at:at + size]).digest()
        at += size
    return "%s-%d" % (hashlib.md5(digests).hexdigest(), len(sizes))


def aws_cli(world, *args):
    env = dict(os.environ, AWS_ACCESS_KEY_ID=s3_support.KEY_ID, AWS_SECRET_ACCESS_KEY=s3_support.SECRET,
               AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null")
    out = subprocess.run(["/usr/bin/aws", "--endpoint-url", world.endpoint(False), "s3"] + list(args), env=env,
                         capture_output=True, text=True, timeout=600)
    checks.equal(out.returncode, 0, "aws s3 %s (%s)" % (" ".join(args), out.stderr.strip()[-500:]))


def memory_bound_check(pid, before, what):
    """The server's peak memory in a transfer stays within the bucket's max_buffer_mb — or two of the largest
    parts, the least a multipart upload holds — plus slack for threads, SQLite's cache and the allocator."""
    bound = before + max(MAX_BUFFER_MB, 2 * LARGEST_PART_MIB) + 48
    if harness.sanitized(binary):
        bound += 320  # AddressSanitizer keeps up to 256 MiB of freed blocks in quarantine
    peak = harness.memory_mib(pid)
    checks.check(peak < bound, "%s: peak memory %.0f MiB stays under %.0f MiB" % (what, peak, bound))
    print("%s: peak memory %.0f MiB (before %.0f MiB, bound %.0f MiB)" % (what, peak, before, bound), flush=True)


def large_objects(world, c, pid, scratch):
    """(a): multipart with growing parts, and interop both ways; memory bounded by max_buffer_mb."""
    make_database(c, "bigdb", 300)
    before = harness.memory_mib(pid, "VmRSS")
    harness.reset_peak_memory(pid)
    done = backup(c, "bigdb", "big/full.bak")
    checks.equal(done[5], "SUCCESS", "300 MB backup to S3 (task_info: %s)" % done[6])
    memory_bound_check(pid, before, "300 MB backup")
    head = world.boto3().head_object(Bucket=s3_support.BUCKET, Key="big/full.bak")
    size = head["ContentLength"]
    checks.check(size > 300 * MiB, "the backup holds the 300 MB: %d bytes" % size)

    downloaded = os.path.join(scratch, "full.bak")
    aws_cli(world, "cp", "s3://%s/big/full.bak" % s3_support.BUCKET, downloaded)
    with open(downloaded, "rb") as f:
        by_cli = f.read()
    by_boto3 = world.boto3().get_object(Bucket=s3_support.BUCKET, Key="big/full.bak")["Body"].read()
    checks.equal(len(by_cli), size, "aws s3 cp downloads every byte")
    checks.check(hashlib.sha256(by_cli).digest() == hashlib.sha256(by_boto3).digest(),
                 "aws s3 cp and boto3 download the same bytes")
    sizes = part_sizes(size)
    checks.check(len(set(sizes)) >= 3, "the part size grew: %r" % sorted(set(sizes)))
    checks.equal(head["ETag"].strip('"'), multipart_etag(by_cli, sizes),
                 "the ETag is the MD5 of the parts bakrest sent, in its part sizes")
    del by_boto3

    aws_cli(world, "cp", downloaded, "s3://%s/big/uploaded-by-aws-cli.bak" % s3_support.BUCKET)
    done = restore(c, "bigdb_from_cli", "big/uploaded-by-aws-cli.bak")
    checks.equal(done[5], "SUCCESS", "restore of a backup uploaded by aws s3 cp (task_info: %s)" % done[6])
    same_rows(c, "bigdb", "bigdb_from_cli", "restored from the aws-cli upload")
    before = harness.memory_mib(pid, "VmRSS")
    harness.reset_peak_memory(pid)
    done = restore(c, "bigdb_copy", "big/full.bak")
    checks.equal(done[5], "SUCCESS", "restore of the 300 MB backup (task_info: %s)" % done[6])
    memory_bound_check(pid, before, "300 MB restore")
    checks.equal(c.query("SELECT count(*) FROM bigdb_copy.dbo.blobs")[0][0], 300, "blobs restored")
    for db in ("bigdb", "bigdb_from_cli", "bigdb_copy"):
        c.batch("USE master")
        c.batch("DROP DATABASE " + db)


def one_fault_of_each_kind(world, c):
    """(b)"""
    world.clear_log()
    rules = [
        {"fault": "status_503_slowdown", "match": "partNumber=1&", "times": 1},
        {"fault": "status_500", "match": "partNumber=2&", "times": 1},
        {"fault": "reset_request", "match": "partNumber=3&", "times": 1},
        {"fault": "complete_error", "times": 1},
        {"fault": "reset_response", "method": "GET", "match": "/faulty.bak", "times": 1},
        {"fault": "truncate", "method": "GET", "match": "/faulty.bak", "times": 1},
        {"fault": "stall", "method": "GET", "match": "/faulty.bak", "times": 1, "after_bytes": 4096, "seconds": 60},
    ]
    world.faults(*rules)
    done = backup(c, "faultdb", "faulty.bak")
    checks.equal(done[5], "SUCCESS", "backup through one fault of each kind (task_info: %s)" % done[6])
    done = restore(c, "faultdb_copy", "faulty.bak")
    checks.equal(done[5], "SUCCESS", "restore through one fault of each kind (task_info: %s)" % done[6])
    same_rows(c, "faultdb", "faultdb_copy", "after the faults")
    applied = sorted(e["fault"] for e in world.applied())
    checks.equal(applied, sorted(r["fault"] for r in rules), "every fault was applied once")
    checks.equal(world.open_uploads(), [], "no open upload after the faults")
    world.faults()


def a_fault_on_every_request(world, c):
    """(c)"""
    world.faults({"fault": "status_500", "match": "partNumber="})
    done = backup(c, "faultdb", "doomed.bak")
    checks.equal(done[5], "ERROR", "backup with every part refused")
    info = done[6] or ""
    for part in ("S3 UploadPart of 's3://aws_example_bucket/doomed.bak'", "HTTP 500 InternalError", "request id",
                 "after 4 attempts"):
        checks.contains(info, part, "the error names what failed")
    checks.check("doomed.bak" not in world.keys(), "no object left by the failed backup")
    checks.equal(world.open_uploads(), [], "no open upload left by the failed backup")

    world.faults({"fault": "status_503_slowdown", "method": "GET"})
    done = restore(c, "never", "faulty.bak")
    checks.equal(done[5], "ERROR", "restore with every GET throttled")
    checks.contains(done[6], "S3 GetObject of 's3://aws_example_bucket/faulty.bak': HTTP 503 SlowDown",
                    "the restore's error names what failed")
    checks.check("never" not in [r[0] for r in c.query("SELECT name FROM sys.databases")],
                 "no database left by the failed restore")
    world.faults()


def wildcard_restores(world, c):
    """(e)"""
    done = restore(c, "faultdb_wild", "faulty*")
    checks.equal(done[5], "SUCCESS", "a wildcard matching one backup restores it (task_info: %s)" % done[6])
    same_rows(c, "faultdb", "faultdb_wild", "wildcard restore")
    s3 = world.boto3()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: s3.put_object(Bucket=s3_support.BUCKET, Key="many/%04d.bak" % i, Body=b"x"),
                      range(1005)))
    world.clear_log()
    done = restore(c, "never", "many/*")
    checks.equal(done[5], "ERROR", "a wildcard matching 1,005 objects")
    checks.contains(done[6], "The Restore task is unable to restore from more than 10 backup file(s). Please reduce "
                    "the number of files matched and try again.", "more than 10 matches: RDS's message")
    with urllib.request.urlopen("http://127.0.0.1:%d/log" % world.control_port, timeout=10) as r:
        pages = [e for e in json.loads(r.read()) if "list-type=2" in e["path"]]
    checks.check(len(pages) >= 2, "the listing went on past its first page: %d ListObjectsV2 requests" % len(pages))


with s3_support.S3World() as world:
    scratch = tempfile.mkdtemp(prefix="bakrest-s3-data-")
    server = harness.Server(binary, config_text=s3_support.config(world, max_buffer_mb=MAX_BUFFER_MB),
                            keep_data=True)
    server.start()
    try:
        c = PymssqlClient(server.port)
        large_objects(world, c, server.proc.pid, scratch)
        make_database(c, "faultdb", 24)
        one_fault_of_each_kind(world, c)
        a_fault_on_every_request(world, c)
        wildcard_restores(world, c)

        # (d) SIGKILL while a multipart upload is open: one part is held back by the proxy.
        world.faults({"fault": "delay", "match": "partNumber=3&", "seconds": 120})
        task = submit_backup(c, "faultdb", "killed.bak")
        harness.wait_for(lambda: world.open_uploads("killed.bak"), what="the multipart upload to open")
        harness.wait_for(lambda: status(c, task)[5] == "IN_PROGRESS", what="the backup to run")
        c.close()
        server.kill()
        world.faults()
        checks.check(world.open_uploads("killed.bak") != [], "the killed backup left an open upload")
        server.start()
        c = PymssqlClient(server.port)
        row = status(c, task)
        checks.equal(row[5], "ERROR", "the killed backup after the restart")
        checks.equal(world.open_uploads("killed.bak"), [], "the restart ended the killed backup's upload")
        checks.check("killed.bak" not in world.keys(), "no object left by the killed backup")
        c.close()
    finally:
        server.keep_data = False
        server.cleanup()
        shutil.rmtree(scratch, ignore_errors=True)
checks.finish()
