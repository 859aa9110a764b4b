"""BULK_LOAD messages (TDS packet type 0x07) as no well-behaved driver sends them, on one raw connection that
stays open throughout: a load without INSERT BULK, malformed rows (error 4804), a column type bakrest does not
take (4816), a column count that differs from INSERT BULK's, a load without the closing DONE (as FreeTDS sends
it), and a good load answered with a DONE carrying the row count. A bulk load streams, so one larger than
max_request_mb loads; a load the client abandons with the IGNORE bit, or cuts short with ATTENTION or by
closing its connection, is undone; a large message whose second row is malformed, or whose second row breaks
the primary key, is read to its end and answered once, after which the connection answers a batch. A load whose
inserts wait for another session's lock holds back the client (TCP) instead of buffering, and finishes once the
lock goes; a client that stops in the middle of a load does not keep the server from shutting down. Each failed
load inserts nothing, which the good loads show by reusing the same primary keys."""
import struct
import threading
import time

import harness
import raw_tds

BULK_LOAD = 0x07
IGNORE = 0x02
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


def send_partly(client, payload, last_status, size=4096):
    """payload in packets of `size` without EOM, then a last packet (empty) with last_status."""
    chunk = size - 8
    for i in range(0, len(payload), chunk):
        client.send(raw_tds.packet(BULK_LOAD, payload[i:i + chunk], 0, (i // chunk + 1) % 256))
    if last_status is not None:
        client.send(raw_tds.packet(BULK_LOAD, b"", last_status, 0))


def server_log(server):
    with open(server.log.name, errors="replace") as f:
        return f.read()


def ok(client, sql):
    checks.equal(raw_tds.errors(client.batch(sql)), [], sql)


def rows(first, count, text="0123456789"):
    return b"".join(row(i, text) for i in range(first, first + count))


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

    # The client abandons a load of 3 MB with the IGNORE bit after the server has inserted some of it: it is
    # undone, and the reply (which tedious and mssql-jdbc wait for) is a DONE without an error.
    ok(c, "insert bulk t (id int, s nvarchar(10))")
    send_partly(c, METADATA + rows(1, 120000), raw_tds.EOM | IGNORE)
    abandoned = c.read_message()
    checks.equal((raw_tds.errors(abandoned), done_count(abandoned)), ([], None), "a load abandoned with IGNORE")
    # Even one that ends in its first packet.
    ok(c, "insert bulk t (id int, s nvarchar(10))")
    c.send(raw_tds.packet(BULK_LOAD, METADATA + row(1, "a"), raw_tds.EOM | IGNORE))
    checks.equal(raw_tds.errors(c.read_message()), [], "a one-packet load abandoned with IGNORE")

    # ATTENTION in the middle of the message cancels the load: its reply, then the acknowledgement.
    ok(c, "insert bulk t (id int, s nvarchar(10))")
    send_partly(c, METADATA + rows(1, 50000), None)
    c.send(raw_tds.packet(raw_tds.ATTENTION, b""))
    acknowledged = False
    for _ in range(3):
        reply = c.read_message()
        if reply and len(reply) >= 13 and reply[-13] == 0xFD and struct.unpack_from("<H", reply, len(reply) - 12)[0] & 0x20:
            acknowledged = True
            break
    checks.check(acknowledged, "ATTENTION in the middle of a bulk load is acknowledged")

    # A client that closes its connection in the middle of a load: undone, and the server carries on.
    other = raw_tds.Client(server.port)
    checks.check(other.login() is not None, "a second raw client logs in")
    checks.equal(raw_tds.errors(other.batch("USE bulkdb")), [], "USE bulkdb")
    checks.equal(raw_tds.errors(other.batch("insert bulk t (id int, s nvarchar(10))")), [], "INSERT BULK")
    send_partly(other, METADATA + rows(1, 50000), None)
    other.close()
    harness.wait_for(lambda: "bulk load abandoned (the connection closed" in server_log(server),
                     what="the server to undo the load of the connection that closed")

    # A malformed second row in a 13 MB message: the server stops inserting at once, reads the rest without
    # keeping it, and answers once; the connection then answers a batch.
    ok(c, "insert bulk t (id int, s nvarchar(10))")
    bad_early = METADATA + row(1, "a") + b"\xD1\x04" + struct.pack("<i", 2) + struct.pack("<H", 40) + b"x" * 40
    started = time.monotonic()
    malformed = raw_tds.errors(load(c, bad_early + rows(3, 500000) + DONE))
    checks.check(malformed and malformed[0][0] == 4804 and "row 2" in malformed[0][1],
                 "a malformed row early in a large load is 4804: %r" % malformed[:1])
    print("  a 13 MB load refused at row 2 was answered after %.1f s" % (time.monotonic() - started))
    ok(c, "SELECT 1")
    # The same for a duplicate key at row 2 (2627).
    ok(c, "insert bulk t (id int, s nvarchar(10))")
    duplicate = raw_tds.errors(load(c, METADATA + row(1, "a") + row(1, "b") + rows(3, 500000) + DONE))
    checks.check(duplicate and duplicate[0][0] == 2627, "a duplicate key early in a large load: %r" % duplicate[:1])
    ok(c, "SELECT 1")

    # FreeTDS ends the stream after the last row, without a DONE. None of the loads above kept a row: each of
    # keys 1..3 loads again.
    ok(c, "insert bulk t (id int, s nvarchar(10))")
    reply = load(c, METADATA + row(1, "a") + row(2, None) + row(3, ""))
    checks.equal(raw_tds.errors(reply), [], "a load without DONE")
    checks.equal(done_count(reply), 3, "its DONE counts the rows")
    checks.equal(raw_tds.errors(c.batch("insert bulk t (id int, s nvarchar(10))")), [], "INSERT BULK")
    duplicate = raw_tds.errors(load(c, METADATA + row(4, "b") + row(1, "again") + DONE))
    checks.check(duplicate and duplicate[0][0] == 2627, "a duplicate key fails the load: %r" % duplicate)
    checks.equal(raw_tds.errors(c.batch("insert bulk t (id int, s nvarchar(10))")), [], "INSERT BULK")
    reply = load(c, METADATA + row(4, "b") + DONE)
    checks.equal((raw_tds.errors(reply), done_count(reply)), ([], 1), "row 4 was not kept by the failed load")

    # A load of 3.3 MB in one message, over max_request_mb (2 MB), which used to be refused with 701: loads.
    ok(c, "insert bulk t (id int, s nvarchar(10))")
    reply = load(c, METADATA + rows(10, 120000) + DONE)
    checks.equal((raw_tds.errors(reply), done_count(reply)), ([], 120000), "a load over max_request_mb")
    ok(c, "SELECT 1")

    # Another session holds the write lock, so the load's inserts wait; meanwhile the server holds a bounded part
    # of the 13 MB message and the client cannot send the rest. Once the lock goes, the load finishes.
    locker = raw_tds.Client(server.port)
    checks.check(locker.login() is not None, "a third raw client logs in")
    ok(locker, "USE bulkdb")
    ok(locker, "BEGIN TRANSACTION; INSERT INTO t VALUES (0, 'lock')")
    ok(c, "insert bulk t (id int, s nvarchar(10))")
    sent = threading.Event()
    progress = [0]  # payload bytes the server has taken from the socket so far, roughly

    def send_load():
        payload = METADATA + rows(2000000, 500000) + DONE
        chunk = 4096 - 8
        for i in range(0, len(payload), chunk):
            last = i + chunk >= len(payload)
            c.send(raw_tds.packet(BULK_LOAD, payload[i:i + chunk], raw_tds.EOM if last else 0, (i // chunk + 1) % 256))
            progress[0] += chunk
        sent.set()

    sender = threading.Thread(target=send_load)
    sender.start()
    # The sender stops making progress either because the server stopped reading (right) or because it sent
    # everything (wrong: the server would be holding the whole message while its inserts wait).
    seen = []

    def stopped_sending():
        seen.append(progress[0])
        return len(seen) >= 4 and seen[-4] == seen[-1] > 0

    harness.wait_for(stopped_sending, what="the sender to stop making progress")
    checks.check(not sent.is_set(), "a load that waits for a lock holds the client back (%d of %d KB sent)" %
                 (progress[0] // 1024, (len(METADATA) + 500000 * len(row(0, "0123456789")) + len(DONE)) // 1024))
    ok(locker, "ROLLBACK")
    sender.join(120)
    reply = c.read_message()
    checks.equal((raw_tds.errors(reply), done_count(reply)), ([], 500000), "the load finishes once the lock goes")
    ok(c, "SELECT 1")
    locker.close()

    # A client that stops sending in the middle of a load, and stays connected while the server shuts down.
    stalled = raw_tds.Client(server.port)
    checks.check(stalled.login() is not None, "a fourth raw client logs in")
    ok(stalled, "USE bulkdb")
    ok(stalled, "insert bulk t (id int, s nvarchar(10))")
    send_partly(stalled, METADATA + rows(3000000, 100000), None)
    # Its load has started (its session runs a request) before the server is told to stop.
    harness.wait_for(lambda: raw_tds.errors(c.batch(
        "IF NOT EXISTS (SELECT 1 FROM sys.dm_exec_sessions WHERE status = 'running' AND session_id <> @@SPID) "
        "RAISERROR('no load running', 16, 1)")) == [], what="the stalled load to be running")
    c.close()
# The server shut down cleanly (Server.stop() checks) with the stalled load in flight.
stalled.close()
checks.finish()
