// The access keys the control endpoint takes (control/endpoint.h): an access key ID and a secret access key,
// as AWS issues them to IAM users, issued here to the master login. Requests are signed with the secret
// (SigV4), so it must be kept, not only a hash of it: msdb keeps it sealed by the keyring (crypto/keyring.h).
// It is shown once, when it is made, and never logged.
//
// Thread safety: any thread (msdb is locked per call).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "crypto/keyring.h"
#include "instance/msdb.h"

namespace bakrest::control {

class AccessKeys {
 public:
  AccessKeys(instance::Msdb& msdb, const crypto::Keyring& keyring) : msdb_(msdb), keyring_(keyring) {}

  struct Issued {
    std::string access_key_id;      // "AKIA" and 16 characters of A-Z and 2-7
    std::string secret_access_key;  // 40 characters of base64
  };

  // Makes sure the master login has an access key. With id and secret given (BAKREST_MASTER_ACCESS_KEY_ID
  // and BAKREST_MASTER_SECRET_ACCESS_KEY), that is its key, in place of any other. Otherwise, if it has none,
  // issues one and returns it so that it can be shown once. Throws std::invalid_argument for an ID that is
  // not 16..128 characters of A-Z and 0-9, or a secret shorter than 16 characters.
  std::optional<Issued> ensure_master(const std::string& login, const std::optional<std::string>& id,
                                      const std::optional<std::string>& secret);

  // The secret of an access key, or nullopt if there is no such key.
  std::optional<std::string> secret_of(std::string_view access_key_id) const;
  // The login an access key belongs to, or nullopt.
  std::optional<std::string> login_of(std::string_view access_key_id) const;

 private:
  instance::Msdb& msdb_;
  const crypto::Keyring& keyring_;
};

// A new access key ID (prefix, "AKIA" for long-term keys and "ASIA" for temporary ones, then 16 characters of
// A-Z and 2-7) and a 40-character secret, from the system's random source.
AccessKeys::Issued make_key_pair(std::string_view prefix);

}  // namespace bakrest::control
