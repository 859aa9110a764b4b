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
  EXPECT_FALSE(read.option_group_seed.has_value());  // written only while it has not been used
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

// [backup]: the compression threads and level round-trip; values outside their ranges, and unknown keys,
// are refused by name.
TEST(ConfigTest, BackupSettingsRoundTripAndAreChecked) {
  testing::TempDir dir;
  Config c;
  c.instance_id = "bakrest-abc";
  c.backup_threads = 3;
  c.zstd_level = 7;
  save_config(c, dir.path() / "instance.toml");
  Config read = load_config(dir.path() / "instance.toml");
  EXPECT_EQ(read.backup_threads, 3);
  EXPECT_EQ(read.zstd_level, 7);
  EXPECT_EQ(Config().backup_threads, 0);
  EXPECT_EQ(Config().zstd_level, 3);
  expect_invalid("instance_id = \"x\"\n[backup]\nzstd_level = 20\n",
                 "[backup]: 'zstd_level' must be an integer in 1..19");
  expect_invalid("instance_id = \"x\"\n[backup]\nthreads = 65\n",
                 "[backup]: 'threads' must be an integer in 0..64");
  expect_invalid("instance_id = \"x\"\n[backup]\nlevel = 3\n", "[backup] has an unknown key 'level'");
}

// [control]: the control endpoint's place round-trips; bad values and unknown keys are refused by name.
TEST(ConfigTest, ControlSettingsRoundTripAndAreChecked) {
  testing::TempDir dir;
  Config c;
  c.instance_id = "bakrest-abc";
  EXPECT_TRUE(c.control_enabled);
  EXPECT_EQ(c.control_host, "127.0.0.1");
  EXPECT_EQ(c.control_port, 14330);
  c.control_enabled = false;
  c.control_host = "0.0.0.0";
  c.control_port = 9000;
  c.control_tls = true;
  save_config(c, dir.path() / "instance.toml");
  Config read = load_config(dir.path() / "instance.toml");
  EXPECT_FALSE(read.control_enabled);
  EXPECT_EQ(read.control_host, "0.0.0.0");
  EXPECT_EQ(read.control_port, 9000);
  EXPECT_TRUE(read.control_tls);
  expect_invalid("instance_id = \"x\"\n[control]\nport = 65536\n",
                 "[control]: 'port' must be an integer in 0..65535");
  expect_invalid("instance_id = \"x\"\n[control]\ntls = \"yes\"\n", "tls");
  expect_invalid("instance_id = \"x\"\n[control]\ncert = \"c\"\n", "[control] has an unknown key 'cert'");
  expect_invalid("instance_id = \"x\"\n[control]\nenabled = \"yes\"\n", "enabled");
}

TEST(ConfigTest, S3BucketsLoadWithEverySettingAndSaveTheSame) {
  testing::TempDir dir;
  std::ofstream(dir.path() / "instance.toml") << R"(instance_id = "bakrest-s3"
region = "eu-west-1"
[[buckets]]
name = "aws_example_bucket"
[[buckets]]
name = "offsite"
type = "s3"
endpoint = "https://rgw.example.net:7480"
addressing = "virtual"
ca_file = "/etc/ssl/rgw.pem"
conditional_writes = false
access_key_id = "AKIDEXAMPLE"
secret_file = "/etc/bakrest/offsite.secret"
part_size_mb = 16
parts_in_flight = 8
max_buffer_mb = 512
read_chunk_mb = 4
max_attempts = 5
retry_seconds = 60
parts_per_size = 500
connect_timeout_seconds = 3
low_speed_seconds = 20
)";
  Config c = load_config(dir.path() / "instance.toml");
  ASSERT_EQ(c.buckets.size(), 2u);
  EXPECT_FALSE(c.buckets[0].s3);
  EXPECT_EQ(c.buckets[0].region, "eu-west-1");
  ASSERT_TRUE(c.buckets[1].s3);
  const storage::S3Settings& s = *c.buckets[1].s3;
  EXPECT_EQ(s.bucket, "offsite");
  EXPECT_EQ(s.region, "eu-west-1");
  EXPECT_EQ(s.endpoint, "https://rgw.example.net:7480");
  EXPECT_TRUE(s.virtual_addressing);
  EXPECT_TRUE(s.http.verify_tls);
  EXPECT_EQ(s.http.ca_file, "/etc/ssl/rgw.pem");
  EXPECT_FALSE(s.conditional_writes);
  EXPECT_EQ(s.credentials.access_key_id, "AKIDEXAMPLE");
  EXPECT_EQ(s.credentials.secret_file, "/etc/bakrest/offsite.secret");
  EXPECT_EQ(s.part_size_mb, 16);
  EXPECT_EQ(s.parts_in_flight, 8);
  EXPECT_EQ(s.max_buffer_mb, 512);
  EXPECT_EQ(s.read_chunk_mb, 4);
  EXPECT_EQ(s.max_attempts, 5);
  EXPECT_EQ(s.retry_seconds, 60);
  EXPECT_EQ(s.parts_per_size, 500);
  EXPECT_EQ(s.http.connect_timeout_ms, 3000);
  EXPECT_EQ(s.http.low_speed_seconds, 20);

  save_config(c, dir.path() / "again.toml");
  Config again = load_config(dir.path() / "again.toml");
  ASSERT_EQ(again.buckets.size(), 2u);
  ASSERT_TRUE(again.buckets[1].s3);
  EXPECT_EQ(again.buckets[1].s3->endpoint, s.endpoint);
  EXPECT_EQ(again.buckets[1].s3->credentials.secret_file, s.credentials.secret_file);
  EXPECT_EQ(again.buckets[1].s3->parts_per_size, 500);
  EXPECT_FALSE(again.buckets[1].s3->conditional_writes);
}

TEST(ConfigTest, S3BucketSettingsThatCannotWorkAreRefusedByName) {
  const std::string head = "instance_id = \"x\"\n[[buckets]]\nname = \"b\"\n";
  expect_invalid(head + "type = \"s3\"\nendpont = \"http://x\"\n", "unknown key 'endpont'");
  expect_invalid(head + "endpoint = \"http://x\"\n", "unknown key 'endpoint'");  // a local bucket
  expect_invalid(head + "type = \"ftp\"\n", "type 'ftp'");
  expect_invalid(head + "type = \"s3\"\naddressing = \"dns\"\n", "addressing 'dns'");
  expect_invalid(head + "type = \"s3\"\npart_size_mb = 4\n", "'part_size_mb' must be an integer in 5..5120");
  expect_invalid(head + "type = \"s3\"\nverify_tls = \"no\"\n", "'verify_tls' must be true or false");
  expect_invalid(head + "type = \"s3\"\nsecret_access_key = \"s\"\n", "without 'access_key_id'");
  expect_invalid(
      head + "type = \"s3\"\naccess_key_id = \"a\"\nsecret_access_key = \"s\"\nsecret_file = \"f\"\n",
      "both 'secret_access_key' and 'secret_file'");
  expect_invalid(head + "[[buckets]]\nname = \"b\"\n", "configured twice");
}

TEST(ConfigTest, KmsOfAnotherInstance) {
  testing::TempDir dir;
  Config c;
  c.instance_id = "x";
  c.kms_endpoint = "http://10.0.0.5:14330";
  c.kms_access_key_id = "AKIAEXAMPLE";
  c.kms_secret_access_key = "secret";
  save_config(c, dir.path() / "instance.toml");
  Config read = load_config(dir.path() / "instance.toml");
  EXPECT_EQ(read.kms_endpoint, "http://10.0.0.5:14330");
  EXPECT_EQ(read.kms_access_key_id, "AKIAEXAMPLE");
  EXPECT_EQ(read.kms_secret_access_key, "secret");
  EXPECT_TRUE(read.kms_region.empty());
  expect_invalid("instance_id = \"x\"\n[kms]\nendpoint = \"http://h:1\"\n", "needs 'access_key_id'");
  expect_invalid("instance_id = \"x\"\n[kms]\nkey = \"k\"\n", "[kms] has an unknown key 'key'");
  Config plain;
  plain.instance_id = "y";
  save_config(plain, dir.path() / "plain.toml");
  EXPECT_TRUE(load_config(dir.path() / "plain.toml").kms_endpoint.empty());  // no [kms] written
}

TEST(ConfigTest, AwsAccountRoundTripsAndIsChecked) {
  testing::TempDir dir;
  Config c;
  c.instance_id = "x";
  c.aws = AwsConfig{"111122223333", "eu-west-1", "http://127.0.0.1:1", "", {}};
  c.aws->credentials.access_key_id = "AKIAEXAMPLE";
  c.aws->credentials.secret_file = "/etc/bakrest/aws-secret";
  save_config(c, dir.path() / "instance.toml");
  Config read = load_config(dir.path() / "instance.toml");
  ASSERT_TRUE(read.aws);
  EXPECT_EQ(read.aws->account, "111122223333");
  EXPECT_EQ(read.aws->region_or(read.region), "eu-west-1");
  EXPECT_EQ(read.aws->sts_endpoint, "http://127.0.0.1:1");
  EXPECT_TRUE(read.aws->kms_endpoint.empty());
  EXPECT_EQ(read.aws->credentials.access_key_id, "AKIAEXAMPLE");
  EXPECT_EQ(read.aws->credentials.secret_file, "/etc/bakrest/aws-secret");
  // Only the account is needed: the rest has defaults (the instance's region, AWS's endpoints, the SDKs'
  // credential chain).
  const std::string head = "instance_id = \"x\"\n";
  expect_invalid(head + "[aws]\nregion = \"us-east-1\"\n", "[aws] needs 'account'");
  expect_invalid(head + "[aws]\naccount = \"12345\"\n", "[aws] needs 'account'");
  expect_invalid(head + "[aws]\naccount = \"123456789012\"\n", "is the instance's own account");
  expect_invalid(head + "[aws]\naccount = \"111122223333\"\nrole = \"r\"\n",
                 "[aws] has an unknown key 'role'");
  expect_invalid(head + "[aws]\naccount = \"111122223333\"\nsecret_access_key = \"s\"\n",
                 "[aws]: a secret or session token without 'access_key_id'");
  Config plain;
  plain.instance_id = "y";
  save_config(plain, dir.path() / "plain.toml");
  EXPECT_FALSE(load_config(dir.path() / "plain.toml").aws);
}

TEST(ConfigTest, OptionGroupSeed) {
  testing::TempDir dir;
  std::ofstream(dir.path() / "instance.toml") << "instance_id = \"x\"\n[option_group]\noptions = []\n";
  Config read = load_config(dir.path() / "instance.toml");
  ASSERT_TRUE(read.option_group_seed.has_value());
  EXPECT_EQ(read.option_group_seed->name, "bakrest-backup-restore");
  EXPECT_TRUE(read.option_group_seed->options.empty());
  save_config(read, dir.path() / "again.toml");
  Config again = load_config(dir.path() / "again.toml");
  ASSERT_TRUE(again.option_group_seed.has_value());
  EXPECT_TRUE(again.option_group_seed->options.empty());
  expect_invalid("instance_id = \"x\"\n[option_group]\nrole = \"r\"\n",
                 "[option_group] has an unknown key 'role'");
}

}  // namespace
}  // namespace bakrest::instance
