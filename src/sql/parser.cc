// Classifies the statements of a batch: the T-SQL forms bakrest runs itself, and SQL for SQLite.
#include <cctype>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.h"
#include "common/text.h"
#include "sql/parser.h"
#include "sql/raiserror_format.h"
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

// --- Variables ----------------------------------------------------------------------------------------

bool is_local_variable(const Token* t) {
  return t != nullptr && t->kind == TokenKind::kVariable && t->text.rfind("@@", 0) != 0;
}

// The tokens of a type up to (not including) the first top-level ',' or '=' at or after i, as text.
std::string type_text(const std::vector<Token>& tokens, size_t& i) {
  std::string out;
  int depth = 0;
  for (; i < tokens.size(); ++i) {
    const Token& t = tokens[i];
    if (depth == 0 && (is_punct(&t, ",") || is_punct(&t, "="))) break;
    if (is_punct(&t, "(")) ++depth;
    if (is_punct(&t, ")")) --depth;
    // Words are kept apart ("DOUBLE PRECISION"); nothing else is ("DECIMAL(10,2)").
    if (!out.empty() && t.kind == TokenKind::kWord &&
        (std::isalnum(static_cast<unsigned char>(out.back())) || out.back() == '_'))
      out += ' ';
    out += t.kind == TokenKind::kQuotedName ? t.value : to_upper(t.text);
  }
  return out;
}

// Index of the first top-level ',' at or after i, or tokens.size().
size_t next_top_level_comma(const std::vector<Token>& tokens, size_t i) {
  int depth = 0;
  int case_depth = 0;
  for (; i < tokens.size(); ++i) {
    if (is_punct(&tokens[i], "(")) ++depth;
    if (is_punct(&tokens[i], ")")) --depth;
    if (is_word(&tokens[i], "CASE")) ++case_depth;
    if (is_word(&tokens[i], "END") && case_depth > 0) --case_depth;
    if (depth == 0 && case_depth == 0 && is_punct(&tokens[i], ",")) return i;
  }
  return tokens.size();
}

std::vector<Token> slice(const std::vector<Token>& tokens, size_t from, size_t to) {
  return {tokens.begin() + static_cast<std::ptrdiff_t>(from),
          tokens.begin() + static_cast<std::ptrdiff_t>(to)};
}

DeclareStatement parse_declare(const std::vector<Token>& tokens) {
  DeclareStatement declare;
  size_t i = 1;
  do {
    const Token* name = token_at(tokens, i);
    if (is_name(name) && is_word(token_at(tokens, i + 1), "CURSOR")) {
      throw not_supported("Cursors (DECLARE ... CURSOR) are not supported yet.");
    }
    if (!is_local_variable(name)) throw syntax_error_near(name ? name->text : "DECLARE");
    DeclareStatement::Variable v;
    v.name = name->text;
    ++i;
    if (is_word(token_at(tokens, i), "AS")) ++i;
    if (is_word(token_at(tokens, i), "TABLE")) {
      throw not_supported("Table variables (DECLARE " + v.name +
                          " TABLE) are not supported yet; use a #temporary table.");
    }
    if (is_word(token_at(tokens, i), "CURSOR"))
      throw not_supported("Cursors (DECLARE ... CURSOR) are not supported yet.");
    v.type = type_text(tokens, i);
    if (v.type.empty()) throw syntax_error_near(tokens[i - 1].text);
    if (is_punct(token_at(tokens, i), "=")) {
      size_t end = next_top_level_comma(tokens, i + 1);
      v.initial = slice(tokens, i + 1, end);
      if (v.initial.empty()) throw syntax_error_near("=");
      i = end;
    }
    declare.variables.push_back(std::move(v));
  } while (is_punct(token_at(tokens, i), ",") && ++i);
  if (i < tokens.size()) throw syntax_error_near(tokens[i].text);
  return declare;
}

// SET @v = expr, SET @v += expr, ...
SetVariableStatement parse_set_variable(const std::vector<Token>& tokens) {
  SetVariableStatement set{tokens[1].text, "", {}};
  size_t i = 2;
  const Token* op = token_at(tokens, i);
  if (op != nullptr && op->kind == TokenKind::kPunct && op->text.size() == 2 && op->text[1] == '=' &&
      std::string_view("+-*/%&|^").find(op->text[0]) != std::string_view::npos) {
    set.op = op->text.substr(0, 1);
  } else if (op != nullptr && op->kind == TokenKind::kPunct && op->text.size() == 1 &&
             std::string_view("+-*/%&|^").find(op->text[0]) != std::string_view::npos &&
             is_punct(token_at(tokens, i + 1), "=")) {
    set.op = op->text;  // "+ =" written with a space, or a tokenizer that splits compound operators
    ++i;
  } else if (!is_punct(op, "=")) {
    throw syntax_error_near(op ? op->text : tokens[1].text);
  }
  set.expression = slice(tokens, i + 1, tokens.size());
  if (set.expression.empty()) throw syntax_error_near(tokens.back().text);
  return set;
}

Statement parse_set(const std::vector<Token>& tokens) {
  Cursor cur(tokens);
  cur.take();
  if (cur.at_end()) cur.fail();
  if (is_local_variable(cur.peek())) return parse_set_variable(tokens);
  if (!is_name(cur.peek())) cur.fail();
  return SetOptionStatement{to_upper(cur.peek()->value), cur.rest()};
}

// SELECT @a = expr [, @b = expr] [FROM ...]; nullopt for a SELECT that assigns nothing. SQL Server refuses
// a select list that mixes assignments with columns (141).
std::optional<SelectAssignStatement> parse_select_assign(const std::vector<Token>& tokens) {
  size_t i = 1;
  if (is_word_any(token_at(tokens, i), {"DISTINCT", "ALL"})) return std::nullopt;
  if (!is_local_variable(token_at(tokens, i)) || !is_punct(token_at(tokens, i + 1), "=")) return std::nullopt;
  SelectAssignStatement assign;
  for (;;) {
    const Token* name = token_at(tokens, i);
    if (!is_local_variable(name) || !is_punct(token_at(tokens, i + 1), "=")) {
      throw SqlError(141, 15,
                     "A SELECT statement that assigns a value to a variable must not be combined with "
                     "data-retrieval operations.");
    }
    // The expression runs to the next top-level comma or the clause that ends the select list.
    size_t end = i + 2;
    int depth = 0;
    int case_depth = 0;
    for (; end < tokens.size(); ++end) {
      const Token& t = tokens[end];
      if (is_punct(&t, "(")) ++depth;
      if (is_punct(&t, ")")) --depth;
      if (is_word(&t, "CASE")) ++case_depth;
      if (is_word(&t, "END") && case_depth > 0) --case_depth;
      if (depth > 0 || case_depth > 0) continue;
      if (is_punct(&t, ",") || is_word_any(&t, {"FROM", "WHERE", "GROUP", "HAVING", "ORDER", "UNION",
                                                "EXCEPT", "INTERSECT", "OPTION"}))
        break;
    }
    std::vector<Token> expression = slice(tokens, i + 2, end);
    if (expression.empty()) throw syntax_error_near("=");
    assign.assignments.emplace_back(name->text, std::move(expression));
    i = end;
    if (!is_punct(token_at(tokens, i), ",")) break;
    ++i;
  }
  assign.rest = slice(tokens, i, tokens.size());
  return assign;
}

WaitforStatement parse_waitfor(const std::vector<Token>& tokens) {
  WaitforStatement wait;
  if (is_word(token_at(tokens, 1), "DELAY")) {
    wait.delay = true;
  } else if (is_word(token_at(tokens, 1), "TIME")) {
    wait.delay = false;
  } else {
    throw not_supported("WAITFOR is supported as WAITFOR DELAY 'hh:mm:ss' and WAITFOR TIME 'hh:mm:ss'.");
  }
  wait.expression = slice(tokens, 2, tokens.size());
  if (wait.expression.empty()) throw syntax_error_near(tokens[1].text);
  return wait;
}

// --- Errors raised by the batch ----------------------------------------------------------------------

// The comma-separated expressions of tokens [from, to); each must be non-empty.
std::vector<std::vector<Token>> expression_list(const std::vector<Token>& tokens, size_t from, size_t to) {
  std::vector<std::vector<Token>> out;
  if (from >= to) return out;
  size_t i = from;
  for (;;) {
    size_t end = std::min(next_top_level_comma(tokens, i), to);
    if (end == i) throw syntax_error_near(i < tokens.size() ? tokens[i].text : tokens.back().text);
    out.push_back(slice(tokens, i, end));
    if (end >= to) break;
    i = end + 1;
    if (i >= to) throw syntax_error_near(",");
  }
  return out;
}

RaiserrorStatement parse_raiserror(const std::vector<Token>& tokens) {
  RaiserrorStatement raise;
  if (!is_punct(token_at(tokens, 1), "(")) throw syntax_error_near(tokens[0].text);
  // The matching ')'.
  size_t close = 1;
  for (int depth = 0; close < tokens.size(); ++close) {
    if (is_punct(&tokens[close], "(")) ++depth;
    if (is_punct(&tokens[close], ")") && --depth == 0) break;
  }
  if (close >= tokens.size()) throw syntax_error_near(tokens.back().text);
  raise.arguments = expression_list(tokens, 2, close);
  if (raise.arguments.size() < 3) throw syntax_error_near(")");
  if (raise.arguments.size() > 3 + kMaxRaiserrorArguments) {
    throw SqlError(
        2747, 16,
        "Too many substitution parameters for RAISERROR. Cannot exceed 20 substitution parameters.");
  }
  size_t i = close + 1;
  if (i < tokens.size()) {
    if (!is_word(&tokens[i], "WITH")) throw syntax_error_near(tokens[i].text);
    do {
      const Token* option = token_at(tokens, ++i);
      if (is_word(option, "LOG")) {
        raise.log = true;
      } else if (is_word(option, "NOWAIT")) {
        raise.nowait = true;
      } else if (is_word(option, "SETERROR")) {
        raise.seterror = true;
      } else {
        throw syntax_error_near(option ? option->text : "WITH");
      }
    } while (is_punct(token_at(tokens, ++i), ","));
    if (i < tokens.size()) throw syntax_error_near(tokens[i].text);
  }
  return raise;
}

ThrowStatement parse_throw(const std::vector<Token>& tokens) {
  ThrowStatement raise;
  raise.arguments = expression_list(tokens, 1, tokens.size());
  if (!raise.arguments.empty() && raise.arguments.size() != 3) throw syntax_error_near(tokens.back().text);
  return raise;
}

// Statements SQL Server has and bakrest does not: a clear error naming them, rather than SQLite's syntax
// error (or, worse, SQLite running a statement of its own by the same name). Returns the message, or nullopt.
std::optional<std::string> unsupported_statement(const std::vector<Token>& tokens) {
  const Token* first = token_at(tokens, 0);
  const Token* second = token_at(tokens, 1);
  if (first == nullptr || first->kind != TokenKind::kWord) return std::nullopt;
  std::string head = to_upper(first->text);
  if (head == "CREATE" || head == "ALTER" || head == "DROP") {
    // CREATE OR ALTER PROCEDURE ...
    if (is_word(second, "OR") && is_word(token_at(tokens, 2), "ALTER")) second = token_at(tokens, 3);
    std::string kind = second ? to_upper(second->text) : "";
    if (kind == "PROC") kind = "PROCEDURE";
    for (const char* k :
         {"PROCEDURE", "FUNCTION", "TRIGGER",     "TYPE",       "SYNONYM",   "SEQUENCE",  "SCHEMA",   "USER",
          "ROLE",      "ASSEMBLY", "CERTIFICATE", "CREDENTIAL", "EVENT",     "PARTITION", "FULLTEXT", "XML",
          "QUEUE",     "SERVICE",  "ENDPOINT",    "MASTER",     "SYMMETRIC", "ASYMMETRIC"}) {
      if (kind == k) return head + " " + kind + " is not supported yet.";
    }
    return std::nullopt;
  }
  if (head == "TRUNCATE") return "TRUNCATE TABLE is not supported yet; use DELETE FROM.";
  if (head == "BULK" && is_word(second, "INSERT")) {
    return "BULK INSERT is not supported yet; drivers' bulk copy (INSERT BULK) is.";
  }
  if (head == "BACKUP" || head == "RESTORE") {
    // As on Amazon RDS, where native backup and restore go through the procedures.
    return head +
           " is not supported; use msdb.dbo.rds_backup_database, rds_backup_log, rds_restore_database "
           "and rds_restore_log.";
  }
  for (const char* word :
       {"DBCC",    "KILL",       "CHECKPOINT", "RECONFIGURE", "SHUTDOWN",   "GOTO",    "OPEN",   "FETCH",
        "CLOSE",   "DEALLOCATE", "READTEXT",   "WRITETEXT",   "UPDATETEXT", "SETUSER", "REVERT", "ENABLE",
        "DISABLE", "RECEIVE",    "SEND",       "GET",         "MOVE",       "ADD"}) {
    if (head == word) return head + " is not supported yet.";
  }
  if (head == "MERGE") return "MERGE is not supported yet.";
  return std::nullopt;
}

// --- INSERT BULK -----------------------------------------------------------------------------------

// INSERT bulk VALUES (...) and the like insert into a table named bulk; INSERT BULK name ( starts a bulk
// load.
bool is_insert_bulk(const std::vector<Token>& tokens) {
  const Token* third = token_at(tokens, 2);
  return is_word(token_at(tokens, 1), "BULK") && is_name(third) &&
         !is_word_any(third, {"VALUES", "SELECT", "DEFAULT", "EXEC", "EXECUTE", "WITH", "OUTPUT"});
}

// One entry of INSERT BULK's column list: name type [COLLATE collation] [NULL | NOT NULL].
InsertBulkStatement::Column parse_bulk_column(Cursor& cur) {
  InsertBulkStatement::Column column;
  column.name = cur.expect_name();
  int depth = 0;
  while (!cur.at_end()) {
    const Token* t = cur.peek();
    if (depth == 0 && (is_punct(t, ",") || is_punct(t, ")") || is_word_any(t, {"COLLATE", "NULL", "NOT"})))
      break;
    if (is_punct(t, "(")) ++depth;
    if (is_punct(t, ")")) --depth;
    // Words are kept apart ("DOUBLE PRECISION"); nothing else is ("DECIMAL(10,2)").
    if (!column.type.empty() && t->kind == TokenKind::kWord &&
        (std::isalnum(static_cast<unsigned char>(column.type.back())) || column.type.back() == '_'))
      column.type += ' ';
    column.type += t->kind == TokenKind::kQuotedName ? t->value : to_upper(t->text);
    cur.take();
  }
  if (column.type.empty()) cur.fail();
  if (cur.accept_word("COLLATE")) cur.expect_name();
  if (cur.accept_word("NOT")) {
    if (!cur.accept_word("NULL")) cur.fail();
  } else {
    cur.accept_word("NULL");
  }
  return column;
}

int64_t parse_bulk_number(Cursor& cur) {
  if (!cur.accept_punct("=") || cur.at_end() || cur.peek()->kind != TokenKind::kNumber) cur.fail();
  Value n = number_value(cur.take().text);
  const auto* i = std::get_if<int64_t>(&n);
  if (!i || *i < 0) cur.fail();
  return *i;
}

void parse_bulk_option(Cursor& cur, InsertBulkStatement& bulk) {
  if (!is_name(cur.peek())) cur.fail();
  std::string option = to_upper(cur.peek()->value);
  if (cur.accept_word("CHECK_CONSTRAINTS")) {
    bulk.check_constraints = true;
  } else if (cur.accept_word("FIRE_TRIGGERS")) {
    bulk.fire_triggers = true;
  } else if (cur.accept_word("KEEP_NULLS")) {
    bulk.keep_nulls = true;
  } else if (cur.accept_word("TABLOCK")) {
    bulk.tablock = true;
  } else if (cur.accept_word("ROWS_PER_BATCH")) {
    bulk.rows_per_batch = parse_bulk_number(cur);
  } else if (cur.accept_word("KILOBYTES_PER_BATCH")) {
    bulk.kilobytes_per_batch = parse_bulk_number(cur);
  } else if (cur.accept_word("ORDER")) {
    if (!cur.accept_punct("(")) cur.fail();
    do {
      std::string name = cur.expect_name();
      bool descending = false;
      if (cur.accept_word("DESC")) {
        descending = true;
      } else {
        cur.accept_word("ASC");
      }
      bulk.order.emplace_back(std::move(name), descending);
    } while (cur.accept_punct(","));
    if (!cur.accept_punct(")")) cur.fail();
  } else {
    throw not_supported(
        "INSERT BULK ... WITH (" + option +
        ") is not supported; bakrest takes CHECK_CONSTRAINTS, FIRE_TRIGGERS, KEEP_NULLS, TABLOCK, "
        "ROWS_PER_BATCH, KILOBYTES_PER_BATCH and ORDER.");
  }
}

InsertBulkStatement parse_insert_bulk(const std::vector<Token>& tokens) {
  Cursor cur(tokens);
  cur.take();
  cur.take();
  InsertBulkStatement bulk;
  bulk.table.push_back(cur.expect_name());
  while (cur.accept_punct(".")) {
    if (is_punct(cur.peek(), ".")) {
      bulk.table.emplace_back();  // db..table: the schema left out
      continue;
    }
    bulk.table.push_back(cur.expect_name());
  }
  if (bulk.table.size() > 3 || bulk.table.back().empty()) cur.fail();
  if (!cur.accept_punct("(")) cur.fail();
  do {
    bulk.columns.push_back(parse_bulk_column(cur));
  } while (cur.accept_punct(","));
  if (!cur.accept_punct(")")) cur.fail();
  if (cur.accept_word("WITH")) {
    if (!cur.accept_punct("(")) cur.fail();
    do {
      parse_bulk_option(cur, bulk);
    } while (cur.accept_punct(","));
    if (!cur.accept_punct(")")) cur.fail();
  }
  cur.expect_end();
  return bulk;
}

// --- Transactions -----------------------------------------------------------------------------------

// A transaction or savepoint name: an identifier, or a variable holding it (returned as "@var").
std::optional<std::string> accept_transaction_name(Cursor& cur) {
  if (cur.at_end() || !(is_name(cur.peek()) || cur.peek()->kind == TokenKind::kVariable)) return std::nullopt;
  const Token& t = cur.take();
  return t.kind == TokenKind::kVariable ? t.text : t.value;
}

// BEGIN TRAN[SACTION] [name [WITH MARK ['description']]], or SQLite's BEGIN [DEFERRED|...] [TRANSACTION].
BeginTransactionStatement parse_begin(const std::vector<Token>& tokens) {
  Cursor cur(tokens);
  cur.take();
  BeginTransactionStatement begin;
  if (cur.accept_word_any({"TRAN", "TRANSACTION"})) {
    auto name = accept_transaction_name(cur);
    if (name) begin.name = *name;
    if (name && cur.accept_word("WITH")) {
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
  } else if (!cur.at_end()) {
    cur.fail();
  }
  cur.expect_end();
  return begin;
}

// COMMIT / ROLLBACK [TRAN | TRANSACTION | WORK] [name]: the name, "" when none; nullopt for SQLite's
// ROLLBACK TO savepoint.
std::optional<std::string> parse_transaction_end(const std::vector<Token>& tokens) {
  Cursor cur(tokens);
  cur.take();
  bool work = cur.accept_word("WORK");
  if (!work) cur.accept_word_any({"TRAN", "TRANSACTION"});
  if (is_word(cur.peek(), "TO")) return std::nullopt;
  std::string name;
  if (!work) {
    if (auto n = accept_transaction_name(cur)) name = *n;
  }
  cur.expect_end();
  return name;
}

SaveTransactionStatement parse_save(const std::vector<Token>& tokens) {
  Cursor cur(tokens);
  cur.take();
  if (!cur.accept_word_any({"TRAN", "TRANSACTION"})) cur.fail();
  auto name = accept_transaction_name(cur);
  if (!name) cur.fail();
  cur.expect_end();
  return SaveTransactionStatement{*name};
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
    out.emplace_back(RollbackStatement{*parse_transaction_end(tokens)});
  } else if (head == "INSERT" && is_insert_bulk(tokens)) {
    out.emplace_back(parse_insert_bulk(tokens));
  } else if (head == "SAVE") {
    out.emplace_back(parse_save(tokens));
  } else if (head == "DECLARE") {
    out.emplace_back(parse_declare(tokens));
  } else if (head == "WAITFOR") {
    out.emplace_back(parse_waitfor(tokens));
  } else if (head == "RAISERROR") {
    out.emplace_back(parse_raiserror(tokens));
  } else if (head == "THROW") {
    out.emplace_back(parse_throw(tokens));
  } else if (auto unsupported = unsupported_statement(tokens)) {
    throw not_supported(*unsupported);
  } else if (head == "RETURN") {
    if (tokens.size() > 1)
      throw not_supported(
          "RETURN with a value is supported only in procedures, which bakrest does not have.");
    out.emplace_back(ReturnStatement{});
  } else if (head == "BREAK" || head == "CONTINUE") {
    if (tokens.size() > 1) throw syntax_error_near(tokens[1].text);
    if (head == "BREAK")
      out.emplace_back(BreakStatement{});
    else
      out.emplace_back(ContinueStatement{});
  } else if (head == "SELECT") {
    if (auto assign = parse_select_assign(tokens)) {
      out.emplace_back(std::move(*assign));
    } else {
      out.emplace_back(SqlStatement{tokens});
    }
  } else {
    out.emplace_back(SqlStatement{tokens});
  }
}

// --- Control of flow: nesting the statements split_statements() produced ---------------------------------

class Nester {
 public:
  explicit Nester(const std::vector<SplitStatement>& statements) : statements_(statements) {}

  std::vector<Statement> run() {
    std::vector<Statement> out;
    while (at_ < statements_.size()) parse_one(out);
    return out;
  }

  // T-SQL runs a batch that starts with a procedure's name as EXEC of it (ODBC drivers send
  // "sp_datatype_info_100 12,3", DBD::Sybase "sp_tables 't', NULL"). Only names that are procedures' (sp_,
  // xp_, rds_, or qualified ones) count, so a SQLite statement like PRAGMA keeps its meaning.
  static bool implicit_exec(const std::vector<Token>& tokens) {
    if (tokens.empty() || !is_name(&tokens[0])) return false;
    size_t last = 0;
    while (is_punct(token_at(tokens, last + 1), ".")) {
      last += is_punct(token_at(tokens, last + 2), ".") ? 1 : 2;
      if (!is_name(token_at(tokens, last))) return false;
    }
    std::string name = ascii_lower(tokens[last].value);
    bool procedure_like =
        name.rfind("sp_", 0) == 0 || name.rfind("xp_", 0) == 0 || name.rfind("rds_", 0) == 0;
    return procedure_like;
  }

 private:
  const SplitStatement* peek() const { return at_ < statements_.size() ? &statements_[at_] : nullptr; }

  static bool is_marker(const SplitStatement* s, std::string_view first, std::string_view second = {}) {
    if (s == nullptr || !s->control || !is_word(&s->tokens[0], first)) return false;
    if (second.empty()) return s->tokens.size() == 1;
    return s->tokens.size() == 2 && is_word(&s->tokens[1], second);
  }

  // One statement, with what it governs, appended to out.
  void parse_one(std::vector<Statement>& out) {
    const SplitStatement& statement = statements_[at_];
    const std::vector<Token>& tokens = statement.tokens;
    const Token& first = tokens.front();
    if (is_marker(&statement, "BEGIN", "TRY")) {
      ++at_;
      TryCatchStatement tc;
      tc.try_block = parse_until("END", "TRY", "BEGIN TRY");
      if (!is_marker(peek(), "BEGIN", "CATCH")) {
        throw SqlError(102, 15, "Incorrect syntax near 'TRY'. END TRY must be followed by BEGIN CATCH.");
      }
      ++at_;
      tc.catch_block = parse_until("END", "CATCH", "BEGIN CATCH");
      out.emplace_back(std::move(tc));
      return;
    }
    if (is_marker(&statement, "BEGIN")) {
      ++at_;
      out.emplace_back(BlockStatement{parse_until("END", {}, "BEGIN")});
      return;
    }
    if (statement.control) {
      throw SqlError(156, 15, "Incorrect syntax near the keyword '" + to_upper(first.text) + "'.");
    }
    if (is_word(&first, "IF") || is_word(&first, "WHILE")) {
      std::vector<Token> condition = slice(tokens, 1, tokens.size());
      if (condition.empty()) throw syntax_error_near(first.text);
      ++at_;
      if (peek() == nullptr || (peek()->control && !is_word(&peek()->tokens.front(), "BEGIN"))) {
        throw syntax_error_near(tokens.back().text);
      }
      std::vector<Statement> body;
      parse_one(body);
      if (is_word(&first, "WHILE")) {
        out.emplace_back(WhileStatement{std::move(condition), std::move(body)});
        return;
      }
      IfStatement branch{std::move(condition), std::move(body), {}};
      if (is_marker(peek(), "ELSE")) {
        ++at_;
        if (peek() == nullptr) throw syntax_error_near("ELSE");
        parse_one(branch.else_branch);
      }
      out.emplace_back(std::move(branch));
      return;
    }
    ++at_;
    classify(tokens, out);  // DROP DATABASE a, b is several statements, all governed by an IF before it
  }

  // Statements up to the END [second] marker, which is consumed.
  std::vector<Statement> parse_until(std::string_view end, std::string_view second, std::string_view opened) {
    std::vector<Statement> body;
    for (;;) {
      if (peek() == nullptr) {
        throw SqlError(102, 15,
                       "Incorrect syntax: " + std::string(opened) + " has no matching " + std::string(end) +
                           (second.empty() ? "" : " " + std::string(second)) + ".");
      }
      if (is_marker(peek(), end, second)) {
        ++at_;
        return body;
      }
      parse_one(body);
    }
  }

  const std::vector<SplitStatement>& statements_;
  size_t at_ = 0;
};

}  // namespace

std::vector<DeclaredParameter> parse_parameter_declarations(std::string_view declarations) {
  std::vector<Token> tokens = tokenize(declarations);
  std::vector<DeclaredParameter> out;
  size_t i = 0;
  while (i < tokens.size()) {
    const Token* name = token_at(tokens, i);
    if (!is_local_variable(name)) throw syntax_error_near(name->text);
    DeclaredParameter p{name->text, "", false};
    ++i;
    if (is_word(token_at(tokens, i), "AS")) ++i;
    size_t end = next_top_level_comma(tokens, i);
    std::vector<Token> rest = slice(tokens, i, end);
    if (!rest.empty() && is_word_any(&rest.back(), {"OUTPUT", "OUT"})) {
      p.output = true;
      rest.pop_back();
    }
    if (!rest.empty() && is_word(&rest.back(), "READONLY")) rest.pop_back();
    size_t at = 0;
    p.type = type_text(rest, at);
    if (p.type.empty() || at != rest.size())
      throw syntax_error_near(rest.empty() ? name->text : rest[at < rest.size() ? at : 0].text);
    out.push_back(std::move(p));
    i = end;
    if (i < tokens.size()) ++i;  // the comma
  }
  return out;
}

Token synthetic_token(std::string text) {
  bool number = !text.empty() && text[0] >= '0' && text[0] <= '9';
  return Token{number ? TokenKind::kNumber : TokenKind::kWord, text, text, 0, true};
}

std::vector<Statement> parse_batch(std::string_view batch) {
  std::vector<Token> tokens = tokenize(batch);
  std::vector<SplitStatement> statements = split_statements(batch, tokens);
  if (!statements.empty() && !statements[0].control && Nester::implicit_exec(statements[0].tokens)) {
    statements[0].tokens.insert(statements[0].tokens.begin(), synthetic_token("EXEC"));
  }
  return Nester(statements).run();
}

}  // namespace bakrest::sql
