// A client connection as the server accepted it, for the layers that show it (sys.dm_exec_connections,
// sys.dm_exec_sessions) and the server that keeps its counters.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

namespace bakrest {

// Traffic on one connection, counted by the server as it reads and writes, read by anyone.
struct ConnectionCounters {
  std::atomic<int64_t> reads{0};   // TDS packets received
  std::atomic<int64_t> writes{0};  // TDS packets sent
  std::atomic<int64_t> last_read_micros{0};
  std::atomic<int64_t> last_write_micros{0};
};

struct ConnectionInfo {
  std::string client_address;  // "127.0.0.1", "::1"
  int client_port = 0;
  std::string local_address;
  int local_port = 0;
  bool encrypted = false;         // everything after the login is encrypted (encrypt_option TRUE)
  std::string tls_protocol;       // "TLSv1.2", "TLSv1.3"; also for login-only encryption; empty: no TLS
  bool strict = false;            // TDS 8.0: TLS before PRELOGIN
  uint32_t protocol_version = 0;  // the negotiated TDS version as LOGINACK sends it, e.g. 0x74000004
  uint32_t packet_size = 0;
  std::string client_interface;  // LOGIN7's client library name: "DB-Library", "ODBC", "jTDS", "Tedious"
  uint32_t client_version = 0;   // LOGIN7's ClientProgVer
  uint32_t client_pid = 0;
  int64_t connect_time_micros = 0;                     // when the connection was accepted
  std::string connection_id;                           // a GUID, as text
  std::shared_ptr<const ConnectionCounters> counters;  // null in tests that have no server
};

}  // namespace bakrest
