// How bakrest introduces itself to clients.
#pragma once

#include <cstdint>

namespace bakrest::server {

// Program name in LOGINACK. Drivers look for "Microsoft SQL Server" to pick the SQL Server dialect.
inline constexpr const char* kProgramName = "Microsoft SQL Server";

}  // namespace bakrest::server

namespace bakrest::server {

// SQL_Latin1_General_CP1_CI_AS as TDS sends it: LCID 0x0409, case/width/kana-insensitive flags,
// sort id 52. Used for the session collation and every NVARCHAR column.
inline constexpr uint8_t kDefaultCollation[5] = {0x09, 0x04, 0xD0, 0x00, 0x34};

}  // namespace bakrest::server
