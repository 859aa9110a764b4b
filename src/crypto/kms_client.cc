#include "crypto/kms_client.h"

#include <ctime>
#include <nlohmann/json.hpp>
#include <regex>

#include "common/digest.h"
#include "common/ids.h"
#include "common/text.h"

namespace bakrest::crypto {

namespace {

using nlohmann::json;

std::vector<uint8_t> base64_field(const json& reply, const char* field) {
  auto text = reply.at(field).get<std::string>();
  auto bytes = from_base64(text);
  if (!bytes)
    throw KmsError("KMSInternalException",
                   std::string("the KMS replied with a ") + field + " that is not base64");
  return *bytes;
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

KmsClient::KmsClient(KmsClientSettings settings) : settings_(std::move(settings)) {
  static const std::regex url(R"((https?)://([A-Za-z0-9.\-]+(:[0-9]{1,5})?)/?)");
  std::smatch m;
  if (!std::regex_match(settings_.endpoint, m, url))
    throw std::invalid_argument("the KMS endpoint '" + settings_.endpoint +
                                "' is not http:// or https:// and a host (and port)");
  host_ = m[2];
  if (settings_.endpoint.back() == '/') settings_.endpoint.pop_back();
  http_ = std::make_unique<storage::http::Client>(storage::http::Options{});
}

KmsClient::~KmsClient() = default;

std::string KmsClient::call(const std::string& operation, const std::string& body) const {
  namespace sigv4 = storage::sigv4;
  const std::string date = sigv4::amz_date(std::time(nullptr));
  const std::string payload = to_hex(sha256(body));
  sigv4::Request signed_request;
  signed_request.method = "POST";
  signed_request.path = "/";
  signed_request.payload_hash = payload;
  signed_request.headers = {{"host", host_},
                            {"content-type", "application/x-amz-json-1.1"},
                            {"x-amz-target", "TrentService." + operation},
                            {"x-amz-date", date},
                            {"x-amz-content-sha256", payload},
                            {"amz-sdk-invocation-id", ascii_lower(guid_to_string(random_guid()))}};
  if (!settings_.credentials.session_token.empty())
    signed_request.headers.emplace_back("x-amz-security-token", settings_.credentials.session_token);
  const sigv4::Scope scope{date.substr(0, 8), settings_.region, "kms"};
  storage::http::Request request;
  request.method = "POST";
  request.url = settings_.endpoint + "/";
  request.headers = signed_request.headers;
  request.headers.emplace_back("Authorization",
                               sigv4::authorization(signed_request, settings_.credentials, date, scope));
  request.body = {reinterpret_cast<const uint8_t*>(body.data()), body.size()};
  storage::http::Response reply;
  try {
    reply = http_->perform(request, storage::CallContext().within(std::chrono::seconds(30)),
                           "KMS " + operation, {}, 1 << 20);
  } catch (const std::exception& e) {
    throw KmsError("KMSInternalException",
                   "the KMS at " + settings_.endpoint + " could not be reached: " + e.what());
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
    return DataKey{base64_field(reply, "Plaintext"), base64_field(reply, "CiphertextBlob"),
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
    return Decrypted{base64_field(reply, "Plaintext"), reply.at("KeyId").get<std::string>()};
  } catch (const json::exception& e) {
    throw KmsError("KMSInternalException", std::string("the KMS's Decrypt reply does not read: ") + e.what());
  }
}

}  // namespace bakrest::crypto
