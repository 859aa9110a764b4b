// The temporary credentials the control endpoint's STS issues (control/sts_api.h): an access key ID
// ("ASIA..."), a secret and a session token, valid until an expiration, that act as one IAM role. Requests
// signed with them carry the token (X-Amz-Security-Token), and what they may do is what the role's policies
// allow (control/endpoint.h).
//
// Sessions live in memory only, as short-lived keys: a restart of the instance ends them, and their holders
// assume the role again (crypto::KmsClient and storage::AssumedRole do so when a key is refused). At most
// kMaxSessions at once; expired ones are forgotten when room is needed. Secrets are never logged.
//
// Thread safety: any thread.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "control/sigv4_verifier.h"  // AuthError

namespace bakrest::control {

struct RoleSession {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;
  int64_t expiration = 0;        // unix seconds
  std::string role_arn;          // "arn:aws:iam::123456789012:role/name"
  std::string assumed_role_arn;  // "arn:aws:sts::123456789012:assumed-role/name/session"
  std::string assumed_role_id;   // "<role id>:<session>"
};

class RoleSessions {
 public:
  static constexpr size_t kMaxSessions = 10000;

  // A new session of role_arn for duration_seconds from now. Throws std::runtime_error when kMaxSessions
  // sessions are live.
  RoleSession issue(const std::string& role_arn, const std::string& assumed_role_arn,
                    const std::string& assumed_role_id, int duration_seconds, int64_t now);
  // The session of an access key ID, expired or not; nullopt if there is none.
  std::optional<RoleSession> find(std::string_view access_key_id) const;

  // Checks a request signed with session's keys: it must carry the session's token (else AuthError
  // kUnknownKey, as for a key that does not exist) before the expiration (else kExpiredToken).
  static void check(const RoleSession& session, std::string_view token, int64_t now);

 private:
  mutable std::mutex mutex_;
  std::map<std::string, RoleSession, std::less<>> sessions_;
};

}  // namespace bakrest::control
