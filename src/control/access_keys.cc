#include "control/access_keys.h"

#include <stdexcept>

#include "common/digest.h"
#include "crypto/aead.h"

namespace bakrest::control {

namespace {

std::string label(std::string_view access_key_id) { return "access key " + std::string(access_key_id); }

std::span<const uint8_t> bytes_of(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

void check_given(const std::string& id, const std::string& secret) {
  if (id.size() < 16 || id.size() > 128 ||
      id.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != std::string::npos)
    throw std::invalid_argument("BAKREST_MASTER_ACCESS_KEY_ID must be 16 to 128 characters of A-Z and 0-9");
  if (secret.size() < 16)
    throw std::invalid_argument("BAKREST_MASTER_SECRET_ACCESS_KEY must be at least 16 characters");
}

}  // namespace

AccessKeys::Issued make_key_pair(std::string_view prefix) {
  static constexpr char kBase32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::array<uint8_t, 16> id_bytes;
  crypto::random_bytes(id_bytes);
  AccessKeys::Issued issued;
  issued.access_key_id = prefix;
  for (uint8_t b : id_bytes) issued.access_key_id += kBase32[b & 31];
  std::array<uint8_t, 30> secret;
  crypto::random_bytes(secret);
  issued.secret_access_key = to_base64(secret);
  return issued;
}

std::optional<AccessKeys::Issued> AccessKeys::ensure_master(const std::string& login,
                                                            const std::optional<std::string>& id,
                                                            const std::optional<std::string>& secret) {
  if (id.has_value() != secret.has_value())
    throw std::invalid_argument(
        "set both BAKREST_MASTER_ACCESS_KEY_ID and BAKREST_MASTER_SECRET_ACCESS_KEY, or neither");
  std::optional<Issued> issued;
  if (id) {
    check_given(*id, *secret);
    issued = Issued{*id, *secret};
  }
  return msdb_.with([&](sqlite::Database& db) -> std::optional<Issued> {
    return sqlite::with_transaction(db, [&]() -> std::optional<Issued> {
      if (issued) {
        db.prepare("DELETE FROM access_keys WHERE login = ?").bind(1, login).run();
      } else {
        auto has = db.prepare("SELECT 1 FROM access_keys WHERE login = ?");
        if (has.bind(1, login).step()) return std::nullopt;
        issued = make_key_pair("AKIA");
      }
      std::vector<uint8_t> sealed =
          keyring_.seal(label(issued->access_key_id), bytes_of(issued->secret_access_key));
      db.prepare(
            "INSERT INTO access_keys (access_key_id, login, sealed_secret, create_date) VALUES (?, ?, ?, "
            "datetime('now'))")
          .bind(1, issued->access_key_id)
          .bind(2, login)
          .bind(3, std::span<const uint8_t>(sealed))
          .run();
      // Given keys are the operator's own: nothing to show.
      return id ? std::nullopt : issued;
    });
  });
}

std::optional<std::string> AccessKeys::secret_of(std::string_view access_key_id) const {
  std::optional<std::vector<uint8_t>> sealed =
      msdb_.with([&](sqlite::Database& db) -> std::optional<std::vector<uint8_t>> {
        auto row = db.prepare("SELECT sealed_secret FROM access_keys WHERE access_key_id = ?");
        if (!row.bind(1, access_key_id).step()) return std::nullopt;
        return row.get_blob(0);
      });
  if (!sealed) return std::nullopt;
  std::vector<uint8_t> secret = keyring_.open(label(access_key_id), *sealed);
  return std::string(secret.begin(), secret.end());
}

std::optional<std::string> AccessKeys::login_of(std::string_view access_key_id) const {
  return msdb_.with([&](sqlite::Database& db) -> std::optional<std::string> {
    auto row = db.prepare("SELECT login FROM access_keys WHERE access_key_id = ?");
    if (!row.bind(1, access_key_id).step()) return std::nullopt;
    return row.get_text(0);
  });
}

}  // namespace bakrest::control
