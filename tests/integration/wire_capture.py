"""A TCP relay between a client and the server that keeps what each client sent, so that tests can see what
crossed the wire in the clear: the TDS packets before TLS began, and whether a secret (a user name, a
password, a statement) appears anywhere in the client's bytes.

As a module: `with WireCapture(server_port) as cap: connect to cap.port ...; cap.connections()`.
As a program (for the node tests): `wire_capture.py SERVER_PORT SECRET...` prints "listening on PORT", then
one JSON line per finished connection: {"first_byte", "clear_packet_types", "secrets_seen"}.
"""
import json
import socket
import struct
import sys
import threading

# TDS packet types a client sends (MS-TDS 2.2.3.1.1).
CLIENT_TYPES = {0x01, 0x03, 0x06, 0x07, 0x0E, 0x10, 0x11, 0x12}
LOGIN7 = 0x10


def clear_packet_types(data):
    """The types of the TDS packets at the start of a client's byte stream, read one after another for as long
    as the bytes look like TDS packet headers. TLS records (0x16 handshake, 0x17 data) end the walk: what
    follows them is ciphertext."""
    types = []
    at = 0
    while at + 8 <= len(data):
        ptype, _, length = struct.unpack_from(">BBH", data, at)
        if ptype not in CLIENT_TYPES or length < 8 or at + length > len(data):
            break
        types.append(ptype)
        at += length
    return types


def secret_forms(secret):
    """How a secret travels in TDS: UTF-16LE (names, SQL text) and LOGIN7's scrambled password form."""
    utf16 = secret.encode("utf-16-le")
    scrambled = bytes(((((b << 4) & 0xF0) | (b >> 4)) ^ 0xA5) for b in utf16)
    return [utf16, scrambled]


class Connection:
    def __init__(self):
        self.client_bytes = bytearray()
        self.done = threading.Event()

    def first_byte(self):
        return self.client_bytes[0] if self.client_bytes else None

    def clear_packet_types(self):
        return clear_packet_types(bytes(self.client_bytes))

    def sent_login7_in_clear(self):
        return LOGIN7 in self.clear_packet_types()

    def shows(self, secret):
        data = bytes(self.client_bytes)
        return any(form in data for form in secret_forms(secret))


class WireCapture:
    def __init__(self, server_port):
        self.server_port = server_port
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self._connections = []
        self._lock = threading.Lock()
        self._stopped = False
        self.on_finished = None  # called with each Connection when both directions have ended
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self._stopped:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.server_port))
            conn = Connection()
            with self._lock:
                self._connections.append(conn)
            ends = [threading.Event(), threading.Event()]
            threading.Thread(target=self._pump, args=(client, server, conn.client_bytes, ends[0]),
                             daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, None, ends[1]), daemon=True).start()
            threading.Thread(target=self._finish, args=(conn, ends, client, server), daemon=True).start()

    @staticmethod
    def _pump(source, target, keep, ended):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if keep is not None:
                    keep += data
                target.sendall(data)
        except OSError:
            pass
        finally:
            try:
                target.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            ended.set()

    def _finish(self, conn, ends, client, server):
        for end in ends:
            end.wait()
        client.close()
        server.close()
        conn.done.set()
        if self.on_finished:
            self.on_finished(conn)

    def connections(self, wait=True, timeout=30):
        """Every connection so far, each once it has ended (wait=True)."""
        with self._lock:
            conns = list(self._connections)
        if wait:
            for conn in conns:
                if not conn.done.wait(timeout):
                    raise AssertionError("a captured connection did not end within %d s" % timeout)
        return conns

    def close(self):
        self._stopped = True
        self.listener.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def main():
    server_port = int(sys.argv[1])
    secrets = sys.argv[2:]
    lock = threading.Lock()

    def report(conn):
        line = json.dumps({"first_byte": conn.first_byte(), "clear_packet_types": conn.clear_packet_types(),
                           "secrets_seen": [s for s in secrets if conn.shows(s)]})
        with lock:
            print(line, flush=True)

    capture = WireCapture(server_port)
    capture.on_finished = report
    print("listening on %d" % capture.port, flush=True)
    sys.stdin.read()  # runs until the parent closes standard input
    capture.close()


if __name__ == "__main__":
    main()
