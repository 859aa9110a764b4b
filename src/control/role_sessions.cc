#include "control/role_sessions.h"

#include <array>
#include <stdexcept>

#include "common/digest.h"
#include "control/access_keys.h"
#include "crypto/aead.h"

namespace bakrest::control {

RoleSession RoleSessions::issue(const std::string& role_arn, const std::string& assumed_role_arn,
                                const std::string& assumed_role_id, int duration_seconds, int64_t now) {
  AccessKeys::Issued pair = make_key_pair("ASIA");
  // The token is opaque to its holder; here it is 64 random bytes, compared whole with what a request
  // carries.
  std::array<uint8_t, 64> token;
  crypto::random_bytes(token);
  RoleSession session{pair.access_key_id, pair.secret_access_key, to_base64(token), now + duration_seconds,
                      role_arn,           assumed_role_arn,       assumed_role_id};
  std::lock_guard lock(mutex_);
  if (sessions_.size() >= kMaxSessions)
    std::erase_if(sessions_, [&](const auto& s) { return s.second.expiration <= now; });
  if (sessions_.size() >= kMaxSessions)
    throw std::runtime_error("the instance holds " + std::to_string(kMaxSessions) +
                             " unexpired role sessions already");
  sessions_.emplace(session.access_key_id, session);
  return session;
}

std::optional<RoleSession> RoleSessions::find(std::string_view access_key_id) const {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(access_key_id);
  if (it == sessions_.end()) return std::nullopt;
  return it->second;
}

void RoleSessions::check(const RoleSession& session, std::string_view token, int64_t now) {
  if (!constant_time_equal(token, session.session_token))
    throw AuthError(AuthFailure::kUnknownKey, "temporary keys without their session token");
  if (session.expiration <= now)
    throw AuthError(
        AuthFailure::kExpiredToken,
        "temporary keys that expired " + std::to_string(now - session.expiration) + " seconds ago");
}

}  // namespace bakrest::control
