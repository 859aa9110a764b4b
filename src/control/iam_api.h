// IAM's query protocol (Version 2010-05-08) over the instance's roles and policies (iam/role_store.h), so
// that `aws iam ... --endpoint-url` works unchanged:
//
//   CreateRole, GetRole, ListRoles, DeleteRole, UpdateAssumeRolePolicy,
//   PutRolePolicy, GetRolePolicy, DeleteRolePolicy, ListRolePolicies,
//   CreatePolicy, GetPolicy, DeletePolicy, AttachRolePolicy, DetachRolePolicy, ListAttachedRolePolicies
//
// Policy documents go back URL-encoded, as IAM sends them (the CLI decodes them). A parameter an action does
// not take here (Tags, PermissionsBoundary, paging markers) is refused by name, never ignored.
//
// Thread safety: handle() may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "control/kms_api.h"  // ApiReply
#include "iam/role_store.h"

namespace bakrest::control {

inline constexpr const char* kIamXmlns = "https://iam.amazonaws.com/doc/2010-05-08/";

class IamApi {
 public:
  IamApi(iam::RoleStore& roles, std::function<int64_t()> now) : roles_(roles), now_(std::move(now)) {}

  // form: the request's decoded fields, Action and Version among them.
  ApiReply handle(const std::map<std::string, std::string>& form);

 private:
  iam::RoleStore& roles_;
  std::function<int64_t()> now_;
};

}  // namespace bakrest::control
