// IAM roles and policies as the instance keeps them (msdb's iam_* tables): roles with their trust policy and
// inline permission policies, and customer managed policies attached to roles, with IAM's identifiers, limits
// and errors (IamError's code is IAM's: NoSuchEntity, EntityAlreadyExists, ...). Every document is checked by
// iam::Policy when it is stored; what is stored is the text as given.
//
// Thread safety: any thread (msdb is locked per call).
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "common/service_error.h"
#include "iam/policy.h"
#include "instance/msdb.h"

namespace bakrest::iam {

class IamError : public ServiceError {
 public:
  using ServiceError::ServiceError;
};

struct Role {
  std::string name;
  std::string path = "/";
  std::string role_id;  // "AROA" and 17 characters
  std::string arn;      // "arn:aws:iam::123456789012:role/<path without its first '/'><name>"
  std::string description;
  std::string trust_policy;
  int max_session_duration = 3600;
  int64_t create_date = 0;  // unix seconds
};

struct ManagedPolicy {
  std::string name;
  std::string path = "/";
  std::string policy_id;  // "ANPA" and 17 characters
  std::string arn;        // "arn:aws:iam::123456789012:policy/<path><name>"
  std::string description;
  std::string document;
  int64_t create_date = 0;
  int attachment_count = 0;
};

// What applies to a request made as a role: its trust policy and every permission policy (inline and
// attached).
struct RolePolicies {
  Role role;
  Policy trust;
  std::vector<Policy> permissions;
};

class RoleStore {
 public:
  RoleStore(instance::Msdb& msdb, std::string account) : msdb_(msdb), account_(std::move(account)) {}

  // Each throws IamError: ValidationError (a name, path or size out of IAM's rules), MalformedPolicyDocument
  // (with the line), EntityAlreadyExists, NoSuchEntity, DeleteConflict, LimitExceeded.
  Role create_role(std::string_view name, std::string_view trust_policy, std::string_view path,
                   std::string_view description, int max_session_duration, int64_t now);
  Role get_role(std::string_view name) const;
  std::vector<Role> list_roles(std::string_view path_prefix = "/") const;
  void delete_role(std::string_view name);
  void update_trust_policy(std::string_view role, std::string_view trust_policy);

  void put_role_policy(std::string_view role, std::string_view policy_name, std::string_view document);
  std::string get_role_policy(std::string_view role, std::string_view policy_name) const;
  void delete_role_policy(std::string_view role, std::string_view policy_name);
  std::vector<std::string> list_role_policies(std::string_view role) const;

  ManagedPolicy create_policy(std::string_view name, std::string_view document, std::string_view path,
                              std::string_view description, int64_t now);
  ManagedPolicy get_policy(std::string_view arn) const;
  void delete_policy(std::string_view arn);
  void attach_role_policy(std::string_view role, std::string_view policy_arn);
  void detach_role_policy(std::string_view role, std::string_view policy_arn);
  std::vector<ManagedPolicy> list_attached_role_policies(std::string_view role) const;

  // The role an ARN names, with its documents parsed; nullopt if there is no such role.
  std::optional<RolePolicies> role_policies(std::string_view role_arn) const;

  std::string role_arn(std::string_view path, std::string_view name) const;
  std::string policy_arn(std::string_view path, std::string_view name) const;

 private:
  instance::Msdb& msdb_;
  std::string account_;
};

}  // namespace bakrest::iam
