// One client session's T-SQL execution: the current database, the transaction count, and the statements
// of each batch run in order (docs/PROCEDURES.md, "T-SQL bakrest understands").
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "catalog/catalog.h"
#include "catalog/session_directory.h"
#include "common/connection_info.h"
#include "common/proc_call.h"
#include "common/result_sink.h"
#include "engine/engine.h"
#include "procs/procedures.h"
#include "sql/parser.h"
#include "sql/set_options.h"

namespace bakrest::sql {

struct SessionEnvironment {
  engine::Engine& engine;
  procs::Context& procs;
  std::string version;                   // @@VERSION
  std::string server_name;               // @@SERVERNAME
  catalog::SessionDirectory sessions{};  // every live session, for sys.dm_exec_sessions
};

// Who is on the other end of a session, as sys.dm_exec_sessions shows it.
struct SessionClient {
  std::string host_name;
  std::string program_name;
  ConnectionInfo connection;
};

class Session : private catalog::CatalogSource {
 public:
  // Opens database (the login's requested one; "master" if empty). Throws SqlError 4060 if it can't.
  Session(SessionEnvironment& env, std::string login, int spid, const std::string& database,
          SessionClient client = {});
  ~Session();

  void run_batch(std::string_view batch, ResultSink& sink);
  // A procedure by name, or sp_executesql.
  void run_rpc(const ProcCall& call, ResultSink& sink);
  // From another thread: stops the SQLite statement running now.
  void interrupt();
  // A pooled connection is being reused: roll back an open transaction unless keep_transaction, and go
  // back to the database the session started in.
  void reset(bool keep_transaction);

  std::string current_database() const;

 private:
  using Parameters = std::map<std::string, Value>;  // lower-case "@name" -> value

  void run_statements(std::string_view batch, const Parameters& parameters, ResultSink& sink);
  void run_statement(const Statement& statement, const Parameters& parameters, ResultSink& sink);
  void run_sql(const std::vector<Token>& tokens, const Parameters& parameters, ResultSink& sink);
  void run_exec(const ExecStatement& exec, const Parameters& parameters, ResultSink& sink);
  void run_procedure(const ProcCall& call, ResultSink& sink);
  void run_print(const PrintStatement& print, const Parameters& parameters, ResultSink& sink);
  void alter_database(const AlterDatabaseStatement& alter, ResultSink& sink);
  // CREATE LOGIN, DROP LOGIN, GRANT/REVOKE EXECUTE: the master login's, outside transactions.
  void manage_logins(const Statement& statement, ResultSink& sink);
  void use_database(const std::string& name, ResultSink& sink);
  // Swaps in another connection without racing interrupt().
  void replace_connection(std::unique_ptr<engine::Connection> next);
  void begin_transaction();
  // SET IMPLICIT_TRANSACTIONS ON: the statements that open a transaction when none is open.
  bool starts_implicit_transaction(const Statement& statement) const;
  void apply_lock_timeout(sqlite3* db) const;
  void commit();
  void rollback();
  // Attaches the databases a statement names that are not attached yet, detaching the least recently used
  // others when SQLite's limit is reached. Throws SqlError 911/927 for a database that can't be opened,
  // and a clear error when one statement names more databases than SQLite can hold at once.
  void attach(const std::vector<std::string>& databases);
  void detach_least_recently_used(const std::set<std::string>& keep);
  int trancount() const;
  // SQLite's error in SQL Server's terms (and a SUSPECT database's I/O errors as what they are).
  SqlError explain(const sqlite::Error& e) const;
  RewriteContext rewrite_context() const;
  std::unique_ptr<engine::Connection> open(const std::string& database);
  // The directory's row after a request: the database, transactions and SET options in force.
  void publish_state(bool running);

  // catalog::CatalogSource
  std::vector<catalog::SessionRow> sessions() const override;
  std::string database_name(const std::string& sqlite_schema) const override;
  int64_t database_id(const std::string& sqlite_schema) const override;

  SessionEnvironment& env_;
  std::string login_;
  int spid_;
  std::string initial_database_;
  std::mutex connection_mutex_;  // interrupt() comes from another thread while USE may swap connection_
  // A database attached to connection_ for a three-part name. It stays "in use" (its lease) while
  // attached; SQLite holds only so many, so the least recently used ones make room (attach()).
  struct Attachment {
    std::string schema;                            // attachment_schema(name)
    std::string name;                              // the database, as the statement named it
    std::unique_ptr<engine::DatabaseLease> lease;  // null for msdb, which needs none
    uint64_t last_used = 0;                        // use_clock_ when a statement last named it
  };
  // Declared before connection_, so the leases are released after the connection closes.
  std::vector<Attachment> attached_;
  uint64_t use_clock_ = 0;
  std::unique_ptr<engine::Connection> connection_;
  int trancount_ = 0;
  SessionOptions options_;
  catalog::SessionDirectory::Registration registration_;
};

}  // namespace bakrest::sql
