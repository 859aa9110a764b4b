#include "control/query_protocol.h"

#include <cctype>
#include <chrono>
#include <sstream>

#include "common/ids.h"
#include "common/text.h"

namespace bakrest::control {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// application/x-www-form-urlencoded decoding; a '%' not followed by two hex digits stays as it is.
std::string form_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
               hex_value(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

// A request ID in the form AWS gives them (a UUID).
std::string request_id() { return ascii_lower(guid_to_string(random_guid())); }

ApiReply xml_reply(const pugi::xml_document& doc, int status) {
  std::ostringstream out;
  doc.save(out, "", pugi::format_raw);
  return {status, "text/xml", out.str()};
}

}  // namespace

std::map<std::string, std::string> parse_form(std::string_view body) {
  std::map<std::string, std::string> out;
  while (!body.empty()) {
    size_t amp = body.find('&');
    std::string_view pair = body.substr(0, amp);
    size_t eq = pair.find('=');
    if (!pair.empty())
      out[form_decode(pair.substr(0, eq))] =
          eq == std::string_view::npos ? "" : form_decode(pair.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    body.remove_prefix(amp + 1);
  }
  return out;
}

QueryParams::QueryParams(const std::map<std::string, std::string>& form, std::string_view action,
                         std::initializer_list<std::string_view> allowed, QueryService service)
    : form_(form), service_(service) {
  for (const auto& [name, value] : form) {
    if (name == "Action" || name == "Version") continue;
    bool known = false;
    for (std::string_view a : allowed) {
      known = known || a == name || (a.ends_with(".*") && name.starts_with(a.substr(0, a.size() - 1)));
    }
    if (!known) {
      const char* service = service_ == QueryService::kRds   ? "RDS"
                            : service_ == QueryService::kSts ? "STS"
                                                             : "IAM";
      throw invalid(std::string("bakrest's ") + service + " does not take " + name + " on " +
                    std::string(action));
    }
  }
}

QueryFault QueryParams::invalid(const std::string& message) const {
  return {service_ == QueryService::kRds ? "InvalidParameterValue" : "ValidationError", message};
}

std::optional<std::string> QueryParams::get(std::string_view name) const {
  auto it = form_.find(std::string(name));
  if (it == form_.end()) return std::nullopt;
  return it->second;
}

std::string QueryParams::required(std::string_view name) const {
  auto value = get(name);
  if (value) return *value;
  if (service_ == QueryService::kRds)
    throw QueryFault{"MissingParameter", "The request must contain the parameter " + std::string(name)};
  // IAM and STS name the member as their models do: lower camel case.
  throw QueryFault{"ValidationError", "1 validation error detected: Value null at '" +
                                          std::string(1, static_cast<char>(std::tolower(name[0]))) +
                                          std::string(name.substr(1)) +
                                          "' failed to satisfy constraint: Member must not be null"};
}

int QueryParams::integer(std::string_view name, int fallback) const {
  auto value = get(name);
  if (!value) return fallback;
  try {
    size_t used = 0;
    int n = std::stoi(*value, &used);
    if (used == value->size()) return n;
  } catch (const std::exception&) {
  }
  throw invalid(std::string(name) + " must be an integer");
}

bool QueryParams::boolean(std::string_view name, bool fallback) const {
  auto value = get(name);
  if (!value) return fallback;
  if (*value == "true") return true;
  if (*value == "false") return false;
  throw invalid(std::string(name) + " must be true or false");
}

std::map<std::string, std::string> QueryParams::under(std::string_view prefix) const {
  std::map<std::string, std::string> out;
  std::string start = std::string(prefix) + ".";
  for (auto it = form_.lower_bound(start); it != form_.end() && it->first.starts_with(start); ++it)
    out[it->first.substr(start.size())] = it->second;
  return out;
}

std::string iso8601(int64_t unix_seconds) {
  std::chrono::sys_seconds t{std::chrono::seconds(unix_seconds)};
  auto days = std::chrono::floor<std::chrono::days>(t);
  std::chrono::year_month_day ymd{days};
  std::chrono::hh_mm_ss hms{t - days};
  char text[32];
  std::snprintf(text, sizeof text, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return text;
}

QueryReply::QueryReply(std::string_view action, std::string_view xmlns) {
  pugi::xml_node response = doc_.append_child((std::string(action) + "Response").c_str());
  response.append_attribute("xmlns") = std::string(xmlns).c_str();
  result_ = response.append_child((std::string(action) + "Result").c_str());
  pugi::xml_node metadata = response.append_child("ResponseMetadata");
  add_text(metadata, "RequestId", request_id());
}

ApiReply QueryReply::done() const { return xml_reply(doc_, 200); }

void add_text(pugi::xml_node parent, const char* name, std::string_view text) {
  parent.append_child(name).text().set(std::string(text).c_str());
}

ApiReply query_error(std::string_view xmlns, std::string_view code, std::string_view message, int status) {
  pugi::xml_document doc;
  pugi::xml_node response = doc.append_child("ErrorResponse");
  response.append_attribute("xmlns") = std::string(xmlns).c_str();
  pugi::xml_node error = response.append_child("Error");
  add_text(error, "Type", "Sender");
  add_text(error, "Code", code);
  add_text(error, "Message", message);
  add_text(response, "RequestId", request_id());
  return xml_reply(doc, status);
}

}  // namespace bakrest::control
