"""A small hand-written TDS 7.4 client for the tests that must send what no real client sends: malformed
packets, never-finished messages, NUL characters, floods. Replies are parsed only as far as errors, logins
and DONE tokens go; result sets are left to the real clients."""
import socket
import struct

import harness

SQL_BATCH, ATTENTION, LOGIN7, PRELOGIN = 0x01, 0x06, 0x10, 0x12
EOM = 0x01


def packet(ptype, payload, status=EOM, packet_id=1):
    return struct.pack(">BBHHBB", ptype, status, len(payload) + 8, 0, packet_id, 0) + payload


def all_headers():
    # Total length, then one transaction descriptor header (type 2): descriptor 0, one outstanding request.
    return struct.pack("<IIHQI", 22, 18, 2, 0, 1)


def batch_payload(sql, headers=None):
    return (all_headers() if headers is None else headers) + sql.encode("utf-16-le")


def encode_password(password):
    out = bytearray()
    for b in password.encode("utf-16-le"):
        out.append((((b << 4) & 0xF0) | (b >> 4)) ^ 0xA5)
    return bytes(out)


def login7(user, password, database=""):
    fields = ["rawhost", user, password, "raw_tds", "srv", "", "raw", "", database]
    data = bytearray()
    table = []
    for i, text in enumerate(fields):
        offset = 94 + len(data)
        data += encode_password(text) if i == 2 else text.encode("utf-16-le")
        table.append((offset, len(text)))
    fixed = struct.pack("<IIIIII", 94 + len(data), 0x74000004, 4096, 7, 1, 0)
    fixed += bytes([0xE0, 0x03, 0, 0]) + struct.pack("<II", 0, 0x409)
    for offset, length in table:
        fixed += struct.pack("<HH", offset, length)
    fixed += bytes(6)  # ClientID
    fixed = fixed.ljust(94, b"\0")
    return fixed + bytes(data)


PRELOGIN_BODY = bytes([0x00, 0x00, 0x10, 0x00, 0x06, 0x01, 0x00, 0x16, 0x00, 0x01, 0xFF,
                       0x0B, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02])


class Client:
    def __init__(self, port, timeout=30):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)

    def send(self, data):
        self.sock.sendall(data)

    def send_message(self, ptype, payload, size=4096):
        chunk = size - 8
        pieces = [payload[i:i + chunk] for i in range(0, len(payload), chunk)] or [b""]
        for i, piece in enumerate(pieces):
            self.send(packet(ptype, piece, EOM if i == len(pieces) - 1 else 0, (i + 1) % 256))

    def read_exact(self, n):
        out = bytearray()
        while len(out) < n:
            got = self.sock.recv(n - len(out))
            if not got:
                return None
            out += got
        return bytes(out)

    def read_message(self):
        """The payload of the next reply message, or None when the server closed the connection."""
        payload = bytearray()
        while True:
            header = self.read_exact(8)
            if header is None:
                return None
            _, status, length, _, _, _ = struct.unpack(">BBHHBB", header)
            body = self.read_exact(length - 8)
            if body is None:
                return None
            payload += body
            if status & EOM:
                return bytes(payload)

    def closed_by_server(self):
        try:
            while True:
                if not self.sock.recv(65536):
                    return True
        except (ConnectionResetError, socket.timeout):
            return False

    def login(self, user=harness.USER, password=harness.PASSWORD):
        self.send_message(PRELOGIN, PRELOGIN_BODY)
        if self.read_message() is None:
            return None
        self.send_message(LOGIN7, login7(user, password))
        return self.read_message()

    def batch(self, sql, headers=None):
        self.send_message(SQL_BATCH, batch_payload(sql, headers))
        return self.read_message()

    def close(self):
        self.sock.close()


def errors(payload):
    """(number, text) of every ERROR token in a reply made of errors, infos, env changes and DONEs."""
    out = []
    i = 0
    while payload and i < len(payload):
        token = payload[i]
        if token in (0xAA, 0xAB, 0xE3, 0xAD):
            length = struct.unpack_from("<H", payload, i + 1)[0]
            if token == 0xAA:
                number = struct.unpack_from("<i", payload, i + 3)[0]
                text_len = struct.unpack_from("<H", payload, i + 9)[0]
                out.append((number, payload[i + 11:i + 11 + 2 * text_len].decode("utf-16-le")))
            i += 3 + length
        elif token in (0xFD, 0xFE, 0xFF):
            i += 13
        elif token == 0x79:
            i += 5
        else:
            break  # a result set: not parsed here
    return out
