// AWS's query protocol, as IAM, RDS and STS speak it: a form-encoded POST body (Action=...&Version=...&...)
// and an XML reply, <{Action}Response xmlns=...><{Action}Result>...</{Action}Result><ResponseMetadata>
// <RequestId/></ResponseMetadata></{Action}Response>, or an <ErrorResponse> with a code and a message.
//
// Pure functions of their arguments; any thread.
#pragma once

#include <map>
#include <pugixml.hpp>
#include <string>
#include <string_view>

#include "control/kms_api.h"  // ApiReply

namespace bakrest::control {

// The form's fields, decoded ('+' is a space, %XX a byte); a field given twice keeps its last value.
std::map<std::string, std::string> parse_form(std::string_view body);

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
