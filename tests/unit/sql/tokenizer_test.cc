#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/error.h"
#include "sql/parser.h"

namespace bakrest::sql {
namespace {

std::vector<std::string> texts(std::string_view batch) {
  std::vector<std::string> out;
  for (const Token& t : tokenize(batch)) out.push_back(t.text);
  return out;
}

std::vector<TokenKind> kinds(std::string_view batch) {
  std::vector<TokenKind> out;
  for (const Token& t : tokenize(batch)) out.push_back(t.kind);
  return out;
}

// The SqlError that tokenizing `batch` throws.
Message lex_error(std::string_view batch) {
  try {
    tokenize(batch);
  } catch (const SqlError& e) {
    return e.message();
  }
  ADD_FAILURE() << "no error for: " << batch;
  return {};
}

using K = TokenKind;

TEST(Tokenizer, EmptyAndBlankBatchesHaveNoTokens) {
  EXPECT_TRUE(tokenize("").empty());
  EXPECT_TRUE(tokenize(" \t\r\n ").empty());
  EXPECT_TRUE(tokenize("-- only a comment").empty());
  EXPECT_TRUE(tokenize("/* only */ /* comments */").empty());
}

TEST(Tokenizer, WordsKeepTheirSpelling) {
  auto tokens = tokenize("SELECT rds_task_status, #temp, a$b, x@y, _u, t1");
  ASSERT_EQ(tokens.size(), 12u);
  EXPECT_EQ(tokens[0].kind, K::kWord);
  EXPECT_EQ(tokens[0].text, "SELECT");
  EXPECT_EQ(tokens[0].value, "SELECT");
  EXPECT_EQ(tokens[1].text, "rds_task_status");
  EXPECT_EQ(tokens[3].text, "#temp");
  EXPECT_EQ(tokens[5].text, "a$b");
  EXPECT_EQ(tokens[7].text, "x@y");
  EXPECT_EQ(tokens[9].text, "_u");
  EXPECT_EQ(tokens[11].text, "t1");
}

TEST(Tokenizer, Utf8LettersAreIdentifierCharacters) {
  auto tokens = tokenize("SELECT größe FROM täbelle");
  ASSERT_EQ(tokens.size(), 4u);
  EXPECT_EQ(tokens[1].text, "größe");
  EXPECT_EQ(tokens[3].text, "täbelle");
}

TEST(Tokenizer, StringsUnescapeDoubledQuotes) {
  auto tokens = tokenize("'it''s' '' 'a -- not a comment /* nor this */'");
  ASSERT_EQ(tokens.size(), 3u);
  EXPECT_EQ(tokens[0].kind, K::kString);
  EXPECT_EQ(tokens[0].text, "'it''s'");
  EXPECT_EQ(tokens[0].value, "it's");
  EXPECT_EQ(tokens[1].value, "");
  EXPECT_EQ(tokens[2].value, "a -- not a comment /* nor this */");
}

TEST(Tokenizer, StringsMaySpanLines) {
  auto tokens = tokenize("'line1\nline2'");
  ASSERT_EQ(tokens.size(), 1u);
  EXPECT_EQ(tokens[0].value, "line1\nline2");
}

TEST(Tokenizer, NationalStringsInEitherCase) {
  auto tokens = tokenize("N'ünï''code' n'lower' N");
  ASSERT_EQ(tokens.size(), 3u);
  EXPECT_EQ(tokens[0].kind, K::kNString);
  EXPECT_EQ(tokens[0].text, "N'ünï''code'");
  EXPECT_EQ(tokens[0].value, "ünï'code");
  EXPECT_EQ(tokens[1].kind, K::kNString);
  EXPECT_EQ(tokens[1].value, "lower");
  EXPECT_EQ(tokens[2].kind, K::kWord);  // N alone is a name
}

TEST(Tokenizer, BracketedNamesUnescapeDoubledCloseBracket) {
  auto tokens = tokenize("[my table] [a]]b] [x[y] [] [dbo]");
  ASSERT_EQ(tokens.size(), 5u);
  EXPECT_EQ(tokens[0].kind, K::kQuotedName);
  EXPECT_EQ(tokens[0].value, "my table");
  EXPECT_EQ(tokens[0].text, "[my table]");
  EXPECT_EQ(tokens[1].value, "a]b");
  EXPECT_EQ(tokens[2].value, "x[y");
  EXPECT_EQ(tokens[3].value, "");
  EXPECT_EQ(tokens[4].value, "dbo");
}

TEST(Tokenizer, DoubleQuotedNamesUnescapeDoubledQuotes) {
  auto tokens = tokenize(R"("col" "a""b")");
  ASSERT_EQ(tokens.size(), 2u);
  EXPECT_EQ(tokens[0].kind, K::kQuotedName);
  EXPECT_EQ(tokens[0].value, "col");
  EXPECT_EQ(tokens[1].value, "a\"b");
}

TEST(Tokenizer, Numbers) {
  EXPECT_EQ(texts("42 1.5 .5 1. 1e3 1.5E-3 2e+7"),
            (std::vector<std::string>{"42", "1.5", ".5", "1.", "1e3", "1.5E-3", "2e+7"}));
  for (const Token& t : tokenize("42 1.5 .5 1e3")) EXPECT_EQ(t.kind, K::kNumber);
  EXPECT_EQ(tokenize("42")[0].value, "42");
}

TEST(Tokenizer, ExponentNeedsDigits) {
  EXPECT_EQ(texts("1e 1ex"), (std::vector<std::string>{"1", "e", "1", "ex"}));
}

TEST(Tokenizer, LeadingMinusIsSeparate) {
  auto tokens = tokenize("-1 - 2.5");
  ASSERT_EQ(tokens.size(), 4u);
  EXPECT_EQ(tokens[0].kind, K::kPunct);
  EXPECT_EQ(tokens[0].text, "-");
  EXPECT_EQ(tokens[1].kind, K::kNumber);
  EXPECT_EQ(tokens[1].text, "1");
  EXPECT_FALSE(tokens[1].space_before);
}

TEST(Tokenizer, HexBinary) {
  auto tokens = tokenize("0x0aFF 0x 0X12 0x1g");
  ASSERT_EQ(tokens.size(), 5u);
  EXPECT_EQ(tokens[0].kind, K::kBinary);
  EXPECT_EQ(tokens[0].text, "0x0aFF");
  EXPECT_EQ(tokens[0].value, "0aFF");
  EXPECT_EQ(tokens[1].kind, K::kBinary);
  EXPECT_EQ(tokens[1].value, "");
  EXPECT_EQ(tokens[2].value, "12");
  EXPECT_EQ(tokens[3].value, "1");
  EXPECT_EQ(tokens[4].text, "g");
}

TEST(Tokenizer, Variables) {
  auto tokens = tokenize("@db_name=@@SPID @p1 @@version");
  ASSERT_EQ(tokens.size(), 5u);
  EXPECT_EQ(tokens[0].kind, K::kVariable);
  EXPECT_EQ(tokens[0].value, "@db_name");
  EXPECT_EQ(tokens[1].text, "=");
  EXPECT_EQ(tokens[2].kind, K::kVariable);
  EXPECT_EQ(tokens[2].value, "@@SPID");
  EXPECT_EQ(tokens[3].value, "@p1");
  EXPECT_EQ(tokens[4].value, "@@version");
}

TEST(Tokenizer, LoneAtSignIsPunct) {
  auto tokens = tokenize("@ x");
  ASSERT_EQ(tokens.size(), 2u);
  EXPECT_EQ(tokens[0].kind, K::kPunct);
  EXPECT_EQ(tokens[0].text, "@");
}

TEST(Tokenizer, MultiCharOperators) {
  EXPECT_EQ(texts("a<=b>=c<>d!=e||f::g"), (std::vector<std::string>{"a", "<=", "b", ">=", "c", "<>", "d",
                                                                    "!=", "e", "||", "f", "::", "g"}));
  EXPECT_EQ(texts("(a,b).*=<>+/%!|&~^:"),
            (std::vector<std::string>{"(", "a", ",", "b", ")", ".", "*", "=", "<>", "+", "/", "%", "!", "|",
                                      "&", "~", "^", ":"}));
  for (const Token& t : tokenize("<= , ( ::")) EXPECT_EQ(t.kind, K::kPunct);
}

TEST(Tokenizer, Semicolons) {
  EXPECT_EQ(kinds("a;;b"), (std::vector<K>{K::kWord, K::kSemicolon, K::kSemicolon, K::kWord}));
  EXPECT_EQ(tokenize(";")[0].value, ";");
}

TEST(Tokenizer, LineCommentsAreDropped) {
  auto tokens = tokenize("SELECT 1 -- trailing\nFROM--x\nt --end");
  EXPECT_EQ(texts("SELECT 1 -- trailing\nFROM--x\nt --end"),
            (std::vector<std::string>{"SELECT", "1", "FROM", "t"}));
  ASSERT_EQ(tokens.size(), 4u);
  EXPECT_TRUE(tokens[3].space_before);
}

TEST(Tokenizer, BlockCommentsNest) {
  auto tokens = tokenize("a/* x /* nested */ still comment */b");
  ASSERT_EQ(tokens.size(), 2u);
  EXPECT_EQ(tokens[1].text, "b");
  EXPECT_TRUE(tokens[1].space_before);  // a comment separates like whitespace
}

TEST(Tokenizer, SpaceBeforeAndOffsets) {
  auto tokens = tokenize(" a(b) ,c");
  ASSERT_EQ(tokens.size(), 6u);
  EXPECT_TRUE(tokens[0].space_before);
  EXPECT_EQ(tokens[0].offset, 1u);
  EXPECT_FALSE(tokens[1].space_before);
  EXPECT_EQ(tokens[1].offset, 2u);
  EXPECT_FALSE(tokens[3].space_before);
  EXPECT_TRUE(tokens[4].space_before);
  EXPECT_EQ(tokens[4].offset, 6u);
  EXPECT_FALSE(tokens[5].space_before);
  EXPECT_FALSE(tokenize("x")[0].space_before);
}

TEST(Tokenizer, UnclosedStringIs105) {
  Message m = lex_error("SELECT 'abc");
  EXPECT_EQ(m.number, 105);
  EXPECT_EQ(m.severity, 15);
  EXPECT_EQ(m.state, 1);
  EXPECT_EQ(m.text, "Unclosed quotation mark after the character string 'abc'.");
}

TEST(Tokenizer, UnclosedStringReportsTheRestOfTheBatch) {
  EXPECT_EQ(lex_error("SELECT 'it''s\nmore").text,
            "Unclosed quotation mark after the character string 'it''s\nmore'.");
  EXPECT_EQ(lex_error("SELECT N'x").text, "Unclosed quotation mark after the character string 'x'.");
  EXPECT_EQ(lex_error("'").text, "Unclosed quotation mark after the character string ''.");
}

TEST(Tokenizer, UnclosedQuotedNamesAre105) {
  Message bracket = lex_error("SELECT * FROM [dbo.t");
  EXPECT_EQ(bracket.number, 105);
  EXPECT_EQ(bracket.severity, 15);
  EXPECT_EQ(bracket.text, "Unclosed quotation mark after the character string 'dbo.t'.");
  EXPECT_EQ(lex_error("SELECT [a]]").text, "Unclosed quotation mark after the character string 'a]]'.");
  EXPECT_EQ(lex_error("SELECT \"col").number, 105);
}

TEST(Tokenizer, UnclosedCommentIs113) {
  Message m = lex_error("SELECT 1 /* open");
  EXPECT_EQ(m.number, 113);
  EXPECT_EQ(m.severity, 15);
  EXPECT_EQ(m.text, "Missing end comment mark '*/'.");
  EXPECT_EQ(lex_error("/* a /* b */").number, 113);  // the outer one is still open
}

TEST(Tokenizer, NulOutsideAStringIs102) {
  using namespace std::string_view_literals;
  Message m = lex_error("select 1\0"sv);
  EXPECT_EQ(m.number, 102);
  EXPECT_EQ(m.text,
            "Incorrect syntax near character 9: the batch holds a NUL character (U+0000) outside a string.");
  // Where ALL_HEADERS' length is 0, its bytes arrive as text: NULs before anything else.
  EXPECT_EQ(lex_error("\0\0select 1"sv).number, 102);
  // Inside comments a NUL is just skipped text.
  EXPECT_EQ(texts("select 1 -- a \0 b"sv), (std::vector<std::string>{"select", "1"}));
}

}  // namespace
}  // namespace bakrest::sql
