#include "server/prepared.h"

#include <gtest/gtest.h>

#include "common/error.h"

namespace bakrest::server {
namespace {

ProcCall call(std::string name, std::vector<Value> values) {
  ProcCall c{std::move(name), {}};
  for (size_t i = 0; i < values.size(); ++i)
    c.args.push_back(ProcArg{i == 3 ? "@P1" : "", values[i], i == 0});
  return c;
}

TEST(TdsPreparedTest, PrepExecReturnsAHandleAndRunsAsSpExecuteSql) {
  PreparedStatements p;
  auto plan = p.plan(
      call("sp_prepexec", {std::monostate{}, std::string("@P1 int"), std::string("SELECT @P1"), int64_t{5}}));
  ASSERT_TRUE(plan.new_handle);
  EXPECT_EQ(*plan.new_handle, 1);
  ASSERT_TRUE(plan.execute);
  EXPECT_EQ(plan.execute->name, "sp_executesql");
  ASSERT_EQ(plan.execute->args.size(), 3u);
  EXPECT_EQ(plan.execute->args[0].value, Value(std::string("SELECT @P1")));
  EXPECT_EQ(plan.execute->args[1].value, Value(std::string("@P1 int")));
  EXPECT_EQ(plan.execute->args[2].name, "@P1");
  EXPECT_EQ(plan.execute->args[2].value, Value(int64_t{5}));

  // sp_execute runs the same text with new values.
  ProcCall exec{"sp_execute", {ProcArg{"", int64_t{1}, false}, ProcArg{"@P1", int64_t{6}, false}}};
  auto again = p.plan(exec);
  EXPECT_FALSE(again.new_handle);
  ASSERT_TRUE(again.execute);
  EXPECT_EQ(again.execute->args[0].value, Value(std::string("SELECT @P1")));
  EXPECT_EQ(again.execute->args[2].value, Value(int64_t{6}));

  // sp_unprepare forgets it.
  auto gone = p.plan(ProcCall{"sp_unprepare", {ProcArg{"", int64_t{1}, false}}});
  EXPECT_FALSE(gone.execute);
  EXPECT_EQ(p.size(), 0u);
  try {
    p.plan(exec);
    FAIL();
  } catch (const SqlError& e) {
    EXPECT_EQ(e.message().number, 8179);
  }
}

TEST(TdsPreparedTest, PrepareWithoutParametersOnlyReturnsAHandle) {
  PreparedStatements p;
  auto plan =
      p.plan(call("sp_prepare", {std::monostate{}, std::monostate{}, std::string("SELECT 1"), int64_t{1}}));
  EXPECT_EQ(plan.new_handle, 1);
  EXPECT_FALSE(plan.execute);
  auto exec = p.plan(ProcCall{"sp_execute", {ProcArg{"", int64_t{1}, false}}});
  ASSERT_TRUE(exec.execute);
  ASSERT_EQ(exec.execute->args.size(), 1u);  // no declarations to pass on
  EXPECT_EQ(exec.execute->args[0].value, Value(std::string("SELECT 1")));
}

TEST(TdsPreparedTest, BadCallsAreSqlErrors) {
  PreparedStatements p;
  EXPECT_THROW(p.plan(call("sp_prepexec", {std::monostate{}})), SqlError);
  EXPECT_THROW(p.plan(ProcCall{"sp_execute", {}}), SqlError);
  EXPECT_THROW(p.plan(ProcCall{"sp_execute", {ProcArg{"", std::string("x"), false}}}), SqlError);
  EXPECT_THROW(p.plan(ProcCall{"sp_unprepare", {ProcArg{"", int64_t{42}, false}}}), SqlError);
  EXPECT_TRUE(PreparedStatements::is_prepared_procedure("sp_prepexec"));
  EXPECT_FALSE(PreparedStatements::is_prepared_procedure("sp_executesql"));
}

}  // namespace
}  // namespace bakrest::server
