// SQL logins: names with PBKDF2-HMAC-SHA256 password hashes in msdb (no password is ever stored), and the
// EXECUTE permissions other logins need for the RDS procedures.
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
  bool exists(const std::string& user);
  std::string master_name();

  // CREATE LOGIN: a login that is not the master login. Throws SqlError 15025 if the name is taken (names
  // differing only by case are the same login) and 15118 for an empty password.
  void create(const std::string& name, const std::string& password);
  // DROP LOGIN: removes the login and its permissions. Throws SqlError 15151 if there is no such login and
  // 15174 for the master login. Sessions the login has open go on until they end.
  void drop(const std::string& name);

  // GRANT / REVOKE EXECUTE on a procedure, named "msdb.dbo.rds_backup_database". Throws SqlError 15151 if
  // there is no such login.
  void set_execute(const std::string& login, const std::string& procedure, bool granted);
  // The master login may run every procedure; other logins those granted to them.
  bool may_execute(const std::string& login, const std::string& procedure);

 private:
  struct Hashed {
    Bytes salt, hash;
    int iterations;
  };
  static Hashed hash(const std::string& password);
  // Whether the login is the master login; nullopt if there is no such login.
  static std::optional<bool> master_flag(sqlite::Database& db, const std::string& user);
  static void insert(sqlite::Database& db, const std::string& user, const Hashed& hashed, bool is_master);
  void set_password(const std::string& user, const std::string& password, bool is_master);

  Msdb& msdb_;
};

}  // namespace bakrest::instance
