#include "iam/role_store.h"

#include <algorithm>
#include <cctype>
#include <regex>

#include "common/ids.h"
#include "common/text.h"
#include "common/utf8.h"

namespace bakrest::iam {

namespace {

// IAM's quotas (IAM User Guide, "IAM and AWS STS quotas"): characters other than white space count.
constexpr size_t kTrustPolicyChars = 2048;
constexpr size_t kInlinePolicyCharsPerRole = 10240;
constexpr size_t kManagedPolicyChars = 6144;
constexpr size_t kAttachedPoliciesPerRole = 10;

size_t counted_chars(std::string_view document) {
  return static_cast<size_t>(std::count_if(
      document.begin(), document.end(), [](char c) { return !std::isspace(static_cast<unsigned char>(c)); }));
}

void check_name(std::string_view value, const char* member, size_t max) {
  static const std::regex name(R"([\w+=,.@-]+)");
  if (value.empty() || value.size() > max || !std::regex_match(value.begin(), value.end(), name))
    throw IamError("ValidationError", "1 validation error detected: Value '" + std::string(value) + "' at '" +
                                          member +
                                          "' failed to satisfy constraint: Member must satisfy regular "
                                          "expression pattern: [\\w+=,.@-]+ and have length between 1 and " +
                                          std::to_string(max));
}

// IAM's rule for a role's or policy's description: at most 1,000 characters of tab, line feed, carriage
// return, U+0020..U+007E and U+00A1..U+00FF.
void check_description(std::string_view description) {
  size_t characters = 0;
  for (size_t i = 0; i < description.size(); ++characters) {
    const char32_t c = next_code_point(description, i);
    const bool allowed =
        c == 0x09 || c == 0x0A || c == 0x0D || (c >= 0x20 && c <= 0x7E) || (c >= 0xA1 && c <= 0xFF);
    if (!allowed)
      throw IamError(
          "ValidationError",
          "1 validation error detected: Value at 'description' failed to satisfy constraint: Member "
          "must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u007E\\u00A1-\\u00FF]*");
  }
  if (characters > 1000)
    throw IamError("ValidationError",
                   "1 validation error detected: Value at 'description' failed to satisfy "
                   "constraint: Member must have length less than or equal to 1000");
}

void check_path(std::string_view path) {
  static const std::regex pattern(R"(/|/[\x21-\x7E]*/)");
  if (path.size() > 512 || !std::regex_match(path.begin(), path.end(), pattern))
    throw IamError("ValidationError",
                   "The specified value for path is invalid. It must begin and end with / and "
                   "contain only alphanumeric characters and/or / characters.");
}

Policy checked(std::string_view document, PolicyKind kind) {
  try {
    return Policy::parse(document, kind);
  } catch (const MalformedPolicy& e) {
    throw IamError("MalformedPolicyDocument", e.what());
  }
}

// "AROA" or "ANPA" and 17 random characters of A-Z and 0-9, as IAM's unique IDs look.
std::string unique_id(std::string_view prefix) {
  return std::string(prefix) + ascii_upper(random_hex(9)).substr(0, 17);
}

[[noreturn]] void no_role(std::string_view name) {
  throw IamError("NoSuchEntity", "The role with name " + std::string(name) + " cannot be found.", 404);
}

[[noreturn]] void no_policy(std::string_view arn) {
  throw IamError("NoSuchEntity", "Policy " + std::string(arn) + " does not exist or is not attachable.", 404);
}

constexpr const char* kRoleColumns =
    "name, path, role_id, description, trust_policy, max_session_duration, create_date";

Role read_role(const sqlite::Statement& row, const RoleStore& store) {
  Role r;
  r.name = row.get_text(0);
  r.path = row.get_text(1);
  r.role_id = row.get_text(2);
  r.description = row.get_text(3);
  r.trust_policy = row.get_text(4);
  r.max_session_duration = static_cast<int>(row.get_int(5));
  r.create_date = row.get_int(6);
  r.arn = store.role_arn(r.path, r.name);
  return r;
}

std::optional<Role> find_role(sqlite::Database& db, std::string_view name, const RoleStore& store) {
  auto row = db.prepare(std::string("SELECT ") + kRoleColumns + " FROM iam_roles WHERE name = ?");
  if (!row.bind(1, name).step()) return std::nullopt;
  return read_role(row, store);
}

Role must_find_role(sqlite::Database& db, std::string_view name, const RoleStore& store) {
  auto role = find_role(db, name, store);
  if (!role) no_role(name);
  return *role;
}

constexpr const char* kPolicyColumns =
    "name, path, policy_id, description, document, create_date, "
    "(SELECT count(*) FROM iam_role_attachments a WHERE a.policy = p.name)";

ManagedPolicy read_policy(const sqlite::Statement& row, const RoleStore& store) {
  ManagedPolicy p;
  p.name = row.get_text(0);
  p.path = row.get_text(1);
  p.policy_id = row.get_text(2);
  p.description = row.get_text(3);
  p.document = row.get_text(4);
  p.create_date = row.get_int(5);
  p.attachment_count = static_cast<int>(row.get_int(6));
  p.arn = store.policy_arn(p.path, p.name);
  return p;
}

// The managed policy an ARN names (this account's, customer managed).
ManagedPolicy must_find_policy(sqlite::Database& db, std::string_view arn, const RoleStore& store) {
  auto row = db.prepare(std::string("SELECT ") + kPolicyColumns + " FROM iam_policies p");
  while (row.step()) {
    ManagedPolicy p = read_policy(row, store);
    if (p.arn == arn) return p;
  }
  no_policy(arn);
}

}  // namespace

std::string RoleStore::role_arn(std::string_view path, std::string_view name) const {
  return "arn:aws:iam::" + account_ + ":role" + std::string(path) + std::string(name);
}

std::string RoleStore::policy_arn(std::string_view path, std::string_view name) const {
  return "arn:aws:iam::" + account_ + ":policy" + std::string(path) + std::string(name);
}

Role RoleStore::create_role(std::string_view name, std::string_view trust_policy, std::string_view path,
                            std::string_view description, int max_session_duration, int64_t now) {
  check_name(name, "roleName", 64);
  check_path(path);
  check_description(description);
  if (max_session_duration < 3600 || max_session_duration > 43200)
    throw IamError("ValidationError",
                   "1 validation error detected: Value '" + std::to_string(max_session_duration) +
                       "' at 'maxSessionDuration' failed to satisfy constraint: Member must "
                       "have value between 3600 and 43200");
  if (counted_chars(trust_policy) > kTrustPolicyChars)
    throw IamError("LimitExceeded",
                   "Cannot exceed quota for ACLSizePerRole: " + std::to_string(kTrustPolicyChars), 409);
  checked(trust_policy, PolicyKind::kTrust);
  return msdb_.with([&](sqlite::Database& db) {
    if (find_role(db, name, *this))
      throw IamError("EntityAlreadyExists", "Role with name " + std::string(name) + " already exists.", 409);
    db.prepare(std::string("INSERT INTO iam_roles (") + kRoleColumns + ") VALUES (?, ?, ?, ?, ?, ?, ?)")
        .bind(1, name)
        .bind(2, path)
        .bind(3, unique_id("AROA"))
        .bind(4, description)
        .bind(5, trust_policy)
        .bind(6, max_session_duration)
        .bind(7, now)
        .run();
    return must_find_role(db, name, *this);
  });
}

Role RoleStore::get_role(std::string_view name) const {
  return msdb_.with([&](sqlite::Database& db) { return must_find_role(db, name, *this); });
}

std::vector<Role> RoleStore::list_roles(std::string_view path_prefix) const {
  return msdb_.with([&](sqlite::Database& db) {
    std::vector<Role> out;
    auto rows = db.prepare(std::string("SELECT ") + kRoleColumns + " FROM iam_roles ORDER BY name");
    while (rows.step()) {
      Role r = read_role(rows, *this);
      if (r.path.starts_with(path_prefix)) out.push_back(std::move(r));
    }
    return out;
  });
}

void RoleStore::delete_role(std::string_view name) {
  msdb_.with([&](sqlite::Database& db) {
    Role r = must_find_role(db, name, *this);
    if (db.prepare("SELECT 1 FROM iam_role_policies WHERE role = ?").bind(1, r.name).step())
      throw IamError("DeleteConflict", "Cannot delete entity, must delete policies first.", 409);
    if (db.prepare("SELECT 1 FROM iam_role_attachments WHERE role = ?").bind(1, r.name).step())
      throw IamError("DeleteConflict", "Cannot delete entity, must detach all policies first.", 409);
    db.prepare("DELETE FROM iam_roles WHERE name = ?").bind(1, r.name).run();
  });
}

void RoleStore::update_trust_policy(std::string_view role, std::string_view trust_policy) {
  if (counted_chars(trust_policy) > kTrustPolicyChars)
    throw IamError("LimitExceeded",
                   "Cannot exceed quota for ACLSizePerRole: " + std::to_string(kTrustPolicyChars), 409);
  checked(trust_policy, PolicyKind::kTrust);
  msdb_.with([&](sqlite::Database& db) {
    Role r = must_find_role(db, role, *this);
    db.prepare("UPDATE iam_roles SET trust_policy = ? WHERE name = ?")
        .bind(1, trust_policy)
        .bind(2, r.name)
        .run();
  });
}

void RoleStore::put_role_policy(std::string_view role, std::string_view policy_name,
                                std::string_view document) {
  check_name(policy_name, "policyName", 128);
  checked(document, PolicyKind::kPermissions);
  msdb_.with([&](sqlite::Database& db) {
    Role r = must_find_role(db, role, *this);
    // The quota is on all of a role's inline policies together, this one as it will be.
    size_t total = counted_chars(document);
    auto others = db.prepare("SELECT document FROM iam_role_policies WHERE role = ? AND name <> ?");
    others.bind(1, r.name).bind(2, policy_name);
    while (others.step()) total += counted_chars(others.get_text(0));
    if (total > kInlinePolicyCharsPerRole)
      throw IamError("LimitExceeded",
                     "Maximum policy size of " + std::to_string(kInlinePolicyCharsPerRole) +
                         " bytes exceeded for role " + r.name,
                     409);
    db.prepare("INSERT OR REPLACE INTO iam_role_policies (role, name, document) VALUES (?, ?, ?)")
        .bind(1, r.name)
        .bind(2, policy_name)
        .bind(3, document)
        .run();
  });
}

std::string RoleStore::get_role_policy(std::string_view role, std::string_view policy_name) const {
  return msdb_.with([&](sqlite::Database& db) {
    Role r = must_find_role(db, role, *this);
    auto row = db.prepare("SELECT document FROM iam_role_policies WHERE role = ? AND name = ?");
    if (!row.bind(1, r.name).bind(2, policy_name).step())
      throw IamError("NoSuchEntity",
                     "The role policy with name " + std::string(policy_name) + " cannot be found.", 404);
    return row.get_text(0);
  });
}

void RoleStore::delete_role_policy(std::string_view role, std::string_view policy_name) {
  msdb_.with([&](sqlite::Database& db) {
    Role r = must_find_role(db, role, *this);
    db.prepare("DELETE FROM iam_role_policies WHERE role = ? AND name = ?")
        .bind(1, r.name)
        .bind(2, policy_name)
        .run();
    if (db.changes() == 0)
      throw IamError("NoSuchEntity",
                     "The role policy with name " + std::string(policy_name) + " cannot be found.", 404);
  });
}

std::vector<std::string> RoleStore::list_role_policies(std::string_view role) const {
  return msdb_.with([&](sqlite::Database& db) {
    Role r = must_find_role(db, role, *this);
    std::vector<std::string> out;
    auto rows = db.prepare("SELECT name FROM iam_role_policies WHERE role = ? ORDER BY name");
    rows.bind(1, r.name);
    while (rows.step()) out.push_back(rows.get_text(0));
    return out;
  });
}

ManagedPolicy RoleStore::create_policy(std::string_view name, std::string_view document,
                                       std::string_view path, std::string_view description, int64_t now) {
  check_name(name, "policyName", 128);
  check_path(path);
  check_description(description);
  if (counted_chars(document) > kManagedPolicyChars)
    throw IamError("LimitExceeded",
                   "Cannot exceed quota for PolicySize: " + std::to_string(kManagedPolicyChars), 409);
  checked(document, PolicyKind::kPermissions);
  return msdb_.with([&](sqlite::Database& db) {
    if (db.prepare("SELECT 1 FROM iam_policies WHERE name = ?").bind(1, name).step())
      throw IamError(
          "EntityAlreadyExists",
          "A policy called " + std::string(name) + " already exists. Duplicate names are not allowed.", 409);
    db.prepare(
          "INSERT INTO iam_policies (name, path, policy_id, description, document, create_date) VALUES (?, "
          "?, ?, ?, "
          "?, ?)")
        .bind(1, name)
        .bind(2, path)
        .bind(3, unique_id("ANPA"))
        .bind(4, description)
        .bind(5, document)
        .bind(6, now)
        .run();
    return must_find_policy(db, policy_arn(path, name), *this);
  });
}

ManagedPolicy RoleStore::get_policy(std::string_view arn) const {
  return msdb_.with([&](sqlite::Database& db) { return must_find_policy(db, arn, *this); });
}

void RoleStore::delete_policy(std::string_view arn) {
  msdb_.with([&](sqlite::Database& db) {
    ManagedPolicy p = must_find_policy(db, arn, *this);
    if (p.attachment_count > 0)
      throw IamError("DeleteConflict", "Cannot delete a policy attached to entities.", 409);
    db.prepare("DELETE FROM iam_policies WHERE name = ?").bind(1, p.name).run();
  });
}

void RoleStore::attach_role_policy(std::string_view role, std::string_view policy_arn_text) {
  msdb_.with([&](sqlite::Database& db) {
    Role r = must_find_role(db, role, *this);
    ManagedPolicy p = must_find_policy(db, policy_arn_text, *this);
    auto count = db.prepare("SELECT count(*) FROM iam_role_attachments WHERE role = ? AND policy <> ?");
    count.bind(1, r.name).bind(2, p.name).step();
    if (static_cast<size_t>(count.get_int(0)) >= kAttachedPoliciesPerRole)
      throw IamError("LimitExceeded",
                     "Cannot exceed quota for PoliciesPerRole: " + std::to_string(kAttachedPoliciesPerRole),
                     409);
    db.prepare("INSERT OR IGNORE INTO iam_role_attachments (role, policy) VALUES (?, ?)")
        .bind(1, r.name)
        .bind(2, p.name)
        .run();
  });
}

void RoleStore::detach_role_policy(std::string_view role, std::string_view policy_arn_text) {
  msdb_.with([&](sqlite::Database& db) {
    Role r = must_find_role(db, role, *this);
    ManagedPolicy p = must_find_policy(db, policy_arn_text, *this);
    db.prepare("DELETE FROM iam_role_attachments WHERE role = ? AND policy = ?")
        .bind(1, r.name)
        .bind(2, p.name)
        .run();
    if (db.changes() == 0) throw IamError("NoSuchEntity", "Policy " + p.arn + " was not found.", 404);
  });
}

std::vector<ManagedPolicy> RoleStore::list_attached_role_policies(std::string_view role) const {
  return msdb_.with([&](sqlite::Database& db) {
    Role r = must_find_role(db, role, *this);
    std::vector<ManagedPolicy> out;
    auto rows =
        db.prepare(std::string("SELECT ") + kPolicyColumns +
                   " FROM iam_policies p JOIN iam_role_attachments a ON a.policy = p.name WHERE a.role = ? "
                   "ORDER BY p.name");
    rows.bind(1, r.name);
    while (rows.step()) out.push_back(read_policy(rows, *this));
    return out;
  });
}

std::optional<RolePolicies> RoleStore::role_policies(std::string_view arn) const {
  return msdb_.with([&](sqlite::Database& db) -> std::optional<RolePolicies> {
    std::optional<Role> role;
    auto rows = db.prepare(std::string("SELECT ") + kRoleColumns + " FROM iam_roles");
    while (rows.step() && !role) {
      Role r = read_role(rows, *this);
      if (r.arn == arn) role = std::move(r);
    }
    if (!role) return std::nullopt;
    RolePolicies out{*role, Policy::parse(role->trust_policy, PolicyKind::kTrust), {}};
    auto inline_docs = db.prepare("SELECT document FROM iam_role_policies WHERE role = ? ORDER BY name");
    inline_docs.bind(1, role->name);
    while (inline_docs.step())
      out.permissions.push_back(Policy::parse(inline_docs.get_text(0), PolicyKind::kPermissions));
    auto attached = db.prepare(
        "SELECT p.document FROM iam_policies p JOIN iam_role_attachments a ON a.policy = p.name WHERE a.role "
        "= ? "
        "ORDER BY p.name");
    attached.bind(1, role->name);
    while (attached.step())
      out.permissions.push_back(Policy::parse(attached.get_text(0), PolicyKind::kPermissions));
    return out;
  });
}

}  // namespace bakrest::iam
