#include "instance/logins.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <stdexcept>

#include "common/clock.h"
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

void Logins::set_password(const std::string& user, const std::string& password, bool is_master) {
  Bytes salt(kSaltBytes);
  if (RAND_bytes(salt.data(), static_cast<int>(salt.size())) != 1)
    throw std::runtime_error("RAND_bytes failed");
  Bytes hash = pbkdf2(password, salt, kIterations);
  msdb_.with([&](sqlite::Database& db) {
    sqlite::with_transaction(db, [&] {
      if (is_master) db.exec("DELETE FROM logins WHERE is_master = 1");
      db.prepare(
            "INSERT OR REPLACE INTO logins (name, salt, password_hash, iterations, is_master, create_date) "
            "VALUES (?, ?, ?, ?, ?, ?)")
          .bind(1, user)
          .bind(2, std::span<const uint8_t>(salt))
          .bind(3, std::span<const uint8_t>(hash))
          .bind(4, kIterations)
          .bind(5, is_master ? 1 : 0)
          .bind(6, format_datetime(now_micros()))
          .run();
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

bool Logins::is_master(const std::string& user) {
  return msdb_.with([&](sqlite::Database& db) {
    auto s = db.prepare("SELECT is_master FROM logins WHERE name = ?");
    s.bind(1, user);
    return s.step() && s.get_int(0) == 1;
  });
}

std::string Logins::master_name() {
  return msdb_.with([](sqlite::Database& db) {
    auto s = db.prepare("SELECT name FROM logins WHERE is_master = 1");
    return s.step() ? s.get_text(0) : std::string();
  });
}

}  // namespace bakrest::instance
