#include "control/query_protocol.h"

#include <gtest/gtest.h>

namespace bakrest::control {
namespace {

TEST(QueryProtocol, FormFieldsAreDecoded) {
  auto form = parse_form(
      "Action=CreateRole&Version=2010-05-08&RoleName=rds-backup&Doc=%7B%22a%22%3A+1%7D&Empty=&Flag");
  EXPECT_EQ(form["Action"], "CreateRole");
  EXPECT_EQ(form["Doc"], "{\"a\": 1}");
  EXPECT_EQ(form["Empty"], "");
  EXPECT_TRUE(form.contains("Flag"));
  EXPECT_EQ(parse_form("a=%zz&b=%4")["a"], "%zz");  // not an escape: kept as it is
  EXPECT_EQ(parse_form("a=%zz&b=%4")["b"], "%4");
  EXPECT_TRUE(parse_form("").empty());
  EXPECT_EQ(parse_form("x=1&x=2")["x"], "2");
}

TEST(QueryProtocol, DatesAndReplies) {
  EXPECT_EQ(iso8601(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(iso8601(1440938160), "2015-08-30T12:36:00Z");
  EXPECT_EQ(iso8601(1709164800 + 86399), "2024-02-29T23:59:59Z");
  QueryReply reply("GetRole", "https://iam.amazonaws.com/doc/2010-05-08/");
  add_text(reply.result().append_child("Role"), "RoleName", "a<b");
  ApiReply done = reply.done();
  EXPECT_EQ(done.status, 200);
  EXPECT_NE(
      done.body.find("<GetRoleResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><GetRoleResult>"
                     "<Role><RoleName>a&lt;b</RoleName></Role></GetRoleResult><ResponseMetadata><RequestId>"),
      std::string::npos)
      << done.body;
  ApiReply error = query_error("x", "NoSuchEntity", "The role with name r cannot be found.", 404);
  EXPECT_EQ(error.status, 404);
  EXPECT_NE(
      error.body.find("<Code>NoSuchEntity</Code><Message>The role with name r cannot be found.</Message>"),
      std::string::npos);
}

}  // namespace
}  // namespace bakrest::control
