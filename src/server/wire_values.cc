#include "server/wire_values.h"

#include <fmt/format.h>

#include <bit>
#include <chrono>

#include "common/error.h"
#include "server/bytes.h"
#include "server/sql_datetime.h"
#include "server/tds_types.h"

namespace bakrest::server {
namespace {

constexpr int64_t kYear1MaxDays = 3652058;         // 9999-12-31 relative to 0001-01-01
constexpr int64_t kUnixDaysFromYear1 = 719162;     // 0001-01-01 .. 1970-01-01
constexpr int64_t kUnitsPerDay = 864'000'000'000;  // of 100 ns
constexpr int kMaxOffsetMinutes = 14 * 60;

uint64_t pow10(int n) {
  uint64_t v = 1;
  while (n-- > 0) v *= 10;
  return v;
}

// "YYYY-MM-DD" of a day counted from 0001-01-01 (0 .. kYear1MaxDays).
std::string date_text(int64_t days) {
  namespace chr = std::chrono;
  chr::year_month_day ymd{chr::sys_days{chr::days{days - kUnixDaysFromYear1}}};
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                     static_cast<unsigned>(ymd.day()));
}

// "HH:MM:SS.fffffff" of a time of day in 100 ns units.
std::string time_text(int64_t units) {
  int64_t seconds = units / 10'000'000;
  return fmt::format("{:02}:{:02}:{:02}.{:07}", seconds / 3600, seconds / 60 % 60, seconds % 60,
                     units % 10'000'000);
}

}  // namespace

size_t time_bytes(int scale) { return scale <= 2 ? 3 : scale <= 4 ? 4 : 5; }

int64_t signed_le(std::span<const uint8_t> b) {
  uint64_t v = 0;
  for (size_t i = 0; i < b.size(); ++i) v |= uint64_t{b[i]} << (8 * i);
  size_t bits = b.size() * 8;
  if (bits < 64 && ((v >> (bits - 1)) & 1)) v |= ~uint64_t{0} << bits;  // sign-extend
  return static_cast<int64_t>(v);
}

Value int_value(std::span<const uint8_t> b) {
  if (b.size() == 1) return int64_t{b[0]};  // TINYINT is unsigned
  return signed_le(b);
}

Value float_value(std::span<const uint8_t> b) {
  ByteReader r(b);
  if (b.size() == 4) return static_cast<double>(std::bit_cast<float>(r.u32le()));
  return std::bit_cast<double>(r.u64le());
}

std::string guid_text(std::span<const uint8_t> g) {
  // The first three groups are little-endian integers, the last two are bytes in order.
  return fmt::format(
      "{:02X}{:02X}{:02X}{:02X}-{:02X}{:02X}-{:02X}{:02X}-{:02X}{:02X}-{:02X}{:02X}{:02X}{:02X}{:02X}{:02X}",
      g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6], g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15]);
}

Value date_time_value(std::span<const uint8_t> b, uint8_t code, int scale) {
  if (scale < 0 || scale > 7) throw ProtocolError(fmt::format("time scale {} out of range", scale));
  ByteReader v(b);
  int64_t units = 0;  // time of day in 100 ns
  if (code != tds_type::kDateN) {
    uint64_t time = v.uint_le(time_bytes(scale));
    uint64_t per_day = 86400 * pow10(scale);
    if (time >= per_day)
      throw ProtocolError(fmt::format("time {} is not a time of day at scale {}", time, scale));
    units = static_cast<int64_t>(time * pow10(7 - scale));
  }
  if (code == tds_type::kTimeN) return time_text(units);
  auto days = static_cast<int64_t>(v.uint_le(3));
  if (days > kYear1MaxDays) throw ProtocolError(fmt::format("day {} is after 9999-12-31", days));
  if (code == tds_type::kDateN) return from_sql_datetime2(SqlDateTime2{static_cast<uint32_t>(days), 0}, 0);
  if (code == tds_type::kDateTime2N) return date_text(days) + " " + time_text(units);
  // DATETIMEOFFSET: the date and time are UTC; the value is shown at its offset.
  auto offset = static_cast<int16_t>(v.u16le());
  if (offset < -kMaxOffsetMinutes || offset > kMaxOffsetMinutes)
    throw ProtocolError(
        fmt::format("DATETIMEOFFSET time zone offset of {} minutes is outside -14:00 .. +14:00", offset));
  int64_t local = days * kUnitsPerDay + units + int64_t{offset} * 60 * 10'000'000;
  int64_t local_days = local >= 0 ? local / kUnitsPerDay : -1;
  if (local_days < 0 || local_days > kYear1MaxDays)
    throw ProtocolError("DATETIMEOFFSET is outside 0001-01-01 .. 9999-12-31 at its offset");
  int magnitude = offset < 0 ? -offset : offset;
  return fmt::format("{} {} {}{:02}:{:02}", date_text(local_days),
                     time_text(local - local_days * kUnitsPerDay), offset < 0 ? '-' : '+', magnitude / 60,
                     magnitude % 60);
}

}  // namespace bakrest::server
