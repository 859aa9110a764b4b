"""Backup and restore of a database to an S3 bucket, against `aws s3 cp` of the same bytes, in one run.

    /usr/bin/python3 bench/s3_bench.py build/bakrest [size_mib=1024] [rounds=2]

Starts the S3 test server (tests/support/s3_server.py, on loopback, storing to a temporary directory) and a
bakrest instance whose aws_example_bucket is on it, at bakrest's default S3 settings (8 MiB first part, 4 parts in
flight, 8 MiB read chunks; no proxy). Creates a database of size_mib MiB of random blobs (incompressible, and
backup compression is off), then for each round: rds_backup_database to S3 (time from submission to SUCCESS),
`aws s3 cp` of that object down to a local file and back up under another key (Debian's awscli at its defaults:
8 MiB parts, 10 threads), and rds_restore_database from S3. Prints each figure, the server's peak resident memory
(VmHWM) and the S3 server's CPU time, so that the comparison shows what the client side costs. Both clients talk
to the same server over loopback in the same run; the server's own speed bounds both."""
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))

import harness  # noqa: E402
import s3_support  # noqa: E402
import seed_flow  # noqa: E402
from clients import PymssqlClient  # noqa: E402

MIB = 1 << 20


def vm(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def aws(world, *args):
    env = dict(os.environ, AWS_ACCESS_KEY_ID=s3_support.KEY_ID, AWS_SECRET_ACCESS_KEY=s3_support.SECRET,
               AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null")
    started = time.time()
    subprocess.run(["/usr/bin/aws", "--endpoint-url", world.endpoint(False), "s3", "cp", "--only-show-errors"] +
                   list(args), env=env, check=True)
    return time.time() - started


def main():
    binary = os.path.abspath(sys.argv[1])
    size_mib = int(sys.argv[2]) if len(sys.argv) > 2 else 1024
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    arn = "arn:aws:s3:::aws_example_bucket/"
    with s3_support.S3World() as world:
        # bakrest's defaults for an S3 bucket: only the endpoint and keys are set.
        text = s3_support.config(world, through_proxy=False, part_size_mb=8, parts_per_size=1000,
                                 read_chunk_mb=8, max_attempts=8, retry_seconds=120, low_speed_seconds=30)
        scratch = tempfile.mkdtemp(prefix="bakrest-s3-bench-")
        with harness.Server(binary, config_text=text) as server:
            c = PymssqlClient(server.port)
            c.batch("CREATE DATABASE bench")
            c.batch("CREATE TABLE bench.dbo.blobs (id INT PRIMARY KEY, b VARBINARY(MAX))")
            for start in range(0, size_mib, 64):
                n = min(64, size_mib - start)
                c.batch("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d) "
                        "INSERT INTO bench.dbo.blobs SELECT %d + i, randomblob(1048576) FROM n" % (n, start))
            print("database: %d MiB of random blobs; server RSS %.0f MiB" % (size_mib, vm(server.proc.pid, "VmRSS")))
            for r in range(rounds):
                s3_cpu = cpu_seconds(world.server.pid)
                started = time.time()
                task = c.proc("msdb.dbo.rds_backup_database",
                              {"@source_db_name": "bench", "@s3_arn_to_backup_to": arn + "bench.bak",
                               "@overwrite_s3_backup_file": 1})[0][0]
                done = seed_flow.wait_task(c, task, timeout=3600)
                backup_s = time.time() - started
                backup_s3_cpu = cpu_seconds(world.server.pid) - s3_cpu
                assert done[5] == "SUCCESS", done
                size = world.boto3().head_object(Bucket=s3_support.BUCKET, Key="bench.bak")["ContentLength"]
                local = os.path.join(scratch, "bench.bak")
                s3_cpu = cpu_seconds(world.server.pid)
                down_s = aws(world, "s3://%s/bench.bak" % s3_support.BUCKET, local)
                down_s3_cpu = cpu_seconds(world.server.pid) - s3_cpu
                s3_cpu = cpu_seconds(world.server.pid)
                up_s = aws(world, local, "s3://%s/bench-by-aws.bak" % s3_support.BUCKET)
                up_s3_cpu = cpu_seconds(world.server.pid) - s3_cpu
                os.unlink(local)
                s3_cpu = cpu_seconds(world.server.pid)
                started = time.time()
                task = c.proc("msdb.dbo.rds_restore_database",
                              {"@restore_db_name": "bench_copy", "@s3_arn_to_restore_from": arn + "bench.bak"})[0][0]
                done = seed_flow.wait_task(c, task, timeout=3600)
                restore_s = time.time() - started
                restore_s3_cpu = cpu_seconds(world.server.pid) - s3_cpu
                assert done[5] == "SUCCESS", done
                c.batch("USE master")
                c.batch("DROP DATABASE bench_copy")
                mb = size / 1e6
                print("round %d, object %.1f MB:" % (r + 1, mb))
                print("  upload:   bakrest backup %6.2f s (%6.1f MB/s; S3 server CPU %5.1f s)   aws s3 cp %6.2f s "
                      "(%6.1f MB/s; S3 server CPU %5.1f s)" % (backup_s, mb / backup_s, backup_s3_cpu, up_s, mb / up_s,
                                                               up_s3_cpu))
                print("  download: bakrest restore %6.2f s (%6.1f MB/s; S3 server CPU %5.1f s)  aws s3 cp %6.2f s "
                      "(%6.1f MB/s; S3 server CPU %5.1f s)" % (restore_s, mb / restore_s, restore_s3_cpu, down_s,
                                                               mb / down_s, down_s3_cpu))
            print("bakrest peak resident memory (VmHWM) over the run: %.0f MiB" % vm(server.proc.pid, "VmHWM"))
            c.close()
        os.rmdir(scratch)


main()
