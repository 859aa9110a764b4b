// Classifies the statements of a batch: the T-SQL forms bakrest runs itself, and SQL for SQLite.
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.h"
#include "sql/parser.h"
#include "sql/split.h"
#include "sql/token_util.h"

namespace bakrest::sql {
namespace {

// Reads one statement's tokens front to back.
class Cursor {
 public:
  explicit Cursor(const std::vector<Token>& tokens) : tokens_(tokens) {}

  const Token* peek(size_t ahead = 0) const { return token_at(tokens_, pos_ + ahead); }
  bool at_end() const { return pos_ >= tokens_.size(); }
  const Token& take() { return tokens_[pos_++]; }
  std::vector<Token> rest() const {
    return {tokens_.begin() + static_cast<std::ptrdiff_t>(pos_), tokens_.end()};
  }

  bool accept_word(std::string_view keyword) {
    if (!is_word(peek(), keyword)) return false;
    ++pos_;
    return true;
  }
  bool accept_word_any(std::initializer_list<std::string_view> keywords) {
    if (!is_word_any(peek(), keywords)) return false;
    ++pos_;
    return true;
  }
  bool accept_punct(std::string_view punct) {
    if (!is_punct(peek(), punct)) return false;
    ++pos_;
    return true;
  }

  // 102 near the next token, or near the last one when the statement ended too soon.
  [[noreturn]] void fail() const {
    const Token& near = at_end() ? tokens_.back() : tokens_[pos_];
    throw syntax_error_near(near.text);
  }
  void expect_end() const {
    if (!at_end()) fail();
  }
  std::string expect_name() {
    if (!is_name(peek())) fail();
    return take().value;
  }

 private:
  const std::vector<Token>& tokens_;
  size_t pos_ = 0;
};

std::string join_text(const std::vector<Token>& tokens) {
  std::string out;
  for (const Token& t : tokens) {
    if (!out.empty() && t.space_before) out += ' ';
    out += t.text;
  }
  return out;
}

Bytes decode_hex(std::string_view hex) {
  // SQL Server reads an odd number of digits as if a leading 0 were there.
  std::string digits = hex.size() % 2 == 1 ? "0" + std::string(hex) : std::string(hex);
  Bytes out;
  for (size_t i = 0; i < digits.size(); i += 2) {
    uint8_t byte = 0;
    std::from_chars(digits.data() + i, digits.data() + i + 2, byte, 16);
    out.push_back(byte);
  }
  return out;
}

Value number_value(const std::string& text) {
  bool integral = text.find_first_of(".eE") == std::string::npos;
  if (integral) {
    int64_t n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec == std::errc() && end == text.data() + text.size()) return n;
  }
  double d = 0;
  std::from_chars(text.data(), text.data() + text.size(), d);
  return d;
}

// --- EXEC -------------------------------------------------------------------------------------------

std::string parse_procedure_name(Cursor& cur) {
  std::vector<std::string> parts{cur.expect_name()};
  while (cur.accept_punct(".")) {
    if (is_punct(cur.peek(), ".")) {
      parts.emplace_back();  // db..proc: the schema left out
      continue;
    }
    parts.push_back(cur.expect_name());
  }
  if (parts.size() > 3) throw not_supported("Procedure names with more than three parts are not supported.");
  std::string name = parts[0];
  for (size_t i = 1; i < parts.size(); ++i) name += "." + parts[i];
  return name;
}

// An argument value; nullopt for DEFAULT.
std::optional<ExecValue> parse_exec_value(Cursor& cur) {
  if (cur.at_end()) cur.fail();
  const Token& t = *cur.peek();
  switch (t.kind) {
    case TokenKind::kString:
    case TokenKind::kNString:
    case TokenKind::kQuotedName:  // SQL Server takes a bare or bracketed name as a string, as in sp_help t
      return Value(cur.take().value);
    case TokenKind::kNumber:
      return number_value(cur.take().text);
    case TokenKind::kBinary:
      return Value(decode_hex(cur.take().value));
    case TokenKind::kVariable:
      return VariableRef{cur.take().value};
    case TokenKind::kPunct:
      if ((t.text == "-" || t.text == "+") && cur.peek(1) != nullptr &&
          cur.peek(1)->kind == TokenKind::kNumber) {
        std::string sign = cur.take().text == "-" ? "-" : "";
        return number_value(sign + cur.take().text);
      }
      break;
    case TokenKind::kWord:
      if (cur.accept_word("NULL")) return Value();
      if (cur.accept_word("DEFAULT")) return std::nullopt;
      if (is_word_any(&t, {"OUTPUT", "OUT"})) break;
      return Value(cur.take().value);
    default:
      break;
  }
  cur.fail();
}

SqlError named_after_positional(int position) {
  return SqlError(119, 15,
                  "Must pass parameter number " + std::to_string(position) +
                      " and subsequent parameters as '@name = value'. After the form '@name = value' has "
                      "been used, all subsequent parameters must be passed in the form '@name = value'.");
}

std::vector<ExecArg> parse_exec_args(Cursor& cur) {
  std::vector<ExecArg> args;
  bool named_seen = false;
  for (int position = 1; !cur.at_end(); ++position) {
    ExecArg arg;
    if (cur.peek()->kind == TokenKind::kVariable && is_punct(cur.peek(1), "=")) {
      arg.name = cur.take().value;
      cur.take();
      named_seen = true;
    } else if (named_seen) {
      throw named_after_positional(position);
    }
    std::optional<ExecValue> value = parse_exec_value(cur);
    arg.output = cur.accept_word_any({"OUTPUT", "OUT"});
    if (value) {
      arg.value = std::move(*value);
      args.push_back(std::move(arg));
    } else if (arg.name.empty()) {
      throw not_supported(
          "DEFAULT as a positional procedure argument is not supported yet; pass @name = DEFAULT.");
    }  // @name = DEFAULT is the same as leaving the argument out.
    if (cur.at_end()) break;
    if (!cur.accept_punct(",") || cur.at_end()) cur.fail();
  }
  return args;
}

ExecStatement parse_exec(const std::vector<Token>& tokens) {
  Cursor cur(tokens);
  cur.take();
  if (cur.at_end()) cur.fail();
  if (is_punct(cur.peek(), "(")) throw not_supported("EXEC of a dynamic SQL string is not supported yet.");
  if (cur.peek()->kind == TokenKind::kVariable) {
    if (is_punct(cur.peek(1), "=")) {
      throw not_supported(
          "EXEC @return_status = procedure (capturing the return value) is not supported yet; "
          "run EXEC procedure without it.");
    }
    throw not_supported("EXEC of a procedure named by a variable is not supported yet.");
  }
  if (is_word(cur.peek(), "AS")) throw not_supported("EXECUTE AS is not supported yet.");
  ExecStatement exec;
  exec.procedure = parse_procedure_name(cur);
  exec.args = parse_exec_args(cur);
  return exec;
}

// --- Databases, USE, PRINT, SET ---------------------------------------------------------------------

CreateDatabaseStatement parse_create_database(const std::vector<Token>& tokens) {
  Cursor cur(tokens);
  cur.take();
  cur.take();
  CreateDatabaseStatement create{cur.expect_name()};
  if (!cur.at_end()) {
    throw not_supported("CREATE DATABASE options are not supported yet: " + join_text(cur.rest()) +
                        ". Use CREATE DATABASE " + create.name + " alone.");
  }
  return create;
}

// DROP DATABASE a, b drops each in turn, as SQL Server does.
std::vector<Statement> parse_drop_database(const std::vector<Token>& tokens) {
  Cursor cur(tokens);
  cur.take();
  cur.take();
  if (is_word(cur.peek(), "IF") && is_word(cur.peek(1), "EXISTS")) {
    throw not_supported("DROP DATABASE IF EXISTS is not supported yet.");
  }
  std::vector<Statement> drops;
  do {
    drops.emplace_back(DropDatabaseStatement{cur.expect_name()});
  } while (cur.accept_punct(","));
  cur.expect_end();
  return drops;
}

SqlError alter_database_not_supported(const std::string& form) {
  return not_supported(
      "ALTER DATABASE ... " + form +
      " is not supported yet; bakrest supports ALTER DATABASE name SET RECOVERY FULL | SIMPLE "
      "| BULK_LOGGED [WITH NO_WAIT | WITH ROLLBACK IMMEDIATE].");
}

AlterDatabaseStatement parse_alter_database(const std::vector<Token>& tokens) {
  Cursor cur(tokens);
  cur.take();
  cur.take();
  AlterDatabaseStatement alter;
  // CURRENT as a bare word is the current database; [CURRENT] is a database of that name.
  if (!cur.accept_word("CURRENT")) alter.name = cur.expect_name();
  if (cur.at_end()) cur.fail();
  if (!cur.accept_word("SET")) throw alter_database_not_supported(to_upper(cur.peek()->text));
  if (cur.at_end()) cur.fail();
  if (!cur.accept_word("RECOVERY")) throw alter_database_not_supported("SET " + to_upper(cur.peek()->text));
  if (!is_word_any(cur.peek(), {"FULL", "SIMPLE", "BULK_LOGGED"})) cur.fail();
  alter.recovery_model = to_upper(cur.take().text);
  if (is_punct(cur.peek(), ",")) throw alter_database_not_supported("SET with several options");
  if (cur.accept_word("WITH")) {
    if (cur.accept_word("ROLLBACK")) {
      // Sessions are never disconnected for it: the recovery model changes beside running transactions.
      if (!cur.accept_word("IMMEDIATE")) {
        if (cur.at_end()) cur.fail();
        throw alter_database_not_supported("WITH ROLLBACK " + to_upper(cur.peek()->text));
      }
    } else if (!cur.accept_word("NO_WAIT")) {
      if (cur.at_end()) cur.fail();
      throw alter_database_not_supported("WITH " + to_upper(cur.peek()->text));
    }
  }
  cur.expect_end();
  return alter;
}

// --- Logins and permissions ------------------------------------------------------------------------------

SqlError login_form_not_supported(const std::string& form) {
  return not_supported(
      "CREATE LOGIN ... " + form +
      " is not supported yet; bakrest supports CREATE LOGIN name WITH PASSWORD = 'password'.");
}

CreateLoginStatement parse_create_login(const std::vector<Token>& tokens) {
  Cursor cur(tokens);
  cur.take();
  cur.take();
  CreateLoginStatement create;
  create.name = cur.expect_name();
  if (cur.at_end()) cur.fail();
  if (!cur.accept_word("WITH")) throw login_form_not_supported(to_upper(cur.peek()->text));
  if (!cur.accept_word("PASSWORD")) {
    if (cur.at_end()) cur.fail();
    throw login_form_not_supported("WITH " + to_upper(cur.peek()->text));
  }
  if (!cur.accept_punct("=")) cur.fail();
  if (cur.at_end()) cur.fail();
  if (cur.peek()->kind == TokenKind::kBinary) throw login_form_not_supported("PASSWORD = 0x... HASHED");
  if (cur.peek()->kind != TokenKind::kString && cur.peek()->kind != TokenKind::kNString) cur.fail();
  create.password = cur.take().value;
  if (!cur.at_end()) {
    if (is_punct(cur.peek(), ",")) cur.take();
    if (cur.at_end()) cur.fail();
    throw login_form_not_supported(to_upper(cur.peek()->text));
  }
  return create;
}

DropLoginStatement parse_drop_login(const std::vector<Token>& tokens) {
  Cursor cur(tokens);
  cur.take();
  cur.take();
  DropLoginStatement drop{cur.expect_name()};
  cur.expect_end();
  return drop;
}

SqlError grant_form_not_supported(const std::string& head) {
  return not_supported(head +
                       " is supported only as GRANT EXECUTE ON msdb.dbo.rds_procedure TO login and REVOKE "
                       "EXECUTE ON msdb.dbo.rds_procedure FROM login.");
}

GrantExecuteStatement parse_grant(const std::vector<Token>& tokens) {
  Cursor cur(tokens);
  std::string head = to_upper(cur.take().text);
  GrantExecuteStatement grant;
  grant.grant = head == "GRANT";
  if (head == "DENY" || !cur.accept_word_any({"EXECUTE", "EXEC"}) || !cur.accept_word("ON"))
    throw grant_form_not_supported(head);
  if (is_word(cur.peek(), "OBJECT") && is_punct(cur.peek(1), "::")) {
    cur.take();
    cur.take();
  }
  grant.procedure = parse_procedure_name(cur);
  if (!(grant.grant ? cur.accept_word("TO") : cur.accept_word_any({"FROM", "TO"}))) {
    if (cur.at_end()) cur.fail();
    throw grant_form_not_supported(head);
  }
  do {
    grant.logins.push_back(cur.expect_name());
  } while (cur.accept_punct(","));
  if (!cur.at_end()) throw grant_form_not_supported(head);  // WITH GRANT OPTION, CASCADE, AS ...
  return grant;
}

UseStatement parse_use(const std::vector<Token>& tokens) {
  Cursor cur(tokens);
  cur.take();
  UseStatement use{cur.expect_name()};
  cur.expect_end();
  return use;
}

PrintStatement parse_print(const std::vector<Token>& tokens) {
  Cursor cur(tokens);
  cur.take();
  if (cur.at_end()) cur.fail();
  return PrintStatement{cur.rest()};
}

SqlError variables_not_supported() { return not_supported("Variables (DECLARE) are not supported yet."); }

SetOptionStatement parse_set(const std::vector<Token>& tokens) {
  Cursor cur(tokens);
  cur.take();
  if (cur.at_end()) cur.fail();
  if (cur.peek()->kind == TokenKind::kVariable) throw variables_not_supported();
  if (!is_name(cur.peek())) cur.fail();
  return SetOptionStatement{to_upper(cur.peek()->value), cur.rest()};
}

// --- Transactions -----------------------------------------------------------------------------------

bool accept_transaction_name(Cursor& cur) {
  if (cur.at_end() || !(is_name(cur.peek()) || cur.peek()->kind == TokenKind::kVariable)) return false;
  cur.take();
  return true;
}

// BEGIN TRAN[SACTION] [name [WITH MARK ['description']]], or SQLite's BEGIN [DEFERRED|...] [TRANSACTION].
BeginTransactionStatement parse_begin(const std::vector<Token>& tokens) {
  Cursor cur(tokens);
  cur.take();
  if (cur.accept_word_any({"TRAN", "TRANSACTION"})) {
    if (accept_transaction_name(cur) && cur.accept_word("WITH")) {
      if (!cur.accept_word("MARK")) cur.fail();
      if (!cur.at_end() &&
          (cur.peek()->kind == TokenKind::kString || cur.peek()->kind == TokenKind::kNString)) {
        cur.take();
      }
    }
  } else if (cur.accept_word_any({"DEFERRED", "IMMEDIATE", "EXCLUSIVE"})) {
    cur.accept_word("TRANSACTION");
  } else if (is_word(cur.peek(), "DISTRIBUTED")) {
    throw not_supported("BEGIN DISTRIBUTED TRANSACTION is not supported yet.");
  } else if (is_word_any(cur.peek(), {"TRY", "CATCH"})) {
    throw not_supported("TRY...CATCH blocks are not supported yet.");
  } else if (!cur.at_end()) {
    throw not_supported("BEGIN...END blocks are not supported yet.");
  }
  cur.expect_end();
  return {};
}

// COMMIT / ROLLBACK [TRAN | TRANSACTION | WORK] [name]. Returns false for SQLite's ROLLBACK TO savepoint.
bool parse_transaction_end(const std::vector<Token>& tokens) {
  Cursor cur(tokens);
  cur.take();
  cur.accept_word_any({"TRAN", "TRANSACTION", "WORK"});
  if (is_word(cur.peek(), "TO")) return false;
  accept_transaction_name(cur);
  cur.expect_end();
  return true;
}

void classify(const std::vector<Token>& tokens, std::vector<Statement>& out) {
  const Token& first = tokens.front();
  const Token* second = token_at(tokens, 1);
  std::string head = first.kind == TokenKind::kWord ? to_upper(first.text) : "";
  if (head == "EXEC" || head == "EXECUTE") {
    out.emplace_back(parse_exec(tokens));
  } else if (head == "CREATE" && is_word(second, "DATABASE")) {
    out.emplace_back(parse_create_database(tokens));
  } else if (head == "DROP" && is_word(second, "DATABASE")) {
    for (Statement& drop : parse_drop_database(tokens)) out.push_back(std::move(drop));
  } else if (head == "ALTER" && is_word(second, "DATABASE")) {
    out.emplace_back(parse_alter_database(tokens));
  } else if (head == "CREATE" && is_word(second, "LOGIN")) {
    out.emplace_back(parse_create_login(tokens));
  } else if (head == "DROP" && is_word(second, "LOGIN")) {
    out.emplace_back(parse_drop_login(tokens));
  } else if (head == "GRANT" || head == "REVOKE" || head == "DENY") {
    out.emplace_back(parse_grant(tokens));
  } else if (head == "USE") {
    out.emplace_back(parse_use(tokens));
  } else if (head == "PRINT") {
    out.emplace_back(parse_print(tokens));
  } else if (head == "SET") {
    out.emplace_back(parse_set(tokens));
  } else if (head == "BEGIN") {
    out.emplace_back(parse_begin(tokens));
  } else if (head == "COMMIT" && parse_transaction_end(tokens)) {
    out.emplace_back(CommitStatement{});
  } else if (head == "ROLLBACK" && parse_transaction_end(tokens)) {
    out.emplace_back(RollbackStatement{});
  } else if (head == "DECLARE") {
    throw variables_not_supported();
  } else if (head == "IF" || head == "WHILE") {
    throw not_supported("Control-of-flow statements (" + head + ") are not supported yet.");
  } else {
    out.emplace_back(SqlStatement{tokens});
  }
}

}  // namespace

std::vector<Statement> parse_batch(std::string_view batch) {
  std::vector<Token> tokens = tokenize(batch);
  std::vector<Statement> statements;
  for (const std::vector<Token>& statement : split_statements(batch, tokens)) classify(statement, statements);
  return statements;
}

}  // namespace bakrest::sql
