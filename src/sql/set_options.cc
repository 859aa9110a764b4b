#include "sql/set_options.h"

#include <charconv>
#include <limits>
#include <string>
#include <vector>

#include "sql/token_util.h"

namespace bakrest::sql {

namespace {

// What an ON/OFF option does in each setting.
enum class Setting {
  kHonoured,  // bakrest behaves as asked
  kAlways,    // bakrest always behaves this way: accepted
  kNoEffect,  // changes nothing bakrest does (no cursors, no browse mode, ...): accepted
  kRefused,   // bakrest can't behave this way
};

struct BooleanOption {
  std::string_view name;
  Setting on;
  Setting off;
  std::string_view why;  // for a refusal: what bakrest does instead
};

constexpr BooleanOption kBooleanOptions[] = {
    {"NOCOUNT", Setting::kHonoured, Setting::kHonoured, ""},
    {"IMPLICIT_TRANSACTIONS", Setting::kHonoured, Setting::kHonoured, ""},
    {"XACT_ABORT", Setting::kHonoured, Setting::kHonoured, ""},
    {"ANSI_NULLS", Setting::kAlways, Setting::kRefused, "comparisons with NULL are never true"},
    {"ANSI_PADDING", Setting::kAlways, Setting::kRefused, "trailing blanks and zeros are kept"},
    {"ANSI_WARNINGS", Setting::kAlways, Setting::kRefused,
     "truncation and overflow are errors, aggregates skip NULLs"},
    {"ANSI_NULL_DFLT_ON", Setting::kAlways, Setting::kRefused,
     "new columns allow NULL unless declared NOT NULL"},
    {"ANSI_NULL_DFLT_OFF", Setting::kRefused, Setting::kAlways,
     "new columns allow NULL unless declared NOT NULL"},
    {"CONCAT_NULL_YIELDS_NULL", Setting::kAlways, Setting::kRefused, "concatenating NULL gives NULL"},
    {"QUOTED_IDENTIFIER", Setting::kAlways, Setting::kRefused, "\"text\" is an identifier, not a string"},
    // With ANSI_WARNINGS always ON, overflow and division by zero are errors whatever ARITHABORT says.
    {"ARITHABORT", Setting::kNoEffect, Setting::kNoEffect, ""},
    {"ARITHIGNORE", Setting::kRefused, Setting::kAlways, "arithmetic errors are reported"},
    {"NUMERIC_ROUNDABORT", Setting::kRefused, Setting::kAlways,
     "a loss of precision rounds without an error"},
    {"CURSOR_CLOSE_ON_COMMIT", Setting::kNoEffect, Setting::kNoEffect, ""},  // bakrest has no cursors
    {"NO_BROWSETABLE", Setting::kNoEffect, Setting::kNoEffect, ""},          // nor browse mode
    {"REMOTE_PROC_TRANSACTIONS", Setting::kRefused, Setting::kAlways,
     "there are no distributed transactions"},
    {"FMTONLY", Setting::kHonoured, Setting::kHonoured, ""},
    {"NOEXEC", Setting::kRefused, Setting::kAlways, "statements run"},
    {"PARSEONLY", Setting::kRefused, Setting::kAlways, "statements run"},
    {"FORCEPLAN", Setting::kRefused, Setting::kAlways, "SQLite plans every query"},
    {"SHOWPLAN_ALL", Setting::kRefused, Setting::kAlways, "statements run and return their rows"},
    {"SHOWPLAN_TEXT", Setting::kRefused, Setting::kAlways, "statements run and return their rows"},
    {"SHOWPLAN_XML", Setting::kRefused, Setting::kAlways, "statements run and return their rows"},
};

const BooleanOption* boolean_option(std::string_view name) {
  for (const auto& option : kBooleanOptions) {
    if (iequals(option.name, name)) return &option;
  }
  return nullptr;
}

std::string value_text(const Token& t) {
  if (t.kind == TokenKind::kString || t.kind == TokenKind::kNString || t.kind == TokenKind::kQuotedName)
    return t.value;
  return t.text;
}

// An integer literal, with an optional minus sign, or nullopt.
std::optional<int64_t> integer_at(const std::vector<Token>& tokens, size_t i, size_t& end) {
  bool negative = is_punct(token_at(tokens, i), "-");
  const Token* number = token_at(tokens, negative ? i + 1 : i);
  if (number == nullptr || number->kind != TokenKind::kNumber) return std::nullopt;
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(number->text.data(), number->text.data() + number->text.size(), value);
  if (ec != std::errc() || ptr != number->text.data() + number->text.size()) return std::nullopt;
  end = (negative ? i + 2 : i + 1);
  return negative ? -value : value;
}

SqlError refused(const std::string& what, std::string_view why) {
  return not_supported("SET " + what + " is not supported: bakrest always behaves as " + std::string(why) +
                       ".");
}

void expect_end(const std::vector<Token>& tokens, size_t i) {
  if (i < tokens.size()) throw syntax_error_near(tokens[i].text);
}

// SET name [, name ...] ON | OFF
void apply_booleans(const std::vector<Token>& tokens, SessionOptions& options) {
  std::vector<const BooleanOption*> named;
  size_t i = 0;
  for (;;) {
    const Token* name = token_at(tokens, i);
    if (!is_name(name)) throw syntax_error_near(name ? name->text : "SET");
    const BooleanOption* option = boolean_option(name->value);
    if (!option) throw not_supported("SET " + to_upper(name->value) + " is not supported yet.");
    named.push_back(option);
    ++i;
    if (!is_punct(token_at(tokens, i), ",")) break;
    ++i;
  }
  const Token* value = token_at(tokens, i);
  if (!is_word_any(value, {"ON", "OFF"})) throw syntax_error_near(value ? value->text : named.back()->name);
  bool on = is_word(value, "ON");
  expect_end(tokens, i + 1);
  SessionOptions next = options;
  for (const BooleanOption* option : named) {
    Setting setting = on ? option->on : option->off;
    if (setting == Setting::kRefused)
      throw refused(std::string(option->name) + (on ? " ON" : " OFF"), option->why);
    if (option->name == "NOCOUNT") next.nocount = on;
    if (option->name == "IMPLICIT_TRANSACTIONS") next.implicit_transactions = on;
    if (option->name == "XACT_ABORT") next.xact_abort = on;
    if (option->name == "FMTONLY") next.fmtonly = on;
    if (option->name == "ARITHABORT") next.arithabort = on;
    if (option->name == "CURSOR_CLOSE_ON_COMMIT") next.cursor_close_on_commit = on;
  }
  options = next;
}

}  // namespace

void apply_set_option(const SetOptionStatement& set, SessionOptions& options) {
  const std::vector<Token>& t = set.tokens;
  const std::string& name = set.option;
  size_t end = 0;
  if (name == "TEXTSIZE") {
    auto n = integer_at(t, 1, end);
    if (!n) throw syntax_error_near(t.size() > 1 ? t[1].text : "TEXTSIZE");
    expect_end(t, end);
    // 0 and -1 go back to the default, which in bakrest is whole values (SQL Server's is 4 KB for text).
    bool whole = *n <= 0 || *n >= std::numeric_limits<int32_t>::max();
    options.textsize = whole ? std::nullopt : std::optional<int64_t>(*n);
  } else if (name == "LOCK_TIMEOUT") {
    auto n = integer_at(t, 1, end);
    if (!n || *n < -1 || *n > std::numeric_limits<int32_t>::max())
      throw syntax_error_near(t.size() > 1 ? t[1].text : "LOCK_TIMEOUT");
    expect_end(t, end);
    options.lock_timeout_ms = static_cast<int>(*n);
  } else if (name == "ROWCOUNT") {
    auto n = integer_at(t, 1, end);
    if (!n) throw syntax_error_near(t.size() > 1 ? t[1].text : "ROWCOUNT");
    expect_end(t, end);
    if (*n != 0)
      throw refused("ROWCOUNT " + std::to_string(*n), "with ROWCOUNT 0: no limit; use TOP instead");
  } else if (name == "DATEFIRST") {
    auto n = integer_at(t, 1, end);
    if (!n) throw syntax_error_near(t.size() > 1 ? t[1].text : "DATEFIRST");
    expect_end(t, end);
    if (*n != 7) throw refused("DATEFIRST " + std::to_string(*n), "with DATEFIRST 7 (Sunday)");
  } else if (name == "DATEFORMAT" || name == "LANGUAGE") {
    if (t.size() != 2) throw syntax_error_near(t.size() > 2 ? t[2].text : name);
    std::string value = value_text(t[1]);
    bool ok = name == "DATEFORMAT" ? iequals(value, "mdy")
                                   : iequals(value, "us_english") || iequals(value, "english");
    if (!ok) {
      throw refused(name + " " + value,
                    name == "DATEFORMAT" ? "with DATEFORMAT mdy" : "with LANGUAGE us_english");
    }
  } else if (name == "DEADLOCK_PRIORITY") {
    // Which session a deadlock ends changes no result; SQLite reports a busy lock instead of a deadlock.
    if (t.size() < 2) throw syntax_error_near("DEADLOCK_PRIORITY");
  } else if (name == "TRANSACTION") {
    // SQLite's transactions are serializable (one writer, each reader on a snapshot): every level SQL
    // Server offers gets at least the isolation it asks for.
    size_t i = 1;
    if (!is_word(token_at(t, i), "ISOLATION") || !is_word(token_at(t, i + 1), "LEVEL"))
      throw syntax_error_near(t.size() > i ? t[i].text : "TRANSACTION");
    i += 2;
    int level = 0;
    if (is_word_any(token_at(t, i), {"SNAPSHOT", "SERIALIZABLE"})) {
      level = is_word(token_at(t, i), "SNAPSHOT") ? 5 : 4;
      ++i;
    } else if (is_word(token_at(t, i), "READ") &&
               is_word_any(token_at(t, i + 1), {"COMMITTED", "UNCOMMITTED"})) {
      level = is_word(token_at(t, i + 1), "COMMITTED") ? 2 : 1;
      i += 2;
    } else if (is_word(token_at(t, i), "REPEATABLE") && is_word(token_at(t, i + 1), "READ")) {
      level = 3;
      i += 2;
    } else {
      throw syntax_error_near(t.size() > i ? t[i].text : "LEVEL");
    }
    expect_end(t, i);
    options.isolation_level = level;
  } else if (name == "IDENTITY_INSERT") {
    // SQLite always takes an explicit value for an INTEGER PRIMARY KEY, so ON is bakrest's behaviour; OFF
    // only adds an error SQL Server gives for such a value, and changes no data.
    if (t.size() < 3 || !is_word_any(&t.back(), {"ON", "OFF"})) throw syntax_error_near("IDENTITY_INSERT");
  } else if (name == "STATISTICS") {
    const Token* what = token_at(t, 1);
    const Token* value = token_at(t, 2);
    if (!is_name(what) || !is_word_any(value, {"ON", "OFF"})) throw syntax_error_near("STATISTICS");
    expect_end(t, 3);
    if (is_word(value, "ON")) {
      throw not_supported("SET STATISTICS " + to_upper(what->value) + " ON is not supported yet.");
    }
  } else if (name == "ANSI_DEFAULTS") {
    const Token* value = token_at(t, 1);
    if (!is_word_any(value, {"ON", "OFF"})) throw syntax_error_near(value ? value->text : "ANSI_DEFAULTS");
    expect_end(t, 2);
    if (is_word(value, "OFF")) {
      throw refused(
          "ANSI_DEFAULTS OFF",
          "with ANSI_NULLS, ANSI_PADDING, ANSI_WARNINGS, ANSI_NULL_DFLT_ON and QUOTED_IDENTIFIER ON");
    }
    // ON turns on what bakrest always does, and implicit transactions (CURSOR_CLOSE_ON_COMMIT: no cursors).
    options.implicit_transactions = true;
  } else {
    apply_booleans(t, options);
  }
}

int64_t options_bits(const SessionOptions& options) {
  // Always on in bakrest: ANSI_WARNINGS 8, ANSI_PADDING 16, ANSI_NULLS 32, QUOTED_IDENTIFIER 256,
  // ANSI_NULL_DFLT_ON 1024, CONCAT_NULL_YIELDS_NULL 4096.
  int64_t bits = 8 | 16 | 32 | 256 | 1024 | 4096;
  if (options.implicit_transactions) bits |= 2;
  if (options.cursor_close_on_commit) bits |= 4;
  if (options.arithabort) bits |= 64;
  if (options.nocount) bits |= 512;
  if (options.xact_abort) bits |= 16384;
  return bits;
}

}  // namespace bakrest::sql
