#include "rds/option_groups.h"

#include <regex>

#include "common/sqlite.h"
#include "common/text.h"
#include "common/utf8.h"

namespace bakrest::rds {

namespace {

[[noreturn]] void not_found(std::string_view name) {
  throw RdsError("OptionGroupNotFoundFault",
                 "Specified OptionGroupName: " + std::string(name) + " not found.", 404);
}

// RDS's rule for option group names: 1 to 255 letters, digits or hyphens, a letter first, no hyphen at the
// end nor two in a row. RDS keeps them in lower case.
std::string checked_name(std::string_view name) {
  static const std::regex pattern("[A-Za-z]([A-Za-z0-9]|-(?!-))*");
  if (name.empty() || name.size() > 255 || name.back() == '-' ||
      !std::regex_match(name.begin(), name.end(), pattern)) {
    throw RdsError(
        "InvalidParameterValue",
        "The parameter OptionGroupName is not a valid identifier. Identifiers must begin with a letter; "
        "must contain only ASCII letters, digits, and hyphens; and must not end with a hyphen or "
        "contain two consecutive hyphens.");
  }
  return ascii_lower(std::string(name));
}

std::optional<std::string> group_key(sqlite::Database& db, std::string_view name) {
  auto find = db.prepare("SELECT name FROM option_groups WHERE name = ?");
  find.bind(1, ascii_lower(std::string(name)));
  if (!find.step()) return std::nullopt;
  return find.get_text(0);
}

OptionGroup read_group(sqlite::Database& db, const std::string& name, const InstanceIdentity& identity) {
  auto row = db.prepare(
      "SELECT name, description, engine_name, major_engine_version FROM option_groups WHERE name = ?");
  row.bind(1, name);
  if (!row.step()) not_found(name);
  OptionGroup g;
  g.name = row.get_text(0);
  g.description = row.get_text(1);
  g.engine_name = row.get_text(2);
  g.major_engine_version = row.get_text(3);
  g.arn = "arn:aws:rds:" + identity.region + ":" + identity.account + ":og:" + g.name;
  auto options = db.prepare(
      "SELECT option_name, iam_role_arn FROM option_group_options WHERE option_group = ? ORDER BY "
      "option_name");
  options.bind(1, g.name);
  while (options.step()) {
    Option o{options.get_text(0), {}};
    if (auto role = options.get_optional_text(1)) o.settings.push_back({kIamRoleArnSetting, *role});
    g.options.push_back(std::move(o));
  }
  return g;
}

// The IAM_ROLE_ARN an included SQLSERVER_BACKUP_RESTORE carries; RdsError for any other option or setting.
std::string role_of(const Option& option) {
  if (option.name != kBackupRestoreOption) {
    throw RdsError("InvalidParameterValue", "Option " + option.name +
                                                " is not available in bakrest: its option groups have "
                                                "SQLSERVER_BACKUP_RESTORE only.");
  }
  std::optional<std::string> role;
  for (const auto& setting : option.settings) {
    if (setting.name != kIamRoleArnSetting) {
      throw RdsError("InvalidParameterValue",
                     "Option setting " + setting.name + " is not valid for option SQLSERVER_BACKUP_RESTORE.");
    }
    role = setting.value;
  }
  if (!role || role->empty()) {
    throw RdsError(
        "InvalidParameterValue",
        "The option SQLSERVER_BACKUP_RESTORE requires a value for the option setting IAM_ROLE_ARN.");
  }
  return *role;
}

}  // namespace

std::string engine_of_edition(std::string_view edition) {
  if (edition == "enterprise") return "sqlserver-ee";
  if (edition == "express") return "sqlserver-ex";
  if (edition == "web") return "sqlserver-web";
  return "sqlserver-se";
}

std::string major_version_of(std::string_view engine_version) {
  return std::string(engine_version.substr(0, engine_version.find('.', engine_version.find('.') + 1)));
}

bool OptionGroups::is_aws_role(std::string_view role_arn) const {
  return !aws_account_.empty() && role_arn.starts_with("arn:aws:iam::" + aws_account_ + ":role/");
}

void OptionGroups::check_role(const std::string& role_arn) const {
  const std::string invalid =
      "IAM role ARN value is invalid or does not include the required permissions for: "
      "SQLSERVER_BACKUP_RESTORE";
  if (is_aws_role(role_arn)) {
    // AWS's role: AWS applies its trust policy when a task assumes it.
    static const std::regex role_name(
        R"(arn:aws:iam::[0-9]{12}:role/([\x21-\x7e]{1,512}/)?[\w+=,.@-]{1,64})");
    if (!std::regex_match(role_arn, role_name))
      throw RdsError("InvalidParameterValue", invalid + " (" + role_arn + " is not an IAM role's ARN).");
    return;
  }
  auto role = roles_.role_policies(role_arn);
  if (!role) throw RdsError("InvalidParameterValue", invalid + " (no role " + role_arn + " exists).");
  iam::Request assume{"sts:AssumeRole",
                      "",
                      {iam::Principal::Type::kService, "rds.amazonaws.com"},
                      {{"aws:SourceArn", identity_.arn()}, {"aws:SourceAccount", identity_.account}}};
  if (role->trust.evaluate(assume) != iam::Effect::kAllow) {
    throw RdsError("InvalidParameterValue",
                   invalid + " (its trust policy does not let rds.amazonaws.com assume it for " +
                       identity_.arn() + " in account " + identity_.account + ").");
  }
}

OptionGroup OptionGroups::create(std::string_view name, std::string_view engine,
                                 std::string_view major_version, std::string_view description, int64_t now) {
  std::string key = checked_name(name);
  // Replies carry it in XML: only text XML can hold.
  if (!is_xml_text(description))
    throw RdsError("InvalidParameterValue",
                   "The option group description must be UTF-8 text without control characters.");
  static const std::regex engines("sqlserver-(ee|se|ex|web)");
  if (!std::regex_match(engine.begin(), engine.end(), engines)) {
    throw RdsError("InvalidParameterValue",
                   "Invalid DB engine: " + std::string(engine) +
                       ". bakrest's option groups are for sqlserver-ee, sqlserver-se, sqlserver-ex and "
                       "sqlserver-web.");
  }
  static const std::regex versions("1[1-6]\\.00");
  if (!std::regex_match(major_version.begin(), major_version.end(), versions)) {
    throw RdsError("InvalidParameterCombination",
                   "Cannot find major version " + std::string(major_version) + " for " + std::string(engine));
  }
  return msdb_.with([&](sqlite::Database& db) {
    if (group_key(db, key))
      throw RdsError("OptionGroupAlreadyExistsFault", "Option group " + key + " already exists.");
    auto insert = db.prepare(
        "INSERT INTO option_groups (name, description, engine_name, major_engine_version, create_date) "
        "VALUES (?, ?, ?, ?, ?)");
    insert.bind(1, key).bind(2, description).bind(3, engine).bind(4, major_version).bind(5, now).run();
    return read_group(db, key, identity_);
  });
}

OptionGroup OptionGroups::modify(std::string_view name, const std::vector<Option>& include,
                                 const std::vector<std::string>& remove) {
  // Checked before msdb is taken: the role lookup takes it too.
  std::vector<std::pair<std::string, std::string>> added;
  for (const Option& option : include) {
    std::string role = role_of(option);
    check_role(role);
    added.emplace_back(option.name, role);
  }
  return msdb_.with([&](sqlite::Database& db) {
    return sqlite::with_transaction(db, [&] {
      auto key = group_key(db, name);
      if (!key) not_found(name);
      for (const std::string& option : remove) {
        auto drop = db.prepare("DELETE FROM option_group_options WHERE option_group = ? AND option_name = ?");
        drop.bind(1, *key).bind(2, option).run();
        if (db.changes() == 0) {
          throw RdsError("InvalidParameterValue",
                         "Option " + option + " does not exist in option group " + *key + ".");
        }
      }
      for (const auto& [option, role] : added) {
        auto put = db.prepare(
            "INSERT OR REPLACE INTO option_group_options (option_group, option_name, iam_role_arn) "
            "VALUES (?, ?, ?)");
        put.bind(1, *key).bind(2, option).bind(3, role).run();
      }
      return read_group(db, *key, identity_);
    });
  });
}

OptionGroup OptionGroups::describe(std::string_view name) const {
  return msdb_.with([&](sqlite::Database& db) {
    auto key = group_key(db, name);
    if (!key) not_found(name);
    return read_group(db, *key, identity_);
  });
}

std::vector<OptionGroup> OptionGroups::list(std::string_view engine, std::string_view major_version) const {
  return msdb_.with([&](sqlite::Database& db) {
    std::vector<std::string> names;
    auto rows = db.prepare(
        "SELECT name FROM option_groups WHERE (?1 = '' OR engine_name = ?1) AND "
        "(?2 = '' OR major_engine_version = ?2) ORDER BY name");
    rows.bind(1, engine).bind(2, major_version);
    while (rows.step()) names.push_back(rows.get_text(0));
    std::vector<OptionGroup> groups;
    for (const auto& n : names) groups.push_back(read_group(db, n, identity_));
    return groups;
  });
}

std::string OptionGroups::instance_group() const {
  return msdb_.with([&](sqlite::Database& db) {
    auto row = db.prepare("SELECT name FROM instance_option_group WHERE id = 1");
    return row.step() ? row.get_text(0) : std::string();
  });
}

void OptionGroups::set_instance_group(std::string_view name) {
  msdb_.with([&](sqlite::Database& db) {
    auto key = group_key(db, name);
    if (!key) not_found(name);
    OptionGroup group = read_group(db, *key, identity_);
    if (group.engine_name != identity_.engine ||
        group.major_engine_version != identity_.major_engine_version) {
      throw RdsError("InvalidParameterCombination",
                     "The option group " + group.name + " is for " + group.engine_name + " " +
                         group.major_engine_version + "; the instance " + identity_.instance_id + " runs " +
                         identity_.engine + " " + identity_.major_engine_version + ".");
    }
    db.prepare("INSERT OR REPLACE INTO instance_option_group (id, name) VALUES (1, ?)").bind(1, *key).run();
  });
}

std::optional<std::string> OptionGroups::backup_restore_role() const {
  return msdb_.with([&](sqlite::Database& db) -> std::optional<std::string> {
    auto row = db.prepare(
        "SELECT o.iam_role_arn FROM instance_option_group i JOIN option_group_options o "
        "ON o.option_group = i.name WHERE i.id = 1 AND o.option_name = ?");
    row.bind(1, kBackupRestoreOption);
    if (!row.step()) return std::nullopt;
    return row.get_text(0);
  });
}

bool OptionGroups::seeded() const { return !instance_group().empty(); }

void OptionGroups::seed(std::string_view name, const std::vector<std::string>& options,
                        const std::string& role_arn, int64_t now) {
  std::vector<Option> include;
  for (const auto& option : options) include.push_back({option, {{kIamRoleArnSetting, role_arn}}});
  for (const Option& option : include) check_role(role_of(option));
  msdb_.with([&](sqlite::Database& db) {
    sqlite::with_transaction(db, [&] {
      // A seed name keeps its case rules loose (an older instance.toml's "default:sqlserver-se-16-00").
      std::string key = ascii_lower(std::string(name));
      db.prepare(
            "INSERT OR IGNORE INTO option_groups (name, description, engine_name, major_engine_version, "
            "create_date) VALUES (?, ?, ?, ?, ?)")
          .bind(1, key)
          .bind(2, "Made at the instance's first start")
          .bind(3, identity_.engine)
          .bind(4, identity_.major_engine_version)
          .bind(5, now)
          .run();
      for (const Option& option : include) {
        db.prepare(
              "INSERT OR REPLACE INTO option_group_options (option_group, option_name, iam_role_arn) "
              "VALUES (?, ?, ?)")
            .bind(1, key)
            .bind(2, option.name)
            .bind(3, role_arn)
            .run();
      }
      db.prepare("INSERT OR REPLACE INTO instance_option_group (id, name) VALUES (1, ?)").bind(1, key).run();
    });
  });
}

}  // namespace bakrest::rds
