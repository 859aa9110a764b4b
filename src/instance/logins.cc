#include "instance/logins.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <stdexcept>

#include "common/clock.h"
#include "common/error.h"
#include "common/ids.h"

namespace bakrest::instance {

namespace {

constexpr int kIterations = 100000;
constexpr size_t kSaltBytes = 16;
constexpr size_t kHashBytes = 32;

Bytes pbkdf2(const std::string& password, const Bytes& salt, int iterations) {
  Bytes out(kHashBytes);
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), salt.data(),
                        static_cast<int>(salt.size()), iterations, EVP_sha256(), static_cast<int>(out.size()),
                        out.data()) != 1) {
    throw std::runtime_error("PBKDF2 failed");
  }
  return out;
}

}  // namespace

Logins::Hashed Logins::hash(const std::string& password) {
  Hashed hashed{Bytes(kSaltBytes), {}, kIterations};
  if (RAND_bytes(hashed.salt.data(), static_cast<int>(hashed.salt.size())) != 1)
    throw std::runtime_error("RAND_bytes failed");
  hashed.hash = pbkdf2(password, hashed.salt, kIterations);
  return hashed;
}

void Logins::insert(sqlite::Database& db, const std::string& user, const Hashed& hashed, bool is_master) {
  db.prepare(
        "INSERT OR REPLACE INTO logins (name, salt, password_hash, iterations, is_master, create_date) "
        "VALUES (?, ?, ?, ?, ?, ?)")
      .bind(1, user)
      .bind(2, std::span<const uint8_t>(hashed.salt))
      .bind(3, std::span<const uint8_t>(hashed.hash))
      .bind(4, hashed.iterations)
      .bind(5, is_master ? 1 : 0)
      .bind(6, format_datetime(now_micros()))
      .run();
}

void Logins::set_password(const std::string& user, const std::string& password, bool is_master) {
  Hashed hashed = hash(password);
  msdb_.with([&](sqlite::Database& db) {
    sqlite::with_transaction(db, [&] {
      if (is_master) db.exec("DELETE FROM logins WHERE is_master = 1");
      insert(db, user, hashed, is_master);
    });
  });
}

std::optional<std::string> Logins::ensure_master(const std::optional<std::string>& user,
                                                 const std::optional<std::string>& password) {
  if (user && password) {
    if (user->empty() || password->empty())
      throw std::runtime_error("the master user and password must not be empty");
    if (!verify(*user, *password) || !is_master(*user)) set_password(*user, *password, true);
    return std::nullopt;
  }
  if (user || password) {
    throw std::runtime_error("set both BAKREST_MASTER_USER and BAKREST_MASTER_PASSWORD, or neither");
  }
  bool exists = msdb_.with([](sqlite::Database& db) {
    auto s = db.prepare("SELECT 1 FROM logins WHERE is_master = 1");
    return s.step();
  });
  if (exists) return std::nullopt;
  std::string generated = random_hex(12);
  set_password("admin", generated, true);
  return generated;
}

bool Logins::verify(const std::string& user, const std::string& password) {
  struct Row {
    Bytes salt, hash;
    int iterations;
  };
  auto row = msdb_.with([&](sqlite::Database& db) -> std::optional<Row> {
    auto s = db.prepare("SELECT salt, password_hash, iterations FROM logins WHERE name = ?");
    s.bind(1, user);
    if (!s.step()) return std::nullopt;
    return Row{s.get_blob(0), s.get_blob(1), static_cast<int>(s.get_int(2))};
  });
  // Hash even for unknown users so response time does not reveal which names exist.
  Bytes salt = row ? row->salt : Bytes(kSaltBytes, 0);
  Bytes computed = pbkdf2(password, salt, row ? row->iterations : kIterations);
  if (!row || row->hash.size() != computed.size()) return false;
  return CRYPTO_memcmp(computed.data(), row->hash.data(), computed.size()) == 0;
}

std::optional<bool> Logins::master_flag(sqlite::Database& db, const std::string& user) {
  auto s = db.prepare("SELECT is_master FROM logins WHERE name = ?");
  s.bind(1, user);
  if (!s.step()) return std::nullopt;
  return s.get_int(0) == 1;
}

bool Logins::is_master(const std::string& user) {
  return msdb_.with([&](sqlite::Database& db) { return master_flag(db, user).value_or(false); });
}

bool Logins::exists(const std::string& user) {
  return msdb_.with([&](sqlite::Database& db) { return master_flag(db, user).has_value(); });
}

void Logins::create(const std::string& name, const std::string& password) {
  if (password.empty()) {
    throw SqlError(
        15118, 16,
        "Password validation failed. The password does not meet the requirements: it can't be empty.");
  }
  Hashed hashed = hash(password);
  msdb_.with([&](sqlite::Database& db) {
    sqlite::with_transaction(db, [&] {
      if (master_flag(db, name))
        throw SqlError(15025, 16, "The server principal '" + name + "' already exists.");
      insert(db, name, hashed, false);
    });
  });
}

void Logins::drop(const std::string& name) {
  msdb_.with([&](sqlite::Database& db) {
    sqlite::with_transaction(db, [&] {
      auto master = master_flag(db, name);
      if (!master) {
        throw SqlError(
            15151, 16,
            "Cannot drop the login '" + name + "', because it does not exist or you do not have permission.");
      }
      if (*master) {
        throw SqlError(15174, 16,
                       "Login '" + name +
                           "' is the master login and can't be dropped; it is set by BAKREST_MASTER_USER.");
      }
      db.prepare("DELETE FROM logins WHERE name = ?").bind(1, name).run();
      db.prepare("DELETE FROM login_permissions WHERE login = ?").bind(1, name).run();
    });
  });
}

void Logins::set_execute(const std::string& login, const std::string& procedure, bool granted) {
  msdb_.with([&](sqlite::Database& db) {
    sqlite::with_transaction(db, [&] {
      if (!master_flag(db, login)) {
        throw SqlError(
            15151, 16,
            "Cannot find the user '" + login + "', because it does not exist or you do not have permission.");
      }
      if (granted) {
        db.prepare(
              "INSERT OR IGNORE INTO login_permissions (login, permission, object) VALUES (?, 'EXECUTE', ?)")
            .bind(1, login)
            .bind(2, procedure)
            .run();
      } else {
        db.prepare("DELETE FROM login_permissions WHERE login = ? AND permission = 'EXECUTE' AND object = ?")
            .bind(1, login)
            .bind(2, procedure)
            .run();
      }
    });
  });
}

bool Logins::may_execute(const std::string& login, const std::string& procedure) {
  return msdb_.with([&](sqlite::Database& db) {
    auto s = db.prepare(
        "SELECT 1 FROM logins WHERE name = ?1 AND (is_master = 1 OR EXISTS (SELECT 1 FROM login_permissions "
        "WHERE login = ?1 AND permission = 'EXECUTE' AND object = ?2))");
    s.bind(1, login);
    s.bind(2, procedure);
    return s.step();
  });
}

std::string Logins::master_name() {
  return msdb_.with([](sqlite::Database& db) {
    auto s = db.prepare("SELECT name FROM logins WHERE is_master = 1");
    return s.step() ? s.get_text(0) : std::string();
  });
}

}  // namespace bakrest::instance
