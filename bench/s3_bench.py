"""Backup and restore of a database to an S3 bucket, against `aws s3 cp` of the same bytes, in one run.

    cmake --build build --target bakrest s3_transfer_bench
    /usr/bin/python3 bench/s3_bench.py build/bakrest [size_mib=1024] [rounds=2]

Starts the S3 test server (tests/support/s3_server.py, on loopback, storing to a temporary directory) and a
bakrest instance whose aws_example_bucket is on it, at bakrest's default S3 settings (8 MiB first part, 4 parts in
flight, 8 MiB read chunks, max_buffer_mb 256; no proxy). Creates a database of size_mib MiB of random blobs
(incompressible, and backup compression is off), waits for the checkpointer to take in the load's WAL, then for each round: rds_backup_database to S3 (time from
submission to SUCCESS), `aws s3 cp` of that object down to a local file and back up under another key (Debian's
awscli at its defaults: 8 MiB parts, 10 threads), and rds_restore_database from S3 (which also writes the
database, checks it and brings it ONLINE). Prints each time, the CPU time of each client (bakrest's whole
process; aws's) and of the S3 server, and bakrest's peak resident memory during each backup and restore
(VmHWM, reset before each). Beside them, bench/s3_transfer_bench copies the same object down to a file and a
file up with S3Store alone: the same work as `aws s3 cp`, without the database. Both clients talk to the same server over loopback in the same run, and the
server, a Python process, uses about one of the machine's cores: it bounds both clients' speeds."""
import glob
import os
import resource
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


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class Phase:
    """Wall time, and CPU time of the given pids and of waited-for children, over a with-block."""

    def __init__(self, *pids):
        self.pids = pids

    def __enter__(self):
        self.cpu = [cpu_seconds(p) for p in self.pids]
        self.children = children_cpu_seconds()
        self.started = time.time()
        return self

    def __exit__(self, *exc):
        self.seconds = time.time() - self.started
        self.cpu = [cpu_seconds(p) - c for p, c in zip(self.pids, self.cpu)]
        self.children = children_cpu_seconds() - self.children


ENV = dict(os.environ, AWS_ACCESS_KEY_ID=s3_support.KEY_ID, AWS_SECRET_ACCESS_KEY=s3_support.SECRET,
           AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null",
           AWS_EC2_METADATA_DISABLED="true")


def aws(world, *args):
    subprocess.run(["/usr/bin/aws", "--endpoint-url", world.endpoint(False), "s3", "cp", "--only-show-errors"] +
                   list(args), env=ENV, check=True)


def transfer(binary, world, direction, key, path):
    """bench/s3_transfer_bench: S3Store alone copying an object to or from a file."""
    tool = os.path.join(os.path.dirname(binary), "bench", "s3_transfer_bench")
    subprocess.run([tool, world.endpoint(False), s3_support.BUCKET, direction, key, path], env=ENV, check=True,
                   stdout=subprocess.DEVNULL)


def main():
    binary = os.path.abspath(sys.argv[1])
    size_mib = int(sys.argv[2]) if len(sys.argv) > 2 else 1024
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    arn = "arn:aws:s3:::aws_example_bucket/"
    with s3_support.S3World(server_args=["--quiet"]) as world:
        # bakrest's defaults for an S3 bucket: the settings s3_support.config sets for tests, at their defaults.
        text = s3_support.config(world, through_proxy=False, part_size_mb=8, parts_per_size=1000,
                                 read_chunk_mb=8, max_attempts=8, retry_seconds=120, low_speed_seconds=30)
        scratch = tempfile.mkdtemp(prefix="bakrest-s3-bench-")
        with harness.Server(binary, config_text=text) as server:
            pid, s3_pid = server.proc.pid, world.server.pid
            c = PymssqlClient(server.port)
            c.batch("CREATE DATABASE bench")
            c.batch("CREATE TABLE bench.dbo.blobs (id INT PRIMARY KEY, b VARBINARY(MAX))")
            for start in range(0, size_mib, 64):
                n = min(64, size_mib - start)
                c.batch("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d) "
                        "INSERT INTO bench.dbo.blobs SELECT %d + i, randomblob(1048576) FROM n" % (n, start))
            # The checkpointer moves the load's WAL into the database file before the first backup starts, not
            # under it (a snapshot waits for a checkpoint in progress): it truncates the WAL when done.
            wals = glob.glob(os.path.join(server.data_dir, "databases", "*.db-wal"))
            harness.wait_for(lambda: all(os.path.getsize(w) < 4 << 20 for w in wals), timeout=600,
                             what="the checkpointer to take in the load's WAL")
            print("database: %d MiB of random blobs; bakrest resident %.0f MiB" %
                  (size_mib, harness.memory_mib(pid, "VmRSS")))
            for r in range(rounds):
                harness.reset_peak_memory(pid)
                with Phase(pid, s3_pid) as backup:
                    task = c.proc("msdb.dbo.rds_backup_database",
                                  {"@source_db_name": "bench", "@s3_arn_to_backup_to": arn + "bench.bak",
                                   "@overwrite_s3_backup_file": 1})[0][0]
                    done = seed_flow.wait_task(c, task, timeout=3600)
                assert done[5] == "SUCCESS", done
                backup_peak = harness.memory_mib(pid)
                size = world.boto3().head_object(Bucket=s3_support.BUCKET, Key="bench.bak")["ContentLength"]
                local = os.path.join(scratch, "bench.bak")
                with Phase(s3_pid) as down:
                    aws(world, "s3://%s/bench.bak" % s3_support.BUCKET, local)
                with Phase(s3_pid) as up:
                    aws(world, local, "s3://%s/bench-by-aws.bak" % s3_support.BUCKET)
                with Phase(s3_pid) as store_down:
                    transfer(binary, world, "down", "bench.bak", local + ".2")
                with Phase(s3_pid) as store_up:
                    transfer(binary, world, "up", "bench-by-s3store.bak", local)
                os.unlink(local)
                os.unlink(local + ".2")
                harness.reset_peak_memory(pid)
                with Phase(pid, s3_pid) as restore:
                    task = c.proc("msdb.dbo.rds_restore_database",
                                  {"@restore_db_name": "bench_copy", "@s3_arn_to_restore_from": arn + "bench.bak"})
                    done = seed_flow.wait_task(c, task[0][0], timeout=3600)
                assert done[5] == "SUCCESS", done
                restore_peak = harness.memory_mib(pid)
                c.batch("USE master")
                c.batch("DROP DATABASE bench_copy")
                mb = size / 1e6
                print("round %d, object %.1f MB:" % (r + 1, mb))
                print("  upload:   bakrest backup  %6.2f s (%5.0f MB/s; its CPU %4.1f s,     S3 server CPU %4.1f s, "
                      "peak memory %3.0f MiB)" % (backup.seconds, mb / backup.seconds, backup.cpu[0], backup.cpu[1],
                                                  backup_peak))
                line = "            %-15s %6.2f s (%5.0f MB/s; its CPU %4.1f s,     S3 server CPU %4.1f s)"
                print(line % ("S3Store alone", store_up.seconds, mb / store_up.seconds, store_up.children,
                              store_up.cpu[0]))
                print(line % ("aws s3 cp", up.seconds, mb / up.seconds, up.children, up.cpu[0]))
                print("  download: bakrest restore %6.2f s (%5.0f MB/s; its CPU %4.1f s,     S3 server CPU %4.1f s, "
                      "peak memory %3.0f MiB)" % (restore.seconds, mb / restore.seconds, restore.cpu[0],
                                                  restore.cpu[1], restore_peak))
                print(line % ("S3Store alone", store_down.seconds, mb / store_down.seconds, store_down.children,
                              store_down.cpu[0]))
                print(line % ("aws s3 cp", down.seconds, mb / down.seconds, down.children, down.cpu[0]))
            c.close()
        os.rmdir(scratch)


main()
