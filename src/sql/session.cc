#include "sql/session.h"

#include <spdlog/spdlog.h>
#include <cctype>
#include <cstring>
#include <limits>
#include <set>

#include "common/clock.h"
#include "common/error.h"
#include "common/text.h"
#include "instance/logins.h"
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

void sql_now(sqlite3_context* context, int, sqlite3_value**) {
  std::string now = format_datetime(now_micros());
  sqlite3_result_text(context, now.c_str(), static_cast<int>(now.size()), SQLITE_TRANSIENT);
}

// SQLite's errors in SQL Server's terms where there is a clear counterpart, so clients and users see the
// numbers they know; the SQLite text is kept.
SqlError translate(const sqlite::Error& e) {
  std::string text = e.what();
  auto strip = [&](const char* prefix) {
    if (text.rfind(prefix, 0) == 0) text = text.substr(std::strlen(prefix));
  };
  strip("prepare: ");
  strip("step: ");
  int primary = e.code() & 0xFF;
  if (text.rfind("no such table: ", 0) == 0) {
    return SqlError(208, 16, "Invalid object name '" + text.substr(15) + "'.");
  }
  if (text.find("syntax error") != std::string::npos)
    return SqlError(102, 15, "Incorrect syntax: " + text + ".");
  if (e.code() == SQLITE_CONSTRAINT_NOTNULL)
    return SqlError(515, 16, "Cannot insert the value NULL: " + text + ".");
  if (e.code() == SQLITE_CONSTRAINT_PRIMARYKEY || e.code() == SQLITE_CONSTRAINT_UNIQUE) {
    return SqlError(2627, 14, "Violation of a PRIMARY KEY or UNIQUE constraint: " + text + ".");
  }
  if (e.code() == SQLITE_CONSTRAINT_FOREIGNKEY)
    return SqlError(547, 16, "The statement conflicted with a FOREIGN KEY constraint: " + text + ".");
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
      registration_(env.sessions, catalog::SessionRow{.spid = spid,
                                                      .login_name = login_,
                                                      .host_name = std::move(client.host_name),
                                                      .program_name = std::move(client.program_name),
                                                      .connection = std::move(client.connection),
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

int64_t Session::database_id(const std::string& sqlite_schema) const {
  auto info = env_.engine.find(database_name(sqlite_schema));
  return info ? info->id : 0;
}

Session::~Session() = default;

std::unique_ptr<engine::Connection> Session::open(const std::string& database) {
  auto connection = env_.engine.connect(database);
  sqlite3* db = connection->db().handle();
  apply_lock_timeout(db);
  catalog::install(db, *this);
  for (const char* name : {"getdate", "sysdatetime", "current_timestamp_tsql"}) {
    sqlite3_create_function(db, name, 0, SQLITE_UTF8, nullptr, sql_now, nullptr, nullptr);
  }
  if (!connection->info().file.empty()) {
    std::string attach =
        "ATTACH " + quote_literal(sqlite::file_uri(env_.engine.msdb_file(), "mode=ro")) + " AS msdb";
    connection->with_attach_allowed([&] { connection->db().exec(attach); });
  }
  return connection;
}

std::string Session::current_database() const { return connection_->info().name; }

void Session::reset(bool keep_transaction) {
  if (!keep_transaction && connection_->db().in_transaction()) connection_->db().exec("ROLLBACK");
  if (!keep_transaction) trancount_ = 0;
  // A reset connection starts over with the login's settings, as sp_reset_connection does.
  options_ = SessionOptions{};
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
  std::lock_guard lock(connection_mutex_);
  if (connection_) sqlite3_interrupt(connection_->db().handle());
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

RewriteContext Session::rewrite_context() const {
  return RewriteContext{current_database(), spid_, trancount(), env_.version, env_.server_name};
}

namespace {

// Marks the session running for sys.dm_exec_sessions until the request returns, however it returns.
template <class Publish>
struct RunningScope {
  explicit RunningScope(Publish publish) : publish(publish) { publish(true); }
  ~RunningScope() { publish(false); }
  Publish publish;
};

}  // namespace

void Session::run_batch(std::string_view batch, ResultSink& sink) {
  RunningScope running([this](bool on) { publish_state(on); });
  run_statements(batch, {}, sink);
}

void Session::run_statements(std::string_view batch, const Parameters& parameters, ResultSink& sink) {
  std::vector<Statement> statements;
  try {
    statements = parse_batch(batch);
  } catch (const SqlError& e) {
    // A batch that does not parse runs no statement at all, as on SQL Server.
    sink.message(e.message());
    sink.done(std::nullopt);
    return;
  }
  for (const auto& statement : statements) {
    if (sink.attention()) return;
    std::optional<Message> error;
    try {
      if (options_.implicit_transactions && trancount() == 0 && starts_implicit_transaction(statement))
        begin_transaction();
      run_statement(statement, parameters, sink);
    } catch (const SqlError& e) {
      error = e.message();
    } catch (const sqlite::Error& e) {
      error = explain(e).message();
    }
    if (error) {
      if (sink.attention()) return;
      sink.message(*error);
      sink.done(std::nullopt);
    }
    if (!connection_->db().in_transaction()) trancount_ = 0;
    // SET XACT_ABORT ON: a run-time error rolls back the whole transaction and ends the batch.
    if (error && options_.xact_abort) {
      if (connection_->db().in_transaction()) connection_->db().exec("ROLLBACK");
      trancount_ = 0;
      return;
    }
  }
}

void Session::run_statement(const Statement& statement, const Parameters& parameters, ResultSink& sink) {
  std::visit(
      [&](const auto& s) {
        using T = std::decay_t<decltype(s)>;
        if constexpr (std::is_same_v<T, ExecStatement>) {
          run_exec(s, parameters, sink);
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
          run_print(s, parameters, sink);
        } else if constexpr (std::is_same_v<T, SetOptionStatement>) {
          apply_set_option(s, options_);
          apply_lock_timeout(connection_->db().handle());
          sink.done(std::nullopt);
        } else if constexpr (std::is_same_v<T, BeginTransactionStatement>) {
          // In implicit transaction mode BEGIN TRANSACTION opens the implicit one too: @@TRANCOUNT 2.
          if (options_.implicit_transactions && trancount() == 0) begin_transaction();
          begin_transaction();
          sink.done(std::nullopt);
        } else if constexpr (std::is_same_v<T, CommitStatement>) {
          commit();
          sink.done(std::nullopt);
        } else if constexpr (std::is_same_v<T, RollbackStatement>) {
          rollback();
          sink.done(std::nullopt);
        } else if constexpr (std::is_same_v<T, SqlStatement>) {
          run_sql(s.tokens, parameters, sink);
        }
      },
      statement);
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

void Session::begin_transaction() {
  int current = trancount();
  if (current == 0) connection_->db().exec("BEGIN");
  trancount_ = current + 1;
}

void Session::commit() {
  if (trancount() == 0) {
    throw SqlError(3902, 16, "The COMMIT TRANSACTION request has no corresponding BEGIN TRANSACTION.");
  }
  if (--trancount_ <= 0) {
    trancount_ = 0;
    connection_->db().exec("COMMIT");
  }
}

void Session::rollback() {
  if (trancount() == 0) {
    throw SqlError(3903, 16, "The ROLLBACK TRANSACTION request has no corresponding BEGIN TRANSACTION.");
  }
  trancount_ = 0;
  connection_->db().exec("ROLLBACK");
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
                       " databases to a connection, msdb among them); this one names " +
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

void Session::run_sql(const std::vector<Token>& tokens, const Parameters& parameters, ResultSink& sink) {
  RewrittenSql rewritten = rewrite_for_sqlite(tokens, rewrite_context());
  attach(rewritten.databases);
  sqlite3* db = connection_->db().handle();
  const char* tail = rewritten.sql.c_str();
  const char* end = tail + rewritten.sql.size();
  while (tail < end) {
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

    for (int i = 1; i <= sqlite3_bind_parameter_count(guard.stmt); ++i) {
      const char* raw = sqlite3_bind_parameter_name(guard.stmt, i);
      std::string name = raw ? ascii_lower(raw) : "?";
      auto it = parameters.find(name);
      if (it == parameters.end()) {
        throw SqlError(137, 15, "Must declare the scalar variable \"" + std::string(raw ? raw : "?") + "\".");
      }
      sqlite::bind_value(guard.stmt, i, it->second);
    }

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
    auto step = [&] {
      int rc = sqlite3_step(guard.stmt);
      if (rc == SQLITE_ROW || rc == SQLITE_DONE) return rc == SQLITE_ROW;
      if (rc == SQLITE_INTERRUPT && sink.attention()) return false;
      throw explain(sqlite::Error(sqlite3_extended_errcode(db), sqlite3_errmsg(db)));
    };
    bool more = false;
    while (step()) {
      if (sink.attention()) return;
      rows.push_back(read_row());
      if (rows.size() >= kTypingRows || buffered_bytes >= kTypingBytes) {
        more = true;
        break;
      }
    }
    if (sink.attention()) return;
    if (columns == 0) {
      bool counted = counts_rows(text) && !options_.nocount;
      sink.done(counted ? std::optional<uint64_t>(sqlite3_changes64(db)) : std::nullopt);
      continue;
    }
    std::vector<Column> metadata;
    std::vector<bool> large;  // the columns SET TEXTSIZE applies to
    for (int c = 0; c < columns; ++c) {
      std::vector<Value*> values;
      values.reserve(rows.size());
      for (auto& row : rows) values.push_back(&row[static_cast<size_t>(c)]);
      const char* declared = sqlite3_column_decltype(guard.stmt, c);
      metadata.push_back(
          choose_column(sqlite3_column_name(guard.stmt, c), declared ? declared : "", values, more));
      large.push_back(is_large_column(metadata.back(), declared));
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
    sink.done(options_.nocount ? std::nullopt : std::optional<uint64_t>(count));
  }
}

void Session::run_print(const PrintStatement& print, const Parameters& parameters, ResultSink& sink) {
  // PRINT's expression is evaluated by SQLite, so PRINT 'a' + ... and PRINT @@VERSION work alike.
  struct Capture : ResultSink {
    explicit Capture(ResultSink& outer) : outer(outer) {}
    void columns(const std::vector<Column>&) override {}
    void row(const std::vector<Value>& values) override {
      if (!values.empty()) {
        const Value& v = values[0];
        if (auto* s = std::get_if<std::string>(&v))
          text = *s;
        else if (auto* i = std::get_if<int64_t>(&v))
          text = std::to_string(*i);
        else if (auto* d = std::get_if<double>(&v))
          text = std::to_string(*d);
        else if (auto* b = std::get_if<bool>(&v))
          text = *b ? "1" : "0";
        else if (auto* t = std::get_if<DateTime>(&v))
          text = format_datetime(t->unix_micros);
      }
    }
    void done(std::optional<uint64_t>) override {}
    void message(const Message& m) override { outer.message(m); }
    void database_changed(const std::string&, const std::string&) override {}
    void procedure_started() override {}
    void procedure_done(int32_t) override {}
    bool attention() const override { return outer.attention(); }
    ResultSink& outer;
    std::string text;
  } capture(sink);
  std::vector<Token> select;
  select.push_back(Token{TokenKind::kWord, "SELECT", "SELECT", 0, false});
  select.insert(select.end(), print.expression.begin(), print.expression.end());
  if (!select.empty() && select.size() > 1) select[1].space_before = true;
  run_sql(select, parameters, capture);
  sink.message(Message{0, 1, 0, capture.text, {}, 1});
  sink.done(std::nullopt);
}

void Session::run_exec(const ExecStatement& exec, const Parameters& parameters, ResultSink& sink) {
  ProcCall call{exec.procedure, {}};
  for (const auto& arg : exec.args) {
    Value value;
    if (auto* literal = std::get_if<Value>(&arg.value)) {
      value = *literal;
    } else {
      const auto& ref = std::get<VariableRef>(arg.value);
      auto it = parameters.find(ascii_lower(ref.name));
      if (it == parameters.end())
        throw SqlError(137, 15, "Must declare the scalar variable \"" + ref.name + "\".");
      value = it->second;
    }
    call.args.push_back(ProcArg{arg.name, std::move(value), arg.output});
  }
  run_procedure(call, sink);
}

void Session::run_rpc(const ProcCall& call, ResultSink& sink) {
  RunningScope running([this](bool on) { publish_state(on); });
  try {
    run_procedure(call, sink);
  } catch (const SqlError& e) {
    sink.message(e.message());
    sink.done(std::nullopt);
  }
}

void Session::run_procedure(const ProcCall& call, ResultSink& sink) {
  std::string name = ascii_lower(call.name);
  bool executesql = name == "sp_executesql" || name == "sys.sp_executesql" || name == "dbo.sp_executesql" ||
                    name == "master.sys.sp_executesql" || name == "master..sp_executesql";
  if (!executesql && !procs::is_procedure(call.name, current_database())) {
    throw SqlError(2812, 16, "Could not find stored procedure '" + call.name + "'.", 62);
  }
  sink.procedure_started();
  int32_t status = 0;
  try {
    if (executesql) {
      // sp_executesql @stmt, @params, @p1 = v1, ...: the remaining arguments are the statement's parameters.
      if (call.args.empty()) {
        throw SqlError(
            201, 16,
            "Procedure or function 'sp_executesql' expects parameter '@statement', which was not supplied.");
      }
      std::string statement;
      if (auto* text = std::get_if<std::string>(&call.args[0].value)) statement = *text;
      Parameters parameters;
      std::vector<std::string> declared;
      if (call.args.size() > 1) {
        if (auto* decl = std::get_if<std::string>(&call.args[1].value)) {
          for (size_t at = decl->find('@'); at != std::string::npos; at = decl->find('@', at + 1)) {
            size_t stop = at + 1;
            while (stop < decl->size() &&
                   (std::isalnum(static_cast<unsigned char>((*decl)[stop])) || (*decl)[stop] == '_'))
              ++stop;
            declared.push_back(ascii_lower(decl->substr(at, stop - at)));
            // Skip to the next top-level comma so '@' inside a type never counts.
            at = decl->find(',', stop);
            if (at == std::string::npos) break;
          }
        }
      }
      for (size_t i = 2; i < call.args.size(); ++i) {
        std::string key = call.args[i].name.empty() ? (i - 2 < declared.size() ? declared[i - 2] : "")
                                                    : ascii_lower(call.args[i].name);
        parameters[key] = call.args[i].value;
      }
      run_statements(statement, parameters, sink);
    } else {
      procs::Caller caller{login_, current_database(), trancount() > 0};
      procs::call_procedure(call, caller, env_.procs, sink);
    }
  } catch (const SqlError& e) {
    Message m = e.message();
    if (m.procedure.empty() && !executesql) {
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
