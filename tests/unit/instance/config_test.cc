#include "instance/config.h"

#include <gtest/gtest.h>

#include <fstream>

#include "temp_dir.h"

namespace bakrest::instance {
namespace {

TEST(ConfigTest, DefaultsRoundTrip) {
  testing::TempDir dir;
  Config c;
  c.instance_id = "bakrest-abc";
  c.max_transfer_mb_per_sec = 2;
  save_config(c, dir.path() / "instance.toml");
  Config read = load_config(dir.path() / "instance.toml");
  EXPECT_EQ(read.instance_id, "bakrest-abc");
  EXPECT_EQ(read.region, "us-east-1");
  EXPECT_EQ(read.edition, "standard");
  EXPECT_TRUE(read.option_enabled("SQLSERVER_BACKUP_RESTORE"));
  ASSERT_EQ(read.buckets.size(), 1u);
  EXPECT_EQ(read.buckets[0].name, "aws_example_bucket");
  EXPECT_EQ(read.max_transfer_mb_per_sec, 2);
}

void expect_invalid(const std::string& text, const std::string& part) {
  testing::TempDir dir;
  std::ofstream(dir.path() / "instance.toml") << text;
  try {
    load_config(dir.path() / "instance.toml");
    FAIL() << text;
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("instance.toml"), std::string::npos) << e.what();
  }
}

TEST(ConfigTest, InvalidValuesNameTheProblem) {
  expect_invalid("region = \"us-east-1\"\n", "'instance_id' is missing");
  expect_invalid("instance_id = \"x\"\nedition = \"gold\"\n", "edition 'gold'");
  expect_invalid("instance_id = \"x\"\ntime_zone = \"Europe/Paris\"\n", "not supported yet");
  expect_invalid("instance_id = \"x\"\n[server]\nport = 70000\n", "'server.port'");
  expect_invalid("instance_id = \"x\"\n[storage]\nmax_transfer_mb_per_sec = -1\n", "max_transfer_mb_per_sec");
  expect_invalid("instance_id = = \"x\"\n", "instance.toml");
}

TEST(ConfigTest, OptionGroupWithoutBackupRestore) {
  testing::TempDir dir;
  std::ofstream(dir.path() / "instance.toml") << "instance_id = \"x\"\n[option_group]\noptions = []\n";
  EXPECT_FALSE(load_config(dir.path() / "instance.toml").option_enabled("SQLSERVER_BACKUP_RESTORE"));
}

}  // namespace
}  // namespace bakrest::instance
