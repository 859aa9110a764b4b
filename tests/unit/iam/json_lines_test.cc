#include "iam/json_lines.h"

#include <gtest/gtest.h>

#include <string>

namespace bakrest::iam {
namespace {

TEST(JsonWithLines, EveryValueKnowsItsLine) {
  JsonNode root = parse_json_with_lines(
      "{\n"
      "  \"Version\": \"2012-10-17\",\n"
      "  \"Statement\": [\n"
      "    {\"Effect\": \"Allow\",\n"
      "     \"Count\": 12\n"
      "    }\n"
      "  ],\n"
      "  \"Flag\": true, \"Nothing\": null\n"
      "}\n");
  ASSERT_EQ(root.kind, JsonNode::Kind::kObject);
  EXPECT_EQ(root.line, 1);
  ASSERT_EQ(root.members.size(), 4u);
  EXPECT_EQ(root.member("Version")->text, "2012-10-17");
  EXPECT_EQ(root.member("Version")->line, 2);
  const JsonNode* statements = root.member("Statement");
  ASSERT_NE(statements, nullptr);
  EXPECT_EQ(statements->kind, JsonNode::Kind::kArray);
  EXPECT_EQ(statements->line, 3);
  ASSERT_EQ(statements->items.size(), 1u);
  EXPECT_EQ(statements->items[0].line, 4);
  EXPECT_EQ(statements->items[0].member("Effect")->line, 4);
  // A number ends at the newline after it, and is still on its own line.
  EXPECT_EQ(statements->items[0].member("Count")->text, "12");
  EXPECT_EQ(statements->items[0].member("Count")->line, 5);
  EXPECT_EQ(root.member("Flag")->kind, JsonNode::Kind::kBool);
  EXPECT_EQ(root.member("Flag")->text, "true");
  EXPECT_EQ(root.member("Nothing")->kind, JsonNode::Kind::kNull);
  EXPECT_EQ(root.member("Absent"), nullptr);
}

int error_line(const std::string& text) {
  try {
    parse_json_with_lines(text);
  } catch (const JsonError& e) {
    return e.line();
  }
  return 0;
}

TEST(JsonWithLines, SyntaxErrorsGiveTheirLine) {
  EXPECT_EQ(error_line("{\n  \"a\": 1,\n  \"b\": tru\n}"), 3);
  EXPECT_EQ(error_line("{\n  \"a\": 1\n  \"b\": 2\n}"), 3);  // a missing comma
  EXPECT_EQ(error_line("{\"a\": [1, 2}"), 1);
  EXPECT_EQ(error_line("{\n\"a\": 1\n"), 3);  // ends early
  EXPECT_EQ(error_line(""), 1);
  try {
    parse_json_with_lines("{\"a\": tru}");
    FAIL();
  } catch (const JsonError& e) {
    EXPECT_EQ(std::string(e.what()).find("[json.exception"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("syntax error"), std::string::npos) << e.what();
  }
}

TEST(JsonWithLines, DuplicateMembersAreRefused) {
  EXPECT_EQ(error_line("{\n \"Effect\": \"Allow\",\n \"Effect\": \"Deny\"\n}"), 3);
  // The same name in two objects is fine.
  EXPECT_NO_THROW(parse_json_with_lines("[{\"a\": 1}, {\"a\": 2}]"));
}

TEST(JsonWithLines, SizeAndDepthAreBounded) {
  std::string deep(kMaxJsonDepth + 1, '[');
  deep += std::string(kMaxJsonDepth + 1, ']');
  EXPECT_THROW(parse_json_with_lines(deep), JsonError);
  std::string ok(kMaxJsonDepth, '[');
  ok += std::string(kMaxJsonDepth, ']');
  EXPECT_NO_THROW(parse_json_with_lines(ok));
  std::string deeper(100000, '[');  // within the size bound; a recursive destructor would overflow on it
  EXPECT_THROW(parse_json_with_lines(deeper), JsonError);
  std::string big = "\"" + std::string(kMaxJsonBytes, 'x') + "\"";
  EXPECT_THROW(parse_json_with_lines(big), JsonError);
}

}  // namespace
}  // namespace bakrest::iam
