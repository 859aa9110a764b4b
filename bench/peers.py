"""The peers bakrest's backups are compared with, timed on the same data (bench/datagen.py makes it).

    /usr/bin/python3 bench/peers.py install                      # apt-get what is missing; print versions
    /usr/bin/python3 bench/peers.py files DB [--runs N] [--cold] [--scratch DIR] [--json]
    /usr/bin/python3 bench/peers.py pgbackrest SIZE_MIB SHAPE [--runs N] [--fraction 0.01] [--port 16432]
                                   [--seed N] [--no-verify] [--keep] [--json]
    /usr/bin/python3 bench/peers.py all SIZE_MIB SHAPE [--runs N] [--json]   # datagen, files, pgbackrest

`files` times, on a SQLite file:
  zstd_openssl_backup   zstd -3 -T2 FILE -c | openssl enc -aes-256-ctr -pbkdf2 > out, then fsync
  zstd_openssl_restore  openssl enc -d ... | zstd -d > file, then fsync (and checks the bytes came back)
  cat_copy              cat FILE > out, then fsync: the uncompressed reference
  sqlite_backup         sqlite3 FILE ".backup out" (SQLite's online backup API), then fsync
`pgbackrest` loads the same rows (datagen's psql script) into a PostgreSQL cluster of its own in a temporary
directory, then per run: a full backup, a change to `fraction` of the rows scattered over the table (datagen's
change_statements, the same UPDATEs bakrest's side can run), a differential backup and a restore to a fresh
directory (then, unless --no-verify, starts the restored cluster and compares the table with the source).

Every timing is wall time from start to the output being on disk, with the CPU time (user + system) and the
peak resident memory of the largest single process of the command (GNU time's %M: the command and the
children it reaped; for a pipeline, the larger of the two, not their sum). Page cache: warm by default (the
input was just written or read); --cold evicts the input file's pages first (posix_fadvise, that file only:
the machine is shared). Runs go one after another, never two at once.

PostgreSQL refuses to run as root, and pgBackRest belongs with the cluster's owner (PostgreSQL runs its
archive-push as that user; a restore as root would leave files the server cannot use): as root, everything
PostgreSQL and pgBackRest is run as the `postgres` user that Debian's postgresql package creates (else `nobody`), with
its working directory and HOME in the temporary directory. The cluster listens on a unix socket in that
directory only (port 16432 names the socket; no TCP port is taken), and is stopped, by its pid if pg_ctl
cannot, before the directory is removed.

Importable: ensure_tools(), versions(), zstd_openssl_backup(), zstd_openssl_restore(), cat_copy(),
sqlite_backup(), evict(), PgBackRestPeer, pgbackrest_bench(), files_bench(); each timing returns a Result.
"""
import argparse
import dataclasses
import filecmp
import glob
import json
import os
import pwd
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import datagen  # noqa: E402

MIB = 1 << 20
PASSWORD = "bench-peer-pass"  # for openssl and pgBackRest's repository cipher: a benchmark, not a secret


@dataclasses.dataclass
class Result:
    seconds: float
    cpu_seconds: float
    peak_rss_mib: float
    bytes: int = None  # what the step stored (the backup's size); None where nothing is stored

    def line(self, what, input_bytes=None):
        rate = " %6.0f MiB/s" % (input_bytes / MIB / self.seconds) if input_bytes and self.seconds else ""
        stored = "  stored %8.1f MiB" % (self.bytes / MIB) if self.bytes is not None else ""
        ratio = " (%.2fx)" % (input_bytes / self.bytes) if self.bytes and input_bytes else ""
        return "%-24s %8.2f s%s  cpu %6.2f s  peak %5.0f MiB%s%s" % (
            what, self.seconds, rate, self.cpu_seconds, self.peak_rss_mib, stored, ratio)


# --- running and timing commands ------------------------------------------------------------------------------

def run_timed(argv, stdin=None, stdout=None, feed=None, **popen):
    """Runs argv to its end and returns Result(wall, cpu, peak RSS). feed(file) writes standard input (a
    text pipe). CPU and peak RSS come from GNU time, which forks the command fresh: rusage read here by
    wait4 would start from this Python process's own peak (the kernel carries a process's peak RSS through
    fork and exec), and RUSAGE_CHILDREN would mix in every earlier run."""
    report_r, report_w = os.pipe()
    if "user" in popen:
        # The command's user must be able to open the pipe through /dev/fd: it is root's, mode 0600.
        os.fchown(report_w, popen["user"], popen.get("group", -1))
    started = time.time()
    try:
        proc = subprocess.Popen(["/usr/bin/time", "-f", "%M %U %S", "-o", "/dev/fd/%d" % report_w, "--"] +
                                list(argv), stdin=subprocess.PIPE if feed else stdin, stdout=stdout,
                                text=bool(feed), pass_fds=(report_w,), **popen)
        os.close(report_w)
        report_w = None
        try:
            if feed:
                feed(proc.stdin)
                proc.stdin.close()
            proc.wait()
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        seconds = time.time() - started
        with os.fdopen(report_r) as f:
            report_r = None
            lines = f.read().splitlines()
    finally:
        for fd in (report_r, report_w):
            if fd is not None:
                os.close(fd)
    if proc.returncode != 0:
        raise subprocess.CalledProcessError(proc.returncode, argv, "\n".join(lines))
    # On failure time writes "Command exited with non-zero status N" first; the figures are the last line.
    kib, user, system = lines[-1].split()
    return Result(seconds, float(user) + float(system), int(kib) / 1024)


def fsync_path(path):
    """Flushes a file and the directory that names it: the last part of every timed write, so that each
    peer's time ends with its output durable, as bakrest's does."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def timed_with_fsync(argv, out, **kw):
    """run_timed, then fsync of out, the fsync counted in the wall time."""
    started = time.time()
    r = run_timed(argv, **kw)
    fsync_path(out)
    r.seconds = time.time() - started
    return r


def evict(path):
    """Drops a file's clean pages from the page cache (that file only), for a cold read."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)  # dirty pages cannot be dropped
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def bash(script):
    # pipefail: a failing zstd in front of openssl must fail the step, not hand over a short output.
    return ["bash", "-o", "pipefail", "-c", script]


# --- tools ----------------------------------------------------------------------------------------------------

def pg_bin():
    """The newest PostgreSQL's bin directory from Debian's packages (not on PATH there)."""
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return os.path.dirname(dirs[-1]) if dirs else None


def ensure_tools(pgbackrest=True):
    """Installs with apt-get whatever of zstd, openssl, sqlite3 (and pgbackrest, postgresql) is missing.
    As root only; otherwise says what to install."""
    wanted = {"zstd": "zstd", "openssl": "openssl", "sqlite3": "sqlite3", "/usr/bin/time": "time"}
    if pgbackrest:
        wanted["pgbackrest"] = "pgbackrest"
    missing = sorted({pkg for cmd, pkg in wanted.items() if not shutil.which(cmd)})
    if pgbackrest and not pg_bin():
        missing.append("postgresql")
    if not missing:
        return []
    if os.geteuid() != 0:
        raise RuntimeError("missing: %s (apt-get install %s)" % (missing, " ".join(missing)))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends"] + missing
    if subprocess.run(install, env=env).returncode != 0:
        # A machine fresh from its image may have no package lists yet.
        subprocess.run(["apt-get", "update", "-q"], env=env, check=True)
        subprocess.run(install, env=env, check=True)
    return missing


def versions():
    def first_line(argv):
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout.strip().splitlines()[0]
        except (OSError, IndexError, subprocess.SubprocessError):
            return None
    out = {"zstd": first_line(["zstd", "--version"]), "openssl": first_line(["openssl", "version"]),
           "sqlite3": first_line(["sqlite3", "--version"]), "pgbackrest": first_line(["pgbackrest", "version"])}
    if pg_bin():
        out["postgresql"] = first_line([os.path.join(pg_bin(), "postgres"), "--version"])
    return out


# --- the single-file peers ------------------------------------------------------------------------------------

def zstd_openssl_backup(src, out, level=3, threads=2, password=PASSWORD):
    """zstd -LEVEL -T<threads> src -c | openssl enc -aes-256-ctr -pbkdf2 > out, fsync. Result.bytes: out's size."""
    r = timed_with_fsync(bash("zstd -%d -T%d -q -c %s | openssl enc -aes-256-ctr -pbkdf2 -pass pass:%s -out %s" % (
        level, threads, shlex.quote(src), shlex.quote(password), shlex.quote(out))), out)
    r.bytes = os.path.getsize(out)
    return r


def zstd_openssl_restore(enc, out, password=PASSWORD):
    """openssl enc -d -aes-256-ctr -pbkdf2 < enc | zstd -d > out, fsync."""
    return timed_with_fsync(bash("openssl enc -d -aes-256-ctr -pbkdf2 -pass pass:%s -in %s | zstd -d -q -c > %s" % (
        shlex.quote(password), shlex.quote(enc), shlex.quote(out))), out)


def cat_copy(src, out):
    """cat src > out, fsync: what copying the bytes costs, with nothing done to them."""
    with open(out, "wb") as f:
        r = timed_with_fsync(["cat", src], out, stdout=f)
    r.bytes = os.path.getsize(out)
    return r


def sqlite_backup(src, out):
    """sqlite3 src ".backup out", fsync. The backup API copies pages under a read transaction: a consistent
    copy of a live database, as bakrest's snapshot is."""
    if os.path.exists(out):
        os.unlink(out)
    r = timed_with_fsync(["sqlite3", src, ".backup %s" % _sqlite_quote(out)], out)
    r.bytes = os.path.getsize(out)
    return r


def _sqlite_quote(path):
    # The sqlite3 shell splits dot-command arguments on spaces unless quoted.
    return '"%s"' % path.replace("\\", "\\\\").replace('"', '\\"')


def files_bench(db, runs=1, cold=False, scratch=None, check=True):
    """Runs the four single-file peers on db, runs times in turn. Returns a list of {name: Result} per run.
    check: the zstd round trip must give back db's bytes (compared after the timing)."""
    ensure_tools(pgbackrest=False)
    scratch = scratch or tempfile.mkdtemp(prefix="bench-peers-files-")
    enc, back, copy = (os.path.join(scratch, n) for n in ("db.zst.enc", "db.restored", "db.copy"))
    results = []
    try:
        for _ in range(runs):
            run = {}
            if cold:
                evict(db)
            run["zstd_openssl_backup"] = zstd_openssl_backup(db, enc)
            if cold:
                evict(enc)
            run["zstd_openssl_restore"] = zstd_openssl_restore(enc, back)
            if check and not filecmp.cmp(db, back, shallow=False):
                raise RuntimeError("zstd | openssl round trip changed the file")
            for path in (enc, back):
                os.unlink(path)
            if cold:
                evict(db)
            run["cat_copy"] = cat_copy(db, copy)
            os.unlink(copy)
            if cold:
                evict(db)
            run["sqlite_backup"] = sqlite_backup(db, copy)
            os.unlink(copy)
            results.append(run)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return results


# --- pgBackRest -----------------------------------------------------------------------------------------------

STANZA = "bench"


def dir_bytes(path, skip=()):
    """Bytes of the files under path (not following links), leaving out top-level entries named in skip."""
    total = 0
    for root, dirs, files in os.walk(path):
        if root == path:
            dirs[:] = [d for d in dirs if d not in skip]
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except FileNotFoundError:
                pass  # PostgreSQL removes temporary files as we walk
    return total


class PgBackRestPeer:
    """A PostgreSQL cluster and a pgBackRest stanza with a local repository, in a temporary directory.

        with PgBackRestPeer() as peer:
            peer.setup(size_mib, shape)
            full = peer.full_backup(); peer.change(0.01); diff = peer.diff_backup(); rest = peer.restore()
    """

    def __init__(self, workdir=None, port=16432):
        # The port only names the unix socket (no TCP port is taken), but the benches keep to their ranges:
        # 16400-16499 for this file's own runs, 16500-16599 when bench/suite.py drives it.
        if not 16400 <= port <= 16598:
            raise ValueError("port %d: the benches keep to 16400-16599 (port + 1 for the restored cluster)" % port)
        ensure_tools()
        self.bin = pg_bin()
        self.port = port
        self.dir = workdir or tempfile.mkdtemp(prefix="bench-pgbackrest-")
        self.data = os.path.join(self.dir, "data")
        self.repo = os.path.join(self.dir, "repo")
        self.started = []  # data directories of clusters this object started, for stop()
        self.shape = self.rows = None
        self.seed = 1
        self.changes = 0
        # PostgreSQL will not run as root; pgBackRest runs as the same user, as its archive-push does when
        # PostgreSQL runs it, so that the repository and restored files belong to the cluster's owner.
        self.user = None
        if os.geteuid() == 0:
            for name in ("postgres", "nobody"):
                try:
                    self.user = pwd.getpwnam(name)
                    break
                except KeyError:
                    pass
            if self.user is None:
                raise RuntimeError("running as root and there is no postgres or nobody user to run PostgreSQL")
            os.chown(self.dir, self.user.pw_uid, self.user.pw_gid)
        os.chmod(self.dir, 0o700)
        for d in ("repo", "log", "lock", "spool", "conf.d"):
            self._mkdir(os.path.join(self.dir, d))
        self._write_pgbackrest_conf()

    # -- running things as the cluster's owner

    def _env(self):
        env = {"PATH": self.bin + ":/usr/local/bin:/usr/bin:/bin", "HOME": self.dir, "LANG": "C.UTF-8",
               "PGHOST": self.dir, "PGPORT": str(self.port), "PGUSER": "postgres", "PGDATABASE": "postgres",
               "PSQLRC": "/dev/null"}
        return env

    def _popen_args(self):
        args = {"env": self._env(), "cwd": self.dir}  # cwd: the owner cannot enter root's home
        if self.user:
            args.update(user=self.user.pw_uid, group=self.user.pw_gid, extra_groups=[])
        return args

    def _run(self, argv, timeout=3600, **kw):
        """Runs argv as the cluster's owner, not timed; raises if it fails."""
        args = self._popen_args()
        args.update(kw)
        return subprocess.run(argv, check=True, timeout=timeout, **args)

    def _timed(self, argv, **kw):
        args = self._popen_args()
        args.update(kw)
        return run_timed(argv, **args)

    def _mkdir(self, path):
        os.makedirs(path, mode=0o700, exist_ok=True)
        if self.user:
            os.chown(path, self.user.pw_uid, self.user.pw_gid)

    def _write(self, path, text):
        with open(path, "w") as f:
            f.write(text)
        if self.user:
            os.chown(path, self.user.pw_uid, self.user.pw_gid)

    def psql(self, sql, port=None):
        """Runs SQL (one or more statements) and returns the output rows as lists of strings."""
        out = self._run(["psql", "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1",
                         "-p", str(port or self.port), "-c", sql], capture_output=True, text=True).stdout
        return [line.split("\t") for line in out.splitlines() if line]

    def pgbackrest(self, *args):
        """The pgbackrest command line for this stanza. --config-path makes pgBackRest read our
        pgbackrest.conf and conf.d/ only, never /etc/pgbackrest.conf."""
        return ["pgbackrest", "--config-path=" + self.dir, "--stanza=" + STANZA] + list(args)

    # -- configuration

    def _write_pgbackrest_conf(self):
        self._write(os.path.join(self.dir, "pgbackrest.conf"), "\n".join([
            "[global]",
            "repo1-path=" + self.repo,
            "repo1-cipher-type=aes-256-cbc",
            "repo1-cipher-pass=" + PASSWORD,
            # Expiring runs inside every backup command: keep everything, so that no run's time includes
            # deleting an earlier run's backup.
            "repo1-retention-full=9999",
            "compress-type=zst",
            "compress-level=3",
            "process-max=2",
            # Checkpoint at once at backup start: the backup's time is then its own work, not a wait for
            # the next scheduled checkpoint (up to checkpoint_timeout away).
            "start-fast=y",
            "log-path=" + os.path.join(self.dir, "log"),
            "lock-path=" + os.path.join(self.dir, "lock"),
            "spool-path=" + os.path.join(self.dir, "spool"),
            "log-level-console=warn",
            "log-level-file=info",
            "",
            "[%s]" % STANZA,
            "pg1-path=" + self.data,
            "pg1-port=%d" % self.port,
            "pg1-socket-path=" + self.dir,
            "pg1-user=postgres",
            ""]))

    def _write_cluster_conf(self, archiving):
        """The settings this bench changes, in an included file. Loading runs without archiving and at
        wal_level=minimal: the table created and filled in one transaction then writes no WAL (faster, and
        the repository's archive holds only what the backups need). Backups run with archiving into the
        stanza, as pgBackRest is meant to run: a backup waits for the WAL that makes it consistent to be
        archived, and a restore replays it."""
        lines = ["port = %d" % self.port, "listen_addresses = ''", "unix_socket_directories = '%s'" % self.dir,
                 "max_wal_size = 4GB", "checkpoint_timeout = 30min"]
        if archiving:
            command = " ".join(shlex.quote(a) for a in self.pgbackrest("archive-push")) + " %p"
            lines += ["wal_level = replica", "archive_mode = on",
                      "archive_command = '%s'" % command.replace("'", "''")]
        else:
            lines += ["wal_level = minimal", "max_wal_senders = 0", "archive_mode = off"]
        self._write(os.path.join(self.data, "bench.conf"), "\n".join(lines) + "\n")

    # -- the cluster

    def _start(self, data, port, extra=""):
        self._run(["pg_ctl", "-D", data, "-l", os.path.join(self.dir, "log", "postgres-%d.log" % port),
                   "-w", "-t", "600", "-o", "-p %d -k %s %s" % (port, self.dir, extra), "start"],
                  stdout=subprocess.DEVNULL)
        if data not in self.started:
            self.started.append(data)

    def _stop(self, data):
        try:
            self._run(["pg_ctl", "-D", data, "-m", "fast", "-w", "-t", "120", "stop"], stdout=subprocess.DEVNULL,
                      stderr=subprocess.DEVNULL)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            # pg_ctl could not stop it: end the postmaster we started, by the pid it wrote. SIGQUIT is
            # PostgreSQL's immediate shutdown, which takes its backends down too.
            try:
                with open(os.path.join(data, "postmaster.pid")) as f:
                    pid = int(f.readline())
                os.kill(pid, signal.SIGQUIT)
            except (OSError, ValueError):
                pass
        if data in self.started:
            self.started.remove(data)

    def setup(self, size_mib, shape, seed=1, rows=None):
        """initdb, load datagen's rows for (size_mib, shape), switch archiving on, create the stanza. Returns
        {"rows", "load_seconds", "table_bytes", "cluster_bytes"} (cluster_bytes: the data directory without
        pg_wal, what a backup copies)."""
        self.shape, self.seed = shape, seed
        self.rows = rows if rows is not None else datagen.rows_for(size_mib, shape)
        # --no-sync: initdb's fsync of a throwaway cluster is seconds of disk load for nothing.
        self._run(["initdb", "-D", self.data, "-U", "postgres", "-E", "UTF8", "--locale=C", "--auth=trust",
                   "--no-sync"], stdout=subprocess.DEVNULL)
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write("\ninclude 'bench.conf'\n")
        self._write_cluster_conf(archiving=False)
        self._start(self.data, self.port)
        load = self._timed(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", "-"], stdout=subprocess.DEVNULL,
                           feed=lambda f: datagen.write_sql(f, size_mib, shape, seed, self.rows))
        self._write_cluster_conf(archiving=True)
        self._run(["pg_ctl", "-D", self.data, "-l", os.path.join(self.dir, "log", "postgres-%d.log" % self.port),
                   "-m", "fast", "-w", "-t", "600", "restart"], stdout=subprocess.DEVNULL)
        self.psql("CHECKPOINT")
        self._run(self.pgbackrest("stanza-create"))
        # check: archive_command works and the stanza matches the cluster (waits for one WAL switch).
        self._run(self.pgbackrest("check"))
        table = datagen.shape_rows(shape).table
        return {"rows": self.rows, "load_seconds": load.seconds,
                "table_bytes": int(self.psql("SELECT pg_total_relation_size('%s')" % table)[0][0]),
                "cluster_bytes": dir_bytes(self.data, skip=("pg_wal",))}

    # -- the timed steps

    def _backup(self, kind):
        r = self._timed(self.pgbackrest("--type=" + kind, "backup"))
        info = json.loads(self._run(self.pgbackrest("--output=json", "info"), capture_output=True,
                                    text=True).stdout)
        last = info[0]["backup"][-1]
        assert last["type"] == kind, last
        # What this backup added to the repository (compressed, encrypted); its WAL is in the archive.
        r.bytes = last["info"]["repository"]["delta"]
        return r

    def full_backup(self):
        return self._backup("full")

    def diff_backup(self):
        return self._backup("diff")

    def change(self, fraction=0.01):
        """Updates fraction of the rows, spread over the table (datagen.change_statements), a new set per
        call. Not timed. Returns the number of rows changed."""
        self.changes += 1
        ids = datagen.changed_ids(self.rows, fraction, self.seed * 1000 + self.changes)
        self._run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", "-"], stdout=subprocess.DEVNULL, text=True,
                  input="BEGIN;\n" + ";\n".join(datagen.change_statements(self.shape, ids)) + ";\nCOMMIT;\n")
        return len(ids)

    def restore(self, target=None):
        """pgbackrest restore of the latest backup into target (a fresh directory, replaced if there).
        Returns the Result, with bytes the restored directory's size."""
        target = target or os.path.join(self.dir, "restored")
        self.discard_restore(target)
        self._mkdir(target)
        r = self._timed(self.pgbackrest("--pg1-path=" + target, "restore"))
        r.bytes = dir_bytes(target)
        return r

    def discard_restore(self, target=None):
        """Stops the restored cluster if it runs and removes its directory (not timed)."""
        target = target or os.path.join(self.dir, "restored")
        if target in self.started:
            self._stop(target)
        shutil.rmtree(target, ignore_errors=True)

    def checksum(self, port=None):
        """count(*) and a sum of row hashes of the table: equal on two clusters when their rows are."""
        table = datagen.shape_rows(self.shape).table
        return self.psql("SELECT count(*), sum(hashtext(t::text)::bigint) FROM %s t" % table, port)[0]

    def verify_restore(self, target=None):
        """Starts the restored cluster on port + 1 (archiving off: it must not push into the stanza), lets it
        replay to the end of the backup, compares the table with the source, and stops it."""
        target = target or os.path.join(self.dir, "restored")
        self._start(target, self.port + 1, "-c archive_mode=off")
        try:
            # Ready for queries is not yet done replaying: wait for the end of recovery.
            deadline = time.time() + 600
            while self.psql("SELECT pg_is_in_recovery()", self.port + 1)[0][0] == "t":
                if time.time() > deadline:
                    raise RuntimeError("the restored cluster did not finish recovery")
                time.sleep(0.2)
            restored, source = self.checksum(self.port + 1), self.checksum()
            if restored != source:
                raise RuntimeError("restored table %s differs from the source's %s" % (restored, source))
        finally:
            self._stop(target)

    def repo_bytes(self):
        return dir_bytes(self.repo)

    def stop(self):
        for data in list(self.started):
            self._stop(data)

    def cleanup(self, keep=False):
        self.stop()
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()


def pgbackrest_bench(size_mib, shape, runs=1, fraction=0.01, port=16432, seed=1, verify=True, keep=False,
                     report=None):
    """Sets up a PgBackRestPeer and runs full backup, change, diff backup, restore (and the check), runs
    times. report(text), if given, hears about each step as it ends. Returns {"setup": {...},
    "runs": [{"full_backup", "diff_backup", "restore": Result, "rows_changed"}], "repo_bytes", "dir"}."""
    say = report or (lambda text: None)
    peer = PgBackRestPeer(port=port)
    try:
        setup = peer.setup(size_mib, shape, seed)
        say("loaded %d rows in %.1f s: table %.1f MiB, cluster %.1f MiB (without pg_wal)" % (
            setup["rows"], setup["load_seconds"], setup["table_bytes"] / MIB, setup["cluster_bytes"] / MIB))
        out = {"setup": setup, "runs": [], "dir": peer.dir}
        for i in range(runs):
            run = {"full_backup": peer.full_backup()}
            say(run["full_backup"].line("pgbackrest full", setup["cluster_bytes"]))
            run["rows_changed"] = peer.change(fraction)
            run["diff_backup"] = peer.diff_backup()
            say(run["diff_backup"].line("pgbackrest diff", setup["cluster_bytes"]))
            run["restore"] = peer.restore()
            say(run["restore"].line("pgbackrest restore", setup["cluster_bytes"]))
            if verify:
                peer.verify_restore()
                say("restored cluster checked: same rows as the source")
            out["runs"].append(run)
        out["repo_bytes"] = peer.repo_bytes()
        return out
    finally:
        peer.cleanup(keep=keep)


# --- command line ---------------------------------------------------------------------------------------------

def _jsonable(value):
    if isinstance(value, Result):
        return dataclasses.asdict(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def _print_files(db, results):
    size = os.path.getsize(db)
    print("%s: %.1f MiB" % (db, size / MIB))
    for i, run in enumerate(results):
        print("run %d:" % (i + 1))
        for name, r in run.items():
            print("  " + r.line(name, size))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("install", help="install missing tools, print versions")
    p = sub.add_parser("files", help="zstd|openssl, cat and sqlite3 .backup on a file")
    p.add_argument("db")
    p.add_argument("--runs", type=int, default=1)
    p.add_argument("--cold", action="store_true", help="evict the input from the page cache before each step")
    p.add_argument("--scratch", help="directory for the outputs (default: a new temporary one)")
    p.add_argument("--json", action="store_true")
    for name in ("pgbackrest", "all"):
        p = sub.add_parser(name, help="pgBackRest on a cluster of datagen's rows" if name == "pgbackrest" else
                           "datagen sqlite, then files, then pgbackrest, on the same rows")
        p.add_argument("size_mib", type=float)
        p.add_argument("shape", choices=sorted(datagen.SHAPES))
        p.add_argument("--runs", type=int, default=1)
        p.add_argument("--fraction", type=float, default=0.01, help="rows changed before each diff")
        p.add_argument("--port", type=int, default=16432)
        p.add_argument("--seed", type=int, default=1)
        p.add_argument("--no-verify", action="store_true", help="skip starting the restored cluster")
        p.add_argument("--keep", action="store_true", help="keep the cluster's directory (stopped)")
        p.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    if args.command == "install":
        installed = ensure_tools()
        print("installed: %s" % (", ".join(installed) or "nothing"))
        for k, v in versions().items():
            print("%-11s %s" % (k, v))
        return
    say = (lambda text: None) if args.json else (lambda text: print(text, flush=True))
    out = {"versions": versions()}
    if args.command == "files":
        out["files"] = files_bench(args.db, args.runs, args.cold, args.scratch)
        if not args.json:
            _print_files(args.db, out["files"])
    else:
        if args.command == "all":
            scratch = tempfile.mkdtemp(prefix="bench-peers-all-")
            db = os.path.join(scratch, "bench.db")
            try:
                made = datagen.write_sqlite(db, args.size_mib, args.shape, args.seed)
                out["sqlite"] = dict(made, zstd3_ratio=datagen.zstd_ratio(db))
                say("datagen: %d rows, %.1f MiB, zstd -3 ratio %.2fx" % (
                    made["rows"], made["bytes"] / MIB, out["sqlite"]["zstd3_ratio"]))
                out["files"] = files_bench(db, args.runs)
                if not args.json:
                    _print_files(db, out["files"])
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
        out["pgbackrest"] = pgbackrest_bench(args.size_mib, args.shape, args.runs, args.fraction, args.port,
                                             args.seed, not args.no_verify, args.keep, say)
    if args.json:
        print(json.dumps(_jsonable(out), indent=1))


if __name__ == "__main__":
    main()
