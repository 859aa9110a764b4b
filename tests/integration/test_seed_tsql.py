"""The seed flow through FreeTDS tsql, the README's walkthrough client, at TDS 7.4 and 7.1."""
import harness
import seed_flow
from clients import TsqlClient

checks = harness.Checks()
with harness.Server(harness.binary_from_argv()) as server:
    seed_flow.run(TsqlClient(server.port, "7.4"), checks)
    old = TsqlClient(server.port, "7.1")
    old.database = "mydatabase_copy"
    rows = old.query("SELECT count(*) FROM items")
    checks.equal(rows, [(str(seed_flow.ROWS),)], "TDS 7.1 client reads the restored database")
checks.finish()
