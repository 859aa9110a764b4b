"""Adapters that give the seed flow one interface over each Python-reachable client."""
import os
import subprocess

import harness
from seed_flow import literal


def exec_text(name, params):
    """EXEC with named arguments written the way the RDS documentation writes them."""
    parts = []
    for key, value in params.items():
        parts.append("%s=%s" % (key, ("'" + value.replace("'", "''") + "'") if isinstance(value, str) else literal(value)))
    return "exec " + name + " " + ",\n".join(parts) + ";"


class PymssqlClient:
    """pymssql never sends RPC: procedures go as EXEC inside a SQL batch."""

    def __init__(self, port, database=None, tds_version="7.3", user=harness.USER, password=harness.PASSWORD):
        import pymssql
        self.conn = pymssql.connect(server="127.0.0.1", port=port, user=user, password=password,
                                    database=database or "", autocommit=True, tds_version=tds_version)

    def batch(self, sql):
        cur = self.conn.cursor()
        cur.execute(sql)
        cur.close()

    def query(self, sql):
        cur = self.conn.cursor()
        cur.execute(sql)
        rows = [tuple(r) for r in cur.fetchall()]
        cur.close()
        return rows

    def proc(self, name, params):
        return self.query(exec_text(name, params))

    def normalize(self, rows):
        return rows

    def close(self):
        self.conn.close()


class PytdsClient:
    """pytds sends procedures as RPC by name (callproc) and parameters through sp_executesql."""

    def __init__(self, port, database=None, tds_version=None):
        import pytds
        kwargs = {}
        if tds_version:
            kwargs["tds_version"] = tds_version
        # A sanitizer build on a loaded machine can take longer to log in than pytds's 15 s default.
        self.conn = pytds.connect(server="127.0.0.1", port=port, user=harness.USER, password=harness.PASSWORD,
                                  database=database, autocommit=True, login_timeout=120, **kwargs)

    def batch(self, sql):
        with self.conn.cursor() as cur:
            cur.execute(sql)

    def query(self, sql, params=None):
        with self.conn.cursor() as cur:
            cur.execute(sql, params) if params is not None else cur.execute(sql)
            return [tuple(r) for r in cur.fetchall()]

    def proc(self, name, params):
        with self.conn.cursor() as cur:
            cur.callproc(name, params)
            return [tuple(r) for r in cur.fetchall()]

    def normalize(self, rows):
        return rows

    def close(self):
        self.conn.close()


class TsqlClient:
    """FreeTDS tsql driven through its stdin, one process per batch; rows come back tab-separated."""

    def __init__(self, port, tds_version="7.4"):
        self.port = port
        self.version = tds_version
        self.database = None

    def run(self, sql):
        script = ""
        if self.database:
            script += "USE %s\ngo\n" % self.database
        script += sql + "\ngo\nexit\n"
        # tsql takes the protocol version from TDSVER (its -v means verbose).
        # An empty TDSDUMP is not "off": FreeTDS then logs to /tmp/freetds.log.<pid>. Unset, it logs nothing.
        env = dict(os.environ, TDSVER=self.version)
        env.pop("TDSDUMP", None)
        out = subprocess.run(["tsql", "-H", "127.0.0.1", "-p", str(self.port), "-U", harness.USER, "-P",
                              harness.PASSWORD, "-o", "fq"],
                             input=script.encode(), capture_output=True, timeout=120, env=env)
        return out.stdout.decode(), out.stderr.decode()

    def batch(self, sql):
        if sql.upper().startswith("USE "):
            self.database = sql.split()[1]
            return
        out, err = self.run(sql)
        if "Msg " in out + err:
            raise RuntimeError("tsql error: " + out + err)

    def query(self, sql):
        out, err = self.run(sql)
        if "Msg " in out + err:
            raise RuntimeError("tsql error: " + out + err)
        lines = [l for l in out.splitlines() if not l.startswith("locale") and
                 not l.startswith("using default charset") and not l.startswith("Setting ") and
                 "changed database context" not in l.lower()]
        # The header comes first; a column without a name (SELECT count(*)) makes it an empty line, as with
        # SQL Server. Blank lines before it (from earlier statements) and at the end are not rows.
        while lines and lines[-1].strip() == "":
            lines.pop()
        if not lines:
            return []
        # The first line is the header. A value with line breaks (task_info) spans several lines, so a row
        # is complete once it has as many fields as the header.
        width = len(lines[0].split("\t"))
        rows, fields = [], []
        for line in lines[1:]:
            parts = line.split("\t")
            if fields:
                fields[-1] += "\n" + parts[0]
                fields.extend(parts[1:])
            else:
                fields = parts
            if len(fields) >= width:
                rows.append(tuple(fields))
                fields = []
        return rows

    def proc(self, name, params):
        rows = self.query(exec_text(name, params))
        return [tuple(int(v) if v.isdigit() else v for v in r) for r in rows]
