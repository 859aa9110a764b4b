"""A backup taken while another session keeps inserting restores to one consistent state."""
import threading

import harness
import seed_flow
from clients import PymssqlClient, exec_text

checks = harness.Checks()
with harness.Server(harness.binary_from_argv()) as server:
    c = PymssqlClient(server.port)
    c.batch("CREATE DATABASE busy")
    c.batch("USE busy")
    c.batch("CREATE TABLE orders (id INTEGER PRIMARY KEY, amount INT, pad NVARCHAR(MAX))")
    c.batch("CREATE TABLE totals (orders INT, amount INT)")
    c.batch("INSERT INTO totals VALUES (0, 0)")
    c.batch("INSERT INTO orders (amount, pad) VALUES " + ", ".join("(1, N'%s')" % ("x" * 500) for _ in range(2000)))
    c.batch("UPDATE totals SET orders = 2000, amount = 2000")

    stop = threading.Event()
    inserted = [0]

    def writer():
        w = PymssqlClient(server.port, database="busy")
        i = 0
        while not stop.is_set():
            i += 1
            # One transaction: an order and the totals that must always agree with it.
            w.batch("BEGIN TRAN; INSERT INTO orders (amount, pad) VALUES (%d, N'%s'); "
                    "UPDATE totals SET orders = orders + 1, amount = amount + %d; COMMIT;" % (i, "y" * 300, i))
            inserted[0] = i
        w.close()

    thread = threading.Thread(target=writer)
    thread.start()
    harness.wait_for(lambda: inserted[0] > 20, what="writer to start")
    task = c.query(exec_text("msdb.dbo.rds_backup_database",
                             {"@source_db_name": "busy", "@s3_arn_to_backup_to": "arn:aws:s3:::aws_example_bucket/busy.bak"}))[0][0]
    done = seed_flow.wait_task(c, task)
    at_backup_end = inserted[0]
    harness.wait_for(lambda: inserted[0] > at_backup_end + 20, what="writer to go on after the backup")
    stop.set()
    thread.join()
    checks.equal(done[5], "SUCCESS", "backup under writes (task_info: %r)" % done[6])

    restore = c.query(exec_text("msdb.dbo.rds_restore_database",
                                {"@restore_db_name": "busy_copy",
                                 "@s3_arn_to_restore_from": "arn:aws:s3:::aws_example_bucket/busy.bak"}))[0][0]
    checks.equal(seed_flow.wait_task(c, restore)[5], "SUCCESS", "restore")
    counted = c.query("SELECT count(*), sum(amount) FROM busy_copy.dbo.orders")[0]
    totals = c.query("SELECT orders, amount FROM busy_copy.dbo.totals")[0]
    checks.equal(tuple(counted), tuple(totals), "orders and totals agree in the restored copy")
    checks.check(2000 < counted[0] < 2000 + inserted[0], "the copy holds some but not all concurrent inserts: %r" % (counted,))
    checks.equal(c.query("SELECT count(*) FROM busy.dbo.orders")[0][0], 2000 + inserted[0], "source kept every insert")
    integrity = c.query("USE busy_copy; PRAGMA integrity_check")
    checks.equal(integrity, [("ok",)], "restored copy passes SQLite's integrity check")
    c.close()
checks.finish()
