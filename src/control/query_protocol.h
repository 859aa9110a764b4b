// AWS's query protocol, as IAM, RDS and STS speak it: a form-encoded POST body (Action=...&Version=...&...)
// and an XML reply, <{Action}Response xmlns=...><{Action}Result>...</{Action}Result><ResponseMetadata>
// <RequestId/></ResponseMetadata></{Action}Response>, or an <ErrorResponse> with a code and a message.
//
// Pure functions of their arguments; any thread.
#pragma once

#include <initializer_list>
#include <map>
#include <optional>
#include <pugixml.hpp>
#include <string>
#include <string_view>

#include "control/kms_api.h"  // ApiReply

namespace bakrest::control {

// The form's fields, decoded ('+' is a space, %XX a byte); a field given twice keeps its last value.
std::map<std::string, std::string> parse_form(std::string_view body);

// A request the service refuses before acting: a field the action does not take, one it needs and lacks,
// one that does not read.
struct QueryFault {
  std::string code;
  std::string message;
};

// Whose wording QueryParams' faults use.
enum class QueryService { kIam, kRds, kSts };

// The fields of one action's request, checked against what the action takes. A field it does not take is
// refused by name (never ignored); a name in `allowed` ending in ".*" admits every field under that prefix
// (a list's members, which the action reads itself). Throws QueryFault: IAM's (and STS's) ValidationError, or
// RDS's InvalidParameterValue and MissingParameter.
class QueryParams {
 public:
  QueryParams(const std::map<std::string, std::string>& form, std::string_view action,
              std::initializer_list<std::string_view> allowed, QueryService service);
  std::optional<std::string> get(std::string_view name) const;
  std::string required(std::string_view name) const;
  int integer(std::string_view name, int fallback) const;
  bool boolean(std::string_view name, bool fallback) const;
  // The fields under prefix + ".", without it ("OptionsToInclude.OptionConfiguration.1.OptionName" under
  // "OptionsToInclude" is "OptionConfiguration.1.OptionName").
  std::map<std::string, std::string> under(std::string_view prefix) const;

 private:
  QueryFault invalid(const std::string& message) const;

  const std::map<std::string, std::string>& form_;
  QueryService service_;
};

// "2026-12-07T01:00:00Z"
std::string iso8601(int64_t unix_seconds);

// A reply being built: result() is the <{Action}Result> element to fill.
class QueryReply {
 public:
  QueryReply(std::string_view action, std::string_view xmlns);
  pugi::xml_node result() { return result_; }
  ApiReply done() const;  // 200, text/xml

 private:
  pugi::xml_document doc_;
  pugi::xml_node result_;
};

// Appends <name>text</name> to parent.
void add_text(pugi::xml_node parent, const char* name, std::string_view text);

// <ErrorResponse xmlns=...><Error><Type>Sender</Type><Code/><Message/></Error><RequestId/></ErrorResponse>
ApiReply query_error(std::string_view xmlns, std::string_view code, std::string_view message,
                     int status = 400);

}  // namespace bakrest::control
