#include "control/kms_api.h"

#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "common/digest.h"
#include "iam/authorized_kms.h"

namespace bakrest::control {

namespace {

using nlohmann::json;
constexpr const char* kContentType = "application/x-amz-json-1.1";

// A request refused before it reaches the KMS.
struct Invalid {
  std::string code;
  std::string message;
};

[[noreturn]] void invalid(std::string code, std::string message) {
  throw Invalid{std::move(code), std::move(message)};
}

class Fields {
 public:
  Fields(const json& body, std::string_view operation, std::initializer_list<std::string_view> allowed)
      : body_(body) {
    for (const auto& [name, value] : body.items()) {
      bool known = false;
      for (std::string_view a : allowed) known = known || a == name;
      if (!known)
        invalid("ValidationException",
                "bakrest's KMS does not take " + name + " on " + std::string(operation));
    }
  }
  std::optional<std::string> string(const char* name) const {
    auto it = body_.find(name);
    if (it == body_.end() || it->is_null()) return std::nullopt;
    if (!it->is_string()) invalid("SerializationException", std::string(name) + " must be a string");
    return it->get<std::string>();
  }
  std::string required(const char* name) const {
    auto value = string(name);
    if (!value)
      invalid("ValidationException", "1 validation error detected: Value null at '" + lower_first(name) +
                                         "' failed to satisfy constraint: Member must not be null");
    return *value;
  }
  std::optional<int64_t> integer(const char* name) const {
    auto it = body_.find(name);
    if (it == body_.end() || it->is_null()) return std::nullopt;
    if (!it->is_number_integer())
      invalid("SerializationException", std::string(name) + " must be an integer");
    return it->get<int64_t>();
  }
  std::vector<uint8_t> blob(const char* name) const {
    auto bytes = from_base64(required(name));
    if (!bytes) invalid("SerializationException", std::string(name) + " is not base64");
    return *bytes;
  }
  crypto::EncryptionContext context() const {
    crypto::EncryptionContext out;
    auto it = body_.find("EncryptionContext");
    if (it == body_.end() || it->is_null()) return out;
    if (!it->is_object()) invalid("SerializationException", "EncryptionContext must be an object of strings");
    for (const auto& [k, v] : it->items()) {
      if (!v.is_string()) invalid("SerializationException", "EncryptionContext must be an object of strings");
      out[k] = v.get<std::string>();
    }
    return out;
  }

 private:
  static std::string lower_first(std::string name) {
    if (!name.empty()) name[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(name[0])));
    return name;
  }
  const json& body_;
};

json metadata_json(const crypto::KeyMetadata& m, const std::string& account) {
  json out = {{"AWSAccountId", account},
              {"KeyId", m.key_id},
              {"Arn", m.arn},
              {"CreationDate", m.creation_date},
              {"Enabled", m.state == crypto::KeyState::kEnabled},
              {"Description", m.description},
              {"KeyUsage", m.key_usage},
              {"KeyState", crypto::key_state_name(m.state)},
              {"Origin", "AWS_KMS"},
              {"KeyManager", m.key_manager},
              {"CustomerMasterKeySpec", m.key_spec},
              {"KeySpec", m.key_spec},
              {"MultiRegion", false}};
  if (m.key_usage == "ENCRYPT_DECRYPT") {
    out["EncryptionAlgorithms"] = m.symmetric() ? json::array({"SYMMETRIC_DEFAULT"})
                                                : json::array({"RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"});
  } else if (m.key_spec.starts_with("RSA")) {
    out["SigningAlgorithms"] =
        json::array({"RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512",
                     "RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512"});
  } else {
    out["SigningAlgorithms"] = json::array({m.key_spec == "ECC_NIST_P384"   ? "ECDSA_SHA_384"
                                            : m.key_spec == "ECC_NIST_P521" ? "ECDSA_SHA_512"
                                                                            : "ECDSA_SHA_256"});
  }
  if (m.deletion_date) out["DeletionDate"] = *m.deletion_date;
  return out;
}

// NumberOfBytes or KeySpec (AES_256, AES_128) of GenerateDataKey; KMS wants exactly one.
size_t data_key_bytes(const Fields& f) {
  auto spec = f.string("KeySpec");
  auto bytes = f.integer("NumberOfBytes");
  if (spec && bytes) invalid("ValidationException", "Please specify either number of bytes or key spec.");
  if (spec) {
    if (*spec == "AES_256") return 32;
    if (*spec == "AES_128") return 16;
    invalid("ValidationException",
            "1 validation error detected: Value '" + *spec +
                "' at 'keySpec' failed to satisfy constraint: Member must satisfy enum "
                "value set: [AES_256, AES_128]");
  }
  if (!bytes) invalid("ValidationException", "Please specify either number of bytes or key spec.");
  if (*bytes < 1 || *bytes > 1024)
    invalid("ValidationException", "1 validation error detected: Value '" + std::to_string(*bytes) +
                                       "' at 'numberOfBytes' failed to satisfy constraint: Member must have "
                                       "value between 1 and 1024");
  return static_cast<size_t>(*bytes);
}

// Text from the client (an unknown operation's name, a description) may not be UTF-8; the reply carries it
// with U+FFFD in place of what is not, rather than failing to be written.
std::string dump(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace

ApiReply KmsApi::error(std::string_view code, std::string_view message, int status) {
  return {status, kContentType, dump(json{{"__type", code}, {"message", message}})};
}

ApiReply KmsApi::handle(std::string_view operation, std::string_view body_text,
                        std::shared_ptr<const iam::RolePolicies> as_role) {
  try {
    json body = body_text.empty() ? json::object() : json::parse(body_text, nullptr, true);
    if (!body.is_object()) invalid("SerializationException", "the request body must be a JSON object");
    json out = json::object();
    const std::string op(operation);
    // What a role's keys reach the KMS through: its calls checked as a task's are.
    std::optional<iam::AuthorizedKms> authorized;
    if (as_role) {
      if (op != "DescribeKey" && op != "GenerateDataKey" && op != "Decrypt")
        invalid("AccessDeniedException",
                "User " + as_role->role.arn + " is not authorized to perform kms:" + op +
                    ": bakrest's KMS serves DescribeKey, GenerateDataKey and Decrypt to "
                    "assumed roles, and the rest to the account's own access key");
      if (op == "Decrypt" && !body.contains("KeyId"))
        invalid("ValidationException",
                "bakrest's KMS needs the KeyId of a Decrypt signed by an assumed role");
      authorized.emplace(kms_, &kms_, as_role, account_);
    }
    crypto::KeyService& keys = authorized ? static_cast<crypto::KeyService&>(*authorized) : kms_;
    if (op == "CreateKey") {
      Fields f(body, op, {"Description", "KeyUsage", "KeySpec", "CustomerMasterKeySpec", "Policy", "Origin"});
      if (auto origin = f.string("Origin"); origin && *origin != "AWS_KMS")
        invalid("UnsupportedOperationException",
                "bakrest's KMS makes keys of Origin AWS_KMS only, not " + *origin);
      std::string spec =
          f.string("KeySpec").value_or(f.string("CustomerMasterKeySpec").value_or("SYMMETRIC_DEFAULT"));
      auto m = kms_.create_key(spec, f.string("KeyUsage").value_or("ENCRYPT_DECRYPT"),
                               f.string("Description").value_or(""), f.string("Policy"), now_());
      out["KeyMetadata"] = metadata_json(m, account_);
    } else if (op == "DescribeKey") {
      Fields f(body, op, {"KeyId"});
      out["KeyMetadata"] = metadata_json(keys.describe_key(f.required("KeyId")), account_);
    } else if (op == "ListKeys") {
      Fields f(body, op, {"Limit", "Marker"});
      if (f.string("Marker")) invalid("InvalidMarkerException", "the marker is not one this KMS gave");
      json keys = json::array();
      for (const auto& m : kms_.list_keys()) keys.push_back({{"KeyId", m.key_id}, {"KeyArn", m.arn}});
      out = {{"Keys", keys}, {"Truncated", false}};
    } else if (op == "CreateAlias") {
      Fields f(body, op, {"AliasName", "TargetKeyId"});
      kms_.create_alias(f.required("AliasName"), f.required("TargetKeyId"));
    } else if (op == "DeleteAlias") {
      Fields f(body, op, {"AliasName"});
      kms_.delete_alias(f.required("AliasName"));
    } else if (op == "ListAliases") {
      Fields f(body, op, {"KeyId", "Limit", "Marker"});
      if (f.string("Marker")) invalid("InvalidMarkerException", "the marker is not one this KMS gave");
      auto key = f.string("KeyId");
      json aliases = json::array();
      for (const auto& a : kms_.list_aliases(key ? std::optional<std::string_view>(*key) : std::nullopt))
        aliases.push_back({{"AliasName", a.name}, {"AliasArn", a.arn}, {"TargetKeyId", a.key_id}});
      out = {{"Aliases", aliases}, {"Truncated", false}};
    } else if (op == "EnableKey" || op == "DisableKey") {
      Fields f(body, op, {"KeyId"});
      op == "EnableKey" ? kms_.enable_key(f.required("KeyId")) : kms_.disable_key(f.required("KeyId"));
    } else if (op == "ScheduleKeyDeletion") {
      Fields f(body, op, {"KeyId", "PendingWindowInDays"});
      int64_t days = f.integer("PendingWindowInDays").value_or(30);
      std::string key = f.required("KeyId");
      int64_t when =
          kms_.schedule_key_deletion(key, static_cast<int>(std::clamp<int64_t>(days, -1, 1000)), now_());
      out = {{"KeyId", kms_.describe_key(key).arn},
             {"DeletionDate", when},
             {"KeyState", "PendingDeletion"},
             {"PendingWindowInDays", days}};
    } else if (op == "PutKeyPolicy") {
      Fields f(body, op, {"KeyId", "PolicyName", "Policy", "BypassPolicyLockoutSafetyCheck"});
      if (f.string("PolicyName").value_or("default") != "default")
        invalid("NotFoundException", "A key has one policy, named default");
      kms_.put_key_policy(f.required("KeyId"), f.required("Policy"));
    } else if (op == "GetKeyPolicy") {
      Fields f(body, op, {"KeyId", "PolicyName"});
      if (f.string("PolicyName").value_or("default") != "default")
        invalid("NotFoundException", "A key has one policy, named default");
      out = {{"Policy", kms_.get_key_policy(f.required("KeyId"))}, {"PolicyName", "default"}};
    } else if (op == "GenerateDataKey") {
      Fields f(body, op, {"KeyId", "KeySpec", "NumberOfBytes", "EncryptionContext"});
      size_t n = data_key_bytes(f);
      auto key = keys.generate_data_key(f.required("KeyId"), f.context(), n);
      out = {{"CiphertextBlob", to_base64(key.ciphertext_blob)},
             {"Plaintext", to_base64(key.plaintext)},
             {"KeyId", key.key_arn}};
    } else if (op == "Encrypt") {
      Fields f(body, op, {"KeyId", "Plaintext", "EncryptionContext", "EncryptionAlgorithm"});
      if (f.string("EncryptionAlgorithm").value_or("SYMMETRIC_DEFAULT") != "SYMMETRIC_DEFAULT")
        invalid("ValidationException", "bakrest's KMS encrypts with SYMMETRIC_DEFAULT only");
      std::string key = f.required("KeyId");
      auto blob = kms_.encrypt(key, f.blob("Plaintext"), f.context());
      out = {{"CiphertextBlob", to_base64(blob)},
             {"KeyId", kms_.describe_key(key).arn},
             {"EncryptionAlgorithm", "SYMMETRIC_DEFAULT"}};
    } else if (op == "Decrypt") {
      Fields f(body, op, {"CiphertextBlob", "KeyId", "EncryptionContext", "EncryptionAlgorithm"});
      if (f.string("EncryptionAlgorithm").value_or("SYMMETRIC_DEFAULT") != "SYMMETRIC_DEFAULT")
        invalid("ValidationException", "bakrest's KMS decrypts with SYMMETRIC_DEFAULT only");
      auto key = f.string("KeyId");
      auto d = keys.decrypt(f.blob("CiphertextBlob"),
                            key ? std::optional<std::string_view>(*key) : std::nullopt, f.context());
      out = {{"KeyId", d.key_arn},
             {"Plaintext", to_base64(d.plaintext)},
             {"EncryptionAlgorithm", "SYMMETRIC_DEFAULT"}};
    } else {
      return error("UnknownOperationException", "bakrest's KMS does not have the operation " + op);
    }
    return {200, kContentType, dump(out)};
  } catch (const Invalid& e) {
    return error(e.code, e.message);
  } catch (const crypto::KmsError& e) {
    return error(e.code(), e.what());
  } catch (const json::exception& e) {
    return error("SerializationException", std::string("the request body is not JSON: ") + e.what());
  }
}

}  // namespace bakrest::control
