"""TLS for TDS (docs/OPERATIONS.md, "Encryption") with real clients: FreeTDS tsql and pymssql with
`encryption = require`, pytds with a CA file, pyodbc through FreeTDS's ODBC driver with Encryption=require,
login-only encryption (FreeTDS's default), a certificate from instance.toml, and force_encryption. Every
connection goes through a relay that keeps what the client sent (wire_capture.py), so each case also shows
what crossed the wire in the clear; sys.dm_exec_connections shows what the server says it got."""
import os
import re
import shutil
import stat
import subprocess
import tempfile

import pymssql
import pyodbc
import pytds

import harness
import raw_tds
from wire_capture import WireCapture

ODBC_DRIVER = "/usr/lib/x86_64-linux-gnu/odbc/libtdsodbc.so"
# The statement each client runs; its text is a secret too: on a fully encrypted connection it must not show.
ENCRYPT_OPTION = "SELECT encrypt_option FROM sys.dm_exec_connections WHERE session_id = @@SPID"
SECRET_SQL = "encrypt_option"

checks = harness.Checks()
binary = harness.binary_from_argv()
work = tempfile.mkdtemp(prefix="bakrest-tls-")


def freetds_conf(port, encryption):
    """A freetds.conf whose [global] section (which pymssql's connections read too) sets the encryption."""
    path = os.path.join(work, "freetds-%s-%d.conf" % (encryption or "default", port))
    with open(path, "w") as f:
        f.write("[global]\n  tds version = 7.4\n")
        if encryption:
            f.write("  encryption = %s\n" % encryption)
        f.write("[bakrest]\n  host = 127.0.0.1\n  port = %d\n" % port)
    return path


def tsql(port, encryption, sql):
    env = dict(os.environ, FREETDSCONF=freetds_conf(port, encryption))
    out = subprocess.run(["tsql", "-S", "bakrest", "-U", harness.USER, "-P", harness.PASSWORD],
                         input=sql + "\ngo\nexit\n", capture_output=True, text=True, env=env, timeout=60)
    return out.stdout + out.stderr


def pymssql_query(port, encryption, sql):
    os.environ["FREETDSCONF"] = freetds_conf(port, encryption)
    try:
        conn = pymssql.connect(server="127.0.0.1", port=port, user=harness.USER, password=harness.PASSWORD)
        cur = conn.cursor()
        cur.execute(sql)
        rows = cur.fetchall()
        conn.close()
        return rows
    finally:
        del os.environ["FREETDSCONF"]


def pytds_query(port, sql, cafile=None):
    conn = pytds.connect("localhost", port=port, user=harness.USER, password=harness.PASSWORD, cafile=cafile,
                         autocommit=True)
    cur = conn.cursor()
    cur.execute(sql)
    rows = cur.fetchall()
    conn.close()
    return rows


def odbc_query(port, encryption, sql):
    conn = pyodbc.connect("DRIVER=%s;SERVER=127.0.0.1;PORT=%d;UID=%s;PWD=%s;TDS_Version=7.4;Encryption=%s" %
                          (ODBC_DRIVER, port, harness.USER, harness.PASSWORD, encryption), autocommit=True)
    rows = [tuple(r) for r in conn.cursor().execute(sql).fetchall()]
    conn.close()
    return rows


def openssl(*args):
    return subprocess.run(["openssl"] + list(args), capture_output=True, text=True, check=True).stdout


def through_capture(server, what, run, encrypted_all, login_encrypted=True):
    """Runs one client through a fresh relay; checks what it got and what crossed the wire in the clear."""
    with WireCapture(server.port) as cap:
        try:
            result = run(cap.port)
        except Exception as e:  # the check below names the client and the failure
            result = "failed: %r" % e
        conns = cap.connections()
    expected = "TRUE" if encrypted_all else "FALSE"
    checks.contains(str(result), expected, "%s: sys.dm_exec_connections.encrypt_option" % what)
    checks.check(len(conns) >= 1, "%s: the client connected through the relay" % what)
    for conn in conns:
        checks.equal(conn.sent_login7_in_clear(), not login_encrypted, "%s: LOGIN7 sent in the clear" % what)
        checks.equal(conn.shows(harness.PASSWORD), not login_encrypted, "%s: the password on the wire" % what)
        checks.equal(conn.shows(SECRET_SQL), not encrypted_all, "%s: the statement's text on the wire" % what)


try:
    with harness.Server(binary) as server:
        # The certificate made at first start: private files, the names clients check, the fingerprint printed.
        crt = os.path.join(server.data_dir, "tls", "server.crt")
        key = os.path.join(server.data_dir, "tls", "server.key")
        printed = re.search(r"SHA-256 fingerprint ([0-9A-F:]+)", "".join(server.startup_lines))
        actual = openssl("x509", "-noout", "-fingerprint", "-sha256", "-in", crt).strip().split("=", 1)[1]
        checks.equal(printed.group(1) if printed else None, actual, "fingerprint printed at start")
        checks.equal(stat.S_IMODE(os.stat(key).st_mode), 0o600, "mode of the key file")
        checks.equal(stat.S_IMODE(os.stat(os.path.dirname(key)).st_mode), 0o700, "mode of the tls directory")
        names = openssl("x509", "-noout", "-ext", "subjectAltName", "-in", crt)
        for name in ("DNS:localhost", "IP Address:127.0.0.1"):
            checks.contains(names, name, "subject alternative names")

        through_capture(server, "tsql with encryption = require",
                        lambda port: tsql(port, "require", ENCRYPT_OPTION), encrypted_all=True)
        through_capture(server, "tsql at its default (login-only encryption)",
                        lambda port: tsql(port, None, ENCRYPT_OPTION), encrypted_all=False)
        through_capture(server, "pymssql with encryption = require",
                        lambda port: pymssql_query(port, "require", ENCRYPT_OPTION), encrypted_all=True)
        through_capture(server, "pytds with a CA file",
                        lambda port: pytds_query(port, ENCRYPT_OPTION, cafile=crt), encrypted_all=True)
        through_capture(server, "pyodbc with Encryption=require",
                        lambda port: odbc_query(port, "require", ENCRYPT_OPTION), encrypted_all=True)
        # The control: pytds without a CA file does not encrypt, and the relay does see its LOGIN7.
        through_capture(server, "pytds without a CA file (no encryption)",
                        lambda port: pytds_query(port, ENCRYPT_OPTION), encrypted_all=False, login_encrypted=False)

        # A client that trusts another CA refuses the connection.
        other = os.path.join(work, "other.crt")
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", os.path.join(work, "other.key"),
                "-out", other, "-subj", "/CN=localhost", "-days", "1")
        try:
            pytds_query(server.port, "SELECT 1", cafile=other)
            checks.check(False, "pytds with another CA must refuse the certificate")
        except Exception as e:
            checks.contains(str(e).lower(), "certificate", "pytds with another CA refuses the certificate")

    # A certificate from instance.toml, issued by a CA of the test's own.
    ca_key, ca_crt = os.path.join(work, "ca.key"), os.path.join(work, "ca.crt")
    srv_key, srv_csr, srv_crt = (os.path.join(work, n) for n in ("srv.key", "srv.csr", "srv.crt"))
    ext = os.path.join(work, "san.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca_crt, "-subj",
            "/CN=bakrest test CA", "-days", "2")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", srv_key, "-out", srv_csr, "-subj", "/CN=localhost")
    openssl("x509", "-req", "-in", srv_csr, "-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial", "-out", srv_crt,
            "-days", "2", "-extfile", ext)
    tls_section = '\n[tls]\ncertificate_file = "%s"\nkey_file = "%s"\n' % (srv_crt, srv_key)
    with harness.Server(binary, config_text=harness.config_text() + tls_section) as server:
        checks.equal(pytds_query(server.port, ENCRYPT_OPTION, cafile=ca_crt), [("TRUE",)],
                     "pytds verifies a configured certificate against its CA")
        checks.check(not os.path.exists(os.path.join(server.data_dir, "tls")),
                     "no certificate is made when one is configured")

    # A key that does not belong to the certificate: the server does not start, and says why.
    bad = harness.Server(binary, config_text=harness.config_text() + '\n[tls]\ncertificate_file = "%s"\n'
                         'key_file = "%s"\n' % (srv_crt, ca_key))
    try:
        bad.start()
        checks.check(False, "a server with a mismatched key must not start")
    except RuntimeError:
        bad.log.close()
        with open(os.path.join(bad.data_dir, "server-output.log")) as f:
            said = f.read()
        checks.contains(said, "cannot use the TLS key " + ca_key, "a mismatched key is named")
        checks.contains(said, "mismatch", "why a mismatched key is refused")
    finally:
        shutil.rmtree(bad.data_dir, ignore_errors=True)

    # force_encryption: clients that won't encrypt are refused; those that will get in.
    with harness.Server(binary, config_text=harness.config_text() + "\n[tls]\nforce_encryption = true\n") as server:
        try:
            pytds_query(server.port, "SELECT 1")
            checks.check(False, "pytds without a CA file must be refused")
        except Exception as e:
            checks.contains(str(e), "encryption", "pytds without a CA file is told encryption is required")
        raw = raw_tds.Client(server.port)
        raw.send_message(raw_tds.PRELOGIN, raw_tds.PRELOGIN_BODY)  # ENCRYPTION = NOT_SUP
        prelogin = raw.read_message()
        checks.equal(prelogin[prelogin[6] << 8 | prelogin[7]] if prelogin else None, 0x03,
                     "PRELOGIN answer under force_encryption is ENCRYPT_REQ")
        raw.send_message(raw_tds.LOGIN7, raw_tds.login7(harness.USER, harness.PASSWORD))
        errors = raw_tds.errors(raw.read_message() or b"")
        checks.equal([e[0] for e in errors], [17835], "a plain LOGIN7 under force_encryption gets 17835")
        checks.contains(errors[0][1] if errors else "", "Encryption is required to connect to this server",
                        "17835's message")
        checks.check(raw.closed_by_server(), "the server closes the refused connection")
        raw.close()
        # FreeTDS asked for no encryption, told it is required, encrypts everything.
        checks.contains(tsql(server.port, "off", ENCRYPT_OPTION), "TRUE", "tsql with encryption = off is upgraded")
        checks.equal(odbc_query(server.port, "require", ENCRYPT_OPTION), [("TRUE",)],
                     "pyodbc with Encryption=require under force_encryption")
finally:
    shutil.rmtree(work, ignore_errors=True)
checks.finish()
