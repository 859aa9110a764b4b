#include "storage/sigv4.h"

#include <algorithm>
#include <ctime>
#include <map>

#include "common/digest.h"
#include "common/text.h"

namespace bakrest::storage::sigv4 {

namespace {

std::span<const uint8_t> bytes_of(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

// Header values are signed trimmed, with runs of spaces inside folded to one (SigV4's "Trimall").
std::string trim_all(std::string_view value) {
  std::string out;
  bool space = false;
  for (char c : value) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

// Lower-cased names with their values; a name sent twice is signed once with its values joined by ','.
std::map<std::string, std::string> canonical_headers(const Request& request) {
  std::map<std::string, std::string> headers;
  for (const auto& [name, value] : request.headers) {
    auto [it, fresh] = headers.emplace(ascii_lower(name), trim_all(value));
    if (!fresh) it->second += "," + trim_all(value);
  }
  return headers;
}

}  // namespace

std::string uri_encode(std::string_view text, bool encode_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
        c == '_' || c == '~' || (c == '/' && !encode_slash)) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string encode_path(std::string_view path) { return uri_encode(path.empty() ? "/" : path, false); }

std::string canonical_query(const std::vector<std::pair<std::string, std::string>>& query) {
  std::vector<std::pair<std::string, std::string>> encoded;
  encoded.reserve(query.size());
  for (const auto& [name, value] : query)
    encoded.emplace_back(uri_encode(name, true), uri_encode(value, true));
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [name, value] : encoded) {
    if (!out.empty()) out += '&';
    out += name + "=" + value;
  }
  return out;
}

std::string signed_headers(const Request& request) {
  std::string out;
  for (const auto& [name, value] : canonical_headers(request)) {
    if (!out.empty()) out += ';';
    out += name;
  }
  return out;
}

std::string canonical_request(const Request& request) {
  std::string out =
      request.method + "\n" + encode_path(request.path) + "\n" + canonical_query(request.query) + "\n";
  for (const auto& [name, value] : canonical_headers(request)) out += name + ":" + value + "\n";
  out += "\n" + signed_headers(request) + "\n" + request.payload_hash;
  return out;
}

std::string amz_date(int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm utc{};
  gmtime_r(&t, &utc);
  char text[20];
  std::strftime(text, sizeof text, "%Y%m%dT%H%M%SZ", &utc);
  return text;
}

std::string string_to_sign(std::string_view amz_date, const Scope& scope,
                           std::string_view canonical_request) {
  return "AWS4-HMAC-SHA256\n" + std::string(amz_date) + "\n" + scope.text() + "\n" +
         to_hex(sha256(canonical_request));
}

std::string signature(std::string_view secret_access_key, const Scope& scope,
                      std::string_view string_to_sign) {
  const std::string secret = "AWS4" + std::string(secret_access_key);
  auto key = hmac_sha256(bytes_of(secret), scope.date);
  key = hmac_sha256(key, scope.region);
  key = hmac_sha256(key, scope.service);
  key = hmac_sha256(key, "aws4_request");
  return to_hex(hmac_sha256(key, string_to_sign));
}

std::string authorization(const Request& request, const Credentials& credentials, std::string_view amz_date,
                          const Scope& scope) {
  const std::string to_sign = string_to_sign(amz_date, scope, canonical_request(request));
  return "AWS4-HMAC-SHA256 Credential=" + credentials.access_key_id + "/" + scope.text() +
         ",SignedHeaders=" + signed_headers(request) +
         ",Signature=" + signature(credentials.secret_access_key, scope, to_sign);
}

std::vector<std::pair<std::string, std::string>> presign(Request request, const Credentials& credentials,
                                                         std::string_view amz_date, const Scope& scope,
                                                         int expires_seconds) {
  std::vector<std::pair<std::string, std::string>> added = {
      {"X-Amz-Algorithm", "AWS4-HMAC-SHA256"},
      {"X-Amz-Credential", credentials.access_key_id + "/" + scope.text()},
      {"X-Amz-Date", std::string(amz_date)},
      {"X-Amz-Expires", std::to_string(expires_seconds)},
      {"X-Amz-SignedHeaders", signed_headers(request)},
  };
  if (!credentials.session_token.empty())
    added.emplace_back("X-Amz-Security-Token", credentials.session_token);
  request.query.insert(request.query.end(), added.begin(), added.end());
  const std::string to_sign = string_to_sign(amz_date, scope, canonical_request(request));
  request.query.emplace_back("X-Amz-Signature", signature(credentials.secret_access_key, scope, to_sign));
  return request.query;
}

}  // namespace bakrest::storage::sigv4
