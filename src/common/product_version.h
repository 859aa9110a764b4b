// Which SQL Server release the instance presents itself as (instance.toml's engine_version, RDS's engine
// version string): reported in PRELOGIN and LOGINACK, @@VERSION and SERVERPROPERTY, so that drivers and
// ORMs pick the dialect they would pick for that SQL Server (docs/COMPATIBILITY.md, "Version").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bakrest {

struct ProductVersion {
  int major = 15;  // 11 = 2012, 12 = 2014, 13 = 2016, 14 = 2017, 15 = 2019, 16 = 2022
  int minor = 0;
  int build = 4153;
  int revision = 1;
  std::string edition = "standard";  // express, web, standard, enterprise

  // Reads RDS's form "15.00.4153.1.v1" (also "15.0.4153.1"); nullopt for anything else or a major version
  // bakrest does not present itself as (11..16).
  static std::optional<ProductVersion> parse(std::string_view engine_version, std::string edition);

  std::string engine_version() const;   // "15.00.4153.1.v1"
  std::string product_version() const;  // SERVERPROPERTY('ProductVersion'): "15.0.4153.1"
  std::string year() const;             // "2019"
  std::string edition_text() const;     // SERVERPROPERTY('Edition'): "Standard Edition (64-bit)"
  int engine_edition() const;  // SERVERPROPERTY('EngineEdition'): 2 standard/web, 3 enterprise, 4 express
  int64_t edition_id() const;  // SERVERPROPERTY('EditionID')
  // @@VERSION: "Microsoft SQL Server 2019 (RTM) - 15.0.4153.1 (X64) ..." with bakrest and SQLite named, in
  // the shape drivers parse ("Microsoft .*? - (\d+)\.(\d+)\.(\d+)\.(\d+)").
  std::string version_text(std::string_view bakrest_version, std::string_view sqlite_version) const;
};

}  // namespace bakrest
