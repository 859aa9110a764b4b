#include "instance/config.h"

#include <toml++/toml.h>
#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "common/durable_file.h"
#include "common/ids.h"

namespace bakrest::instance {

namespace {

const char* const kEditions[] = {"express", "web", "standard", "enterprise"};

std::runtime_error invalid(const std::filesystem::path& file, const std::string& what) {
  return std::runtime_error(file.string() + ": " + what);
}

std::string read_string(const toml::table& t, const char* key, const std::string& fallback,
                        const std::filesystem::path& file) {
  const toml::node* node = t.get(key);
  if (!node) return fallback;
  auto value = node->value<std::string>();
  if (!value) throw invalid(file, std::string("'") + key + "' must be a string");
  return *value;
}

// The keys a [[buckets]] table may have; any other is refused, never ignored.
const char* const kLocalBucketKeys[] = {"name", "region", "type"};
const char* const kS3BucketKeys[] = {"name",
                                     "region",
                                     "type",
                                     "endpoint",
                                     "addressing",
                                     "verify_tls",
                                     "ca_file",
                                     "conditional_writes",
                                     "access_key_id",
                                     "secret_access_key",
                                     "secret_file",
                                     "session_token",
                                     "profile",
                                     "part_size_mb",
                                     "parts_in_flight",
                                     "max_buffer_mb",
                                     "read_chunk_mb",
                                     "max_attempts",
                                     "retry_seconds",
                                     "parts_per_size",
                                     "connect_timeout_seconds",
                                     "low_speed_seconds"};

const char* const kTlsKeys[] = {"certificate_file", "key_file", "force_encryption"};
const char* const kBackupKeys[] = {"threads", "zstd_level"};
const char* const kControlKeys[] = {"enabled", "host", "port", "tls"};
const char* const kOptionGroupKeys[] = {"name", "options", "iam_role_arn"};
const char* const kKmsKeys[] = {"endpoint", "region", "access_key_id", "secret_access_key"};
const char* const kAwsKeys[] = {"account",      "region",        "sts_endpoint",
                                "kms_endpoint", "access_key_id", "secret_access_key",
                                "secret_file",  "session_token", "profile"};

template <size_t N>
void refuse_unknown_keys(const toml::table& t, const char* const (&known)[N], const std::string& where,
                         const std::filesystem::path& file) {
  for (const auto& entry : t) {
    const std::string_view key = entry.first.str();
    if (std::find_if(std::begin(known), std::end(known), [&](const char* k) { return key == k; }) ==
        std::end(known)) {
      throw invalid(file, where + " has an unknown key '" + std::string(key) + "'");
    }
  }
}

bool read_bool(const toml::table& t, const char* key, bool fallback, const std::filesystem::path& file,
               const std::string& where) {
  const toml::node* node = t.get(key);
  if (!node) return fallback;
  auto value = node->value<bool>();
  if (!value) throw invalid(file, where + ": '" + key + "' must be true or false");
  return *value;
}

int read_int_in(const toml::table& t, const char* key, int fallback, int low, int high,
                const std::filesystem::path& file, const std::string& where) {
  const toml::node* node = t.get(key);
  if (!node) return fallback;
  auto value = node->value<int64_t>();
  if (!value || *value < low || *value > high) {
    throw invalid(file, where + ": '" + key + "' must be an integer in " + std::to_string(low) + ".." +
                            std::to_string(high));
  }
  return static_cast<int>(*value);
}

// access_key_id, secret_access_key or secret_file, session_token, profile: keys as the AWS SDKs take them.
storage::CredentialSettings read_credentials(const toml::table& t, const std::filesystem::path& file,
                                             const std::string& where) {
  storage::CredentialSettings k;
  k.access_key_id = read_string(t, "access_key_id", "", file);
  k.secret_access_key = read_string(t, "secret_access_key", "", file);
  k.secret_file = read_string(t, "secret_file", "", file);
  k.session_token = read_string(t, "session_token", "", file);
  k.profile = read_string(t, "profile", "", file);
  if (k.access_key_id.empty() &&
      !(k.secret_access_key.empty() && k.secret_file.empty() && k.session_token.empty()))
    throw invalid(file, where + ": a secret or session token without 'access_key_id'");
  if (!k.secret_access_key.empty() && !k.secret_file.empty())
    throw invalid(file, where + ": both 'secret_access_key' and 'secret_file'");
  return k;
}

void insert_credentials(toml::table& t, const storage::CredentialSettings& k) {
  if (!k.access_key_id.empty()) t.insert("access_key_id", k.access_key_id);
  if (!k.secret_access_key.empty()) t.insert("secret_access_key", k.secret_access_key);
  if (!k.secret_file.empty()) t.insert("secret_file", k.secret_file);
  if (!k.session_token.empty()) t.insert("session_token", k.session_token);
  if (!k.profile.empty()) t.insert("profile", k.profile);
}

BucketConfig read_bucket(const toml::table& t, const std::string& default_region,
                         const std::filesystem::path& file) {
  BucketConfig b{read_string(t, "name", "", file), read_string(t, "region", default_region, file), {}};
  if (b.name.empty()) throw invalid(file, "a bucket has no 'name'");
  const std::string where = "bucket '" + b.name + "'";
  const std::string type = read_string(t, "type", "local", file);
  if (type == "local") {
    refuse_unknown_keys(t, kLocalBucketKeys, where + " (type \"local\")", file);
    return b;
  }
  if (type != "s3") throw invalid(file, where + ": type '" + type + "' is not \"local\" or \"s3\"");
  refuse_unknown_keys(t, kS3BucketKeys, where, file);
  storage::S3Settings s;
  s.bucket = b.name;
  s.region = b.region;
  s.endpoint = read_string(t, "endpoint", "", file);
  const std::string addressing = read_string(t, "addressing", "path", file);
  if (addressing != "path" && addressing != "virtual") {
    throw invalid(file, where + ": addressing '" + addressing + "' is not \"path\" or \"virtual\"");
  }
  s.virtual_addressing = addressing == "virtual";
  s.http.verify_tls = read_bool(t, "verify_tls", true, file, where);
  s.http.ca_file = read_string(t, "ca_file", "", file);
  s.conditional_writes = read_bool(t, "conditional_writes", s.conditional_writes, file, where);
  s.credentials = read_credentials(t, file, where);
  s.part_size_mb = read_int_in(t, "part_size_mb", s.part_size_mb, 5, 5120, file, where);
  s.parts_in_flight = read_int_in(t, "parts_in_flight", s.parts_in_flight, 1, 64, file, where);
  s.max_buffer_mb = read_int_in(t, "max_buffer_mb", s.max_buffer_mb, 10, 1 << 20, file, where);
  s.read_chunk_mb = read_int_in(t, "read_chunk_mb", s.read_chunk_mb, 1, 1024, file, where);
  s.max_attempts = read_int_in(t, "max_attempts", s.max_attempts, 1, 100, file, where);
  s.retry_seconds = read_int_in(t, "retry_seconds", s.retry_seconds, 0, 86400, file, where);
  s.parts_per_size = read_int_in(t, "parts_per_size", s.parts_per_size, 1, 10000, file, where);
  s.http.connect_timeout_ms =
      1000L * read_int_in(t, "connect_timeout_seconds", static_cast<int>(s.http.connect_timeout_ms / 1000), 1,
                          600, file, where);
  s.http.low_speed_seconds =
      read_int_in(t, "low_speed_seconds", static_cast<int>(s.http.low_speed_seconds), 1, 3600, file, where);
  b.s3 = std::move(s);
  return b;
}

toml::table bucket_table(const BucketConfig& b) {
  toml::table t{{"name", b.name}, {"region", b.region}};
  if (!b.s3) return t;
  const storage::S3Settings& s = *b.s3;
  t.insert("type", "s3");
  if (!s.endpoint.empty()) t.insert("endpoint", s.endpoint);
  t.insert("addressing", s.virtual_addressing ? "virtual" : "path");
  t.insert("verify_tls", s.http.verify_tls);
  if (!s.http.ca_file.empty()) t.insert("ca_file", s.http.ca_file);
  t.insert("conditional_writes", s.conditional_writes);
  insert_credentials(t, s.credentials);
  t.insert("part_size_mb", s.part_size_mb);
  t.insert("parts_in_flight", s.parts_in_flight);
  t.insert("max_buffer_mb", s.max_buffer_mb);
  t.insert("read_chunk_mb", s.read_chunk_mb);
  t.insert("max_attempts", s.max_attempts);
  t.insert("retry_seconds", s.retry_seconds);
  t.insert("parts_per_size", s.parts_per_size);
  t.insert("connect_timeout_seconds", static_cast<int64_t>(s.http.connect_timeout_ms / 1000));
  t.insert("low_speed_seconds", static_cast<int64_t>(s.http.low_speed_seconds));
  return t;
}

}  // namespace

ProductVersion Config::product() const {
  return ProductVersion::parse(engine_version, edition).value_or(ProductVersion{});
}

uint64_t Config::max_database_bytes() const {
  constexpr uint64_t kGb = uint64_t{1} << 30;
  uint64_t gb = static_cast<uint64_t>(max_database_gb);
  if (edition == "express") gb = std::min<uint64_t>(gb, 10);
  return gb * kGb;
}

Config load_config(const std::filesystem::path& file) {
  toml::table root;
  try {
    root = toml::parse_file(file.string());
  } catch (const toml::parse_error& e) {
    std::ostringstream where;
    where << e.source().begin;
    throw invalid(file, std::string(e.description()) + " at " + where.str());
  }
  Config c;
  c.instance_id = read_string(root, "instance_id", "", file);
  c.region = read_string(root, "region", c.region, file);
  c.account = read_string(root, "account", c.account, file);
  c.edition = read_string(root, "edition", c.edition, file);
  c.time_zone = read_string(root, "time_zone", c.time_zone, file);
  c.engine_version = read_string(root, "engine_version", c.engine_version, file);
  if (!ProductVersion::parse(c.engine_version, c.edition)) {
    throw invalid(
        file,
        "engine_version '" + c.engine_version +
            "' is not an RDS for SQL Server engine version like 15.00.4153.1.v1 (major version 11 to 16)");
  }
  if (c.instance_id.empty()) throw invalid(file, "'instance_id' is missing");
  if (std::find(std::begin(kEditions), std::end(kEditions), c.edition) == std::end(kEditions)) {
    throw invalid(file, "edition '" + c.edition + "' is not one of express, web, standard, enterprise");
  }
  if (c.time_zone != "UTC")
    throw invalid(file, "time_zone '" + c.time_zone + "' is not supported yet (only UTC)");

  if (const toml::table* server = root["server"].as_table()) {
    c.listen_host = read_string(*server, "host", c.listen_host, file);
    if (const toml::node* port = server->get("port")) {
      auto value = port->value<int64_t>();
      if (!value || *value < 0 || *value > 65535) throw invalid(file, "'server.port' must be 0..65535");
      c.port = static_cast<int>(*value);
    }
  }
  if (const toml::table* group = root["option_group"].as_table()) {
    refuse_unknown_keys(*group, kOptionGroupKeys, "[option_group]", file);
    OptionGroupSeed seed;
    seed.name = read_string(*group, "name", seed.name, file);
    seed.iam_role_arn = read_string(*group, "iam_role_arn", seed.iam_role_arn, file);
    if (const toml::node* options = group->get("options")) {
      const toml::array* list = options->as_array();
      if (!list) throw invalid(file, "'option_group.options' must be an array of strings");
      seed.options.clear();
      for (const auto& item : *list) {
        auto value = item.value<std::string>();
        if (!value) throw invalid(file, "'option_group.options' must be an array of strings");
        seed.options.push_back(*value);
      }
    }
    c.option_group_seed = std::move(seed);
  }
  if (const toml::table* storage = root["storage"].as_table()) {
    if (const toml::node* limit = storage->get("max_transfer_mb_per_sec")) {
      auto value = limit->value<double>();
      if (!value || *value < 0)
        throw invalid(file, "'storage.max_transfer_mb_per_sec' must be a number >= 0");
      c.max_transfer_mb_per_sec = *value;
    }
  }
  if (const toml::table* backup = root["backup"].as_table()) {
    refuse_unknown_keys(*backup, kBackupKeys, "[backup]", file);
    c.backup_threads = read_int_in(*backup, "threads", c.backup_threads, 0, 64, file, "[backup]");
    c.zstd_level = read_int_in(*backup, "zstd_level", c.zstd_level, 1, 19, file, "[backup]");
  }
  if (const toml::table* limits = root["limits"].as_table()) {
    // An integer in [low, high] or the fallback; anything else stops the server naming the key.
    auto read_int = [&](const char* key, int64_t fallback, int64_t low, int64_t high) {
      const toml::node* node = limits->get(key);
      if (!node) return fallback;
      auto value = node->value<int64_t>();
      if (!value || *value < low || *value > high) {
        throw invalid(file, std::string("'limits.") + key + "' must be an integer in " + std::to_string(low) +
                                ".." + std::to_string(high));
      }
      return *value;
    };
    c.max_database_gb = read_int("max_database_gb", c.max_database_gb, 1, 1 << 20);
    c.max_connections = static_cast<int>(read_int("max_connections", c.max_connections, 1, 32767));
    c.max_request_mb = read_int("max_request_mb", c.max_request_mb, 1, 1024);
    c.max_buffered_request_mb = read_int("max_buffered_request_mb", c.max_buffered_request_mb, 1, 1 << 20);
    c.login_timeout_seconds =
        static_cast<int>(read_int("login_timeout_seconds", c.login_timeout_seconds, 1, 3600));
    if (c.max_buffered_request_mb < c.max_request_mb) {
      throw invalid(file, "'limits.max_buffered_request_mb' must be at least 'limits.max_request_mb'");
    }
  }
  if (const toml::table* control = root["control"].as_table()) {
    refuse_unknown_keys(*control, kControlKeys, "[control]", file);
    c.control_enabled = read_bool(*control, "enabled", c.control_enabled, file, "[control]");
    c.control_host = read_string(*control, "host", c.control_host, file);
    c.control_port = read_int_in(*control, "port", c.control_port, 0, 65535, file, "[control]");
    c.control_tls = read_bool(*control, "tls", c.control_tls, file, "[control]");
  }
  if (const toml::table* kms = root["kms"].as_table()) {
    refuse_unknown_keys(*kms, kKmsKeys, "[kms]", file);
    c.kms_endpoint = read_string(*kms, "endpoint", "", file);
    c.kms_region = read_string(*kms, "region", "", file);
    c.kms_access_key_id = read_string(*kms, "access_key_id", "", file);
    c.kms_secret_access_key = read_string(*kms, "secret_access_key", "", file);
    if (!c.kms_endpoint.empty() && (c.kms_access_key_id.empty() || c.kms_secret_access_key.empty()))
      throw invalid(file, "[kms] with an endpoint needs 'access_key_id' and 'secret_access_key'");
  }
  if (const toml::table* aws = root["aws"].as_table()) {
    refuse_unknown_keys(*aws, kAwsKeys, "[aws]", file);
    AwsConfig a;
    a.account = read_string(*aws, "account", "", file);
    if (a.account.size() != 12 || a.account.find_first_not_of("0123456789") != std::string::npos)
      throw invalid(file, "[aws] needs 'account', an AWS account ID of 12 digits");
    if (a.account == c.account)
      throw invalid(file, "[aws] account " + a.account +
                              " is the instance's own account: its roles and keys are the instance's");
    a.region = read_string(*aws, "region", "", file);
    a.sts_endpoint = read_string(*aws, "sts_endpoint", "", file);
    a.kms_endpoint = read_string(*aws, "kms_endpoint", "", file);
    a.credentials = read_credentials(*aws, file, "[aws]");
    c.aws = std::move(a);
  }
  if (const toml::table* tls = root["tls"].as_table()) {
    refuse_unknown_keys(*tls, kTlsKeys, "[tls]", file);
    c.tls_certificate_file = read_string(*tls, "certificate_file", "", file);
    c.tls_key_file = read_string(*tls, "key_file", "", file);
    c.force_encryption = read_bool(*tls, "force_encryption", false, file, "[tls]");
    if (c.tls_certificate_file.empty() != c.tls_key_file.empty()) {
      throw invalid(file, "[tls] needs both 'certificate_file' and 'key_file', or neither");
    }
  }
  if (const toml::node* buckets = root.get("buckets")) {
    const toml::array* list = buckets->as_array();
    if (!list) throw invalid(file, "'buckets' must be an array of tables");
    c.buckets.clear();
    for (const auto& item : *list) {
      const toml::table* bucket = item.as_table();
      if (!bucket) throw invalid(file, "'buckets' must be an array of tables");
      BucketConfig b = read_bucket(*bucket, c.region, file);
      for (const auto& other : c.buckets) {
        if (other.name == b.name) throw invalid(file, "the bucket '" + b.name + "' is configured twice");
      }
      c.buckets.push_back(std::move(b));
    }
  }
  return c;
}

void save_config(const Config& c, const std::filesystem::path& file) {
  toml::array buckets;
  for (const auto& b : c.buckets) buckets.push_back(bucket_table(b));
  toml::table tls{{"force_encryption", c.force_encryption}};
  if (!c.tls_certificate_file.empty()) {
    tls.insert("certificate_file", c.tls_certificate_file);
    tls.insert("key_file", c.tls_key_file);
  }
  toml::table root{
      {"instance_id", c.instance_id},
      {"region", c.region},
      {"account", c.account},
      {"edition", c.edition},
      {"engine_version", c.engine_version},
      {"time_zone", c.time_zone},
      {"server", toml::table{{"host", c.listen_host}, {"port", c.port}}},
      {"storage", toml::table{{"max_transfer_mb_per_sec", c.max_transfer_mb_per_sec}}},
      {"backup", toml::table{{"threads", c.backup_threads}, {"zstd_level", c.zstd_level}}},
      {"limits", toml::table{{"max_database_gb", c.max_database_gb},
                             {"max_connections", c.max_connections},
                             {"max_request_mb", c.max_request_mb},
                             {"max_buffered_request_mb", c.max_buffered_request_mb},
                             {"login_timeout_seconds", c.login_timeout_seconds}}},
      {"tls", tls},
      {"control", toml::table{{"enabled", c.control_enabled},
                              {"host", c.control_host},
                              {"port", c.control_port},
                              {"tls", c.control_tls}}},
      {"buckets", buckets},
  };
  if (!c.kms_endpoint.empty()) {
    root.insert("kms", toml::table{{"endpoint", c.kms_endpoint},
                                   {"region", c.kms_region},
                                   {"access_key_id", c.kms_access_key_id},
                                   {"secret_access_key", c.kms_secret_access_key}});
  }
  if (const auto& a = c.aws) {
    toml::table t{{"account", a->account}};
    if (!a->region.empty()) t.insert("region", a->region);
    if (!a->sts_endpoint.empty()) t.insert("sts_endpoint", a->sts_endpoint);
    if (!a->kms_endpoint.empty()) t.insert("kms_endpoint", a->kms_endpoint);
    insert_credentials(t, a->credentials);
    root.insert("aws", t);
  }
  if (const auto& seed = c.option_group_seed) {
    toml::array options;
    for (const auto& o : seed->options) options.push_back(o);
    root.insert(
        "option_group",
        toml::table{{"name", seed->name}, {"options", options}, {"iam_role_arn", seed->iam_role_arn}});
  }
  std::ostringstream text;
  text << "# bakrest instance configuration (see docs/OPERATIONS.md)\n" << root << "\n";

  std::string bytes = text.str();
  replace_file_durably(file, std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
}

}  // namespace bakrest::instance
