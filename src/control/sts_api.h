// STS's query protocol (Version 2011-06-15) over the instance's roles (iam/role_store.h), so that another
// instance whose [aws] names this one (docs/OPERATIONS.md, "Roles and keys on AWS"), the AWS CLI and the SDKs
// can act as one of its roles:
//
//   AssumeRole          RoleArn, RoleSessionName, DurationSeconds, ExternalId
//   GetCallerIdentity
//
// AssumeRole evaluates the role's trust policy for sts:AssumeRole by the caller (its IAM ARN; a trust policy
// that names the caller's account lets the account's own access key in, as the account's administrator),
// with sts:ExternalId when given, and issues temporary keys (control/role_sessions.h) for 900 seconds up to
// the role's MaxSessionDuration (default 3600). A refusal is STS's AccessDenied, "User: <caller> is not
// authorized to perform: sts:AssumeRole on resource: <role ARN>", for a role that does not exist too. A
// parameter bakrest does not take (Policy, PolicyArns, Tags, SerialNumber, ...) is refused by name.
//
// Thread safety: handle() may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "control/kms_api.h"  // ApiReply
#include "control/role_sessions.h"
#include "iam/role_store.h"

namespace bakrest::control {

inline constexpr const char* kStsXmlns = "https://sts.amazonaws.com/doc/2011-06-15/";

// Who signed a request to the control endpoint.
struct Signer {
  std::string arn;      // "arn:aws:iam::<account>:user/<login>", or a session's assumed-role ARN
  std::string user_id;  // the access key ID for a login; "<role id>:<session>" for a session
  std::string account;
  std::optional<RoleSession> session;  // set when signed with a session's temporary keys
};

class StsApi {
 public:
  StsApi(const iam::RoleStore& roles, RoleSessions& sessions, std::function<int64_t()> now)
      : roles_(roles), sessions_(sessions), now_(std::move(now)) {}

  // form: the request's decoded fields, Action and Version among them.
  ApiReply handle(const std::map<std::string, std::string>& form, const Signer& signer);

 private:
  const iam::RoleStore& roles_;
  RoleSessions& sessions_;
  std::function<int64_t()> now_;
};

}  // namespace bakrest::control
