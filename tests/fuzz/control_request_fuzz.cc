// What the control endpoint reads from a client before it trusts it: the SigV4 Authorization header and
// X-Amz-Date (control::SigV4Verifier), a query-protocol form body (control::parse_form) and base64 fields
// (from_base64). The input is split at its first two newlines: Authorization, X-Amz-Date, body.
#include <string>
#include <string_view>

#include "common/digest.h"
#include "control/query_protocol.h"
#include "control/sigv4_verifier.h"
#include "fuzz_support.h"

using namespace bakrest;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  size_t first = text.find('\n');
  size_t second = first == std::string_view::npos ? first : text.find('\n', first + 1);
  std::string authorization(text.substr(0, first));
  std::string date =
      first == std::string_view::npos ? "" : std::string(text.substr(first + 1, second - first - 1));
  std::string_view body = second == std::string_view::npos ? std::string_view() : text.substr(second + 1);

  if (auto seconds = control::parse_amz_date(date)) {
    std::string again = control::iso8601(*seconds);
    std::erase_if(again, [](char c) { return c == '-' || c == ':'; });
    fuzz::check(again == date, "a date read is the date written back");
  }
  for (const auto& [name, value] : control::parse_form(body)) {
    fuzz::check(name.size() <= body.size() && value.size() <= body.size(), "form fields come from the body");
  }
  if (auto bytes = from_base64(body)) {
    fuzz::check(to_base64(*bytes) == body, "what decodes encodes back to the same text");
  }

  control::SigV4Verifier verifier([](std::string_view id) -> std::optional<std::string> {
    if (id == "AKIDBAKRESTEXAMPLE") return std::string("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    return std::nullopt;
  });
  control::SignedRequest request;
  request.method = "POST";
  request.path = "/";
  request.headers = {{"Host", "127.0.0.1:14330"}, {"Authorization", authorization}, {"X-Amz-Date", date}};
  request.body = body;
  const std::string regions[] = {"us-east-1"};
  try {
    verifier.verify(request, "kms", regions, control::parse_amz_date(date).value_or(0));
    fuzz::check(false, "a fuzzed signature was accepted");
  } catch (const control::AuthError&) {
  }
  return 0;
}
