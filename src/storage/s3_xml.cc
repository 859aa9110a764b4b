#include "storage/s3_xml.h"

#include <pugixml.hpp>

#include <charconv>
#include <sstream>

#include "common/clock.h"

namespace bakrest::storage::s3xml {

namespace {

std::optional<pugi::xml_document> parse(std::string_view body) {
  pugi::xml_document doc;
  // parse_default without entity expansion beyond XML's five: pugixml never loads external entities.
  if (!doc.load_buffer(body.data(), body.size(), pugi::parse_default)) return std::nullopt;
  return doc;
}

std::string text(const pugi::xml_node& node, const char* child) {
  return node.child(child).text().as_string();
}

int64_t parse_time_us(std::string text) {
  if (!text.empty() && text.back() == 'Z') text.pop_back();
  return parse_datetime(text).value_or(0);
}

std::string escape(std::string_view raw) {
  std::string out;
  for (char c : raw) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace

std::string unquote(std::string_view etag) {
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') etag = etag.substr(1, etag.size() - 2);
  return std::string(etag);
}

std::optional<Error> parse_error(std::string_view body) {
  auto doc = parse(body);
  if (!doc) return std::nullopt;
  pugi::xml_node error = doc->child("Error");
  if (!error) return std::nullopt;
  return Error{text(error, "Code"), text(error, "Message"), text(error, "RequestId"), text(error, "Region")};
}

std::optional<ListPage> parse_list_objects_v2(std::string_view body) {
  auto doc = parse(body);
  if (!doc) return std::nullopt;
  pugi::xml_node result = doc->child("ListBucketResult");
  if (!result) return std::nullopt;
  ListPage page;
  page.truncated = std::string_view(result.child("IsTruncated").text().as_string()) == "true";
  page.next_continuation_token = text(result, "NextContinuationToken");
  for (pugi::xml_node item : result.children("Contents")) {
    const std::string size = text(item, "Size");
    uint64_t bytes = 0;
    auto [end, ec] = std::from_chars(size.data(), size.data() + size.size(), bytes);
    if (ec != std::errc() || end != size.data() + size.size()) return std::nullopt;
    page.objects.push_back(ObjectInfo{text(item, "Key"), bytes, unquote(text(item, "ETag"))});
  }
  // A truncated page without a token would make the caller ask for the same page forever.
  if (page.truncated && page.next_continuation_token.empty()) return std::nullopt;
  return page;
}

std::optional<std::string> parse_upload_id(std::string_view body) {
  auto doc = parse(body);
  if (!doc) return std::nullopt;
  std::string id = text(doc->child("InitiateMultipartUploadResult"), "UploadId");
  if (id.empty()) return std::nullopt;
  return id;
}

std::optional<std::string> parse_complete_result(std::string_view body) {
  auto doc = parse(body);
  if (!doc) return std::nullopt;
  pugi::xml_node result = doc->child("CompleteMultipartUploadResult");
  if (!result) return std::nullopt;
  return unquote(text(result, "ETag"));
}

std::optional<UploadPage> parse_list_uploads(std::string_view body) {
  auto doc = parse(body);
  if (!doc) return std::nullopt;
  pugi::xml_node result = doc->child("ListMultipartUploadsResult");
  if (!result) return std::nullopt;
  UploadPage page;
  page.truncated = std::string_view(result.child("IsTruncated").text().as_string()) == "true";
  page.next_key_marker = text(result, "NextKeyMarker");
  page.next_upload_id_marker = text(result, "NextUploadIdMarker");
  for (pugi::xml_node item : result.children("Upload")) {
    page.uploads.push_back(
        Upload{text(item, "Key"), text(item, "UploadId"), parse_time_us(text(item, "Initiated"))});
  }
  if (page.truncated && page.next_key_marker.empty()) return std::nullopt;
  return page;
}

std::optional<std::string> parse_location(std::string_view body) {
  auto doc = parse(body);
  if (!doc) return std::nullopt;
  pugi::xml_node node = doc->child("LocationConstraint");
  if (!node) return std::nullopt;
  std::string region = node.text().as_string();
  if (region.empty()) return std::string("us-east-1");
  if (region == "EU") return std::string("eu-west-1");
  return region;
}

std::string complete_request(const std::vector<Part>& parts) {
  std::ostringstream out;
  out << "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
  for (const Part& part : parts) {
    out << "<Part><PartNumber>" << part.number << "</PartNumber><ETag>" << escape(part.etag)
        << "</ETag></Part>";
  }
  out << "</CompleteMultipartUpload>";
  return out.str();
}

std::string create_bucket_request(const std::string& region) {
  if (region.empty() || region == "us-east-1") return {};
  return "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>" +
         escape(region) + "</LocationConstraint></CreateBucketConfiguration>";
}

}  // namespace bakrest::storage::s3xml
