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

}  // namespace

bool Config::option_enabled(const std::string& name) const {
  return std::find(options.begin(), options.end(), name) != options.end();
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
    c.option_group = read_string(*group, "name", c.option_group, file);
    c.iam_role_arn = read_string(*group, "iam_role_arn", c.iam_role_arn, file);
    if (const toml::node* options = group->get("options")) {
      const toml::array* list = options->as_array();
      if (!list) throw invalid(file, "'option_group.options' must be an array of strings");
      c.options.clear();
      for (const auto& item : *list) {
        auto value = item.value<std::string>();
        if (!value) throw invalid(file, "'option_group.options' must be an array of strings");
        c.options.push_back(*value);
      }
    }
  }
  if (const toml::table* storage = root["storage"].as_table()) {
    if (const toml::node* limit = storage->get("max_transfer_mb_per_sec")) {
      auto value = limit->value<double>();
      if (!value || *value < 0)
        throw invalid(file, "'storage.max_transfer_mb_per_sec' must be a number >= 0");
      c.max_transfer_mb_per_sec = *value;
    }
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
  if (const toml::node* buckets = root.get("buckets")) {
    const toml::array* list = buckets->as_array();
    if (!list) throw invalid(file, "'buckets' must be an array of tables");
    c.buckets.clear();
    for (const auto& item : *list) {
      const toml::table* bucket = item.as_table();
      if (!bucket) throw invalid(file, "'buckets' must be an array of tables");
      BucketConfig b{read_string(*bucket, "name", "", file), read_string(*bucket, "region", c.region, file)};
      if (b.name.empty()) throw invalid(file, "a bucket has no 'name'");
      c.buckets.push_back(b);
    }
  }
  return c;
}

void save_config(const Config& c, const std::filesystem::path& file) {
  toml::array options;
  for (const auto& o : c.options) options.push_back(o);
  toml::array buckets;
  for (const auto& b : c.buckets) buckets.push_back(toml::table{{"name", b.name}, {"region", b.region}});
  toml::table root{
      {"instance_id", c.instance_id},
      {"region", c.region},
      {"account", c.account},
      {"edition", c.edition},
      {"time_zone", c.time_zone},
      {"server", toml::table{{"host", c.listen_host}, {"port", c.port}}},
      {"option_group",
       toml::table{{"name", c.option_group}, {"options", options}, {"iam_role_arn", c.iam_role_arn}}},
      {"storage", toml::table{{"max_transfer_mb_per_sec", c.max_transfer_mb_per_sec}}},
      {"limits", toml::table{{"max_database_gb", c.max_database_gb},
                             {"max_connections", c.max_connections},
                             {"max_request_mb", c.max_request_mb},
                             {"max_buffered_request_mb", c.max_buffered_request_mb},
                             {"login_timeout_seconds", c.login_timeout_seconds}}},
      {"buckets", buckets},
  };
  std::ostringstream text;
  text << "# bakrest instance configuration (see docs/OPERATIONS.md)\n" << root << "\n";

  std::string bytes = text.str();
  replace_file_durably(file, std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
}

}  // namespace bakrest::instance
