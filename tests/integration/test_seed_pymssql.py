"""The seed flow through pymssql (procedures as EXEC in SQL batches; dbcancel after every query)."""
import harness
import seed_flow
from clients import PymssqlClient

checks = harness.Checks()
with harness.Server(harness.binary_from_argv()) as server:
    client = PymssqlClient(server.port)
    seed_flow.run(client, checks)
    # The same connection keeps working after many cancel round trips.
    checks.equal(client.query("SELECT DB_NAME()")[0][0], "mydatabase", "DB_NAME() after the flow")
    client.close()
checks.finish()
