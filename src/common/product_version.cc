#include "common/product_version.h"

#include <fmt/format.h>

#include <charconv>
#include <vector>

namespace bakrest {

std::optional<ProductVersion> ProductVersion::parse(std::string_view engine_version, std::string edition) {
  std::vector<int> parts;
  size_t at = 0;
  while (at < engine_version.size() && parts.size() < 4) {
    int n = 0;
    auto [end, ec] =
        std::from_chars(engine_version.data() + at, engine_version.data() + engine_version.size(), n);
    if (ec != std::errc() || n < 0) return std::nullopt;
    parts.push_back(n);
    at = static_cast<size_t>(end - engine_version.data());
    if (at < engine_version.size() && engine_version[at] == '.') ++at;
  }
  std::string_view rest = engine_version.substr(std::min(at, engine_version.size()));
  bool rds_suffix = rest.empty() || (rest.size() >= 2 && rest[0] == 'v' &&
                                     rest.find_first_not_of("0123456789", 1) == std::string_view::npos);
  if (parts.size() != 4 || !rds_suffix || parts[0] < 11 || parts[0] > 16 || parts[2] > 65535)
    return std::nullopt;
  return ProductVersion{parts[0], parts[1], parts[2], parts[3], std::move(edition)};
}

std::string ProductVersion::engine_version() const {
  return fmt::format("{}.{:02d}.{}.{}.v1", major, minor, build, revision);
}

std::string ProductVersion::product_version() const {
  return fmt::format("{}.{}.{}.{}", major, minor, build, revision);
}

std::string ProductVersion::year() const {
  switch (major) {
    case 11:
      return "2012";
    case 12:
      return "2014";
    case 13:
      return "2016";
    case 14:
      return "2017";
    case 15:
      return "2019";
    default:
      return "2022";
  }
}

std::string ProductVersion::edition_text() const {
  if (edition == "express") return "Express Edition (64-bit)";
  if (edition == "web") return "Web Edition (64-bit)";
  if (edition == "enterprise") return "Enterprise Edition (64-bit)";
  return "Standard Edition (64-bit)";
}

int ProductVersion::engine_edition() const {
  if (edition == "express") return 4;
  if (edition == "enterprise") return 3;
  return 2;
}

int64_t ProductVersion::edition_id() const {
  if (edition == "express") return -1592396055;
  if (edition == "web") return 1293598313;
  if (edition == "enterprise") return 1804890536;
  return -1534726760;
}

std::string ProductVersion::version_text(std::string_view bakrest_version,
                                         std::string_view sqlite_version) const {
  return fmt::format(
      "Microsoft SQL Server {} (RTM) - {} (X64) \n\tbakrest {} (SQL Server native backup and restore on "
      "SQLite {})"
      "\n\t{} on Linux <X64>",
      year(), product_version(), bakrest_version, sqlite_version, edition_text());
}

}  // namespace bakrest
