// What the TDS server needs from the layers below it: a login check that yields a per-connection
// request handler. The server owns sockets, framing and token encoding; the backend owns everything else.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/bulk_rows.h"
#include "common/connection_info.h"
#include "common/error.h"
#include "common/proc_call.h"
#include "common/result_sink.h"

namespace bakrest::server {

struct LoginRequest {
  std::string user;
  std::string password;
  std::string database;  // empty: the login's default database
  std::string app_name;
  std::string host_name;
  ConnectionInfo connection;
};

// Serves one logged-in connection. Called from the connection's request thread only, except interrupt().
class RequestHandler {
 public:
  virtual ~RequestHandler() = default;

  // Runs a SQL_BATCH (UTF-8 text).
  virtual void run_batch(std::string_view sql, ResultSink& sink) = 0;
  // Runs an RPC: a procedure by name, or sp_executesql (name "sp_executesql").
  virtual void run_rpc(const ProcCall& call, ResultSink& sink) = 0;
  // Runs a BULK_LOAD message (packet type 0x07): the rows for the table that an INSERT BULK batch before it
  // named. Reads the rows one at a time, as they arrive, and reports the row count with done(), or an error;
  // all of the rows are inserted or none. rows.next() throws ProtocolError for malformed data and
  // MessageAbandoned (server/message_stream.h) for a load the client abandons or the connection cuts short:
  // let them pass (after undoing what the load did), the server reports them. Before reporting an error of
  // its own it calls rows.discard_rest(). The default refuses bulk loads.
  virtual void bulk_load(BulkRows& rows, ResultSink& sink) {
    (void)rows;
    (void)sink;
    throw SqlError(50000, 16, "This server does not take bulk loads.");
  }
  // Called from the connection's reader thread when ATTENTION arrives, to cut short running SQL.
  // The server calls it only while run_batch, run_rpc or bulk_load is executing (never between requests), and
  // under a lock that the request thread takes when that call returns: return promptly. The sink's
  // attention() turns true at the same moment and stays true until the request ends.
  virtual void interrupt() = 0;

  virtual std::string current_database() const = 0;
  // @@TRANCOUNT: the transactions the session has open (a rollback to a savepoint leaves them open).
  virtual int open_transactions() const = 0;

  // The client set RESETCONNECTION on a request (connection pools do before reusing a connection): roll
  // back an open transaction unless keep_transaction (RESETCONNECTIONSKIPTRAN), and go back to the
  // database the login asked for. Called before the request itself.
  virtual void reset(bool keep_transaction) = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  // Returns a handler for the session, or throws SqlError (18456 for bad credentials, 4060 for a database
  // that cannot be opened). Called concurrently from many connection threads.
  virtual std::unique_ptr<RequestHandler> login(const LoginRequest& request, int spid) = 0;
};

}  // namespace bakrest::server
