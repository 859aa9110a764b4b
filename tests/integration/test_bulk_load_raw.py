"""BULK_LOAD messages (TDS packet type 0x07) as no well-behaved driver sends them, on one raw connection that
stays open throughout: a load without INSERT BULK, malformed rows (error 4804), a column type bakrest does not
take (4816), a column count that differs from INSERT BULK's, a load over max_request_mb (701), a load without
the closing DONE (as FreeTDS sends it), and a good load answered with a DONE carrying the row count. Each
failed load inserts nothing, which the good loads show by reusing the same primary keys."""
import struct

import harness
import raw_tds

BULK_LOAD = 0x07
MIB = 1 << 20
checks = harness.Checks()


def b_varchar(text):
    return bytes([len(text)]) + text.encode("utf-16-le")


def colmetadata(*columns):
    """columns: (name, TYPE_INFO bytes), described as TDS 7.4 clients describe them."""
    out = b"\x81" + struct.pack("<H", len(columns))
    for name, type_info in columns:
        out += struct.pack("<IH", 0, 0x0009) + type_info + b_varchar(name)
    return out


INT = b"\x26\x04"
NVARCHAR10 = b"\xE7" + struct.pack("<H", 20) + bytes([0x09, 0x04, 0xD0, 0x00, 0x34])
METADATA = colmetadata(("id", INT), ("s", NVARCHAR10))
DONE = b"\xFD" + struct.pack("<HHQ", 0, 0, 0)


def row(ident, text):
    value = b"\xFF\xFF" if text is None else struct.pack("<H", 2 * len(text)) + text.encode("utf-16-le")
    return b"\xD1" + b"\x04" + struct.pack("<i", ident) + value


def done_count(reply):
    """The row count of the reply's last DONE if it says COUNT, else None."""
    if not reply or len(reply) < 13 or reply[-13] != 0xFD:
        return None
    status, _, count = struct.unpack_from("<HHQ", reply, len(reply) - 12)
    return count if status & 0x10 else None


def load(client, payload):
    client.send_message(BULK_LOAD, payload)
    return client.read_message()


binary = harness.binary_from_argv()
limits = {"max_request_mb": 2, "max_buffered_request_mb": 16}
with harness.Server(binary, config_text=harness.config_text(limits=limits)) as server:
    c = raw_tds.Client(server.port)
    checks.check(c.login() is not None, "raw client logs in")
    for sql in ("CREATE DATABASE bulkdb", "USE bulkdb", "CREATE TABLE t (id INT NOT NULL PRIMARY KEY, s NVARCHAR(10))"):
        checks.equal(raw_tds.errors(c.batch(sql)), [], sql)

    orphan = raw_tds.errors(load(c, METADATA + row(1, "a") + DONE))
    checks.check(orphan and orphan[0][0] == 50000 and "INSERT BULK" in orphan[0][1],
                 "a bulk load without INSERT BULK is refused: %r" % orphan)

    checks.equal(raw_tds.errors(c.batch("insert bulk [t]([id] int, [s] nvarchar(10))")), [], "INSERT BULK")
    # The second row's text claims 40 bytes where the column holds at most 20.
    bad = METADATA + row(1, "a") + b"\xD1\x04" + struct.pack("<i", 2) + struct.pack("<H", 40) + b"x" * 40 + DONE
    malformed = raw_tds.errors(load(c, bad))
    checks.check(malformed and malformed[0][0] == 4804 and "row 2, column 2 ('s')" in malformed[0][1],
                 "malformed rows are 4804 naming the row and column: %r" % malformed)

    checks.equal(raw_tds.errors(c.batch("insert bulk t (id int, s xml)")), [], "INSERT BULK with an XML column")
    xml = raw_tds.errors(load(c, colmetadata(("id", INT), ("s", b"\xF1\x00")) + DONE))
    checks.check(xml and xml[0][0] == 4816 and "colid 2" in xml[0][1], "an XML column is 4816: %r" % xml)
    again = raw_tds.errors(load(c, METADATA + row(1, "a") + DONE))
    checks.check(again and "INSERT BULK" in again[0][1], "even a refused load uses its INSERT BULK up: %r" % again)

    checks.equal(raw_tds.errors(c.batch("insert bulk t (id int, s nvarchar(10))")), [], "INSERT BULK")
    narrow = raw_tds.errors(load(c, colmetadata(("id", INT)) + b"\xD1\x04" + struct.pack("<i", 1) + DONE))
    checks.check(narrow and narrow[0][0] == 50000 and "describes 1 columns" in narrow[0][1],
                 "a column count that differs is refused: %r" % narrow)

    checks.equal(raw_tds.errors(c.batch("insert bulk t (id int, s nvarchar(10))")), [], "INSERT BULK")
    many = b"".join(row(i, "0123456789") for i in range(1, 120000))
    oversized = raw_tds.errors(load(c, METADATA + many + DONE))
    checks.check(oversized and oversized[0][0] == 701, "a load over max_request_mb is 701: %r" % oversized)

    # FreeTDS ends the stream after the last row, without a DONE. The INSERT BULK before the oversized load is
    # still pending: the server refused that message before the session saw it.
    reply = load(c, METADATA + row(1, "a") + row(2, None) + row(3, ""))
    checks.equal(raw_tds.errors(reply), [], "a load without DONE")
    checks.equal(done_count(reply), 3, "its DONE counts the rows")
    checks.equal(raw_tds.errors(c.batch("insert bulk t (id int, s nvarchar(10))")), [], "INSERT BULK")
    duplicate = raw_tds.errors(load(c, METADATA + row(4, "b") + row(1, "again") + DONE))
    checks.check(duplicate and duplicate[0][0] == 2627, "a duplicate key fails the load: %r" % duplicate)
    checks.equal(raw_tds.errors(c.batch("insert bulk t (id int, s nvarchar(10))")), [], "INSERT BULK")
    reply = load(c, METADATA + row(4, "b") + DONE)
    checks.equal((raw_tds.errors(reply), done_count(reply)), ([], 1), "row 4 was not kept by the failed load")
    c.close()
checks.finish()
