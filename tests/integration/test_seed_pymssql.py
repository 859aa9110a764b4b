"""The seed flow through pymssql (procedures as EXEC in SQL batches; dbcancel after every query), with the bucket
in the local store or (BAKREST_TEST_STORE=s3) on the S3 test server."""
import harness
import seed_flow
from clients import PymssqlClient

checks = harness.Checks()
# With BAKREST_TEST_STORE=s3 (integration.test_seed_pymssql_s3) the bucket is on the S3 test server.
with harness.Store() as store, harness.Server(harness.binary_from_argv(), config_text=store.text) as server:
    client = PymssqlClient(server.port)
    seed_flow.run(client, checks)
    # The same connection keeps working after many cancel round trips.
    checks.equal(client.query("SELECT DB_NAME()")[0][0], "mydatabase", "DB_NAME() after the flow")
    client.close()
checks.finish()
