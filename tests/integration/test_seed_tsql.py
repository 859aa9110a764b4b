"""The seed flow through FreeTDS tsql, the README's walkthrough client, at TDS 7.4 and 7.1."""
import harness
import seed_flow
from clients import TsqlClient

checks = harness.Checks()
with harness.Server(harness.binary_from_argv()) as server:
    seed_flow.run(TsqlClient(server.port, "7.4"), checks)
    for version in ("7.1", "7.2", "7.3"):
        old = TsqlClient(server.port, version)
        old.database = "mydatabase_copy"
        rows = old.query("SELECT count(*) FROM items")
        checks.equal(rows, [(str(seed_flow.ROWS),)], "TDS %s client reads the restored database" % version)
    # The server log names the protocol version of each login, so the versions really were used.
    with open(server.log.name, "rb") as log:
        text = log.read().decode(errors="replace")
    for version in ("7.1", "7.2", "7.3", "7.4"):
        checks.contains(text, "TDS " + version, "a login at TDS %s in the server log" % version)
checks.finish()
