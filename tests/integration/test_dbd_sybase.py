"""Perl DBD::Sybase (Debian libdbd-sybase-perl) through FreeTDS ct-lib with `tds version = 7.4` and `encryption =
require`, driven by
dbd_sybase_client.pl: connect, CREATE TABLE, begin_work/INSERT/rollback undoes the insert and returns true with no
error (DBD::Sybase ends it with ROLLBACK TRAN and then, switching AutoCommit back on, an unconditional COMMIT TRAN),
begin_work/INSERT/commit keeps it, `exec msdb.dbo.rds_backup_database ...` and `exec msdb.dbo.rds_task_status`
(the task's rows, with their NVARCHAR(MAX) task_info), and a SELECT of an NVARCHAR(MAX) value of 10 and of 10000
characters. Each part runs in a Perl process of its own, so one that dies (DBD::Sybase has died with "Out of
memory!" on NVARCHAR(MAX) columns) fails its checks and the others still run."""
import os
import shutil
import subprocess
import tempfile

import pytds

import harness
import seed_flow

CLIENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dbd_sybase_client.pl")
DATABASE = "pldb"
PARTS = [["tx"], ["tasks"], ["nvarchar", "10"], ["nvarchar", "10000"]]


checks = harness.Checks()
work = tempfile.mkdtemp(prefix="bakrest-dbd-")
try:
    with harness.Server(harness.binary_from_argv()) as server:
        admin = pytds.connect("127.0.0.1", port=server.port, user=harness.USER, password=harness.PASSWORD,
                              autocommit=True, login_timeout=120)
        with admin.cursor() as cur:
            cur.execute("CREATE DATABASE " + DATABASE)
        admin.close()

        conf = os.path.join(work, "freetds.conf")
        with open(conf, "w") as f:
            f.write("[global]\n\ttds version = 7.4\n\ttext size = 1048576\n"
                    "[bakrest]\n\thost = 127.0.0.1\n\tport = %d\n\ttds version = 7.4\n\tencryption = require\n"
                    % server.port)
        env = dict(os.environ, FREETDSCONF=conf)
        env.pop("DSQUERY", None)
        env.pop("TDSVER", None)

        for part in PARTS:
            name = " ".join(part)
            try:
                run = subprocess.run(["perl", CLIENT, "bakrest", harness.USER, harness.PASSWORD, DATABASE] + part,
                                     capture_output=True, text=True, env=env, timeout=400)
                stdout, stderr, status = run.stdout, run.stderr, run.returncode
            except subprocess.TimeoutExpired as e:  # subprocess.run has killed perl
                stdout = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
                stderr, status = "timed out after 400 s", None
            lines = stdout.splitlines()
            reported = 0
            step = None
            for line in lines:
                if line.startswith("STEP "):
                    step = line[len("STEP "):]
                elif line.startswith("CHECK ok "):
                    checks.check(True, line[len("CHECK ok "):])
                    reported += 1
                elif line.startswith("CHECK fail "):
                    checks.check(False, "DBD::Sybase %s: %s" % (name, line[len("CHECK fail "):]))
                    reported += 1
            tail = " ".join(stderr.split())[-1500:]
            checks.check(reported > 0, "DBD::Sybase %s reported its checks" % name)
            checks.check("END " + part[0] in lines, "DBD::Sybase %s ran to its end (it stopped in step %r; exit "
                         "status %s; stderr: %s)" % (name, step, status, tail))
            checks.equal(status, 0, "DBD::Sybase %s exit status (stderr: %s)" % (name, tail))

        # encryption = require: every DBD::Sybase session was encrypted throughout.
        with open(server.log.name, "rb") as log:
            logins = [line for line in log.read().decode(errors="replace").splitlines()
                      if "logged in" in line and "dbd_sybase_client" in line]
        checks.equal(len(logins), len(PARTS), "a login for each DBD::Sybase part")
        checks.check(all(", encrypted with TLS" in line for line in logins),
                     "DBD::Sybase with encryption = require is encrypted throughout: %r" % logins[:1])

        tasks = seed_flow.finished_backups(server.port, DATABASE)
        checks.equal([t[5] for t in tasks], ["SUCCESS"], "lifecycle of the backup task DBD::Sybase started")
        checks.check(os.path.isfile(server.store_path("aws_example_bucket", DATABASE + ".bak")),
                     "the backup DBD::Sybase started is in aws_example_bucket as %s.bak" % DATABASE)
finally:
    shutil.rmtree(work, ignore_errors=True)
checks.finish()
