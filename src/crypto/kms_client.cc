#include "crypto/kms_client.h"

#include <chrono>
#include <nlohmann/json.hpp>

#include "common/digest.h"
#include "common/text.h"

namespace bakrest::crypto {

namespace {

using nlohmann::json;

// A key's plaintext: the decoded bytes moved into wiping memory, the decoding's own buffer wiped.
SecretBytes secret_base64_field(const json& reply, const char* field);

std::vector<uint8_t> base64_field(const json& reply, const char* field) {
  auto text = reply.at(field).get<std::string>();
  auto bytes = from_base64(text);
  if (!bytes)
    throw KmsError("KMSInternalException",
                   std::string("the KMS replied with a ") + field + " that is not base64");
  return *bytes;
}

SecretBytes secret_base64_field(const json& reply, const char* field) {
  std::vector<uint8_t> bytes = base64_field(reply, field);
  SecretBytes secret(bytes.begin(), bytes.end());
  wipe(bytes);
  return secret;
}

json context_json(const EncryptionContext& context) {
  json out = json::object();
  for (const auto& [name, value] : context) out[name] = value;
  return out;
}

KeyState state_of(const std::string& name) {
  if (name == "Enabled") return KeyState::kEnabled;
  if (name == "Disabled") return KeyState::kDisabled;
  // PendingDeletion, and the states bakrest's KMS does not have (PendingImport, Unavailable, ...): not
  // usable.
  return KeyState::kPendingDeletion;
}

}  // namespace

KmsClient::KmsClient(KmsClientSettings settings)
    : settings_(std::move(settings)),
      endpoint_(storage::parse_api_endpoint(settings_.endpoint, "the KMS endpoint")) {
  if (!settings_.credentials) throw std::invalid_argument("a KMS client needs credentials");
  http_ = std::make_unique<storage::http::Client>(storage::http::Options{});
}

KmsClient::~KmsClient() = default;

std::string KmsClient::call(const std::string& operation, const std::string& body) const {
  storage::SignedPost post{
      "kms",
      settings_.region,
      {{"content-type", "application/x-amz-json-1.1"}, {"x-amz-target", "TrentService." + operation}},
      body};
  storage::http::Response reply;
  for (int attempt = 1;; ++attempt) {
    const auto ctx = storage::CallContext().within(std::chrono::seconds(30));
    storage::sigv4::Credentials keys;
    try {
      keys = settings_.credentials->get(ctx);
    } catch (const storage::StorageError& e) {
      // No keys to sign with (STS refused to let the instance assume the role, ...): that, as it was said.
      throw KmsError(e.kind() == storage::StorageError::Kind::kAccessDenied ? "AccessDeniedException"
                                                                            : "KMSInternalException",
                     e.what());
    }
    try {
      reply = storage::signed_post(*http_, endpoint_, post, keys, ctx, "KMS " + operation);
    } catch (const std::exception& e) {
      throw KmsError("KMSInternalException",
                     "the KMS at " + endpoint_.url + " could not be reached: " + e.what());
    }
    // Temporary keys that ran out between fetching and sending, or that the service no longer knows (it
    // forgot its sessions in a restart): fetch new ones and send once more.
    const bool temporary = !keys.session_token.empty();
    if (attempt == 1 && reply.status == 400 &&
        (reply.body.find("ExpiredToken") != std::string::npos ||
         (temporary && reply.body.find("UnrecognizedClient") != std::string::npos))) {
      settings_.credentials->invalidate();
      continue;
    }
    break;
  }
  if (reply.status == 200) return reply.body;
  std::string code = "KMSInternalException", message = reply.body;
  try {
    json error = json::parse(reply.body);
    code = error.value("__type", code);
    // AWS may qualify the name ("com.amazonaws.kms#NotFoundException").
    if (auto hash = code.rfind('#'); hash != std::string::npos) code = code.substr(hash + 1);
    message =
        error.contains("message") ? error["message"].get<std::string>() : error.value("Message", message);
  } catch (const std::exception&) {
  }
  throw KmsError(code, message.empty() ? "the KMS answered HTTP " + std::to_string(reply.status) : message);
}

KeyMetadata KmsClient::describe_key(std::string_view key) const {
  try {
    json m = json::parse(call("DescribeKey", json{{"KeyId", key}}.dump())).at("KeyMetadata");
    KeyMetadata out;
    out.key_id = m.at("KeyId").get<std::string>();
    out.arn = m.at("Arn").get<std::string>();
    out.description = m.value("Description", "");
    out.key_spec = m.value("KeySpec", m.value("CustomerMasterKeySpec", "SYMMETRIC_DEFAULT"));
    out.key_usage = m.value("KeyUsage", "ENCRYPT_DECRYPT");
    out.key_manager = m.value("KeyManager", "CUSTOMER");
    out.state = state_of(m.value("KeyState", m.value("Enabled", true) ? "Enabled" : "Disabled"));
    return out;
  } catch (const json::exception& e) {
    throw KmsError("KMSInternalException",
                   std::string("the KMS's DescribeKey reply does not read: ") + e.what());
  }
}

DataKey KmsClient::generate_data_key(std::string_view key, const EncryptionContext& context, size_t bytes) {
  json request{{"KeyId", key}, {"NumberOfBytes", bytes}, {"EncryptionContext", context_json(context)}};
  try {
    json reply = json::parse(call("GenerateDataKey", request.dump()));
    return DataKey{secret_base64_field(reply, "Plaintext"), base64_field(reply, "CiphertextBlob"),
                   reply.at("KeyId").get<std::string>()};
  } catch (const json::exception& e) {
    throw KmsError("KMSInternalException",
                   std::string("the KMS's GenerateDataKey reply does not read: ") + e.what());
  }
}

Decrypted KmsClient::decrypt(std::span<const uint8_t> blob, std::optional<std::string_view> key,
                             const EncryptionContext& context) {
  json request{{"CiphertextBlob", to_base64(blob)}, {"EncryptionContext", context_json(context)}};
  if (key) request["KeyId"] = *key;
  try {
    json reply = json::parse(call("Decrypt", request.dump()));
    return Decrypted{secret_base64_field(reply, "Plaintext"), reply.at("KeyId").get<std::string>()};
  } catch (const json::exception& e) {
    throw KmsError("KMSInternalException", std::string("the KMS's Decrypt reply does not read: ") + e.what());
  }
}

}  // namespace bakrest::crypto
