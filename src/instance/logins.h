// SQL logins: names with PBKDF2-HMAC-SHA256 password hashes in msdb. No password is ever stored.
#pragma once

#include <optional>
#include <string>

#include "instance/msdb.h"

namespace bakrest::instance {

class Logins {
 public:
  explicit Logins(Msdb& msdb) : msdb_(msdb) {}

  // Makes sure the master login exists. With user/password given (BAKREST_MASTER_USER and
  // BAKREST_MASTER_PASSWORD), the master login is that user with that password. Otherwise, at first start,
  // creates "admin" with a random password and returns it so it can be shown once.
  std::optional<std::string> ensure_master(const std::optional<std::string>& user,
                                           const std::optional<std::string>& password);

  bool verify(const std::string& user, const std::string& password);
  bool is_master(const std::string& user);
  std::string master_name();

 private:
  void set_password(const std::string& user, const std::string& password, bool is_master);

  Msdb& msdb_;
};

}  // namespace bakrest::instance
