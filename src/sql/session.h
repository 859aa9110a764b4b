// One client session's T-SQL execution: the current database, the transaction count, and the statements
// of each batch run in order (docs/COMPATIBILITY.md, "T-SQL").
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "catalog/catalog.h"
#include "catalog/session_directory.h"
#include "common/bulk_rows.h"
#include "common/connection_info.h"
#include "common/proc_call.h"
#include "common/result_sink.h"
#include "engine/engine.h"
#include "procs/procedures.h"
#include "sql/builtins.h"
#include "sql/parser.h"
#include "sql/set_options.h"

namespace bakrest::sql {

struct SessionEnvironment {
  engine::Engine& engine;
  procs::Context& procs;
  std::string version;                   // @@VERSION
  std::string server_name;               // @@SERVERNAME
  ProductVersion product{};              // SERVERPROPERTY('ProductVersion'), ...
  catalog::SessionDirectory sessions{};  // every live session, for sys.dm_exec_sessions
};

// Who is on the other end of a session, as sys.dm_exec_sessions shows it.
struct SessionClient {
  std::string host_name;
  std::string program_name;
  ConnectionInfo connection;
};

class Session : private catalog::CatalogSource, private BuiltinSource {
 public:
  // Opens database (the login's requested one; "master" if empty). Throws SqlError 4060 if it can't.
  Session(SessionEnvironment& env, std::string login, int spid, const std::string& database,
          SessionClient client = {});
  ~Session();

  void run_batch(std::string_view batch, ResultSink& sink);
  // A procedure by name, or sp_executesql.
  void run_rpc(const ProcCall& call, ResultSink& sink);
  // A BULK LOAD message: inserts the rows into the table the pending INSERT BULK named, converted to its
  // columns' types, all of them or (after an error, which goes to the sink) none (sql/bulk_insert.cc).
  void bulk_load(BulkRows& rows, ResultSink& sink);
  // From another thread: stops the SQLite statement running now.
  void interrupt();
  // A pooled connection is being reused: roll back an open transaction unless keep_transaction, and go
  // back to the database the session started in.
  void reset(bool keep_transaction);

  std::string current_database() const;
  // @@TRANCOUNT (also what the built-in functions ask: BuiltinSource).
  int open_transactions() const override { return trancount(); }

 private:
  // A batch's local variables (and an sp_executesql call's parameters), by lower-case "@name".
  struct Variable {
    Value value;
    std::string type;  // as declared, upper-cased: "INT", "NVARCHAR(50)"; empty: whatever it was given
  };
  using Variables = std::map<std::string, Variable>;
  // How a statement leaves the statements around it.
  enum class Flow { kNext, kBreak, kContinue, kReturn };

  void run_statements(std::string_view batch, Variables& variables, ResultSink& sink);
  Flow run_block(const std::vector<Statement>& statements, Variables& variables, ResultSink& sink);
  // Runs one statement and reports its error as SQL Server does: to the client, or to the enclosing CATCH.
  Flow execute(const Statement& statement, Variables& variables, ResultSink& sink);
  Flow run_statement(const Statement& statement, Variables& variables, ResultSink& sink);
  void run_sql(const std::vector<Token>& tokens, const Variables& variables, ResultSink& sink);
  void run_exec(const ExecStatement& exec, Variables& variables, ResultSink& sink);
  void run_procedure(const ProcCall& call, ResultSink& sink);
  // sp_executesql: the statement with its declared parameters; OUTPUT parameters come back in `call`.
  // Returns each argument's declared type (empty where @params declares none).
  std::vector<std::string> run_executesql(ProcCall& call, ResultSink& sink);
  void run_print(const PrintStatement& print, const Variables& variables, ResultSink& sink);
  // INSERT BULK: checks the table and its columns and keeps the statement for the next bulk_load().
  void insert_bulk(const InsertBulkStatement& statement, ResultSink& sink);
  Flow run_if(const IfStatement& branch, Variables& variables, ResultSink& sink);
  Flow run_while(const WhileStatement& loop, Variables& variables, ResultSink& sink);
  Flow run_try_catch(const TryCatchStatement& statement, Variables& variables, ResultSink& sink);
  void declare(const DeclareStatement& declare, Variables& variables);
  void set_variable(const SetVariableStatement& set, Variables& variables);
  void select_assign(const SelectAssignStatement& select, Variables& variables, ResultSink& sink);
  void waitfor(const WaitforStatement& wait, const Variables& variables, ResultSink& sink);
  // RAISERROR: an error (severity 11 to 19) or a message (0 to 10) with the formatted text.
  void raiserror(const RaiserrorStatement& raise, const Variables& variables, ResultSink& sink);
  // THROW: always throws; outside TRY the error ends the batch.
  [[noreturn]] void throw_error(const ThrowStatement& raise, const Variables& variables);
  // The name a transaction statement gives: itself, or the text of the @variable it names.
  std::string resolve_name(const std::string& name, const Variables& variables) const;
  // Binds a statement's @name parameters to the variables; 137 for one that is not declared.
  void bind_variables(sqlite3_stmt* stmt, const Variables& variables) const;
  static bool is_executesql(const std::string& procedure);
  // The first column of the first row of SELECT <expression>, as SQLite returned it (NULL without rows).
  Value evaluate(const std::vector<Token>& expression, const Variables& variables);
  bool evaluate_condition(const std::vector<Token>& condition, const Variables& variables);
  void alter_database(const AlterDatabaseStatement& alter, ResultSink& sink);
  // CREATE LOGIN, DROP LOGIN, GRANT/REVOKE EXECUTE: the master login's, outside transactions.
  void manage_logins(const Statement& statement, ResultSink& sink);
  void use_database(const std::string& name, ResultSink& sink);
  // Swaps in another connection without racing interrupt().
  void replace_connection(std::unique_ptr<engine::Connection> next);
  void begin_transaction(const std::string& name = {});
  // SET IMPLICIT_TRANSACTIONS ON: the statements that open a transaction when none is open.
  bool starts_implicit_transaction(const Statement& statement) const;
  void apply_lock_timeout(sqlite3* db) const;
  // A write in a transaction that has only read met another session's write (SQLITE_BUSY): starts the
  // transaction over as a writer, waiting for the lock. Returns false (and does nothing) when that is not the
  // case.
  bool restart_for_write(sqlite3_stmt* stmt);
  void commit();
  // ROLLBACK [TRAN name]: everything, or back to the savepoint of that name (6401 when there is none).
  void rollback(const std::string& name = {});
  void save_transaction(const std::string& name);
  // Attaches the databases a statement names that are not attached yet, detaching the least recently used
  // others when SQLite's limit is reached. Throws SqlError 911/927 for a database that can't be opened,
  // and a clear error when one statement names more databases than SQLite can hold at once.
  void attach(const std::vector<std::string>& databases);
  void detach_least_recently_used(const std::set<std::string>& keep);
  int trancount() const;
  // SQLite's error in SQL Server's terms (and a SUSPECT database's I/O errors as what they are).
  SqlError explain(const sqlite::Error& e) const;
  RewriteContext rewrite_context(const Variables& variables) const;
  std::unique_ptr<engine::Connection> open(const std::string& database);
  // Attaches the databases of temporary tables to the session's connection, once it names one.
  void use_temporary_tables();
  void attach_temporary_databases(engine::Connection& connection);
  // Drops the session's #temporary tables (sp_reset_connection) or the ##global ones it made (at the end).
  void drop_temporary_tables(bool global);
  // The directory's row after a request: the database, transactions and SET options in force.
  void publish_state(bool running);

  // catalog::CatalogSource
  std::vector<catalog::SessionRow> sessions() const override;
  std::string database_name(const std::string& sqlite_schema) const override;
  int64_t database_id(const std::string& sqlite_schema) const override;
  int64_t database_created(const std::string& sqlite_schema) const override;
  std::vector<std::string> database_names() const override;
  std::vector<std::string> procedure_names() const override;

  // BuiltinSource
  std::string login_name() const override { return login_; }
  std::string client_host_name() const override { return client_.host_name; }
  std::string client_program_name() const override { return client_.program_name; }
  const ProductVersion& product() const override { return env_.product; }
  std::string server_name() const override { return env_.server_name; }
  std::string current_database_name() const override { return current_database(); }
  std::optional<int64_t> database_id_of(const std::string& name) const override;
  std::optional<std::string> database_name_of(int64_t id) const override;
  const ConnectionInfo& client_connection() const override { return client_.connection; }

  SessionEnvironment& env_;
  std::string login_;
  int spid_;
  SessionClient client_;
  std::string initial_database_;
  // The in-memory database that holds the session's #temporary tables; once the session has named one, every
  // connection it opens attaches it, so they outlive USE (sqlite memdb: it lives while a connection has it
  // open).
  const std::string temp_database_;
  bool temporary_tables_attached_ = false;
  std::set<std::string> global_temps_;  // ##tables this session made; dropped when it ends
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
  std::string transaction_name_;         // BEGIN TRAN name of the outermost transaction
  std::vector<std::string> savepoints_;  // SAVE TRAN names in the open transaction, oldest first
  int64_t rowcount_ = 0;                 // @@ROWCOUNT
  int32_t last_error_ = 0;               // @@ERROR
  int try_depth_ = 0;                    // BEGIN TRY blocks the running statement is in
  int nest_level_ = 0;                   // @@NESTLEVEL: sp_executesql calls the statement runs in
  std::vector<Message> caught_;          // the errors CATCH blocks are handling, innermost last
  SessionOptions options_;
  std::optional<InsertBulkStatement> insert_bulk_;  // the INSERT BULK the next bulk load fills
  // WAITFOR waits here; interrupt() (ATTENTION) ends the wait.
  std::mutex wait_mutex_;
  std::condition_variable wait_changed_;
  bool interrupted_ = false;
  catalog::SessionDirectory::Registration registration_;
};

}  // namespace bakrest::sql
