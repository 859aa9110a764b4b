// The T-SQL front on a batch's text: tokenize(), split_statements(), parse_batch() and rewrite_for_sqlite()
// of every statement SQLite would run, as the session calls them. Beyond crashes it checks what the
// splitter and the lexer promise: tokens are the batch's own text in order, and statements keep that order.
#include <string_view>
#include <variant>

#include "common/error.h"
#include "fuzz_support.h"
#include "sql/parser.h"
#include "sql/split.h"

using namespace bakrest;

namespace {

void check_tokens(std::string_view batch, const std::vector<sql::Token>& tokens) {
  size_t end = 0;
  for (const sql::Token& token : tokens) {
    fuzz::check(!token.text.empty(), "a token has text");
    fuzz::check(token.offset >= end, "tokens come in batch order without overlapping");
    fuzz::check(batch.substr(token.offset, token.text.size()) == token.text, "a token's text is the batch's");
    end = token.offset + token.text.size();
  }
}

void check_statements(const std::vector<sql::SplitStatement>& statements) {
  size_t end = 0;
  for (const auto& statement : statements) {
    for (const sql::Token& token : statement.tokens) {
      fuzz::check(token.offset >= end, "split statements keep the batch's token order");
      end = token.offset + token.text.size();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view batch(reinterpret_cast<const char*>(data), size);
  std::vector<sql::Token> tokens;
  try {
    tokens = sql::tokenize(batch);
  } catch (const SqlError&) {
    return 0;
  }
  check_tokens(batch, tokens);
  check_statements(sql::split_statements(batch, tokens));

  std::vector<sql::Statement> statements;
  try {
    statements = sql::parse_batch(batch);
  } catch (const SqlError&) {
    return 0;
  }
  sql::RewriteContext context{"fuzzdb", 51, 1, "Microsoft SQL Server 2022 (bakrest)", "bakrest"};
  for (const sql::Statement& statement : statements) {
    const auto* plain = std::get_if<sql::SqlStatement>(&statement);
    if (!plain) continue;
    try {
      sql::RewrittenSql rewritten = sql::rewrite_for_sqlite(plain->tokens, context);
      for (const std::string& database : rewritten.databases) {
        fuzz::check(!database.empty(), "a database to attach has a name");
      }
    } catch (const SqlError&) {
    }
  }
  return 0;
}
