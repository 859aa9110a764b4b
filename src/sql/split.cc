// Where one T-SQL statement ends and the next begins.
//
// A statement ends at ';', at a line holding only GO (the client-side batch separator), and where a
// statement keyword (SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, EXEC, EXECUTE, USE, PRINT, SET,
// DECLARE, BEGIN, COMMIT, ROLLBACK, SAVE, WITH <cte>, MERGE, TRUNCATE, GRANT, REVOKE, DENY, IF, ELSE, WHILE,
// BREAK, CONTINUE, RETURN, WAITFOR, RAISERROR, THROW, END, EXPLAIN, REPLACE INTO) appears outside parentheses
// and CASE ... END, unless that keyword continues the current statement (continues_statement() lists when).
// Control of flow comes out as statements of their own, for parse_batch to nest: "IF cond" (up to the
// statement it governs), "ELSE", "BEGIN" and "END" of a block, "BEGIN TRY", "END TRY", "BEGIN CATCH",
// "END CATCH". Inside a trigger's BEGIN ... END body nothing splits, not even ';'; CREATE PROCEDURE /
// FUNCTION take the rest of the batch, as in SQL Server.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sql/split.h"
#include "sql/token_util.h"

namespace bakrest::sql {
namespace {

bool is_statement_keyword_text(std::string_view word) {
  return iequals_any(word, {"SELECT",  "INSERT",    "UPDATE",   "DELETE", "CREATE",   "DROP",     "ALTER",
                            "EXEC",    "EXECUTE",   "USE",      "PRINT",  "SET",      "DECLARE",  "BEGIN",
                            "COMMIT",  "SAVE",      "ROLLBACK", "MERGE",  "TRUNCATE", "GRANT",    "REVOKE",
                            "DENY",    "IF",        "ELSE",     "WHILE",  "BREAK",    "CONTINUE", "RETURN",
                            "WAITFOR", "RAISERROR", "THROW",    "END",    "EXPLAIN"});
}

// Words naming the kind of object after CREATE / DROP / ALTER; IF after one of them is IF [NOT] EXISTS.
bool is_object_kind(std::string_view word) {
  return iequals_any(
      word, {"TABLE", "VIEW", "INDEX", "TRIGGER", "DATABASE", "SCHEMA", "PROCEDURE", "PROC", "FUNCTION",
             "COLUMN", "CONSTRAINT", "SEQUENCE", "TYPE", "USER", "ROLE", "LOGIN", "SYNONYM", "STATISTICS"});
}

// DROP inside ALTER TABLE drops a column or constraint; DROP TABLE and the like start a statement.
bool drops_an_object(const Token* next) {
  return next != nullptr && is_object_kind(next->text) && !iequals_any(next->text, {"COLUMN", "CONSTRAINT"});
}

bool is_dml(std::string_view word) {
  return iequals_any(word, {"SELECT", "INSERT", "UPDATE", "DELETE", "MERGE"});
}

// What is known about the statement being collected.
struct StatementState {
  std::string head;         // its first word, upper-cased
  std::string verb;         // the (possibly nested) statement whose clauses are being read
  std::string object_kind;  // after CREATE / ALTER / DROP: TABLE, TRIGGER, DATABASE, ...
  int paren_depth = 0;
  int case_depth = 0;               // open CASE ... END outside a body
  int body_depth = 0;               // open BEGIN / CASE ... END inside a body; nothing splits while > 0
  bool trigger_header = false;      // CREATE TRIGGER before AS / BEGIN: INSERT, UPDATE, DELETE name events
  bool body_pending = false;        // a trigger whose BEGIN ... END body has not started yet
  bool rest_of_batch = false;       // CREATE PROCEDURE / FUNCTION: T-SQL gives it the rest of the batch
  bool insert_source_seen = false;  // INSERT's SELECT / VALUES / EXEC has started
  bool set_seen = false;
  bool cte_pending = false;        // WITH name AS (...) read; the statement it prefixes not yet
  bool grant_target_seen = false;  // GRANT ... TO / REVOKE ... FROM
  // A control-of-flow marker ("BEGIN", "END TRY", "ELSE", ...) that is complete once this many tokens are in.
  size_t marker_length = 0;
};

class Splitter {
 public:
  Splitter(std::string_view batch, const std::vector<Token>& tokens) : batch_(batch), tokens_(tokens) {}

  std::vector<SplitStatement> run() {
    for (size_t i = 0; i < tokens_.size(); ++i) {
      const Token& token = tokens_[i];
      if (is_go_line(i) || (token.kind == TokenKind::kSemicolon && !in_body())) {
        finish();
        continue;
      }
      if (!current_.empty() && starts_statement(i)) finish();
      current_.push_back(token);
      observe(i);
      if (state_.marker_length != 0 && current_.size() == state_.marker_length) finish();
    }
    finish();
    return std::move(statements_);
  }

 private:
  const Token* at(size_t i) const { return token_at(tokens_, i); }

  bool in_body() const { return state_.body_depth > 0 || state_.rest_of_batch; }

  void finish() {
    if (!current_.empty())
      statements_.push_back(SplitStatement{std::move(current_), state_.marker_length != 0});
    current_.clear();
    state_ = StatementState{};
  }

  // GO alone on its line separates batches in sqlcmd and SSMS; clients that send it along get the same.
  bool is_go_line(size_t i) const {
    const Token& token = tokens_[i];
    if (!is_word(&token, "GO")) return false;
    for (size_t p = token.offset; p > 0 && batch_[p - 1] != '\n'; --p) {
      if (batch_[p - 1] != ' ' && batch_[p - 1] != '\t' && batch_[p - 1] != '\r') return false;
    }
    const Token* next = at(i + 1);
    if (next == nullptr) return true;
    size_t eol = batch_.find('\n', token.offset);
    return eol != std::string_view::npos && eol < next->offset;
  }

  // Index just past the ')' matching the '(' at i, or tokens_.size() if unbalanced.
  size_t skip_parens(size_t i) const {
    int depth = 0;
    for (; i < tokens_.size(); ++i) {
      if (is_punct(at(i), "(")) ++depth;
      if (is_punct(at(i), ")") && --depth == 0) return i + 1;
    }
    return tokens_.size();
  }

  // WITH [RECURSIVE] name [(columns)] AS ( — not WITH (NOLOCK), WITH TIES, WITH ROLLBACK IMMEDIATE, ...
  bool starts_cte(size_t i) const {
    size_t j = i + 1;
    if (is_word(at(j), "RECURSIVE")) ++j;
    if (!is_name(at(j))) return false;
    ++j;
    if (is_punct(at(j), "(")) j = skip_parens(j);
    return is_word(at(j), "AS") && is_punct(at(j + 1), "(");
  }

  bool is_statement_keyword(size_t i) const {
    const Token& token = tokens_[i];
    if (token.kind != TokenKind::kWord) return false;
    if (iequals(token.text, "WITH")) return starts_cte(i);
    if (iequals(token.text, "REPLACE")) return is_word(at(i + 1), "INTO");  // SQLite's REPLACE INTO
    return is_statement_keyword_text(token.text);
  }

  bool starts_statement(size_t i) const {
    if (in_body() || state_.paren_depth > 0 || state_.case_depth > 0) return false;
    return is_statement_keyword(i) && !continues_statement(i);
  }

  // The cases where a statement keyword belongs to the statement before it.
  bool continues_statement(size_t i) const {
    const StatementState& s = state_;
    const Token& prev = current_.back();
    const Token* next = at(i + 1);
    std::string k = to_upper(tokens_[i].text);
    std::string p = prev.kind == TokenKind::kWord ? to_upper(prev.text) : "";
    // No statement ends in an operator or a comma: "a = (", "x,", "t." want more.
    if (prev.kind == TokenKind::kPunct && prev.text != ")" && prev.text != "*") return true;
    // AS SELECT (views, CREATE TABLE AS), AS <body> (T-SQL triggers), EXPLAIN [QUERY PLAN] SELECT.
    if (p == "AS" || p == "EXPLAIN" || p == "PLAN") return true;
    if (s.cte_pending && is_dml(k)) return true;
    if (iequals_any(s.head, {"GRANT", "REVOKE", "DENY"}) && !s.grant_target_seen) return true;
    if (s.trigger_header && iequals_any(k, {"INSERT", "UPDATE", "DELETE"})) return true;
    if (s.body_pending && k == "BEGIN") return true;
    bool before_insert_source = s.verb == "INSERT" && !s.insert_source_seen;
    if (k == "SELECT") return iequals_any(p, {"UNION", "ALL", "EXCEPT", "INTERSECT"}) || before_insert_source;
    if (k == "WITH") return before_insert_source;
    if (k == "EXEC" || k == "EXECUTE") return before_insert_source || p == "WITH";  // WITH EXECUTE AS
    // Trigger events (AFTER INSERT, INSTEAD OF UPDATE, FOR DELETE), MERGE's THEN, ON CONFLICT DO UPDATE,
    // and foreign key actions (ON UPDATE CASCADE, ON DELETE SET NULL).
    if (k == "INSERT") return iequals_any(p, {"THEN", "OF", "AFTER", "BEFORE", "FOR"});
    if (k == "UPDATE") return iequals_any(p, {"DO", "ON", "FOR", "OF", "THEN", "AFTER", "BEFORE"});
    if (k == "DELETE") return iequals_any(p, {"ON", "FOR", "OF", "THEN", "AFTER", "BEFORE"});
    if (k == "SET") return continues_with_set(p, next);
    // INSERT OR ROLLBACK, ON CONFLICT ROLLBACK, ALTER DATABASE ... WITH ROLLBACK IMMEDIATE.
    if (k == "ROLLBACK") return iequals_any(p, {"OR", "CONFLICT", "WITH"});
    if (k == "REPLACE") return iequals_any(p, {"OR", "CONFLICT"});
    // ALTER TABLE t DROP COLUMN c / DROP CONSTRAINT c, but not a following DROP TABLE.
    if (k == "DROP") return s.verb == "ALTER" && !drops_an_object(next);
    if (k == "ALTER") return p == "OR" || (s.verb == "ALTER" && is_word(next, "COLUMN"));
    if (k == "IF") return iequals_any(s.verb, {"CREATE", "DROP", "ALTER"}) && is_object_kind(p);
    return false;
  }

  // UPDATE t SET, ON CONFLICT DO UPDATE SET, ON DELETE SET NULL, ALTER DATABASE d SET ..., but a second
  // SET after an UPDATE's SET clause is SET NOCOUNT ON and the like.
  bool continues_with_set(const std::string& p, const Token* next) const {
    const StatementState& s = state_;
    if (p == "UPDATE" || p == "DELETE") return true;
    if (s.verb == "UPDATE") return !s.set_seen;
    if (s.verb == "ALTER") return (s.object_kind == "DATABASE" && !s.set_seen) || is_punct(next, "(");
    return false;
  }

  void observe(size_t i) {
    const Token& token = tokens_[i];
    StatementState& s = state_;
    if (current_.size() == 1) {
      begin_statement(i);
      return;
    }
    if (is_punct(&token, "(")) ++s.paren_depth;
    if (is_punct(&token, ")") && s.paren_depth > 0) --s.paren_depth;
    if (token.kind != TokenKind::kWord) return;
    std::string k = to_upper(token.text);
    if (s.body_depth > 0) {
      observe_in_body(i, k);
      return;
    }
    if (k == "CASE") ++s.case_depth;
    if (k == "END" && s.case_depth > 0) --s.case_depth;
    if (s.paren_depth > 0) return;
    observe_clause(i, k);
  }

  void begin_statement(size_t i) {
    StatementState& s = state_;
    const Token& token = tokens_[i];
    s.head = token.kind == TokenKind::kWord ? to_upper(token.text) : "";
    s.verb = s.head;
    if (is_punct(&token, "(")) ++s.paren_depth;
    if (s.head == "WITH") s.cte_pending = starts_cte(i);
    if (s.head == "CASE") ++s.case_depth;
    // BEGIN [TRY | CATCH], END [TRY | CATCH] and ELSE are statements of their own (parse_batch nests them).
    if (s.head == "BEGIN" && starts_block(i))
      s.marker_length = is_word_any(at(i + 1), {"TRY", "CATCH"}) ? 2 : 1;
    if (s.head == "END") s.marker_length = is_word_any(at(i + 1), {"TRY", "CATCH"}) ? 2 : 1;
    if (s.head == "ELSE") s.marker_length = 1;
    if (s.head == "CREATE" || s.head == "ALTER" || s.head == "DROP") s.object_kind = object_kind_after(i + 1);
    // INSERT BULK t (columns) [WITH (options)] takes no SELECT, VALUES or EXEC: a SELECT after it is the next
    // statement. (INSERT bulk VALUES ... inserts into a table named bulk.)
    if (s.head == "INSERT" && is_word(at(i + 1), "BULK") && is_name(at(i + 2)) &&
        !is_word_any(at(i + 2), {"VALUES", "SELECT", "DEFAULT", "EXEC", "EXECUTE", "WITH", "OUTPUT"})) {
      s.insert_source_seen = true;
    }
    if (s.head == "DROP") return;
    if (s.object_kind == "TRIGGER") s.trigger_header = s.body_pending = true;
    if (iequals_any(s.object_kind, {"PROCEDURE", "PROC", "FUNCTION"})) s.rest_of_batch = true;
  }

  // BEGIN that is not BEGIN TRAN (T-SQL) nor BEGIN [DEFERRED] [TRANSACTION] (SQLite) opens a block.
  bool starts_block(size_t i) const {
    const Token* next = at(i + 1);
    if (next == nullptr || next->kind == TokenKind::kSemicolon || is_go_line(i + 1)) return false;
    return !is_word_any(next, {"TRAN", "TRANSACTION", "DISTRIBUTED", "DEFERRED", "IMMEDIATE", "EXCLUSIVE"});
  }

  std::string object_kind_after(size_t j) const {
    while (is_word_any(
        at(j), {"OR", "ALTER", "TEMP", "TEMPORARY", "UNIQUE", "CLUSTERED", "NONCLUSTERED", "VIRTUAL"})) {
      ++j;
    }
    const Token* kind = at(j);
    return kind != nullptr && kind->kind == TokenKind::kWord ? to_upper(kind->text) : "";
  }

  void observe_in_body(size_t i, const std::string& k) {
    StatementState& s = state_;
    if ((k == "BEGIN" && starts_block(i)) || k == "CASE") ++s.body_depth;
    if (k == "END") --s.body_depth;
  }

  // A word at parenthesis depth 0 outside any body.
  void observe_clause(size_t i, const std::string& k) {
    StatementState& s = state_;
    const Token& prev = current_[current_.size() - 2];
    std::string p = prev.kind == TokenKind::kWord ? to_upper(prev.text) : "";
    if (s.body_pending && k == "BEGIN") {
      s.body_depth = 1;
      s.body_pending = s.trigger_header = false;
      return;
    }
    if (s.trigger_header && k == "AS") s.trigger_header = false;
    if (iequals_any(k, {"TO", "FROM"})) s.grant_target_seen = true;
    if (k == "SET") s.set_seen = true;
    bool cte = k == "WITH" && starts_cte(i);
    if (s.verb == "INSERT" && (cte || iequals_any(k, {"SELECT", "VALUES", "DEFAULT", "EXEC", "EXECUTE"}))) {
      s.insert_source_seen = true;
    }
    if (cte) {
      s.cte_pending = true;
    } else if (is_dml(k) && !s.trigger_header && (s.cte_pending || iequals_any(p, {"AS", "THEN", "DO"}))) {
      // A statement nested in this one (a view's SELECT, a trigger body, MERGE's actions, an upsert):
      // its own clauses follow.
      s.verb = k;
      s.cte_pending = s.insert_source_seen = s.set_seen = false;
    }
  }

  std::string_view batch_;
  const std::vector<Token>& tokens_;
  std::vector<SplitStatement> statements_;
  std::vector<Token> current_;
  StatementState state_;
};

}  // namespace

std::vector<SplitStatement> split_statements(std::string_view batch, const std::vector<Token>& tokens) {
  return Splitter(batch, tokens).run();
}

}  // namespace bakrest::sql
