"""Many concurrent sessions: each inserts and reads its own rows while a backup runs; every session sees
exactly its own rows and the server stays up."""
import threading

import harness
import seed_flow
from clients import PymssqlClient, exec_text

SESSIONS = 32
ROUNDS = 25
checks = harness.Checks()
with harness.Server(harness.binary_from_argv()) as server:
    setup = PymssqlClient(server.port)
    setup.batch("CREATE DATABASE shared")
    setup.batch("USE shared")
    setup.batch("CREATE TABLE t (session INT, n INT, PRIMARY KEY (session, n))")
    errors = []

    def worker(k):
        try:
            c = PymssqlClient(server.port, database="shared")
            for n in range(ROUNDS):
                c.batch("INSERT INTO t VALUES (%d, %d)" % (k, n))
                got = c.query("SELECT count(*) FROM t WHERE session = %d" % k)[0][0]
                if got != n + 1:
                    errors.append("session %d saw %d rows after %d inserts" % (k, got, n + 1))
            c.close()
        except Exception as e:  # noqa: BLE001 - any failure is a test failure
            errors.append("session %d: %r" % (k, e))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(SESSIONS)]
    for t in threads:
        t.start()
    task = setup.query(exec_text("msdb.dbo.rds_backup_database",
                                 {"@source_db_name": "shared",
                                  "@s3_arn_to_backup_to": "arn:aws:s3:::aws_example_bucket/shared.bak"}))[0][0]
    for t in threads:
        t.join()
    checks.equal(errors, [], "no session failed or saw another's rows")
    checks.equal(setup.query("SELECT count(*) FROM t")[0][0], SESSIONS * ROUNDS, "every insert of every session")
    checks.equal(seed_flow.wait_task(setup, task)[5], "SUCCESS", "backup taken among the sessions")
    setup.close()
checks.finish()
