#include "crypto/local_kms.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstring>
#include "common/ids.h"
#include "common/private_files.h"
#include "common/text.h"
#include "iam/policy.h"

namespace bakrest::crypto {

namespace {

constexpr char kBlobMagic[4] = {'B', 'K', 'M', 'S'};
constexpr uint8_t kBlobVersion = 1;
constexpr size_t kKeyIdChars = 36;
constexpr size_t kBlobHeader = sizeof kBlobMagic + 1 + kKeyIdChars + kAeadNonceBytes;
constexpr size_t kMaxPlaintext = 4096;  // KMS's limit for Encrypt
constexpr const char* kRdsAlias = "alias/aws/rds";

const char* kSchema = R"(
CREATE TABLE IF NOT EXISTS keys (
  key_id        TEXT PRIMARY KEY,
  description   TEXT NOT NULL,
  key_spec      TEXT NOT NULL,
  key_usage     TEXT NOT NULL,
  key_manager   TEXT NOT NULL,
  state         TEXT NOT NULL,
  creation_date INTEGER NOT NULL,
  deletion_date INTEGER,
  policy        TEXT NOT NULL,
  material      BLOB NOT NULL   -- sealed by the keyring (crypto/keyring.h), labelled with the key ID
);
CREATE TABLE IF NOT EXISTS aliases (
  name   TEXT PRIMARY KEY,
  key_id TEXT NOT NULL REFERENCES keys(key_id)
);
)";

[[noreturn]] void not_found(const std::string& what) { throw KmsError("NotFoundException", what); }

// Associated data for a ciphertext blob: the key's ARN and the encryption context, each length-prefixed so
// that no two different contexts give the same bytes.
std::vector<uint8_t> blob_associated(std::string_view key_arn, const EncryptionContext& context) {
  std::vector<uint8_t> out;
  auto put = [&](std::string_view s) {
    uint32_t n = static_cast<uint32_t>(s.size());
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(n >> (8 * i)));
    out.insert(out.end(), s.begin(), s.end());
  };
  put(key_arn);
  for (const auto& [k, v] : context) {
    put(k);
    put(v);
  }
  return out;
}

struct KeySpecRule {
  std::string_view spec;
  const char* algorithm;  // for EVP_PKEY_Q_keygen; nullptr: symmetric
  size_t bits_or_zero;
  const char* curve;
  bool encrypt_decrypt;  // may have KeyUsage ENCRYPT_DECRYPT
  bool sign_verify;      // may have KeyUsage SIGN_VERIFY
};

constexpr KeySpecRule kKeySpecs[] = {
    {"SYMMETRIC_DEFAULT", nullptr, 0, nullptr, true, false},
    {"RSA_2048", "RSA", 2048, nullptr, true, true},
    {"RSA_3072", "RSA", 3072, nullptr, true, true},
    {"RSA_4096", "RSA", 4096, nullptr, true, true},
    {"ECC_NIST_P256", "EC", 0, "P-256", false, true},
    {"ECC_NIST_P384", "EC", 0, "P-384", false, true},
    {"ECC_NIST_P521", "EC", 0, "P-521", false, true},
    {"ECC_SECG_P256K1", "EC", 0, "secp256k1", false, true},
};

// An asymmetric key pair's private key, DER-encoded.
std::vector<uint8_t> make_key_pair(const KeySpecRule& rule) {
  EVP_PKEY* pkey = rule.curve ? EVP_PKEY_Q_keygen(nullptr, nullptr, rule.algorithm, rule.curve)
                              : EVP_PKEY_Q_keygen(nullptr, nullptr, rule.algorithm, rule.bits_or_zero);
  if (pkey == nullptr)
    throw std::runtime_error("OpenSSL could not make a " + std::string(rule.spec) + " key");
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> owned(pkey, EVP_PKEY_free);
  int n = i2d_PrivateKey(pkey, nullptr);
  if (n <= 0) throw std::runtime_error("OpenSSL could not encode a " + std::string(rule.spec) + " key");
  std::vector<uint8_t> der(static_cast<size_t>(n));
  uint8_t* at = der.data();
  i2d_PrivateKey(pkey, &at);
  return der;
}

std::string default_key_policy(const std::string& account) {
  return R"({
  "Version": "2012-10-17",
  "Id": "key-default-1",
  "Statement": [
    {
      "Sid": "Enable IAM User Permissions",
      "Effect": "Allow",
      "Principal": {"AWS": "arn:aws:iam::)" +
         account + R"(:root"},
      "Action": "kms:*",
      "Resource": "*"
    }
  ]
})";
}

// The policy of the AWS managed key for RDS, as AWS writes it: use through RDS by the account, and metadata.
std::string rds_managed_key_policy(const std::string& account, const std::string& region) {
  return R"({
  "Version": "2012-10-17",
  "Id": "auto-rds-2",
  "Statement": [
    {
      "Sid": "Allow access through RDS for all principals in the account that are authorized to use RDS",
      "Effect": "Allow",
      "Principal": {"AWS": "*"},
      "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:CreateGrant",
                 "kms:ListGrants", "kms:DescribeKey"],
      "Resource": "*",
      "Condition": {"StringEquals": {"kms:CallerAccount": ")" +
         account + R"(", "kms:ViaService": "rds.)" + region + R"(.amazonaws.com"}}
    },
    {
      "Sid": "Allow direct access to key metadata to the account",
      "Effect": "Allow",
      "Principal": {"AWS": "arn:aws:iam::)" +
         account + R"(:root"},
      "Action": ["kms:Describe*", "kms:Get*", "kms:List*", "kms:RevokeGrant"],
      "Resource": "*"
    }
  ]
})";
}

void check_policy(std::string_view policy) {
  if (policy.size() > 32768)
    throw KmsError("LimitExceededException", "A key policy may be at most 32768 bytes; this one is " +
                                                 std::to_string(policy.size()) + ".");
  try {
    iam::Policy::parse(policy, iam::PolicyKind::kResource);
  } catch (const iam::MalformedPolicy& e) {
    throw KmsError("MalformedPolicyDocumentException", e.what());
  }
}

KeyState state_from(std::string_view name) {
  if (name == "Disabled") return KeyState::kDisabled;
  if (name == "PendingDeletion") return KeyState::kPendingDeletion;
  return KeyState::kEnabled;
}

}  // namespace

const char* key_state_name(KeyState state) {
  switch (state) {
    case KeyState::kEnabled:
      return "Enabled";
    case KeyState::kDisabled:
      return "Disabled";
    case KeyState::kPendingDeletion:
      return "PendingDeletion";
  }
  return "Enabled";
}

struct LocalKms::Resolved {
  KeyMetadata metadata;
};

namespace {

sqlite::Database open_keyring(const std::filesystem::path& file) {
  create_private_file(file);
  return sqlite::Database(file, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX);
}

}  // namespace

LocalKms::LocalKms(const Keyring& keyring, std::string region, std::string account)
    : region_(std::move(region)),
      account_(std::move(account)),
      keyring_(keyring),
      db_(open_keyring(keyring.dir() / "kms.db")) {
  // A key lost is every backup encrypted under it lost: every change is durable before it is reported.
  db_.exec("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;");
  db_.exec(kSchema);
  auto found = db_.prepare("SELECT 1 FROM aliases WHERE name = ?");
  if (!found.bind(1, kRdsAlias).step()) {
    KeyMetadata rds =
        create_key("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT",
                   "Default key that protects my RDS database volumes when no other key is defined",
                   rds_managed_key_policy(account_, region_), 0);
    std::lock_guard lock(mutex_);
    db_.prepare("UPDATE keys SET key_manager = 'AWS' WHERE key_id = ?").bind(1, rds.key_id).run();
    db_.prepare("INSERT INTO aliases (name, key_id) VALUES (?, ?)")
        .bind(1, kRdsAlias)
        .bind(2, rds.key_id)
        .run();
  }
}

LocalKms::~LocalKms() = default;

std::string LocalKms::alias_arn(std::string_view alias_name) const {
  return "arn:aws:kms:" + region_ + ":" + account_ + ":" + std::string(alias_name);
}

std::string LocalKms::key_arn(std::string_view key_id) const {
  return "arn:aws:kms:" + region_ + ":" + account_ + ":key/" + std::string(key_id);
}

LocalKms::Resolved LocalKms::resolve(std::string_view key) const {
  std::string text(key);
  if (text.empty())
    throw KmsError("ValidationException", "1 validation error detected: KeyId must not be empty");
  std::string_view rest = text;
  const std::string arn_prefix = "arn:aws:kms:" + region_ + ":" + account_ + ":";
  if (text.starts_with("arn:")) {
    if (!text.starts_with(arn_prefix)) {
      if (text.find(":alias/") != std::string::npos) not_found("Alias " + text + " is not found.");
      not_found("Key '" + text + "' does not exist");
    }
    rest.remove_prefix(arn_prefix.size());
    if (rest.starts_with("key/")) {
      rest.remove_prefix(4);
    } else if (!rest.starts_with("alias/")) {
      not_found("Invalid arn " + text);
    }
  }
  std::string key_id(rest);
  if (rest.starts_with("alias/")) {
    auto alias = db_.prepare("SELECT key_id FROM aliases WHERE name = ?");
    if (!alias.bind(1, rest).step()) not_found("Alias " + alias_arn(rest) + " is not found.");
    key_id = alias.get_text(0);
  }
  auto row = db_.prepare(
      "SELECT key_id, description, key_spec, key_usage, key_manager, state, creation_date, deletion_date "
      "FROM "
      "keys WHERE key_id = ?");
  if (!row.bind(1, key_id).step()) not_found("Key '" + key_arn(key_id) + "' does not exist");
  Resolved r;
  r.metadata.key_id = row.get_text(0);
  r.metadata.arn = key_arn(r.metadata.key_id);
  r.metadata.description = row.get_text(1);
  r.metadata.key_spec = row.get_text(2);
  r.metadata.key_usage = row.get_text(3);
  r.metadata.key_manager = row.get_text(4);
  r.metadata.state = state_from(row.get_text(5));
  r.metadata.creation_date = row.get_int(6);
  if (!row.is_null(7)) r.metadata.deletion_date = row.get_int(7);
  return r;
}

KeyMetadata LocalKms::create_key(std::string_view key_spec, std::string_view key_usage,
                                 std::string_view description, const std::optional<std::string>& policy,
                                 int64_t now) {
  const KeySpecRule* rule = nullptr;
  for (const KeySpecRule& r : kKeySpecs) {
    if (r.spec == key_spec) rule = &r;
  }
  if (rule == nullptr) {
    if (std::string_view(key_spec).starts_with("HMAC_") || key_spec == "SM2")
      throw KmsError("UnsupportedOperationException",
                     "KeySpec " + std::string(key_spec) + " is not supported by bakrest's KMS");
    throw KmsError("ValidationException", "1 validation error detected: Value '" + std::string(key_spec) +
                                              "' at 'keySpec' failed to satisfy constraint: Member must "
                                              "satisfy enum value set");
  }
  if (key_usage != "ENCRYPT_DECRYPT" && key_usage != "SIGN_VERIFY" && key_usage != "GENERATE_VERIFY_MAC")
    throw KmsError("ValidationException", "1 validation error detected: Value '" + std::string(key_usage) +
                                              "' at 'keyUsage' failed to satisfy constraint: Member must "
                                              "satisfy enum value set: [ENCRYPT_DECRYPT, SIGN_VERIFY, "
                                              "GENERATE_VERIFY_MAC]");
  if ((key_usage == "ENCRYPT_DECRYPT" && !rule->encrypt_decrypt) ||
      (key_usage == "SIGN_VERIFY" && !rule->sign_verify) || key_usage == "GENERATE_VERIFY_MAC")
    throw KmsError("ValidationException", "KeyUsage " + std::string(key_usage) +
                                              " is not compatible with KeySpec " + std::string(key_spec));
  if (description.size() > 8192)
    throw KmsError("ValidationException",
                   "1 validation error detected: Value at 'description' failed to "
                   "satisfy constraint: Member must have length less than or equal to 8192");
  std::string policy_text = policy ? *policy : default_key_policy(account_);
  check_policy(policy_text);

  // The material: 32 random bytes for a symmetric key, an encoded private key for the others.
  std::vector<uint8_t> material;
  if (rule->algorithm == nullptr) {
    AeadKey k = random_key();
    material.assign(k.begin(), k.end());
  } else {
    material = make_key_pair(*rule);
  }
  std::string key_id = ascii_lower(guid_to_string(random_guid()));
  std::vector<uint8_t> sealed = keyring_.seal("kms key " + key_id, material);
  wipe(material);

  std::lock_guard lock(mutex_);
  db_.prepare(
         "INSERT INTO keys (key_id, description, key_spec, key_usage, key_manager, state, creation_date, "
         "policy, material) VALUES (?, ?, ?, ?, 'CUSTOMER', 'Enabled', ?, ?, ?)")
      .bind(1, key_id)
      .bind(2, description)
      .bind(3, key_spec)
      .bind(4, key_usage)
      .bind(5, now)
      .bind(6, policy_text)
      .bind(7, std::span<const uint8_t>(sealed))
      .run();
  return resolve(key_id).metadata;
}

KeyMetadata LocalKms::describe_key(std::string_view key) const {
  std::lock_guard lock(mutex_);
  return resolve(key).metadata;
}

std::vector<KeyMetadata> LocalKms::list_keys() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> ids;
  auto rows = db_.prepare("SELECT key_id FROM keys ORDER BY creation_date, key_id");
  while (rows.step()) ids.push_back(rows.get_text(0));
  std::vector<KeyMetadata> out;
  for (const std::string& id : ids) out.push_back(resolve(id).metadata);
  return out;
}

void LocalKms::create_alias(std::string_view alias_name, std::string_view target_key) {
  std::string name(alias_name);
  if (!name.starts_with("alias/") || name.size() == 6 || name.size() > 256 ||
      name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/_-") !=
          std::string::npos)
    throw KmsError("ValidationException",
                   "Alias must start with the prefix \"alias/\" and hold only letters, "
                   "digits, '/', '_' and '-' (at most 256 characters): " +
                       name);
  if (name.starts_with("alias/aws/"))
    throw KmsError("NotAuthorizedException",
                   "Alias names that begin with alias/aws/ are reserved for AWS managed keys");
  std::lock_guard lock(mutex_);
  KeyMetadata target = resolve(target_key).metadata;
  if (target.key_manager == "AWS")
    throw KmsError("UnsupportedOperationException",
                   target.arn + " is an AWS managed key; an alias cannot name it");
  if (db_.prepare("SELECT 1 FROM aliases WHERE name = ?").bind(1, name).step())
    throw KmsError("AlreadyExistsException", "An alias with the name " + alias_arn(name) + " already exists");
  db_.prepare("INSERT INTO aliases (name, key_id) VALUES (?, ?)").bind(1, name).bind(2, target.key_id).run();
}

void LocalKms::delete_alias(std::string_view alias_name) {
  std::lock_guard lock(mutex_);
  if (std::string_view(alias_name).starts_with("alias/aws/"))
    throw KmsError("NotAuthorizedException",
                   "Alias names that begin with alias/aws/ are reserved for AWS managed keys");
  db_.prepare("DELETE FROM aliases WHERE name = ?").bind(1, alias_name).run();
  if (db_.changes() == 0) not_found("Alias " + alias_arn(alias_name) + " is not found.");
}

std::vector<Alias> LocalKms::list_aliases(std::optional<std::string_view> key) const {
  std::lock_guard lock(mutex_);
  std::optional<std::string> key_id;
  if (key) key_id = resolve(*key).metadata.key_id;
  std::vector<Alias> out;
  auto rows = db_.prepare("SELECT name, key_id FROM aliases ORDER BY name");
  while (rows.step()) {
    Alias a{rows.get_text(0), alias_arn(rows.get_text(0)), rows.get_text(1)};
    if (!key_id || a.key_id == *key_id) out.push_back(std::move(a));
  }
  return out;
}

namespace {

void refuse_aws_managed(const KeyMetadata& m) {
  if (m.key_manager == "AWS")
    throw KmsError("UnsupportedOperationException", m.arn + " is an AWS managed key; it cannot be changed");
}

}  // namespace

void LocalKms::enable_key(std::string_view key) { set_enabled(key, true); }

void LocalKms::disable_key(std::string_view key) { set_enabled(key, false); }

void LocalKms::set_enabled(std::string_view key, bool enabled) {
  std::lock_guard lock(mutex_);
  KeyMetadata m = resolve(key).metadata;
  refuse_aws_managed(m);
  if (m.state == KeyState::kPendingDeletion)
    throw KmsError("KMSInvalidStateException", m.arn + " is pending deletion.");
  db_.prepare("UPDATE keys SET state = ? WHERE key_id = ?")
      .bind(1, key_state_name(enabled ? KeyState::kEnabled : KeyState::kDisabled))
      .bind(2, m.key_id)
      .run();
}

int64_t LocalKms::schedule_key_deletion(std::string_view key, int days, int64_t now) {
  if (days < 7 || days > 30)
    throw KmsError("ValidationException",
                   "1 validation error detected: Value '" + std::to_string(days) +
                       "' at 'pendingWindowInDays' failed to satisfy constraint: Member "
                       "must have value between 7 and 30");
  std::lock_guard lock(mutex_);
  KeyMetadata m = resolve(key).metadata;
  refuse_aws_managed(m);
  if (m.state == KeyState::kPendingDeletion)
    throw KmsError("KMSInvalidStateException", m.arn + " is pending deletion.");
  int64_t when = now + int64_t{days} * 86400;
  db_.prepare("UPDATE keys SET state = 'PendingDeletion', deletion_date = ? WHERE key_id = ?")
      .bind(1, when)
      .bind(2, m.key_id)
      .run();
  return when;
}

void LocalKms::put_key_policy(std::string_view key, std::string_view policy) {
  check_policy(policy);
  std::lock_guard lock(mutex_);
  KeyMetadata m = resolve(key).metadata;
  refuse_aws_managed(m);
  db_.prepare("UPDATE keys SET policy = ? WHERE key_id = ?").bind(1, policy).bind(2, m.key_id).run();
}

std::string LocalKms::get_key_policy(std::string_view key) const {
  std::lock_guard lock(mutex_);
  KeyMetadata m = resolve(key).metadata;
  auto row = db_.prepare("SELECT policy FROM keys WHERE key_id = ?");
  row.bind(1, m.key_id).step();
  return row.get_text(0);
}

// The key named, if it may encrypt and decrypt now, with its material unsealed into material.
KeyMetadata LocalKms::usable_symmetric(std::string_view key, AeadKey& material) const {
  KeyMetadata m = resolve(key).metadata;
  if (m.state == KeyState::kDisabled) throw KmsError("DisabledException", m.arn + " is disabled.");
  if (m.state == KeyState::kPendingDeletion)
    throw KmsError("KMSInvalidStateException", m.arn + " is pending deletion.");
  if (!m.symmetric())
    throw KmsError("InvalidKeyUsageException", m.arn + " is a " + m.key_spec +
                                                   " key; bakrest's KMS encrypts "
                                                   "and makes data keys only with SYMMETRIC_DEFAULT keys");
  auto row = db_.prepare("SELECT material FROM keys WHERE key_id = ?");
  row.bind(1, m.key_id).step();
  std::vector<uint8_t> plain = keyring_.open("kms key " + m.key_id, row.get_blob(0));
  if (plain.size() != material.size())
    throw std::runtime_error("the keyring entry of " + m.arn + " is damaged");
  std::copy(plain.begin(), plain.end(), material.begin());
  wipe(plain);
  return m;
}

std::vector<uint8_t> LocalKms::encrypt(std::string_view key, std::span<const uint8_t> plaintext,
                                       const EncryptionContext& context) {
  if (plaintext.empty() || plaintext.size() > kMaxPlaintext)
    throw KmsError("ValidationException",
                   "1 validation error detected: Value at 'plaintext' failed to satisfy "
                   "constraint: Member must have length between 1 and 4096");
  std::lock_guard lock(mutex_);
  AeadKey material;
  KeyMetadata m = usable_symmetric(key, material);
  AeadNonce nonce = random_nonce();
  std::vector<uint8_t> blob(kBlobMagic, kBlobMagic + sizeof kBlobMagic);
  blob.push_back(kBlobVersion);
  blob.insert(blob.end(), m.key_id.begin(), m.key_id.end());
  blob.insert(blob.end(), nonce.begin(), nonce.end());
  std::vector<uint8_t> sealed = seal(material, nonce, blob_associated(m.arn, context), plaintext);
  wipe(material);
  blob.insert(blob.end(), sealed.begin(), sealed.end());
  return blob;
}

DataKey LocalKms::generate_data_key(std::string_view key, const EncryptionContext& context, size_t bytes) {
  if (bytes < 1 || bytes > 1024)
    throw KmsError("ValidationException",
                   "1 validation error detected: Value '" + std::to_string(bytes) +
                       "' at 'numberOfBytes' failed to satisfy constraint: Member must have "
                       "value between 1 and 1024");
  DataKey out;
  out.plaintext.resize(bytes);
  random_bytes(out.plaintext);
  out.ciphertext_blob = encrypt(key, out.plaintext, context);
  out.key_arn = describe_key(key).arn;
  return out;
}

Decrypted LocalKms::decrypt(std::span<const uint8_t> blob, std::optional<std::string_view> key,
                            const EncryptionContext& context) {
  if (blob.size() < kBlobHeader + kAeadTagBytes || blob.size() > 6144 ||
      std::memcmp(blob.data(), kBlobMagic, sizeof kBlobMagic) != 0 || blob[sizeof kBlobMagic] != kBlobVersion)
    throw KmsError("InvalidCiphertextException", "The ciphertext is not one this KMS made");
  std::string key_id(reinterpret_cast<const char*>(blob.data()) + sizeof kBlobMagic + 1, kKeyIdChars);
  if (!guid_from_string(key_id))
    throw KmsError("InvalidCiphertextException", "The ciphertext is not one this KMS made");
  std::lock_guard lock(mutex_);
  if (key && resolve(*key).metadata.key_id != key_id)
    throw KmsError("IncorrectKeyException",
                   "The key ID in the request does not identify a CMK that can perform this operation.");
  AeadKey material;
  KeyMetadata m = usable_symmetric(key_id, material);
  AeadNonce nonce;
  std::copy_n(blob.begin() + sizeof kBlobMagic + 1 + kKeyIdChars, nonce.size(), nonce.begin());
  try {
    // Opened straight into memory that is wiped when the caller is done with it.
    const auto sealed = blob.subspan(kBlobHeader);
    Decrypted out{SecretBytes(sealed.size()), m.arn};
    out.plaintext.resize(open_into(material, nonce, blob_associated(m.arn, context), sealed, out.plaintext));
    wipe(material);
    return out;
  } catch (const AuthenticationFailed&) {
    wipe(material);
    throw KmsError("InvalidCiphertextException",
                   "The ciphertext does not open under " + m.arn + " with this encryption context");
  }
}

}  // namespace bakrest::crypto
