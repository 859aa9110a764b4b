// KMS's JSON protocol as the control endpoint takes it from a signed client (control::KmsApi::handle) over a
// local KMS in a scratch keyring: the first line of the input is the operation, the rest its JSON body. Every
// reply is JSON: 200 with the operation's result, or 400 with __type and message.
#include <nlohmann/json.hpp>
#include <string>

#include "control/kms_api.h"
#include "crypto/keyring.h"
#include "crypto/local_kms.h"
#include "fuzz_support.h"

using namespace bakrest;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static crypto::Keyring keyring(fuzz::ScratchDir::path() / "keyring");
  static crypto::LocalKms kms(keyring, "us-east-1", "123456789012");
  static control::KmsApi api(kms, "123456789012", [] { return int64_t{1796600000}; });
  std::string_view text(reinterpret_cast<const char*>(data), size);
  size_t newline = text.find('\n');
  std::string_view operation = text.substr(0, newline);
  std::string_view body = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
  control::ApiReply reply = api.handle(operation, body);
  fuzz::check(reply.status == 200 || reply.status == 400, "a reply is 200 or 400");
  nlohmann::json parsed = nlohmann::json::parse(reply.body, nullptr, false);
  fuzz::check(!parsed.is_discarded() && parsed.is_object(), "a reply is a JSON object");
  if (reply.status == 400)
    fuzz::check(parsed.contains("__type") && parsed.contains("message"), "an error has __type and message");
  return 0;
}
