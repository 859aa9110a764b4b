"""bakrest's backups and restores side by side with pgBackRest and the single-file tools, on the same rows, in
one run.

    /usr/bin/python3 bench/suite.py BAKREST_BINARY [--size-mib 1024] [--shape realistic] [--rounds 3]
                                    [--fraction 0.01] [--seed 1] [--write-docs]

What it starts (each in a temporary directory, each stopped by its pid at the end, failure or not):
  - the S3 test server (tests/support/s3_server.py) with an extra bucket s3bench;
  - one bakrest instance (tests/integration/harness.Server) whose instance.toml has the local bucket
    aws_example_bucket and the S3 bucket s3bench on that server (straight to it, not through the fault proxy);
  - a PostgreSQL cluster with a pgBackRest stanza (bench/peers.PgBackRestPeer; unix socket only).

The data: bench/datagen.py's rows of SHAPE for SIZE_MIB, bulk-loaded into bakrest over TDS (pytds bulk copy)
into database `bench`, and the same rows loaded into PostgreSQL by PgBackRestPeer.setup. Once bakrest's
checkpointer has taken the load's WAL into the database file, that file is copied once (not timed) and the copy
is the input of the single-file peers, so they read the very bytes bakrest backs up.

Each round runs every measurement once, in the same order (rounds interleave: A B C A B C ...):
  bakrest (each timed from sending the EXEC to rds_task_status saying SUCCESS; peak memory is the instance's
  VmHWM, reset before each operation):
    full backup to S3, compressed, 1 file and 4 files, each followed by its full restore (RECOVERY);
    the same to the local bucket uncompressed, then compressed (4 files, then 1 file: the last full backup
    is the base of the differential and the start the log restore rolls forward from);
    1% of the rows changed, scattered (datagen.change_statements, through TDS, not timed);
    differential backup and log backup of that change (compressed, local bucket);
    restore full NORECOVERY + differential RECOVERY; restore full NORECOVERY + log RECOVERY.
    Every restored database is dropped after its restore (not timed).
  pgBackRest: full backup, its own 1% change (the same rows), differential backup, restore (the restored
    cluster is removed right after it, not timed, as bakrest's restored databases are).
  zstd -3 -T2 | openssl enc -aes-256-ctr backup, and its restore; cat + fsync; sqlite3 .backup.
After the rounds: bakrest's CPU time over 10 s of idleness.

Prints the medians and the ratios the performance targets name as markdown (progress goes to stderr);
--write-docs also puts them into docs/PERFORMANCE.md between <!-- suite:begin --> and <!-- suite:end -->
(adding a section with those markers at the end if there is none).
"""
import argparse
import contextlib
import datetime
import filecmp
import fnmatch
import glob
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))

import datagen  # noqa: E402
import harness  # noqa: E402
import peers  # noqa: E402
import s3_support  # noqa: E402
import seed_flow  # noqa: E402

import pytds  # noqa: E402
from pytds import tds_types  # noqa: E402
from pytds.tds_base import Column  # noqa: E402

MIB = 1 << 20
MB = 1000 * 1000
LOCAL_BUCKET = "aws_example_bucket"
S3_BUCKET = "s3bench"
DATABASE = "bench"
RESTORED = "bench_restore"
PG_PORT = 16532  # names PostgreSQL's unix socket only; within the 16500-16599 range this suite keeps to
POLL_SECONDS = 0.02
TASK_TIMEOUT = 4 * 3600
DOCS = os.path.join(HERE, "..", "docs", "PERFORMANCE.md")
DOCS_BEGIN, DOCS_END = "<!-- suite:begin -->", "<!-- suite:end -->"
DOCS_SECTION = "## Side by side with pgBackRest and the file tools (bench/suite.py)"


def say(text):
    print(text, file=sys.stderr, flush=True)


def process_cpu_seconds(pid):
    """utime + stime of a process (proc(5) stat fields 14 and 15; the command name may hold spaces, so split
    after its closing parenthesis)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- measurements ---------------------------------------------------------------------------------------------

# Every measurement, in the order the tables list them: key, label, and the input its MB/s is of ("db": bakrest's
# SQLite file, which the file peers read too; "pg": the PostgreSQL cluster without pg_wal, what pgBackRest reads).
MEASUREMENTS = [
    ("local_c1_backup", "bakrest full backup, compressed, 1 file, local bucket", "db"),
    ("local_c4_backup", "bakrest full backup, compressed, 4 files, local bucket", "db"),
    ("local_u1_backup", "bakrest full backup, uncompressed, 1 file, local bucket", "db"),
    ("local_u4_backup", "bakrest full backup, uncompressed, 4 files, local bucket", "db"),
    ("s3_c1_backup", "bakrest full backup, compressed, 1 file, S3 bucket", "db"),
    ("s3_c4_backup", "bakrest full backup, compressed, 4 files, S3 bucket", "db"),
    ("local_c1_restore", "bakrest full restore, compressed, 1 file, local bucket", "db"),
    ("local_c4_restore", "bakrest full restore, compressed, 4 files, local bucket", "db"),
    ("local_u1_restore", "bakrest full restore, uncompressed, 1 file, local bucket", "db"),
    ("local_u4_restore", "bakrest full restore, uncompressed, 4 files, local bucket", "db"),
    ("s3_c1_restore", "bakrest full restore, compressed, 1 file, S3 bucket", "db"),
    ("s3_c4_restore", "bakrest full restore, compressed, 4 files, S3 bucket", "db"),
    ("diff_backup", "bakrest differential backup (after the change), compressed", "db"),
    ("log_backup", "bakrest log backup (the same change), compressed", "db"),
    ("diff_restore", "bakrest restore: full NORECOVERY + differential", "db"),
    ("diff_restore_step", "  of which the differential", "db"),
    ("log_restore", "bakrest restore: full NORECOVERY + log", "db"),
    ("log_restore_step", "  of which the log", "db"),
    ("full_norecovery", "  the full NORECOVERY step of either, alone (no check)", "db"),
    ("pg_full", "pgBackRest full backup", "pg"),
    ("pg_diff", "pgBackRest differential backup (after the change)", "pg"),
    ("pg_restore", "pgBackRest restore (of the differential)", "pg"),
    ("zstd_backup", "zstd -3 -T2 | openssl enc -aes-256-ctr, fsync", "db"),
    ("zstd_restore", "openssl enc -d | zstd -d, fsync", "db"),
    ("cat_copy", "cat + fsync", "db"),
    ("sqlite_backup", "sqlite3 .backup, fsync", "db"),
]

LABELS = {key: label for key, label, _ in MEASUREMENTS}

# (what, bakrest's measurement, the peer's, the least ratio of speeds the target asks for)
TARGETS = [
    ("compressed full backup vs pgBackRest full", "local_c1_backup", "pg_full", 1.5),
    ("compressed full backup (4 files) vs pgBackRest full", "local_c4_backup", "pg_full", 1.5),
    ("compressed full backup vs zstd | openssl", "local_c1_backup", "zstd_backup", 0.8),
    ("compressed full backup (4 files) vs zstd | openssl", "local_c4_backup", "zstd_backup", 0.8),
    ("compressed full restore vs pgBackRest restore", "local_c1_restore", "pg_restore", 1.5),
    ("compressed full restore (4 files) vs pgBackRest restore", "local_c4_restore", "pg_restore", 1.5),
    ("uncompressed full backup vs cat + fsync", "local_u1_backup", "cat_copy", 0.8),
    ("uncompressed full backup (4 files) vs cat + fsync", "local_u4_backup", "cat_copy", 0.8),
    ("uncompressed full restore vs cat + fsync", "local_u1_restore", "cat_copy", 0.8),
    ("uncompressed full restore (4 files) vs cat + fsync", "local_u4_restore", "cat_copy", 0.8),
    # No target: for comparison only.
    ("compressed full backup to S3 vs pgBackRest full (local repository)", "s3_c1_backup", "pg_full", None),
    ("compressed full restore from S3 vs pgBackRest restore", "s3_c1_restore", "pg_restore", None),
    ("differential backup vs pgBackRest differential", "diff_backup", "pg_diff", None),
    ("full NORECOVERY + differential restore vs pgBackRest restore", "diff_restore", "pg_restore", None),
    ("compressed full restore WITH NORECOVERY (no check) vs pgBackRest restore", "full_norecovery", "pg_restore",
     None),
    ("compressed full restore vs openssl -d | zstd -d", "local_c1_restore", "zstd_restore", None),
    ("compressed full backup vs sqlite3 .backup", "local_c1_backup", "sqlite_backup", None),
]


class Samples:
    """Each measurement's peers.Result per round, by key."""

    def __init__(self):
        self.by_key = {key: [] for key, _, _ in MEASUREMENTS}

    def add(self, key, result, note=""):
        self.by_key[key].append(result)
        stored = "  stored %.1f MiB" % (result.bytes / MIB) if result.bytes is not None else ""
        say("  %-58s %8.2f s  cpu %6.2f s  peak %6.0f MiB%s%s" % (
            LABELS[key].strip(), result.seconds, result.cpu_seconds,
            result.peak_rss_mib, stored, note))

    def median(self, key, field):
        values = [getattr(r, field) for r in self.by_key[key] if getattr(r, field) is not None]
        return statistics.median(values) if values else None


# --- bakrest over TDS -----------------------------------------------------------------------------------------

def connect(port, database=None):
    # A large database can make a login wait behind the checkpointer; pytds's 15 s default is too short then.
    return pytds.connect(server="127.0.0.1", port=port, user=harness.USER, password=harness.PASSWORD,
                         database=database, autocommit=True, login_timeout=120)


class TaskFailed(RuntimeError):
    pass


class Bakrest:
    """The instance as the suite drives it: procedures go on one session, rds_task_status polls on another (so a
    poll never queues behind the procedure call), and every task is timed from sending its EXEC."""

    def __init__(self, server):
        self.server = server
        self.pid = server.proc.pid
        self.cmd = connect(server.port)
        self.poll = connect(server.port)
        self.compression = None

    def execute(self, sql, params=None, fetch=False, conn=None):
        with (conn or self.cmd).cursor() as cur:
            cur.execute(sql, params) if params is not None else cur.execute(sql)
            return [tuple(r) for r in cur.fetchall()] if fetch else None

    def set_compression(self, on):
        if self.compression != on:
            self.execute("exec rdsadmin..rds_set_configuration 'S3 backup compression', '%s'" %
                         ("true" if on else "false"))
            self.compression = on

    def _submit(self, proc, params):
        with self.cmd.cursor() as cur:
            cur.callproc(proc, params)
            rows = cur.fetchall()
        if len(rows) != 1:
            raise TaskFailed("%s returned %r, not one task" % (proc, rows))
        return rows[0][0]

    def _wait(self, task_id, what):
        deadline = time.time() + TASK_TIMEOUT
        while time.time() < deadline:
            with self.poll.cursor() as cur:
                cur.callproc("msdb.dbo.rds_task_status", {"@task_id": task_id})
                rows = cur.fetchall()
            lifecycle, info = rows[0][5], rows[0][6]
            if lifecycle == "SUCCESS":
                return info
            if lifecycle in ("ERROR", "CANCELLED"):
                raise TaskFailed("%s (task %s) ended %s:\n%s" % (what, task_id, lifecycle, info))
            time.sleep(POLL_SECONDS)
        raise TaskFailed("%s (task %s) did not finish within %d s" % (what, task_id, TASK_TIMEOUT))

    def timed(self, what, steps):
        """Runs the tasks of steps [(procedure, params)] one after another and returns (Result over all of
        them, [seconds of each]). Peak memory: VmHWM reset just before the first EXEC; CPU: the whole process's."""
        harness.reset_peak_memory(self.pid)
        cpu = process_cpu_seconds(self.pid)
        started = time.perf_counter()
        parts = []
        for proc, params in steps:
            step_started = time.perf_counter()
            self._wait(self._submit(proc, params), "%s: %s" % (what, proc))
            parts.append(time.perf_counter() - step_started)
        seconds = time.perf_counter() - started
        return peers.Result(seconds, process_cpu_seconds(self.pid) - cpu, harness.memory_mib(self.pid)), parts

    def drop(self, name):
        # The task has ended, but let a straggling reference to the database go rather than fail the run on it.
        for attempt in range(50):
            try:
                self.execute("DROP DATABASE " + name)
                return
            except pytds.Error as e:
                if "3702" not in str(e) and "in use" not in str(e) or attempt == 49:
                    raise
                time.sleep(0.1)

    def close(self):
        for conn in (self.cmd, self.poll):
            try:
                conn.close()
            except Exception:  # closing at the end of a failed run must not hide why it failed
                pass


def arn(bucket, key):
    return "arn:aws:s3:::%s/%s" % (bucket, key)


def restore_arn(bucket, key):
    """A multi-file backup is restored by the prefix of its files and a '*' (RDS's form); one file by its key."""
    return arn(bucket, key.split("*")[0] + "*") if "*" in key else arn(bucket, key)


# --- loading --------------------------------------------------------------------------------------------------

def bulk_columns(cur, table):
    """pytds column descriptions for a bulk copy into table, from its declared types; None if one of them has no
    bulk form here (the caller then falls back to INSERTs). Date and time columns go as text: datagen makes them
    text, and the server converts each value to the column's type as CAST would, as bcp's character mode has it."""
    cur.execute("SELECT COLUMN_NAME, DATA_TYPE, CHARACTER_MAXIMUM_LENGTH, IS_NULLABLE FROM "
                "INFORMATION_SCHEMA.COLUMNS WHERE TABLE_NAME = %s ORDER BY ORDINAL_POSITION", (table,))
    columns = []
    for name, data_type, length, nullable in cur.fetchall():
        unbounded = length is None or length < 0
        kind = {
            "int": lambda: tds_types.IntType(),
            "bigint": lambda: tds_types.BigIntType(),
            "smallint": lambda: tds_types.SmallIntType(),
            "bit": lambda: tds_types.BitType(),
            "float": lambda: tds_types.FloatType(),
            "real": lambda: tds_types.RealType(),
            "nvarchar": lambda: tds_types.NVarCharMaxType() if unbounded or length > 4000
            else tds_types.NVarCharType(size=length),
            "varchar": lambda: tds_types.VarCharMaxType() if unbounded or length > 8000
            else tds_types.VarCharType(size=length),
            "nchar": lambda: tds_types.NCharType(size=length),
            "char": lambda: tds_types.CharType(size=length),
            "varbinary": lambda: tds_types.VarBinaryMaxType() if unbounded or length > 8000
            else tds_types.VarBinaryType(size=length),
            "datetime2": lambda: tds_types.VarCharType(size=40),
            "datetime": lambda: tds_types.VarCharType(size=40),
            "date": lambda: tds_types.VarCharType(size=40),
        }.get(data_type.lower())
        if kind is None:
            say("column %s is %s, which this suite does not bulk copy: loading with INSERTs" % (name, data_type))
            return None
        columns.append(Column(name=name, type=kind(), flags=Column.fNullable if nullable == "YES" else 0))
    return columns


def load(port, shape, rows, seed):
    """CREATE DATABASE, the shape's table, and its rows in datagen's batches, each batch one bulk copy (one
    transaction). Returns the seconds it took."""
    spec = datagen.shape_rows(shape)
    started = time.time()
    conn = connect(port)
    try:
        with conn.cursor() as cur:
            cur.execute("CREATE DATABASE " + DATABASE)
            cur.execute("USE " + DATABASE)
            cur.execute(spec.sqlite_ddl)
            columns = bulk_columns(cur, spec.table)
            for number, batch in enumerate(datagen.generate(shape, rows, seed), 1):
                if columns is not None:
                    cur.copy_to(data=batch, table_or_view=spec.table, columns=columns)
                else:
                    for i in range(0, len(batch), 500):
                        cur.execute("INSERT INTO %s VALUES %s" % (spec.table, ", ".join(
                            "(" + ", ".join(seed_flow.literal(v) for v in row) + ")" for row in batch[i:i + 500])))
                if number % 25 == 0:
                    say("  loaded %d of %d rows" % (min(number * datagen.BATCH, rows), rows))
            cur.execute("SELECT count(*) FROM " + spec.table)
            count = cur.fetchall()[0][0]
            if count != rows:
                raise RuntimeError("bakrest holds %d rows after the load, not %d" % (count, rows))
    finally:
        conn.close()
    return time.time() - started


def database_file(bakrest):
    name = bakrest.execute("SELECT file FROM msdb.dbo.databases WHERE name = %s", (DATABASE,), fetch=True)[0][0]
    return os.path.join(bakrest.server.data_dir, "databases", name)


def wait_checkpointed(path, timeout=1800):
    """Waits until bakrest's checkpointer has taken the WAL into the database file: the -wal file is below the
    4 MiB the checkpointer waits for (docs/OPERATIONS.md, "Checkpoints") and the file has not changed for 5 s
    (the checkpointer runs every 2 s). Returns the -wal's size then."""
    deadline = time.time() + timeout
    last, still_since = None, None
    while time.time() < deadline:
        wal = os.path.getsize(path + "-wal") if os.path.exists(path + "-wal") else 0
        state = (os.path.getsize(path), os.stat(path).st_mtime_ns, wal)
        if wal < 4 * MIB and state == last:
            if time.time() - still_since >= 5:
                return wal
        else:
            last, still_since = state, time.time()
        time.sleep(0.5)
    raise RuntimeError("the checkpointer did not settle %s within %d s" % (path, timeout))


def change(port, shape, ids):
    """The differential step's UPDATEs, in one transaction, as PgBackRestPeer.change runs them on its side."""
    conn = connect(port, DATABASE)
    try:
        with conn.cursor() as cur:
            cur.execute("BEGIN TRANSACTION;\n" + ";\n".join(datagen.change_statements(shape, ids)) + ";\nCOMMIT;")
    finally:
        conn.close()


def same_rows(bakrest, shape, ids):
    """Whether the restored database's rows with these keys are the source's (the changed rows: a differential
    or log restore that did not apply would show their old values)."""
    spec = datagen.shape_rows(shape)
    query = "SELECT * FROM %%s.dbo.%s WHERE %s IN (%s) ORDER BY %s" % (
        spec.table, spec.key, ",".join(map(str, ids)), spec.key)
    return (bakrest.execute(query % RESTORED, fetch=True) == bakrest.execute(query % DATABASE, fetch=True))


def restored_count(bakrest, shape):
    count = bakrest.execute("SELECT count(*) FROM %s.dbo.%s" % (RESTORED, datagen.shape_rows(shape).table),
                            fetch=True)[0][0]
    # A three-part name keeps the database attached to the session (and so in use) until its next USE.
    bakrest.execute("USE master")
    return count


# --- object stores --------------------------------------------------------------------------------------------

class Objects:
    """Sizes of backups in either bucket, and their removal after their restore (so that every round writes new
    objects, none overwrites, and the disk does not fill up)."""

    def __init__(self, server, world):
        self.server = server
        self.s3 = world.boto3()

    def _s3_keys(self, pattern):
        prefix = pattern.split("*")[0]
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=S3_BUCKET, Prefix=prefix)
        return [(o["Key"], o["Size"]) for page in pages for o in page.get("Contents", [])
                if fnmatch.fnmatchcase(o["Key"], pattern)]

    def size(self, bucket, key):
        if bucket == S3_BUCKET:
            found = self._s3_keys(key)
            total = sum(size for _, size in found)
        else:
            found = glob.glob(self.server.store_path(bucket, key))
            total = sum(os.path.getsize(p) for p in found)
        if not found:
            raise RuntimeError("no object %s in %s after the backup" % (key, bucket))
        return total

    def remove(self, bucket, key):
        if bucket == S3_BUCKET:
            for k, _ in self._s3_keys(key):
                self.s3.delete_object(Bucket=S3_BUCKET, Key=k)
        else:
            for p in glob.glob(self.server.store_path(bucket, key)):
                os.unlink(p)


# --- one round ------------------------------------------------------------------------------------------------

def bakrest_round(bakrest, objects, samples, args, rows, round_no, check):
    """Every bakrest measurement once. check: also verify each restored database (not timed)."""
    def backup(key, bucket, object_key, files, compressed, kind="FULL"):
        bakrest.set_compression(compressed)
        params = {"@source_db_name": DATABASE, "@s3_arn_to_backup_to": arn(bucket, object_key),
                  "@overwrite_s3_backup_file": 1, "@type": kind}
        if files > 1:
            params["@number_of_files"] = files
        result, _ = bakrest.timed(key, [("msdb.dbo.rds_backup_database", params)])
        result.bytes = objects.size(bucket, object_key)
        samples.add(key, result)

    def full_restore(key, bucket, object_key):
        result, _ = bakrest.timed(key, [("msdb.dbo.rds_restore_database", {
            "@restore_db_name": RESTORED, "@s3_arn_to_restore_from": restore_arn(bucket, object_key),
            "@with_norecovery": 0, "@type": "FULL"})])
        samples.add(key, result)
        if check and restored_count(bakrest, args.shape) != rows:
            raise RuntimeError("%s: the restored database does not hold the %d rows" % (key, rows))
        bakrest.drop(RESTORED)

    # Full backups and their restores. The last is the local compressed single file: it stays as the base of
    # the differential and the point the log restore rolls forward from.
    fulls = [("s3_c1", S3_BUCKET, "suite-s3-c1.bak", 1, True),
             ("s3_c4", S3_BUCKET, "suite-s3-c4-*.bak", 4, True),
             ("local_u1", LOCAL_BUCKET, "suite-u1.bak", 1, False),
             ("local_u4", LOCAL_BUCKET, "suite-u4-*.bak", 4, False),
             ("local_c4", LOCAL_BUCKET, "suite-c4-*.bak", 4, True),
             ("local_c1", LOCAL_BUCKET, "suite-c1.bak", 1, True)]
    for name, bucket, key, files, compressed in fulls:
        backup(name + "_backup", bucket, key, files, compressed)
        full_restore(name + "_restore", bucket, key)
        if name != "local_c1":
            objects.remove(bucket, key)
    base = "suite-c1.bak"

    # 1% of the rows, scattered; the same rows PgBackRestPeer.change picks for this round on its side.
    ids = datagen.changed_ids(rows, args.fraction, args.seed * 1000 + round_no)
    change(bakrest.server.port, args.shape, ids)
    backup("diff_backup", LOCAL_BUCKET, "suite-diff.bak", 1, True, "DIFFERENTIAL")
    result, _ = bakrest.timed("log_backup", [("msdb.dbo.rds_backup_log", {
        "@source_db_name": DATABASE, "@s3_arn_to_backup_to": arn(LOCAL_BUCKET, "suite-log.trn"),
        "@overwrite_s3_backup_file": 1})])
    result.bytes = objects.size(LOCAL_BUCKET, "suite-log.trn")
    samples.add("log_backup", result)

    full_norecovery = ("msdb.dbo.rds_restore_database", {
        "@restore_db_name": RESTORED, "@s3_arn_to_restore_from": arn(LOCAL_BUCKET, base),
        "@with_norecovery": 1, "@type": "FULL"})
    for key, last in (("diff_restore", ("msdb.dbo.rds_restore_database", {
                          "@restore_db_name": RESTORED, "@s3_arn_to_restore_from": arn(LOCAL_BUCKET, "suite-diff.bak"),
                          "@with_norecovery": 0, "@type": "DIFFERENTIAL"})),
                      ("log_restore", ("msdb.dbo.rds_restore_log", {
                          "@restore_db_name": RESTORED, "@s3_arn_to_restore_from": arn(LOCAL_BUCKET, "suite-log.trn"),
                          "@with_norecovery": 0}))):
        result, parts = bakrest.timed(key, [full_norecovery, last])
        samples.add(key, result)
        # The step alone: its own time; CPU and memory belong to the pair.
        samples.add(key + "_step", peers.Result(parts[1], result.cpu_seconds, result.peak_rss_mib))
        # The full restore without the check a recovering restore ends with: what the check costs, side by side.
        samples.add("full_norecovery", peers.Result(parts[0], result.cpu_seconds, result.peak_rss_mib))
        if not same_rows(bakrest, args.shape, ids[:500]):
            raise RuntimeError("%s: the restored database does not hold the changed rows" % key)
        bakrest.execute("USE master")
        bakrest.drop(RESTORED)
    for key in (base, "suite-diff.bak", "suite-log.trn"):
        objects.remove(LOCAL_BUCKET, key)


def peers_round(peer, samples, args, source, scratch, check):
    """pgBackRest's full, change, differential and restore, then the single-file tools on source."""
    samples.add("pg_full", peer.full_backup())
    peer.change(args.fraction)
    samples.add("pg_diff", peer.diff_backup())
    restore = peer.restore()
    restore.bytes = None  # the restored cluster's size is not a stored backup
    samples.add("pg_restore", restore)
    if check:
        peer.verify_restore()  # not timed: starts the restored cluster and compares the table with the source
        say("  pgBackRest's restored cluster holds the source's rows")
    # Removed now, as bakrest's restored database is dropped right after its restore: memory the kernel has
    # just freed is cheap to take again on this virtual machine, and memory freed seconds ago is not
    # (docs/PERFORMANCE.md, "Where restore time goes at 8 GiB"), so both restores start alike.
    peer.discard_restore()

    enc, back, copy = (os.path.join(scratch, n) for n in ("db.zst.enc", "db.restored", "db.copy"))
    samples.add("zstd_backup", peers.zstd_openssl_backup(source, enc))
    restore = peers.zstd_openssl_restore(enc, back)
    samples.add("zstd_restore", restore)
    if check and not filecmp.cmp(source, back, shallow=False):
        raise RuntimeError("zstd | openssl round trip changed the file")
    samples.add("cat_copy", peers.cat_copy(source, copy))
    os.unlink(copy)
    samples.add("sqlite_backup", peers.sqlite_backup(source, copy))
    for path in (enc, back, copy, copy + "-wal", copy + "-shm"):
        if os.path.exists(path):
            os.unlink(path)


# --- the report -----------------------------------------------------------------------------------------------

def machine():
    model = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        ram_kib = int(next(line for line in f if line.startswith("MemTotal:")).split()[1])
    return "%d cores (%s), %.1f GiB RAM" % (os.cpu_count(), model, ram_kib / (1 << 20))


def cell(text):
    """Text for a markdown table cell: a bare | would end the cell."""
    return text.replace("|", "\\|")


def short_versions(versions):
    """"pgBackRest 2.45; PostgreSQL 15.18; ...": each tool's name and the first version number in what it printed
    (zstd's and sqlite3's banners are long)."""
    names = {"bakrest": "bakrest", "pgbackrest": "pgBackRest", "postgresql": "PostgreSQL", "zstd": "zstd",
             "openssl": "OpenSSL", "sqlite3": "SQLite"}
    out = []
    for key, text in versions.items():
        number = re.search(r"\d+\.\d+(\.\d+)?", text or "")
        out.append("%s %s" % (names.get(key, key), number.group(0) if number else "(not found)"))
    return "; ".join(out)


def report(ctx, samples):
    sizes = {"db": ctx["db_bytes"], "pg": ctx["pg_bytes"]}
    lines = [
        "```",
        ctx["command"],
        "```",
        "",
        "Run %s on %s. Versions: %s." % (ctx["date"], machine(), short_versions(ctx["versions"])),
        "",
        "Data: datagen shape `%s`, %d rows (seed %d), loaded into bakrest by bulk copy in %.0f s: its SQLite file "
        "%.1f MiB (4 KiB pages; %.1f MiB of WAL left when copied for the file tools); the same rows in PostgreSQL: "
        "cluster %.1f MiB without pg_wal (table %.1f MiB). The change before each differential: %.0f%% of the "
        "rows (%d), scattered over the table, the same rows on both sides. Medians of %d round(s). Each round runs "
        "every measurement once, in this order: bakrest's full backups, each followed by its restore (S3 "
        "compressed 1 file, 4 files; local uncompressed 1, 4; local compressed 4, 1), the change, the differential "
        "and log backups, full NORECOVERY + differential, full NORECOVERY + log; pgBackRest's full backup, its "
        "change, differential backup, restore; zstd | openssl backup and restore, cat + fsync, sqlite3 .backup. "
        "The page cache is warm (every input was just written or read). Each restored copy, bakrest's database "
        "and pgBackRest's cluster alike, is removed right after its restore (not timed)." % (
            ctx["shape"], ctx["rows"], ctx["seed"], ctx["load_seconds"], ctx["db_bytes"] / MIB,
            ctx["wal_bytes"] / MIB, ctx["pg_bytes"] / MIB,
            ctx["pg_table_bytes"] / MIB, ctx["fraction"] * 100, ctx["changed"], ctx["rounds"]),
        "",
        "| measurement | seconds | MB/s | stored MiB | size ratio | peak MiB | CPU s |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for key, label, basis in MEASUREMENTS:
        if not samples.by_key[key]:
            continue
        seconds = samples.median(key, "seconds")
        stored = samples.median(key, "bytes")
        label = cell(label)
        if label.startswith("  "):  # a row about the one above it
            label = "&nbsp;&nbsp;" + label[2:]
        lines.append("| %s%s | %.2f | %.0f | %s | %s | %.0f | %.2f |" % (
            label, " ²" if basis == "pg" else "", seconds, sizes[basis] / MB / seconds,
            "%.1f" % (stored / MIB) if stored is not None else "",
            "%.2fx" % (sizes[basis] / stored) if stored else "",
            samples.median(key, "peak_rss_mib"), samples.median(key, "cpu_seconds")))
    lines += [
        "",
        "MB/s is 10^6 bytes of the tool's input per second: bakrest's database file (the file tools read a copy of "
        "it), or ² the PostgreSQL cluster pgBackRest reads; the size ratio is that input over the bytes stored. bakrest's times run from sending the EXEC to "
        "rds_task_status showing SUCCESS (polled every 20 ms); its peak is the instance's VmHWM, reset before each "
        "operation, and its CPU the whole process's. The peers' peak is the largest single process's (GNU time), "
        "their CPU the command's and its children's. Every output is fsynced inside its time. The differential and "
        "log restores' step rows are the second task alone, the full NORECOVERY row the first (two samples a "
        "round, the same backup); CPU and peak there are of the pair. The S3 bucket is "
        "the Python S3 test server on loopback (tests/support/s3_server.py), which uses about a core itself. "
        "pgBackRest runs with process-max=2, zstd level 3 and aes-256-cbc repository encryption; bakrest's "
        "backups are not encrypted here (bench/encryption.py measures what encryption costs them), the zstd | "
        "openssl pipeline is. A bakrest restore ends "
        "with the database checked (quick_check) and ONLINE; pgBackRest's ends with the files in place, before "
        "PostgreSQL starts and replays WAL. pgBackRest %s's differential copies every file that changed whole "
        "(a table's 1 GiB segments), bakrest's the changed pages. Checked, not timed: every restore of the first "
        "round (row counts; pgBackRest's cluster started and compared; the zstd round trip compared byte for "
        "byte) and the changed rows after every differential and log restore." % (
            short_versions({"pgbackrest": ctx["versions"].get("pgbackrest")}).split()[-1]),
        "",
        "Ratios of speed on the same rows (the peer's seconds over bakrest's; for pgBackRest this counts rows, "
        "not bytes, since PostgreSQL stores the rows in %.2fx the bytes):" % (ctx["pg_bytes"] / ctx["db_bytes"]),
        "",
        "| comparison | bakrest s | peer s | ratio | target | |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for what, ours, theirs, target in TARGETS:
        a, b = samples.median(ours, "seconds"), samples.median(theirs, "seconds")
        if a is None or b is None:
            continue
        ratio = b / a
        verdict = "" if target is None else ("met" if ratio >= target else "**not met**")
        lines.append("| %s | %.2f | %.2f | %.2fx | %s | %s |" % (
            cell(what), a, b, ratio, "≥ %.1fx" % target if target is not None else "—", verdict))
    idle = ctx["idle_cpu_seconds"]
    lines += [
        "",
        "bakrest idle after the runs: %.2f s of CPU in %.0f s (%.2f%% of one core), with its sessions open and "
        "no requests." % (idle, ctx["idle_seconds"], idle / ctx["idle_seconds"] * 100),
    ]
    return "\n".join(lines) + "\n"


def write_docs(path, body):
    """Replaces what is between the markers (keeping them), or appends the section with them."""
    with open(path) as f:
        text = f.read()
    block = DOCS_BEGIN + "\n" + body.rstrip("\n") + "\n" + DOCS_END
    start = text.find(DOCS_BEGIN)
    end = text.find(DOCS_END, start) if start >= 0 else -1
    if start >= 0 and end >= 0:
        text = text[:start] + block + text[end + len(DOCS_END):]
    else:
        text = text.rstrip("\n") + "\n\n" + DOCS_SECTION + "\n\n" + block + "\n"
    with open(path, "w") as f:
        f.write(text)


# --- main -----------------------------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("binary", help="the bakrest binary")
    parser.add_argument("--size-mib", type=float, default=1024, help="the database's size (datagen.rows_for)")
    parser.add_argument("--shape", default="realistic", choices=sorted(datagen.SHAPES))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--fraction", type=float, default=0.01, help="rows changed before each differential")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--write-docs", action="store_true", help="put the report into docs/PERFORMANCE.md")
    args = parser.parse_args()
    binary = os.path.abspath(args.binary)
    command = " ".join(shlex.quote(a) for a in ["/usr/bin/python3", "bench/suite.py"] + sys.argv[1:])

    installed = peers.ensure_tools()
    if installed:
        say("installed: " + ", ".join(installed))
    versions = {"bakrest": subprocess.run([binary, "--version"], capture_output=True, text=True,
                                          check=True).stdout.strip().replace("bakrest ", "")}
    versions.update(peers.versions())
    rows = datagen.rows_for(args.size_mib, args.shape)
    ctx = {"command": command, "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
           "versions": versions, "shape": args.shape, "rows": rows, "seed": args.seed, "rounds": args.rounds,
           "fraction": args.fraction, "changed": len(datagen.changed_ids(rows, args.fraction, 1))}
    samples = Samples()

    # Everything started is registered here as it starts; ExitStack stops it all in reverse order, each
    # step running even if an earlier one fails.
    with contextlib.ExitStack() as stack:
        scratch = tempfile.mkdtemp(prefix="bakrest-suite-")
        stack.callback(shutil.rmtree, scratch, True)
        world = s3_support.S3World(server_args=["--quiet", "--bucket", S3_BUCKET + ":us-east-1"])
        stack.callback(world.cleanup)
        buckets = ('\n[[buckets]]\nname = "%s"\nregion = "us-east-1"\n' % LOCAL_BUCKET +
                   s3_support.bucket_toml(S3_BUCKET, world.endpoint(through_proxy=False)))
        server = harness.Server(binary, config_text=harness.config_text(buckets=buckets))
        stack.callback(server.cleanup)
        server.start()
        say("bakrest pid %d on port %d, data %s; S3 server pid %d" % (server.proc.pid, server.port,
                                                                       server.data_dir, world.server.pid))
        bakrest = Bakrest(server)
        stack.callback(bakrest.close)
        objects = Objects(server, world)

        say("loading %d rows of %s into bakrest" % (rows, args.shape))
        ctx["load_seconds"] = load(server.port, args.shape, rows, args.seed)
        db_path = database_file(bakrest)
        ctx["wal_bytes"] = wait_checkpointed(db_path)
        source = os.path.join(scratch, "bench.db")
        shutil.copyfile(db_path, source)
        ctx["db_bytes"] = os.path.getsize(source)
        say("loaded in %.0f s: %s is %.1f MiB (WAL %.1f MiB)" % (ctx["load_seconds"], db_path,
                                                                 ctx["db_bytes"] / MIB, ctx["wal_bytes"] / MIB))

        peer = peers.PgBackRestPeer(port=PG_PORT)
        stack.callback(peer.cleanup)
        say("loading the same rows into PostgreSQL")
        setup = peer.setup(args.size_mib, args.shape, args.seed, rows)
        ctx["pg_bytes"], ctx["pg_table_bytes"] = setup["cluster_bytes"], setup["table_bytes"]
        say("PostgreSQL: loaded in %.0f s, cluster %.1f MiB" % (setup["load_seconds"], ctx["pg_bytes"] / MIB))

        for r in range(1, args.rounds + 1):
            say("round %d of %d" % (r, args.rounds))
            bakrest_round(bakrest, objects, samples, args, rows, r, check=(r == 1))
            peers_round(peer, samples, args, source, scratch, check=(r == 1))

        # Idle: the cluster is stopped first so that the machine is quiet; bakrest's checkpointer gets the last
        # change's WAL done before the 10 s start.
        peer.cleanup()
        wait_checkpointed(db_path)
        ctx["idle_seconds"] = 10.0
        before = process_cpu_seconds(server.proc.pid)
        time.sleep(ctx["idle_seconds"])
        ctx["idle_cpu_seconds"] = process_cpu_seconds(server.proc.pid) - before

        text = report(ctx, samples)
    print(text)
    if args.write_docs:
        write_docs(DOCS, text)
        say("wrote %s" % os.path.normpath(DOCS))


if __name__ == "__main__":
    main()
