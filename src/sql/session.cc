#include "sql/session.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <limits>
#include <set>

#include "catalog/procedures.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/sql_type.h"
#include "common/text.h"
#include "instance/logins.h"
#include "sql/raiserror_format.h"
#include "sql/result_types.h"
#include "sql/token_util.h"

namespace bakrest::sql {

namespace {

std::string quote_literal(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    out += c;
    if (c == '\'') out += '\'';
  }
  return out + "'";
}

std::string quote_name(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    out += c;
    if (c == '"') out += '"';
  }
  return out + "\"";
}

// SQLite's errors in SQL Server's terms where there is a clear counterpart, so clients and users see the
// numbers they know; the SQLite text is kept.
SqlError translate(const sqlite::Error& e) {
  std::string text = e.what();
  // A built-in function's own error (sql/builtins.cc) carries SQL Server's number and words.
  if (auto carried = sqlite::sql_error_in(text))
    return SqlError(carried->number, carried->severity, carried->text);
  auto strip = [&](const char* prefix) {
    if (text.rfind(prefix, 0) == 0) text = text.substr(std::strlen(prefix));
  };
  strip("prepare: ");
  strip("step: ");
  auto after = [&](const char* prefix) -> std::optional<std::string> {
    if (text.rfind(prefix, 0) != 0) return std::nullopt;
    return text.substr(std::strlen(prefix));
  };
  int primary = e.code() & 0xFF;
  if (auto name = after("no such table: ")) {
    // A temporary table's schema is bakrest's business: #t, not 'temp.#t.
    for (const char* schema : {"'temp.", "'global_temp."}) {
      if (name->rfind(schema, 0) == 0) name = name->substr(std::strlen(schema));
    }
    return SqlError(208, 16, "Invalid object name '" + *name + "'.");
  }
  if (auto name = after("no such function: ")) {
    std::string shown = *name;
    if (ascii_lower(shown).rfind("bakrest_", 0) == 0) shown = to_upper(shown.substr(8));
    return SqlError(195, 15, "'" + shown + "' is not a recognized built-in function name.");
  }
  if (auto name = after("no such column: ")) {
    size_t dot = name->rfind('.');
    return SqlError(
        207, 16, "Invalid column name '" + (dot == std::string::npos ? *name : name->substr(dot + 1)) + "'.");
  }
  for (const char* kind : {"table ", "view ", "index ", "trigger "}) {
    if (auto rest = after(kind)) {
      size_t at = rest->rfind(" already exists");
      if (at != std::string::npos) {
        std::string name = rest->substr(0, at);
        if (name.size() >= 2 && name.front() == '"' && name.back() == '"')
          name = name.substr(1, name.size() - 2);
        return SqlError(2714, 16, "There is already an object named '" + name + "' in the database.");
      }
    }
  }
  if (text.find("syntax error") != std::string::npos) {
    // SQLite says: near "X": syntax error.
    size_t open = text.find("near \"");
    if (open != std::string::npos) {
      size_t close = text.find('"', open + 6);
      if (close != std::string::npos) {
        return SqlError(102, 15, "Incorrect syntax near '" + text.substr(open + 6, close - open - 6) + "'.");
      }
    }
    return SqlError(102, 15, "Incorrect syntax: " + text + ".");
  }
  if (text.find("incomplete input") != std::string::npos)
    return SqlError(102, 15, "Incorrect syntax near the end of the statement.");
  if (e.code() == SQLITE_CONSTRAINT_NOTNULL)
    return SqlError(515, 16, "Cannot insert the value NULL: " + text + ".");
  if (e.code() == SQLITE_CONSTRAINT_PRIMARYKEY || e.code() == SQLITE_CONSTRAINT_UNIQUE) {
    return SqlError(2627, 14, "Violation of a PRIMARY KEY or UNIQUE constraint: " + text + ".");
  }
  if (e.code() == SQLITE_CONSTRAINT_FOREIGNKEY)
    return SqlError(547, 16, "The statement conflicted with a FOREIGN KEY constraint: " + text + ".");
  if (e.code() == SQLITE_CONSTRAINT_CHECK)
    return SqlError(547, 16, "The statement conflicted with a CHECK constraint: " + text + ".");
  if (primary == SQLITE_AUTH) return SqlError(262, 14, "Permission denied: " + text + ".");
  if (primary == SQLITE_BUSY)
    return SqlError(1222, 16, "Lock request time out period exceeded: " + text + ".");
  return SqlError(50000, 16, text);
}

bool counts_rows(const std::string& sql) {
  size_t i = 0;
  while (i < sql.size() && (std::isspace(static_cast<unsigned char>(sql[i])) || sql[i] == '(')) ++i;
  std::string word;
  while (i < sql.size() && std::isalpha(static_cast<unsigned char>(sql[i])))
    word += static_cast<char>(std::toupper(sql[i++]));
  return word == "INSERT" || word == "UPDATE" || word == "DELETE" || word == "REPLACE" || word == "WITH";
}

// Whether SET TEXTSIZE applies to a result column, as SQL Server applies it to (MAX), text, ntext and image
// columns: sent as (MAX), or declared so even where the values were short enough for another type.
bool is_large_column(const Column& column, const char* declared) {
  if (column.type == ColumnType::kNVarCharMax || column.type == ColumnType::kVarBinaryMax) return true;
  // CREATE TABLE keeps NVARCHAR(MAX) as a bare NVARCHAR (sql/ddl_rewrite.cc): that is a (MAX) column.
  std::string d = ascii_lower(declared ? declared : "");
  return d == "nvarchar" || d == "varchar" || d == "varbinary" || d == "text" || d == "ntext" ||
         d == "image" || d == "blob";
}

// SET TEXTSIZE: values of large columns are sent with at most this many bytes, as SQL Server does (text
// counts its UTF-16 bytes; a character is never split).
void limit_text(std::vector<Value>& row, const std::vector<bool>& large, int64_t textsize) {
  for (size_t c = 0; c < row.size() && c < large.size(); ++c) {
    if (!large[c]) continue;
    if (auto* b = std::get_if<Bytes>(&row[c])) {
      if (b->size() > static_cast<uint64_t>(textsize)) b->resize(static_cast<size_t>(textsize));
    } else if (auto* s = std::get_if<std::string>(&row[c])) {
      int64_t utf16_bytes = 0;
      size_t i = 0;
      while (i < s->size()) {
        auto lead = static_cast<unsigned char>((*s)[i]);
        size_t length = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
        int64_t units = length == 4 ? 4 : 2;  // four UTF-8 bytes are a surrogate pair in UTF-16
        if (utf16_bytes + units > textsize) break;
        utf16_bytes += units;
        i += length;
      }
      if (i < s->size()) s->resize(i);
    }
  }
}

// A statement as the server's log shows it: at most 300 characters, on one line, and with its string literals
// hidden when it could hold a password (CREATE LOGIN, ALTER LOGIN, anything naming PASSWORD).
std::string preview_tokens(const std::vector<Token>& tokens) {
  bool secret = false;
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (is_word(&tokens[i], "PASSWORD") ||
        (is_word_any(&tokens[i], {"CREATE", "ALTER"}) && is_word(token_at(tokens, i + 1), "LOGIN"))) {
      secret = true;
    }
  }
  std::string out;
  for (const Token& t : tokens) {
    if (!out.empty() && t.space_before) out += ' ';
    bool literal = t.kind == TokenKind::kString || t.kind == TokenKind::kNString;
    out += secret && literal ? "'***'" : t.text;
    if (out.size() > 300) return out.substr(0, 300) + "...";
  }
  return out;
}

// A statement bakrest runs itself, as the server's log names it when it fails (never with a password).
std::string describe_statement(const Statement& statement) {
  if (const auto* sql = std::get_if<SqlStatement>(&statement)) return preview_tokens(sql->tokens);
  if (const auto* s = std::get_if<ExecStatement>(&statement)) return "EXEC " + s->procedure;
  if (const auto* s = std::get_if<CreateDatabaseStatement>(&statement)) return "CREATE DATABASE " + s->name;
  if (const auto* s = std::get_if<DropDatabaseStatement>(&statement)) return "DROP DATABASE " + s->name;
  if (const auto* s = std::get_if<AlterDatabaseStatement>(&statement)) {
    return "ALTER DATABASE " + (s->name.empty() ? std::string("CURRENT") : s->name) + " SET RECOVERY " +
           s->recovery_model;
  }
  if (const auto* s = std::get_if<CreateLoginStatement>(&statement)) {
    return "CREATE LOGIN " + s->name + " WITH PASSWORD = '***'";
  }
  if (const auto* s = std::get_if<DropLoginStatement>(&statement)) return "DROP LOGIN " + s->name;
  if (const auto* s = std::get_if<GrantExecuteStatement>(&statement)) {
    return std::string(s->grant ? "GRANT" : "REVOKE") + " EXECUTE ON " + s->procedure;
  }
  if (const auto* s = std::get_if<UseStatement>(&statement)) return "USE " + s->name;
  if (const auto* s = std::get_if<SetOptionStatement>(&statement)) return "SET " + s->option;
  if (const auto* s = std::get_if<BeginTransactionStatement>(&statement))
    return "BEGIN TRANSACTION " + s->name;
  if (std::holds_alternative<CommitStatement>(statement)) return "COMMIT";
  if (const auto* s = std::get_if<RollbackStatement>(&statement)) return "ROLLBACK " + s->name;
  if (const auto* s = std::get_if<SaveTransactionStatement>(&statement)) return "SAVE TRANSACTION " + s->name;
  if (const auto* s = std::get_if<SetVariableStatement>(&statement)) return "SET " + s->name;
  if (std::holds_alternative<DeclareStatement>(statement)) return "DECLARE";
  if (std::holds_alternative<SelectAssignStatement>(statement)) return "SELECT @variable = ...";
  if (std::holds_alternative<WaitforStatement>(statement)) return "WAITFOR";
  if (std::holds_alternative<RaiserrorStatement>(statement)) return "RAISERROR";
  if (std::holds_alternative<ThrowStatement>(statement)) return "THROW";
  if (std::holds_alternative<InsertBulkStatement>(statement)) return "INSERT BULK";
  if (std::holds_alternative<PrintStatement>(statement)) return "PRINT";
  return "a control-of-flow statement";
}

// A batch that did not parse: its tokens if it has any that read, else its text unless it mentions a
// password.
std::string preview_batch(std::string_view batch) {
  try {
    return preview_tokens(tokenize(batch));
  } catch (const SqlError&) {
    if (ascii_lower(std::string(batch)).find("password") != std::string::npos) {
      return "(not shown: the batch mentions a password)";
    }
    std::string out(batch.substr(0, 300));
    std::replace(out.begin(), out.end(), '\n', ' ');
    return out;
  }
}

// A memdb name of the session's own: memdb databases whose names start with '/' are shared within the
// process.
std::string next_temp_database(int spid) {
  static std::atomic<uint64_t> counter{0};
  return "/bakrest-temp-" + std::to_string(spid) + "-" + std::to_string(++counter);
}

// CREATE TABLE ##name: the name, so the session can drop it when it ends.
std::optional<std::string> created_global_temp(const std::vector<Token>& tokens) {
  if (tokens.size() < 3 || !is_word(&tokens[0], "CREATE") || !is_word(&tokens[1], "TABLE"))
    return std::nullopt;
  const Token& name = tokens[2];
  if (!is_name(&name) || name.value.rfind("##", 0) != 0) return std::nullopt;
  return name.value;
}

// Finalizes a prepared statement on every path.
struct StatementGuard {
  sqlite3_stmt* stmt = nullptr;
  ~StatementGuard() { sqlite3_finalize(stmt); }
};

}  // namespace

Session::Session(SessionEnvironment& env, std::string login, int spid, const std::string& database,
                 SessionClient client)
    : env_(env),
      login_(std::move(login)),
      spid_(spid),
      client_(std::move(client)),
      temp_database_(next_temp_database(spid)),
      registration_(env.sessions, catalog::SessionRow{.spid = spid,
                                                      .login_name = login_,
                                                      .host_name = client_.host_name,
                                                      .program_name = client_.program_name,
                                                      .connection = client_.connection,
                                                      .login_time_micros = now_micros()}) {
  std::string name = database.empty() ? "master" : database;
  try {
    connection_ = open(name);
    initial_database_ = connection_->info().name;
  } catch (const SqlError&) {
    throw SqlError(4060, 11,
                   "Cannot open database \"" + name + "\" requested by the login. The login failed.");
  }
  publish_state(false);
}

void Session::publish_state(bool running) {
  const int64_t now = now_micros();
  const int64_t database = connection_->info().id;
  const int transactions = trancount();
  registration_.update([&](catalog::SessionRow& row) {
    row.status = running ? "running" : "sleeping";
    if (running) {
      row.last_request_start_micros = now;
    } else if (row.last_request_start_micros > 0) {
      row.last_request_end_micros = now;
    }
    row.database_id = database;
    row.open_transaction_count = transactions;
    row.text_size = options_.textsize.value_or(-1);
    row.lock_timeout_ms = options_.lock_timeout_ms;
    row.transaction_isolation_level = options_.isolation_level;
  });
}

std::vector<catalog::SessionRow> Session::sessions() const { return env_.sessions.list(); }

std::string Session::database_name(const std::string& sqlite_schema) const {
  if (sqlite_schema == "main") return current_database();
  if (sqlite_schema == "msdb") return "msdb";
  for (const auto& a : attached_) {
    if (a.schema == ascii_lower(sqlite_schema)) return a.name;
  }
  return sqlite_schema;
}

std::optional<int64_t> Session::database_id_of(const std::string& name) const {
  auto info = env_.engine.find(name);
  if (!info) return std::nullopt;
  return info->id;
}

std::optional<std::string> Session::database_name_of(int64_t id) const {
  for (const auto& info : env_.engine.list()) {
    if (info.id == id) return info.name;
  }
  return std::nullopt;
}

std::vector<std::string> Session::database_names() const {
  std::vector<std::string> out;
  for (const auto& info : env_.engine.list()) out.push_back(info.name);
  return out;
}

std::vector<std::string> Session::procedure_names() const {
  return procs::procedure_names(current_database());
}

int64_t Session::database_created(const std::string& sqlite_schema) const {
  auto info = env_.engine.find(database_name(sqlite_schema));
  return info ? info->create_date : 0;
}

int64_t Session::database_id(const std::string& sqlite_schema) const {
  auto info = env_.engine.find(database_name(sqlite_schema));
  return info ? info->id : 0;
}

Session::~Session() {
  try {
    if (temporary_tables_attached_) drop_temporary_tables(true);
  } catch (const std::exception& e) {
    spdlog::warn("session {}: cannot drop its global temporary tables: {}", spid_, e.what());
  }
}

void Session::drop_temporary_tables(bool global) {
  std::string schema = catalog::temp_schema(global ? "##" : "#");
  std::vector<std::string> tables;
  if (global) {
    tables.assign(global_temps_.begin(), global_temps_.end());
  } else {
    auto list = connection_->db().prepare("SELECT name FROM " + quote_name(schema) +
                                          ".sqlite_schema WHERE type = 'table'");
    while (list.step()) tables.push_back(list.get_text(0));
  }
  for (const auto& table : tables) {
    connection_->db().exec("DROP TABLE IF EXISTS " + quote_name(schema) + "." + quote_name(table));
  }
  if (global) global_temps_.clear();
}

std::unique_ptr<engine::Connection> Session::open(const std::string& database) {
  auto connection = env_.engine.connect(database);
  sqlite3* db = connection->db().handle();
  apply_lock_timeout(db);
  catalog::install(db, *this);
  install_builtins(db, *this);
  if (!connection->info().file.empty()) {
    std::string attach =
        "ATTACH " + quote_literal(sqlite::file_uri(env_.engine.msdb_file(), "mode=ro")) + " AS msdb";
    connection->with_attach_allowed([&] { connection->db().exec(attach); });
  }
  // A session that has made temporary tables keeps them across USE: the new connection attaches them before
  // the old one closes (a memdb database lives while some connection has it open).
  if (temporary_tables_attached_) attach_temporary_databases(*connection);
  return connection;
}

void Session::attach_temporary_databases(engine::Connection& connection) {
  // #temporary and ##global temporary tables: databases in memory (SQLite's memdb), outside the transaction
  // log.
  std::string temps = "ATTACH " + quote_literal("file:" + temp_database_ + "?vfs=memdb") + " AS " +
                      quote_name(catalog::temp_schema("#")) + "; ATTACH " +
                      quote_literal("file:/bakrest-global-temp?vfs=memdb") + " AS " +
                      quote_name(catalog::temp_schema("##"));
  connection.with_attach_allowed([&] { connection.db().exec(temps); });
}

void Session::use_temporary_tables() {
  if (temporary_tables_attached_) return;
  // They take two of SQLite's attachments, so only sessions that name a temporary table pay for them;
  // databases attached for three-part names make room.
  sqlite3* db = connection_->db().handle();
  auto attachments = [&] {
    size_t n = 0;
    auto list = connection_->db().prepare("PRAGMA database_list");
    while (list.step()) n += list.get_text(1) != "main" && list.get_text(1) != "temp";
    return n;
  };
  const size_t limit = static_cast<size_t>(sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, -1));
  while (attachments() + 2 > limit) detach_least_recently_used({});
  attach_temporary_databases(*connection_);
  temporary_tables_attached_ = true;
}

std::string Session::current_database() const { return connection_->info().name; }

void Session::reset(bool keep_transaction) {
  if (!keep_transaction && connection_->db().in_transaction()) connection_->db().exec("ROLLBACK");
  if (!keep_transaction) {
    trancount_ = 0;
    transaction_name_.clear();
    savepoints_.clear();
  }
  // A reset connection starts over with the login's settings and no temporary tables, as
  // sp_reset_connection does.
  options_ = SessionOptions{};
  if (temporary_tables_attached_) drop_temporary_tables(false);
  insert_bulk_.reset();
  rowcount_ = 0;
  last_error_ = 0;
  if (trancount() == 0 && ascii_lower(current_database()) != ascii_lower(initial_database_)) {
    replace_connection(open(initial_database_));
  }
  apply_lock_timeout(connection_->db().handle());
}

void Session::replace_connection(std::unique_ptr<engine::Connection> next) {
  std::vector<Attachment> released;
  {
    std::lock_guard lock(connection_mutex_);
    std::swap(connection_, next);
    std::swap(attached_, released);
  }
  // The old connection (and with it its attachments) closes here, outside the lock.
  next.reset();
}

void Session::interrupt() {
  {
    std::lock_guard lock(connection_mutex_);
    if (connection_) sqlite3_interrupt(connection_->db().handle());
  }
  std::lock_guard lock(wait_mutex_);
  interrupted_ = true;
  wait_changed_.notify_all();
}

SqlError Session::explain(const sqlite::Error& e) const {
  // A write the engine refused because the database's transaction log can't be written reaches SQLite as
  // an I/O error; say what it really is.
  if ((e.code() & 0xFF) == SQLITE_IOERR) {
    if (auto reason = connection_->suspect_reason()) {
      return SqlError(926, 14,
                      "The statement was not run: database '" + current_database() +
                          "' is SUSPECT, its transaction log could not be written (" + *reason +
                          "). Committed transactions are safe; bakrest retries the log every few seconds.");
    }
  }
  return translate(e);
}

int Session::trancount() const { return connection_->db().in_transaction() ? std::max(trancount_, 1) : 0; }

RewriteContext Session::rewrite_context(const Variables& variables) const {
  RewriteContext c{current_database(), spid_, trancount(), env_.version, env_.server_name};
  c.rowcount = rowcount_;
  c.error = last_error_;
  c.options = options_bits(options_);
  c.textsize = options_.textsize.value_or(2147483647);
  c.lock_timeout = options_.lock_timeout_ms;
  if (!caught_.empty()) c.caught = caught_.back();
  const ProductVersion& p = env_.product;
  c.microsoft_version = (int64_t{p.major} << 24) | (int64_t{p.minor} << 16) | p.build;
  c.nest_level = nest_level_;
  for (const auto& [name, v] : variables) {
    std::string type = v.type;
    if (type.empty() && std::holds_alternative<std::string>(v.value)) type = "NVARCHAR(MAX)";
    if (!type.empty()) c.variable_types[name] = type;
  }
  return c;
}

namespace {

// Marks the session running for sys.dm_exec_sessions until the request returns, however it returns.
template <class Publish>
struct RunningScope {
  explicit RunningScope(Publish publish) : publish(publish) { publish(true); }
  ~RunningScope() { publish(false); }
  Publish publish;
};

// An error inside BEGIN TRY: it goes to the CATCH block instead of the client.
struct TryError {
  Message message;
};
// SET XACT_ABORT ON and an error: the batch ends here.
struct BatchAborted {};
// THROW outside TRY: the client gets the error and the batch ends (the transaction stays as it is).
struct BatchTerminatingError {
  Message message;
};

// "hh:mm[:ss[.fff]]" as WAITFOR reads it, in milliseconds; nullopt when it is not such a time.
std::optional<int64_t> time_of_day_ms(const std::string& text) {
  int h = 0, m = 0;
  double sec = 0;
  char colon1 = 0, colon2 = 0;
  int n = std::sscanf(text.c_str(), "%d%c%d%c%lf", &h, &colon1, &m, &colon2, &sec);
  if (n < 3 || colon1 != ':' || (n >= 4 && colon2 != ':') || h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 ||
      sec >= 60) {
    return std::nullopt;
  }
  return (int64_t{h} * 3600 + m * 60) * 1000 + static_cast<int64_t>(sec * 1000 + 0.5);
}

}  // namespace

void Session::run_batch(std::string_view batch, ResultSink& sink) {
  RunningScope running([this](bool on) { publish_state(on); });
  {
    std::lock_guard lock(wait_mutex_);
    interrupted_ = false;
  }
  Variables variables;
  run_statements(batch, variables, sink);
}

void Session::run_statements(std::string_view batch, Variables& variables, ResultSink& sink) {
  std::vector<Statement> statements;
  try {
    statements = parse_batch(batch);
  } catch (const SqlError& e) {
    // A batch that does not parse runs no statement at all, as on SQL Server.
    spdlog::info("session {}: refused a batch: {} ({})", spid_, e.message().text, preview_batch(batch));
    last_error_ = e.message().number;
    sink.message(e.message());
    sink.done(std::nullopt);
    return;
  }
  try {
    run_block(statements, variables, sink);
  } catch (const BatchAborted&) {
  }
}

Session::Flow Session::run_block(const std::vector<Statement>& statements, Variables& variables,
                                 ResultSink& sink) {
  for (const auto& statement : statements) {
    if (sink.attention()) return Flow::kReturn;
    Flow flow = execute(statement, variables, sink);
    if (flow != Flow::kNext) return flow;
  }
  return Flow::kNext;
}

Session::Flow Session::execute(const Statement& statement, Variables& variables, ResultSink& sink) {
  std::optional<Message> error;
  bool terminates_batch = false;
  Flow flow = Flow::kNext;
  try {
    if (options_.implicit_transactions && trancount() == 0 && starts_implicit_transaction(statement))
      begin_transaction();
    flow = run_statement(statement, variables, sink);
    if (!std::holds_alternative<IfStatement>(statement) &&
        !std::holds_alternative<WhileStatement>(statement) &&
        !std::holds_alternative<BlockStatement>(statement) &&
        !std::holds_alternative<TryCatchStatement>(statement) &&
        !std::holds_alternative<DeclareStatement>(statement) &&
        !std::holds_alternative<RaiserrorStatement>(statement)) {  // RAISERROR sets @@ERROR itself
      last_error_ = 0;
    }
  } catch (const SqlError& e) {
    error = e.message();
  } catch (const BatchTerminatingError& e) {
    error = e.message;
    terminates_batch = true;
  } catch (const sqlite::Error& e) {
    error = explain(e).message();
  }
  if (!connection_->db().in_transaction()) {
    trancount_ = 0;
    transaction_name_.clear();
    savepoints_.clear();
  }
  if (!error) return flow;
  last_error_ = error->number;
  if (sink.attention()) return Flow::kReturn;
  spdlog::info("session {}: statement failed with {}: {} ({})", spid_, error->number, error->text,
               describe_statement(statement));
  if (try_depth_ > 0) throw TryError{*error};
  sink.message(*error);
  sink.done(std::nullopt);
  // SET XACT_ABORT ON: a run-time error rolls back the whole transaction and ends the batch.
  if (options_.xact_abort) {
    if (connection_->db().in_transaction()) connection_->db().exec("ROLLBACK");
    trancount_ = 0;
    transaction_name_.clear();
    savepoints_.clear();
    throw BatchAborted{};
  }
  if (terminates_batch) throw BatchAborted{};
  return Flow::kNext;
}

// Under SET FMTONLY ON only queries (their columns), SET, variables and control of flow run: the statements
// bakrest carries out itself would act.
namespace {
bool runs_under_fmtonly(const Statement& statement) {
  return std::holds_alternative<SqlStatement>(statement) ||
         std::holds_alternative<SetOptionStatement>(statement) ||
         std::holds_alternative<DeclareStatement>(statement) ||
         std::holds_alternative<SetVariableStatement>(statement) ||
         std::holds_alternative<IfStatement>(statement) ||
         std::holds_alternative<WhileStatement>(statement) ||
         std::holds_alternative<BlockStatement>(statement) ||
         std::holds_alternative<TryCatchStatement>(statement) ||
         std::holds_alternative<PrintStatement>(statement);
}
}  // namespace

Session::Flow Session::run_statement(const Statement& statement, Variables& variables, ResultSink& sink) {
  if (options_.fmtonly && !runs_under_fmtonly(statement)) {
    throw not_supported(
        describe_statement(statement) +
        " under SET FMTONLY ON is not supported: bakrest then sends only the columns of queries.");
  }
  return std::visit(
      [&](const auto& s) -> Flow {
        using T = std::decay_t<decltype(s)>;
        if constexpr (std::is_same_v<T, ExecStatement>) {
          run_exec(s, variables, sink);
        } else if constexpr (std::is_same_v<T, CreateDatabaseStatement>) {
          if (trancount() > 0) {
            throw SqlError(226, 16,
                           "CREATE DATABASE statement not allowed within multi-statement transaction.");
          }
          env_.engine.create_database(s.name);
          sink.done(std::nullopt);
        } else if constexpr (std::is_same_v<T, DropDatabaseStatement>) {
          if (trancount() > 0) {
            throw SqlError(226, 16,
                           "DROP DATABASE statement not allowed within multi-statement transaction.");
          }
          env_.engine.drop_database(s.name);
          sink.done(std::nullopt);
        } else if constexpr (std::is_same_v<T, AlterDatabaseStatement>) {
          alter_database(s, sink);
        } else if constexpr (std::is_same_v<T, CreateLoginStatement> ||
                             std::is_same_v<T, DropLoginStatement> ||
                             std::is_same_v<T, GrantExecuteStatement>) {
          manage_logins(statement, sink);
        } else if constexpr (std::is_same_v<T, UseStatement>) {
          use_database(s.name, sink);
        } else if constexpr (std::is_same_v<T, PrintStatement>) {
          run_print(s, variables, sink);
        } else if constexpr (std::is_same_v<T, SetOptionStatement>) {
          apply_set_option(s, options_);
          apply_lock_timeout(connection_->db().handle());
          rowcount_ = 0;
          sink.done(std::nullopt);
        } else if constexpr (std::is_same_v<T, BeginTransactionStatement>) {
          // In implicit transaction mode BEGIN TRANSACTION opens the implicit one too: @@TRANCOUNT 2.
          if (options_.implicit_transactions && trancount() == 0) begin_transaction();
          begin_transaction(resolve_name(s.name, variables));
          rowcount_ = 0;
          sink.done(std::nullopt);
        } else if constexpr (std::is_same_v<T, CommitStatement>) {
          commit();
          rowcount_ = 0;
          sink.done(std::nullopt);
        } else if constexpr (std::is_same_v<T, RollbackStatement>) {
          rollback(resolve_name(s.name, variables));
          rowcount_ = 0;
          sink.done(std::nullopt);
        } else if constexpr (std::is_same_v<T, SaveTransactionStatement>) {
          save_transaction(resolve_name(s.name, variables));
          sink.done(std::nullopt);
        } else if constexpr (std::is_same_v<T, InsertBulkStatement>) {
          insert_bulk(s, sink);
        } else if constexpr (std::is_same_v<T, SqlStatement>) {
          run_sql(s.tokens, variables, sink);
        } else if constexpr (std::is_same_v<T, DeclareStatement>) {
          declare(s, variables);
        } else if constexpr (std::is_same_v<T, SetVariableStatement>) {
          set_variable(s, variables);
          rowcount_ = 1;
        } else if constexpr (std::is_same_v<T, SelectAssignStatement>) {
          select_assign(s, variables, sink);
        } else if constexpr (std::is_same_v<T, WaitforStatement>) {
          waitfor(s, variables, sink);
        } else if constexpr (std::is_same_v<T, RaiserrorStatement>) {
          raiserror(s, variables, sink);
        } else if constexpr (std::is_same_v<T, ThrowStatement>) {
          throw_error(s, variables);
        } else if constexpr (std::is_same_v<T, ReturnStatement>) {
          return Flow::kReturn;
        } else if constexpr (std::is_same_v<T, BreakStatement>) {
          return Flow::kBreak;
        } else if constexpr (std::is_same_v<T, ContinueStatement>) {
          return Flow::kContinue;
        } else if constexpr (std::is_same_v<T, IfStatement>) {
          return run_if(s, variables, sink);
        } else if constexpr (std::is_same_v<T, WhileStatement>) {
          return run_while(s, variables, sink);
        } else if constexpr (std::is_same_v<T, BlockStatement>) {
          return run_block(s.statements, variables, sink);
        } else if constexpr (std::is_same_v<T, TryCatchStatement>) {
          return run_try_catch(s, variables, sink);
        }
        return Flow::kNext;
      },
      statement);
}

// --- Control of flow and variables ----------------------------------------------------------------------

Session::Flow Session::run_if(const IfStatement& branch, Variables& variables, ResultSink& sink) {
  bool taken = evaluate_condition(branch.condition, variables);
  const auto& chosen = taken ? branch.then_branch : branch.else_branch;
  return run_block(chosen, variables, sink);
}

Session::Flow Session::run_while(const WhileStatement& loop, Variables& variables, ResultSink& sink) {
  while (!sink.attention() && evaluate_condition(loop.condition, variables)) {
    Flow flow = run_block(loop.body, variables, sink);
    if (flow == Flow::kBreak) break;
    if (flow == Flow::kReturn) return flow;
  }
  return Flow::kNext;
}

Session::Flow Session::run_try_catch(const TryCatchStatement& statement, Variables& variables,
                                     ResultSink& sink) {
  Message caught;
  ++try_depth_;
  try {
    Flow flow = run_block(statement.try_block, variables, sink);
    --try_depth_;
    return flow;
  } catch (const TryError& e) {
    --try_depth_;
    caught = e.message;
  } catch (...) {
    --try_depth_;
    throw;
  }
  caught_.push_back(caught);
  try {
    Flow flow = run_block(statement.catch_block, variables, sink);
    caught_.pop_back();
    return flow;
  } catch (...) {
    caught_.pop_back();
    throw;
  }
}

bool Session::evaluate_condition(const std::vector<Token>& condition, const Variables& variables) {
  std::vector<Token> expression;
  expression.push_back(synthetic_token("CASE"));
  expression.push_back(synthetic_token("WHEN"));
  expression.insert(expression.end(), condition.begin(), condition.end());
  for (const char* word : {"THEN", "1", "ELSE", "0", "END"}) expression.push_back(synthetic_token(word));
  Value v = evaluate(expression, variables);
  const auto* i = std::get_if<int64_t>(&v);
  return i != nullptr && *i == 1;
}

Value Session::evaluate(const std::vector<Token>& expression, const Variables& variables) {
  std::vector<Token> select{synthetic_token("SELECT")};
  select.insert(select.end(), expression.begin(), expression.end());
  if (select.size() > 1) select[1].space_before = true;
  RewrittenSql rewritten = rewrite_for_sqlite(select, rewrite_context(variables));
  attach(rewritten.databases);
  sqlite3* db = connection_->db().handle();
  StatementGuard guard;
  const char* tail = nullptr;
  if (sqlite3_prepare_v2(db, rewritten.sql.c_str(), static_cast<int>(rewritten.sql.size()), &guard.stmt,
                         &tail) != SQLITE_OK) {
    throw explain(sqlite::Error(sqlite3_extended_errcode(db), sqlite3_errmsg(db)));
  }
  if (!guard.stmt || (tail && *tail != '\0'))
    throw syntax_error_near(expression.empty() ? "SELECT" : expression.back().text);
  bind_variables(guard.stmt, variables);
  int rc = sqlite3_step(guard.stmt);
  if (rc == SQLITE_ROW) return read_sqlite_value(guard.stmt, 0);
  if (rc == SQLITE_DONE) return Value();
  throw explain(sqlite::Error(sqlite3_extended_errcode(db), sqlite3_errmsg(db)));
}

void Session::declare(const DeclareStatement& declare, Variables& variables) {
  for (const auto& v : declare.variables) {
    std::string key = ascii_lower(v.name);
    if (variables.count(key)) {
      throw SqlError(134, 15,
                     "The variable name '" + v.name +
                         "' has already been declared. Variable names must be unique within a query batch or "
                         "stored procedure.");
    }
    Value value;
    if (!v.initial.empty()) value = convert_to_declared(evaluate(v.initial, variables), v.type);
    variables[key] = Variable{std::move(value), v.type};
  }
}

void Session::set_variable(const SetVariableStatement& set, Variables& variables) {
  auto it = variables.find(ascii_lower(set.name));
  if (it == variables.end())
    throw SqlError(137, 15, "Must declare the scalar variable \"" + set.name + "\".");
  std::vector<Token> expression;
  if (!set.op.empty()) {
    // SET @v += x is SET @v = @v + (x).
    expression.push_back(Token{TokenKind::kVariable, set.name, set.name, 0, false});
    expression.push_back(Token{TokenKind::kPunct, set.op, set.op, 0, true});
    expression.push_back(Token{TokenKind::kPunct, "(", "(", 0, true});
    expression.insert(expression.end(), set.expression.begin(), set.expression.end());
    expression.push_back(Token{TokenKind::kPunct, ")", ")", 0, false});
  } else {
    expression = set.expression;
  }
  it->second.value = convert_to_declared(evaluate(expression, variables), it->second.type);
}

void Session::select_assign(const SelectAssignStatement& select, Variables& variables, ResultSink& sink) {
  for (const auto& [name, expression] : select.assignments) {
    if (!variables.count(ascii_lower(name)))
      throw SqlError(137, 15, "Must declare the scalar variable \"" + name + "\".");
  }
  std::vector<Token> query{synthetic_token("SELECT")};
  for (size_t i = 0; i < select.assignments.size(); ++i) {
    if (i > 0) query.push_back(Token{TokenKind::kPunct, ",", ",", 0, false});
    const auto& expression = select.assignments[i].second;
    size_t at = query.size();
    query.insert(query.end(), expression.begin(), expression.end());
    query[at].space_before = true;
  }
  query.insert(query.end(), select.rest.begin(), select.rest.end());
  if (select.rest.size() > 0) query[query.size() - select.rest.size()].space_before = true;
  RewrittenSql rewritten = rewrite_for_sqlite(query, rewrite_context(variables));
  attach(rewritten.databases);
  sqlite3* db = connection_->db().handle();
  StatementGuard guard;
  if (sqlite3_prepare_v2(db, rewritten.sql.c_str(), static_cast<int>(rewritten.sql.size()), &guard.stmt,
                         nullptr) != SQLITE_OK) {
    throw explain(sqlite::Error(sqlite3_extended_errcode(db), sqlite3_errmsg(db)));
  }
  bind_variables(guard.stmt, variables);
  // Every row assigns in turn, so the variables end with the last row's values, as on SQL Server.
  int64_t rows = 0;
  for (;;) {
    int rc = sqlite3_step(guard.stmt);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) {
      if (rc == SQLITE_INTERRUPT && sink.attention()) return;
      throw explain(sqlite::Error(sqlite3_extended_errcode(db), sqlite3_errmsg(db)));
    }
    ++rows;
    for (size_t i = 0; i < select.assignments.size(); ++i) {
      Variable& v = variables[ascii_lower(select.assignments[i].first)];
      v.value = convert_to_declared(read_sqlite_value(guard.stmt, static_cast<int>(i)), v.type);
    }
  }
  rowcount_ = rows;
  sink.done(options_.nocount ? std::nullopt : std::optional<uint64_t>(rows));
}

void Session::waitfor(const WaitforStatement& wait, const Variables& variables, ResultSink& sink) {
  Value v = evaluate(wait.expression, variables);
  const auto* text = std::get_if<std::string>(&v);
  std::optional<int64_t> ms = text ? time_of_day_ms(*text) : std::nullopt;
  if (!ms) {
    throw SqlError(
        148, 15,
        "Incorrect time syntax in time string '" + (text ? *text : std::string()) + "' used with WAITFOR.");
  }
  auto now = std::chrono::system_clock::now();
  std::chrono::system_clock::time_point until;
  if (wait.delay) {
    until = now + std::chrono::milliseconds(*ms);
  } else {
    // WAITFOR TIME: the next time the clock (UTC, the instance's time zone) shows that time.
    auto midnight = std::chrono::floor<std::chrono::days>(now);
    until = midnight + std::chrono::milliseconds(*ms);
    if (until <= now) until += std::chrono::days(1);
  }
  std::unique_lock lock(wait_mutex_);
  wait_changed_.wait_until(lock, until, [&] { return interrupted_ || sink.attention(); });
  rowcount_ = 0;
  sink.done(std::nullopt);
}

void Session::raiserror(const RaiserrorStatement& raise, const Variables& variables, ResultSink& sink) {
  std::vector<Value> values;
  for (const auto& argument : raise.arguments) values.push_back(evaluate(argument, variables));
  auto integer = [&](size_t i, const char* what) {
    if (const auto* n = std::get_if<int64_t>(&values[i])) return *n;
    throw SqlError(2748, 16,
                   std::string("Cannot specify ") + what + " for RAISERROR: it must be an integer.");
  };
  if (std::holds_alternative<int64_t>(values[0])) {
    throw not_supported(
        "RAISERROR with a message number is not supported yet: bakrest has no sys.messages; pass the message "
        "text.");
  }
  const auto* format = std::get_if<std::string>(&values[0]);
  // Severities above 25 are 25; below 0, 0. From 19 they need WITH LOG; from 20 they end the connection.
  int64_t severity = std::clamp<int64_t>(integer(1, "a severity"), 0, 25);
  int64_t state = integer(2, "a state");
  if (state < 0) state = 1;
  if (state > 255) {
    throw SqlError(2751, 16,
                   "State " + std::to_string(state) + " is out of range for RAISERROR: use 0 to 255.");
  }
  if (severity > 18 && !raise.log) {
    throw SqlError(
        2754, 16,
        "Error severity levels greater than 18 can only be specified by members of the sysadmin role, "
        "using the WITH LOG option.");
  }
  if (severity >= 20) {
    throw not_supported("RAISERROR with severity 20 or more (which ends the connection) is not supported.");
  }
  std::vector<Value> substitutions(values.begin() + 3, values.end());
  Message message{50000,
                  static_cast<uint8_t>(state),
                  static_cast<uint8_t>(severity),
                  format_raiserror(format ? *format : std::string(), substitutions),
                  {},
                  1};
  if (raise.log) spdlog::warn("session {}: RAISERROR WITH LOG: {}", spid_, message.text);
  if (severity > 10) throw SqlError(message);
  // Severity 0 to 10: a message, not an error; @@ERROR is 0 unless WITH SETERROR.
  sink.message(message);
  sink.done(std::nullopt);
  if (raise.nowait) sink.flush();
  rowcount_ = 0;
  last_error_ = raise.seterror ? 50000 : 0;
}

void Session::throw_error(const ThrowStatement& raise, const Variables& variables) {
  if (raise.arguments.empty()) {
    if (caught_.empty()) {
      throw SqlError(
          10704, 15,
          "To rethrow an error, a THROW statement must be used inside a CATCH block. Insert the THROW "
          "statement inside a CATCH block, or add error parameters to the THROW statement.");
    }
    throw BatchTerminatingError{caught_.back()};
  }
  std::vector<Value> values;
  for (const auto& argument : raise.arguments) values.push_back(evaluate(argument, variables));
  const auto* number = std::get_if<int64_t>(&values[0]);
  const auto* text = std::get_if<std::string>(&values[1]);
  const auto* state = std::get_if<int64_t>(&values[2]);
  if (number == nullptr || text == nullptr || state == nullptr) {
    throw SqlError(35101, 16, "THROW takes an integer error number, a message text and an integer state.");
  }
  if (*number < 50000 || *number > INT32_MAX) {
    throw SqlError(
        35100, 16,
        "Error number " + std::to_string(*number) +
            " in the THROW statement is outside the valid range. Specify an error number in the valid "
            "range of 50000 to 2147483647.");
  }
  if (*state < 0 || *state > 255) {
    throw SqlError(
        35102, 16,
        "State " + std::to_string(*state) +
            " in the THROW statement is outside the valid range. Specify a state in the valid range of "
            "0 to 255.");
  }
  throw BatchTerminatingError{Message{static_cast<int32_t>(*number),
                                      static_cast<uint8_t>(*state),
                                      16,
                                      text->substr(0, kMaxRaiserrorMessage),
                                      {},
                                      1}};
}

std::string Session::resolve_name(const std::string& name, const Variables& variables) const {
  if (name.empty() || name.front() != '@') return name;
  auto it = variables.find(ascii_lower(name));
  if (it == variables.end()) throw SqlError(137, 15, "Must declare the scalar variable \"" + name + "\".");
  const auto* text = std::get_if<std::string>(&it->second.value);
  return text ? *text : std::string();
}

void Session::bind_variables(sqlite3_stmt* stmt, const Variables& variables) const {
  for (int i = 1; i <= sqlite3_bind_parameter_count(stmt); ++i) {
    const char* raw = sqlite3_bind_parameter_name(stmt, i);
    std::string name = raw ? ascii_lower(raw) : "?";
    auto it = variables.find(name);
    if (it == variables.end()) {
      throw SqlError(137, 15, "Must declare the scalar variable \"" + std::string(raw ? raw : "?") + "\".");
    }
    sqlite::bind_value(stmt, i, it->second.value);
  }
}

bool Session::restart_for_write(sqlite3_stmt* stmt) {
  sqlite3* db = connection_->db().handle();
  // Only a transaction that has read and not yet written: it holds a snapshot, which SQLite can't turn into a
  // write transaction once another session has committed (or while one writes; then SQLite does not wait
  // either). Under READ COMMITTED, SQL Server's default, what such a transaction read binds it to nothing, so
  // it starts over as a writer, waiting for the other one as SQL Server's lock wait would.
  if (sqlite3_stmt_readonly(stmt) || sqlite3_txn_state(db, nullptr) != SQLITE_TXN_READ || trancount() == 0) {
    return false;
  }
  sqlite3_reset(stmt);
  connection_->db().exec("ROLLBACK");
  connection_->db().exec("BEGIN IMMEDIATE");  // waits up to SET LOCK_TIMEOUT (the busy timeout)
  // Savepoints taken while only reading mark no changes; they are taken again so ROLLBACK TRAN name still
  // finds them.
  for (const auto& name : savepoints_) connection_->db().exec("SAVEPOINT " + quote_name(name));
  return true;
}

bool Session::starts_implicit_transaction(const Statement& statement) const {
  const auto* sql = std::get_if<SqlStatement>(&statement);
  if (!sql || sql->tokens.empty() || sql->tokens.front().kind != TokenKind::kWord) return false;
  std::string head = to_upper(sql->tokens.front().text);
  // SQL Server's list: ALTER TABLE, CREATE, DELETE, DROP, INSERT, MERGE, TRUNCATE TABLE, UPDATE, and a
  // SELECT that reads a table (SELECT GETDATE() does not).
  if (iequals_any(head,
                  {"INSERT", "UPDATE", "DELETE", "MERGE", "CREATE", "DROP", "ALTER", "TRUNCATE", "REPLACE"}))
    return true;
  if (head == "SELECT" || head == "WITH") {
    for (const Token& t : sql->tokens) {
      if (is_word(&t, "FROM")) return true;
    }
  }
  return false;
}

void Session::apply_lock_timeout(sqlite3* db) const {
  // SQLite waits for a lock by retrying for this long; SET LOCK_TIMEOUT -1 waits as long as it takes.
  int ms = options_.lock_timeout_ms < 0 ? std::numeric_limits<int>::max() : options_.lock_timeout_ms;
  sqlite3_busy_timeout(db, ms);
}

void Session::begin_transaction(const std::string& name) {
  int current = trancount();
  if (current == 0) {
    connection_->db().exec("BEGIN");
    transaction_name_ = name;
    savepoints_.clear();
  }
  trancount_ = current + 1;
}

void Session::commit() {
  if (trancount() == 0) {
    throw SqlError(3902, 16, "The COMMIT TRANSACTION request has no corresponding BEGIN TRANSACTION.");
  }
  if (--trancount_ <= 0) {
    trancount_ = 0;
    connection_->db().exec("COMMIT");
    transaction_name_.clear();
    savepoints_.clear();
  }
}

void Session::rollback(const std::string& name) {
  if (trancount() == 0) {
    throw SqlError(3903, 16, "The ROLLBACK TRANSACTION request has no corresponding BEGIN TRANSACTION.");
  }
  if (!name.empty()) {
    // The newest savepoint of that name wins; the transaction and @@TRANCOUNT stay as they are, and so does
    // the savepoint (later ones are gone), as on SQL Server.
    auto it = std::find(savepoints_.rbegin(), savepoints_.rend(), name);
    if (it != savepoints_.rend()) {
      connection_->db().exec("ROLLBACK TO " + quote_name(name));
      savepoints_.erase(it.base(), savepoints_.end());
      return;
    }
    if (name != transaction_name_) {
      throw SqlError(6401, 16,
                     "Cannot roll back " + name + ". No transaction or savepoint of that name was found.");
    }
  }
  trancount_ = 0;
  transaction_name_.clear();
  savepoints_.clear();
  connection_->db().exec("ROLLBACK");
}

void Session::save_transaction(const std::string& name) {
  if (trancount() == 0) {
    throw SqlError(628, 16, "Cannot issue SAVE TRANSACTION when there is no active transaction.");
  }
  if (name.size() > 32) {
    throw SqlError(
        103, 15,
        "The identifier that starts with '" + name.substr(0, 32) + "' is too long. Maximum length is 32.");
  }
  connection_->db().exec("SAVEPOINT " + quote_name(name));
  savepoints_.push_back(name);
}

void Session::alter_database(const AlterDatabaseStatement& alter, ResultSink& sink) {
  if (trancount() > 0) {
    throw SqlError(226, 16, "ALTER DATABASE statement not allowed within multi-statement transaction.");
  }
  try {
    env_.engine.set_recovery_model(alter.name.empty() ? current_database() : alter.name,
                                   alter.recovery_model);
  } catch (const SqlError& e) {
    // SQL Server follows these two with 5069.
    if (e.message().number != 5011 && e.message().number != 5058) throw;
    sink.message(e.message());
    throw SqlError(5069, 16, "ALTER DATABASE statement failed.");
  }
  sink.done(std::nullopt);
}

void Session::manage_logins(const Statement& statement, ResultSink& sink) {
  const char* what = std::holds_alternative<CreateLoginStatement>(statement) ? "CREATE LOGIN"
                     : std::holds_alternative<DropLoginStatement>(statement) ? "DROP LOGIN"
                     : std::get<GrantExecuteStatement>(statement).grant      ? "GRANT"
                                                                             : "REVOKE";
  // msdb changes at once, whatever the session's transaction does later: refuse rather than pretend.
  if (trancount() > 0) {
    throw SqlError(226, 16, std::string(what) + " statement not allowed within multi-statement transaction.");
  }
  instance::Logins logins(env_.procs.msdb);
  if (!logins.is_master(login_))
    throw SqlError(15247, 16, "User does not have permission to perform this action.");
  if (const auto* create = std::get_if<CreateLoginStatement>(&statement)) {
    logins.create(create->name, create->password);
  } else if (const auto* drop = std::get_if<DropLoginStatement>(&statement)) {
    logins.drop(drop->name);
  } else {
    const auto& grant = std::get<GrantExecuteStatement>(statement);
    auto procedure = procs::procedure_full_name(grant.procedure, current_database());
    if (!procedure) {
      throw SqlError(15151, 16,
                     "Cannot find the object '" + grant.procedure +
                         "', because it does not exist or you do not have permission.");
    }
    for (const auto& login : grant.logins) logins.set_execute(login, *procedure, grant.grant);
  }
  sink.done(std::nullopt);
}

void Session::use_database(const std::string& name, ResultSink& sink) {
  if (trancount() > 0) {
    throw SqlError(50000, 16,
                   "USE can't change the database while a transaction is open. Commit or roll back first.");
  }
  auto next = open(name);
  std::string from = current_database();
  replace_connection(std::move(next));
  apply_lock_timeout(connection_->db().handle());
  sink.database_changed(from, current_database());
  sink.message(Message{5701, 1, 0, "Changed database context to '" + current_database() + "'.", {}, 1});
  sink.done(std::nullopt);
}

void Session::attach(const std::vector<std::string>& databases) {
  sqlite3* db = connection_->db().handle();
  // Schemas attached by open() (msdb) are not ours to detach; everything else in the list is.
  std::set<std::string> permanent;
  {
    auto list = connection_->db().prepare("PRAGMA database_list");
    while (list.step()) permanent.insert(ascii_lower(list.get_text(1)));
  }
  for (const auto& a : attached_) permanent.erase(a.schema);
  permanent.erase("main");
  permanent.erase("temp");
  const size_t limit = static_cast<size_t>(sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, -1));
  const size_t capacity = limit > permanent.size() ? limit - permanent.size() : 0;

  ++use_clock_;
  std::vector<std::string> wanted;  // the statement's databases that are not attached yet
  std::set<std::string> named;      // schemas the statement names
  for (const auto& name : databases) {
    std::string schema = ascii_lower(attachment_schema(name));
    if (!named.insert(schema).second || permanent.count(schema)) continue;
    auto it =
        std::find_if(attached_.begin(), attached_.end(), [&](const auto& a) { return a.schema == schema; });
    if (it != attached_.end()) {
      it->last_used = use_clock_;
    } else {
      wanted.push_back(name);
    }
  }
  size_t named_count = named.size() - std::count_if(named.begin(), named.end(),
                                                    [&](const auto& s) { return permanent.count(s) > 0; });
  if (named_count > capacity) {
    throw SqlError(50000, 16,
                   "A statement can name at most " + std::to_string(capacity) +
                       " other databases by three-part names (SQLite attaches at most " +
                       std::to_string(limit) +
                       " databases to a connection, msdb among them, and two more once the session uses "
                       "temporary tables); this one names " +
                       std::to_string(named_count) + ".");
  }
  for (const auto& name : wanted) {
    auto info = env_.engine.find(name);
    if (!info)
      throw SqlError(911, 16,
                     "Database '" + name + "' does not exist. Make sure that the name is entered correctly.");
    bool is_msdb = info->file.empty();
    std::string schema = ascii_lower(attachment_schema(name));
    // The lease is taken first: it fails for a database being restored and keeps DROP DATABASE away.
    std::unique_ptr<engine::DatabaseLease> lease = is_msdb ? nullptr : env_.engine.lease(name);
    while (attached_.size() >= capacity) detach_least_recently_used(named);
    std::string path = is_msdb ? env_.engine.msdb_file().string() : info->file.string();
    std::string sql = "ATTACH " + quote_literal(sqlite::file_uri(path, is_msdb ? "mode=ro" : "")) + " AS " +
                      quote_name(schema);
    connection_->with_attach_allowed([&] { connection_->db().exec(sql); });
    attached_.push_back(Attachment{schema, info->name, std::move(lease), use_clock_});
  }
}

void Session::detach_least_recently_used(const std::set<std::string>& keep) {
  std::vector<Attachment*> candidates;
  for (auto& a : attached_) {
    if (!keep.count(a.schema)) candidates.push_back(&a);
  }
  std::sort(candidates.begin(), candidates.end(),
            [](const Attachment* a, const Attachment* b) { return a->last_used < b->last_used; });
  for (Attachment* victim : candidates) {
    // SQLite refuses to detach a database the open transaction has used; the next one may do.
    bool detached = false;
    connection_->with_attach_allowed([&] {
      detached = sqlite3_exec(connection_->db().handle(), ("DETACH " + quote_name(victim->schema)).c_str(),
                              nullptr, nullptr, nullptr) == SQLITE_OK;
    });
    if (!detached) continue;
    std::string schema = victim->schema;
    std::erase_if(attached_, [&](const Attachment& a) { return a.schema == schema; });
    return;
  }
  throw SqlError(50000, 16,
                 "The open transaction uses every database this session has attached, and SQLite attaches at "
                 "most " +
                     std::to_string(attached_.size()) +
                     " besides msdb: commit or roll back before naming another database.");
}

void Session::run_sql(const std::vector<Token>& tokens, const Variables& variables, ResultSink& sink) {
  if (auto global = created_global_temp(tokens)) global_temps_.insert(*global);
  RewrittenSql rewritten = rewrite_for_sqlite(tokens, rewrite_context(variables));
  if (rewritten.temporary_tables) use_temporary_tables();
  attach(rewritten.databases);
  sqlite3* db = connection_->db().handle();
  const char* tail = rewritten.sql.c_str();
  const char* end = tail + rewritten.sql.size();
  bool first_statement = true;
  for (; tail < end; first_statement = false) {
    StatementGuard guard;
    const char* next = nullptr;
    if (sqlite3_prepare_v2(db, tail, static_cast<int>(end - tail), &guard.stmt, &next) != SQLITE_OK) {
      throw explain(sqlite::Error(sqlite3_extended_errcode(db), sqlite3_errmsg(db)));
    }
    // SQLite stops at a NUL; the tokenizer refuses those, and this keeps any other way of making no
    // progress from spinning forever.
    if (next == nullptr || next <= tail) {
      throw SqlError(102, 15,
                     "Incorrect syntax: SQLite could not read past character " +
                         std::to_string(tail - rewritten.sql.c_str() + 1) + " of the statement.");
    }
    std::string text(tail, static_cast<size_t>(next - tail));
    tail = next;
    if (!guard.stmt) continue;  // whitespace or a lone ';'

    bind_variables(guard.stmt, variables);

    int columns = sqlite3_column_count(guard.stmt);
    // Column types come from the first rows (and the declared types); the rest stream through, so a large
    // result never sits in memory whole.
    constexpr size_t kTypingRows = 1000;
    constexpr size_t kTypingBytes = 16u << 20;
    std::vector<std::vector<Value>> rows;
    size_t buffered_bytes = 0;
    auto read_row = [&] {
      std::vector<Value> row(static_cast<size_t>(columns));
      for (int c = 0; c < columns; ++c) {
        row[static_cast<size_t>(c)] = read_sqlite_value(guard.stmt, c);
        buffered_bytes += static_cast<size_t>(sqlite3_column_bytes(guard.stmt, c)) + sizeof(Value);
      }
      return row;
    };
    bool first_step = true;
    auto step = [&] {
      int rc = sqlite3_step(guard.stmt);
      if (first_step && (rc & 0xFF) == SQLITE_BUSY && restart_for_write(guard.stmt))
        rc = sqlite3_step(guard.stmt);
      first_step = false;
      if (rc == SQLITE_ROW || rc == SQLITE_DONE) return rc == SQLITE_ROW;
      if (rc == SQLITE_INTERRUPT && sink.attention()) return false;
      throw explain(sqlite::Error(sqlite3_extended_errcode(db), sqlite3_errmsg(db)));
    };
    bool more = false;
    // SET FMTONLY ON: nothing runs; a query sends its columns (typed by their declarations) and no rows.
    while (!options_.fmtonly && step()) {
      if (sink.attention()) return;
      rows.push_back(read_row());
      if (rows.size() >= kTypingRows || buffered_bytes >= kTypingBytes) {
        more = true;
        break;
      }
    }
    if (sink.attention()) return;
    if (columns == 0 && options_.fmtonly) {
      sink.done(std::nullopt);
      continue;
    }
    if (columns == 0) {
      bool counts = counts_rows(text);
      rowcount_ = counts ? sqlite3_changes64(db) : 0;
      sink.done(counts && !options_.nocount ? std::optional<uint64_t>(rowcount_) : std::nullopt);
      continue;
    }
    std::vector<Column> metadata;
    std::vector<bool> large;  // the columns SET TEXTSIZE applies to
    // The select list tells what SQLite can't: empty names for expressions, and the types CAST and its kin
    // fix.
    const std::vector<ColumnHint>* hints =
        first_statement && rewritten.columns && rewritten.columns->size() == static_cast<size_t>(columns)
            ? &*rewritten.columns
            : nullptr;
    for (int c = 0; c < columns; ++c) {
      std::vector<Value*> values;
      values.reserve(rows.size());
      for (auto& row : rows) values.push_back(&row[static_cast<size_t>(c)]);
      const char* decltype_text = sqlite3_column_decltype(guard.stmt, c);
      std::string declared = decltype_text ? decltype_text : "";
      std::string name = sqlite3_column_name(guard.stmt, c);
      if (hints) {
        const ColumnHint& hint = (*hints)[static_cast<size_t>(c)];
        if (!hint.named) name.clear();
        if (!hint.type.empty()) declared = hint.type;
      }
      metadata.push_back(choose_column(name, declared, values, more));
      large.push_back(is_large_column(metadata.back(), declared.c_str()));
    }
    sink.columns(metadata);
    uint64_t count = 0;
    for (auto& row : rows) {
      if (sink.attention()) return;
      if (options_.textsize) limit_text(row, large, *options_.textsize);
      sink.row(row);
      ++count;
    }
    rows.clear();
    while (more && step()) {
      if (sink.attention()) return;
      std::vector<Value> row = read_row();
      for (size_t c = 0; c < row.size(); ++c) conform(row[c], metadata[c]);
      if (options_.textsize) limit_text(row, large, *options_.textsize);
      sink.row(row);
      ++count;
    }
    if (sink.attention()) return;
    rowcount_ = static_cast<int64_t>(count);
    sink.done(options_.nocount ? std::nullopt : std::optional<uint64_t>(count));
  }
}

void Session::run_print(const PrintStatement& print, const Variables& variables, ResultSink& sink) {
  // PRINT's expression is evaluated by SQLite, so PRINT 'a' + ... and PRINT @@VERSION work alike.
  Value v = evaluate(print.expression, variables);
  std::string text;
  if (auto* s = std::get_if<std::string>(&v))
    text = *s;
  else if (auto* i = std::get_if<int64_t>(&v))
    text = std::to_string(*i);
  else if (auto* d = std::get_if<double>(&v))
    text = std::to_string(*d);
  else if (auto* b = std::get_if<Bytes>(&v))
    text = std::string(b->begin(), b->end());
  sink.message(Message{0, 1, 0, text, {}, 1});
  rowcount_ = 0;
  sink.done(std::nullopt);
}

void Session::run_exec(const ExecStatement& exec, Variables& variables, ResultSink& sink) {
  ProcCall call{exec.procedure, {}};
  for (const auto& arg : exec.args) {
    Value value;
    if (auto* literal = std::get_if<Value>(&arg.value)) {
      value = *literal;
    } else {
      const auto& ref = std::get<VariableRef>(arg.value);
      auto it = variables.find(ascii_lower(ref.name));
      if (it == variables.end())
        throw SqlError(137, 15, "Must declare the scalar variable \"" + ref.name + "\".");
      value = it->second.value;
    }
    call.args.push_back(ProcArg{arg.name, std::move(value), arg.output});
  }
  if (is_executesql(call.name)) {
    sink.procedure_started();
    int32_t status = 0;
    try {
      run_executesql(call, sink);
    } catch (const SqlError& e) {
      sink.message(e.message());
      status = -6;
    }
    sink.procedure_done(status);
    // EXEC sp_executesql ..., @p = @v OUTPUT: the variable gets the parameter's final value.
    for (size_t i = 0; i < exec.args.size(); ++i) {
      const auto* ref = std::get_if<VariableRef>(&exec.args[i].value);
      if (!exec.args[i].output || !ref) continue;
      Variable& v = variables[ascii_lower(ref->name)];
      v.value = convert_to_declared(call.args[i].value, v.type);
    }
    return;
  }
  run_procedure(call, sink);
}

void Session::run_rpc(const ProcCall& call, ResultSink& sink) {
  RunningScope running([this](bool on) { publish_state(on); });
  {
    std::lock_guard lock(wait_mutex_);
    interrupted_ = false;
  }
  try {
    if (is_executesql(call.name)) {
      ProcCall copy = call;
      sink.procedure_started();
      int32_t status = 0;
      std::vector<std::string> types;
      try {
        types = run_executesql(copy, sink);
      } catch (const SqlError& e) {
        sink.message(e.message());
        status = -6;
      }
      // OUTPUT parameters go back as RETURNVALUE tokens, typed as @params declares them, before the call's
      // DONEPROC.
      for (size_t i = 0; i < copy.args.size(); ++i) {
        if (!copy.args[i].output) continue;
        Column column = i < types.size() && !types[i].empty() ? column_for(parse_type(types[i]))
                                                              : value_column(copy.args[i].value);
        sink.return_value(static_cast<uint16_t>(i), copy.args[i].name, column, copy.args[i].value);
      }
      sink.procedure_done(status);
      return;
    }
    run_procedure(call, sink);
  } catch (const SqlError& e) {
    sink.message(e.message());
    sink.done(std::nullopt);
  }
}

bool Session::is_executesql(const std::string& procedure) {
  std::string name = ascii_lower(procedure);
  return name == "sp_executesql" || name == "sys.sp_executesql" || name == "dbo.sp_executesql" ||
         name == "master.sys.sp_executesql" || name == "master..sp_executesql";
}

std::vector<std::string> Session::run_executesql(ProcCall& call, ResultSink& sink) {
  // sp_executesql @stmt, @params, @p1 = v1, ...: the remaining arguments are the statement's parameters,
  // named or in the order @params declares them.
  if (call.args.empty()) {
    throw SqlError(
        201, 16,
        "Procedure or function 'sp_executesql' expects parameter '@statement', which was not supplied.");
  }
  std::string statement;
  if (auto* text = std::get_if<std::string>(&call.args[0].value)) statement = *text;
  std::vector<DeclaredParameter> declared;
  if (call.args.size() > 1) {
    if (auto* decl = std::get_if<std::string>(&call.args[1].value))
      declared = parse_parameter_declarations(*decl);
  }
  Variables variables;
  for (const auto& d : declared) variables[ascii_lower(d.name)] = Variable{Value(), d.type};
  std::vector<std::string> keys(call.args.size());
  for (size_t i = 2; i < call.args.size(); ++i) {
    std::string key;
    if (!call.args[i].name.empty()) {
      key = ascii_lower(call.args[i].name);
    } else if (i - 2 < declared.size()) {
      key = ascii_lower(declared[i - 2].name);
    } else {
      throw SqlError(8178, 16,
                     "The parameterized query '" + statement.substr(0, 100) +
                         "' expects more parameters than @params declares, or a parameter without a name.");
    }
    auto it = variables.find(key);
    if (it == variables.end()) {
      throw SqlError(8145, 16, call.args[i].name + " is not a parameter for procedure sp_executesql.");
    }
    it->second.value = convert_to_declared(call.args[i].value, it->second.type);
    keys[i] = key;
  }
  ++nest_level_;
  try {
    run_statements(statement, variables, sink);
  } catch (...) {
    --nest_level_;
    throw;
  }
  --nest_level_;
  std::vector<std::string> types(call.args.size());
  for (size_t i = 2; i < call.args.size(); ++i) {
    if (keys[i].empty()) continue;
    types[i] = variables[keys[i]].type;
    if (call.args[i].output) call.args[i].value = variables[keys[i]].value;
  }
  return types;
}

void Session::run_procedure(const ProcCall& call, ResultSink& sink) {
  std::string name = ascii_lower(call.name);
  if (name == "sp_reset_connection" || name == "sys.sp_reset_connection" ||
      name == "master..sp_reset_connection" || name == "master.sys.sp_reset_connection") {
    // What connection pools call before reusing a connection (pytds): the RESETCONNECTION flag's reset.
    sink.procedure_started();
    reset(false);
    sink.procedure_done(0);
    return;
  }
  if (catalog::is_catalog_procedure(call.name)) {
    // The ODBC catalog procedures (sp_tables, sp_columns, ...) describe the current database; a database part
    // in the name ([db]..sp_tables) must name it.
    auto dots = call.name.find('.');
    if (dots != std::string::npos) {
      std::string database = call.name.substr(0, dots);
      if (database.size() >= 2 && database.front() == '[' && database.back() == ']') {
        database = database.substr(1, database.size() - 2);
      }
      std::string key = ascii_lower(database);
      if (!key.empty() && key != ascii_lower(current_database()) && key != "sys" && key != "dbo" &&
          key != "master") {
        throw SqlError(40517, 16,
                       "bakrest runs " + call.name + " in the current database only; USE " + database +
                           " first (the current database is '" + current_database() + "').");
      }
    }
    sink.procedure_started();
    int32_t status = 0;
    try {
      catalog::run_catalog_procedure(connection_->db().handle(), call, *this, sink);
    } catch (const SqlError& e) {
      sink.message(e.message());
      status = -6;
    } catch (const sqlite::Error& e) {
      sink.message(explain(e).message());
      status = -6;
    }
    sink.procedure_done(status);
    return;
  }
  if (!procs::is_procedure(call.name, current_database())) {
    throw SqlError(2812, 16, "Could not find stored procedure '" + call.name + "'.", 62);
  }
  sink.procedure_started();
  int32_t status = 0;
  try {
    procs::Caller caller{login_, current_database(), trancount() > 0};
    procs::call_procedure(call, caller, env_.procs, sink);
  } catch (const SqlError& e) {
    Message m = e.message();
    if (m.procedure.empty()) {
      auto dot = call.name.find_last_of('.');
      m.procedure = dot == std::string::npos ? call.name : call.name.substr(dot + 1);
    }
    sink.message(m);
    status = -6;
  } catch (const sqlite::Error& e) {
    sink.message(explain(e).message());
    status = -6;
  }
  sink.procedure_done(status);
}

}  // namespace bakrest::sql
