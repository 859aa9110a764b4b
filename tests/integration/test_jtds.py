"""jTDS 1.3.1 (Debian libjtds-java, TDS 7.1) through JtdsClient.java, run with Java's single-file source launcher:
connect to a database named in the URL (jTDS's login batch asks for @@MAX_PRECISION), CREATE TABLE with a column
of every common type, INSERT and SELECT of every type through a PreparedStatement with exact round trips (BigDecimal
scale kept; DATE, TIME and DATETIME2 to what the type holds), Statement and PreparedStatement batches, commit and
rollback with setAutoCommit(false), a savepoint rolled back, `exec msdb.dbo.rds_task_status`, a backup started with
{call msdb.dbo.rds_backup_database(?,?)} and polled with rds_task_status until SUCCESS, and DatabaseMetaData
getTables/getColumns of the table made, and a connection with ssl=require that sys.dm_exec_connections shows
encrypted. The Java program prints one `CHECK ok|fail <what>` line per check; each
becomes a check here."""
import os
import shutil
import subprocess

import pytds

import harness
import seed_flow

JAR = "/usr/share/java/jtds.jar"
CLIENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "JtdsClient.java")
DATABASE = "jtdsdb"


checks = harness.Checks()
with harness.Server(harness.binary_from_argv()) as server:
    conn = pytds.connect("127.0.0.1", port=server.port, user=harness.USER, password=harness.PASSWORD,
                         autocommit=True, login_timeout=120)
    with conn.cursor() as cur:
        cur.execute("CREATE DATABASE " + DATABASE)
    conn.close()

    java = shutil.which("java")
    checks.check(java is not None, "java is on PATH (Debian default-jdk-headless)")
    checks.check(os.path.isfile(JAR), "%s is there (Debian libjtds-java)" % JAR)
    if java and os.path.isfile(JAR):
        try:
            # jTDS buffers large values in files under java.io.tmpdir and leaves them there: the server's
            # data directory, which the harness removes, rather than /tmp.
            run = subprocess.run([java, "-Djava.io.tmpdir=" + server.data_dir, "-cp", JAR, CLIENT, str(server.port),
                                  harness.USER, harness.PASSWORD, DATABASE],
                                 capture_output=True, text=True, timeout=540)
            stdout, stderr, status = run.stdout, run.stderr, run.returncode
        except subprocess.TimeoutExpired as e:  # subprocess.run has killed the JVM
            stdout = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
            stderr, status = "timed out after 540 s", None
        lines = stdout.splitlines()
        reported = 0
        for line in lines:
            if line.startswith("CHECK ok "):
                checks.check(True, line[len("CHECK ok "):])
                reported += 1
            elif line.startswith("CHECK fail "):
                checks.check(False, "jTDS: " + line[len("CHECK fail "):])
                reported += 1
        checks.check(reported > 0, "JtdsClient.java reported its checks")
        checks.check("END" in lines, "JtdsClient.java ran to its end (stderr: %s)" % stderr[-2000:])
        checks.equal(status, 0, "JtdsClient.java exit status")

    tasks = seed_flow.finished_backups(server.port, DATABASE)
    checks.equal([t[5] for t in tasks], ["SUCCESS"], "lifecycle of the backup task jTDS started")
    checks.check(os.path.isfile(server.store_path("aws_example_bucket", DATABASE + ".bak")),
                 "the backup jTDS started is in aws_example_bucket as %s.bak" % DATABASE)
checks.finish()
