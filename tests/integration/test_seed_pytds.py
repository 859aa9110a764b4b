"""The seed flow through pytds: procedures by RPC (callproc), queries with parameters via sp_executesql."""
import harness
import seed_flow
from clients import PytdsClient

checks = harness.Checks()
with harness.Server(harness.binary_from_argv()) as server:
    client = PytdsClient(server.port)
    seed_flow.run(client, checks)
    rows = client.query("SELECT id, name FROM items WHERE id = %s OR name = %s ORDER BY id", (7, "row 8 — ünïcødé ✓"))
    checks.equal(rows, [(7, "row 7 — ünïcødé ✓"), (8, "row 8 — ünïcødé ✓")], "sp_executesql parameters")
    client.close()
checks.finish()
