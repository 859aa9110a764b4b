// BULK_LOAD messages: BulkLoadReader on a payload under a fuzzed TDS version (the last four input bytes,
// little endian, go to TdsVersion::negotiate), read row by row, then decode_bulk_load on the same bytes, then
// BulkLoadReader on the same bytes arriving through a MessageStream in packets of 1, 2, ... k bytes (k from
// the same four bytes), as the session reads them. Every row has one value per column, each value is NULL or
// of the kind its column's type gives (server/bulk_load.h), text and binary stay within their column's
// declared length, and all three ways of reading agree.
#include <fuzzer/FuzzedDataProvider.h>

#include <bit>
#include <limits>

#include "common/error.h"
#include "fuzz_support.h"
#include "server/bulk_load.h"
#include "server/message_stream.h"

using namespace bakrest;

namespace {

size_t utf16_units(const std::string& utf8) {
  size_t units = 0;
  for (unsigned char c : utf8) {
    if ((c & 0xC0) != 0x80) units += c >= 0xF0 ? 2 : 1;
  }
  return units;
}

void check_value(const Value& v, const Column& c) {
  if (is_null(v)) return;
  switch (c.type) {
    case ColumnType::kBit:
      fuzz::check(std::holds_alternative<bool>(v), "a BIT value is a bool");
      return;
    case ColumnType::kTinyInt:
    case ColumnType::kSmallInt:
    case ColumnType::kInt:
    case ColumnType::kBigInt:
      fuzz::check(std::holds_alternative<int64_t>(v), "an integer value is an int64_t");
      return;
    case ColumnType::kReal:
    case ColumnType::kFloat:
      fuzz::check(std::holds_alternative<double>(v), "a float value is a double");
      return;
    case ColumnType::kDecimal:
    case ColumnType::kMoney:
    case ColumnType::kSmallMoney:
      fuzz::check(std::holds_alternative<int64_t>(v) || std::holds_alternative<double>(v) ||
                      std::holds_alternative<std::string>(v),
                  "an exact number is an int64_t, a double or its text");
      return;
    case ColumnType::kNVarChar:
      fuzz::check(std::holds_alternative<std::string>(v), "character data is text");
      fuzz::check(utf16_units(std::get<std::string>(v)) <= c.max_length, "text fits its column");
      return;
    case ColumnType::kNVarCharMax:
    case ColumnType::kTime:
    case ColumnType::kDateTime2:
    case ColumnType::kDateTimeOffset:
    case ColumnType::kUniqueIdentifier:
      fuzz::check(std::holds_alternative<std::string>(v), "text types and times are text");
      return;
    case ColumnType::kVarBinary:
      fuzz::check(std::holds_alternative<Bytes>(v), "binary data is Bytes");
      fuzz::check(std::get<Bytes>(v).size() <= c.max_length, "binary data fits its column");
      return;
    case ColumnType::kVarBinaryMax:
      fuzz::check(std::holds_alternative<Bytes>(v), "binary data is Bytes");
      return;
    case ColumnType::kDate:
    case ColumnType::kSmallDateTime:
    case ColumnType::kDateTime:
      fuzz::check(std::holds_alternative<DateTime>(v), "a date is a DateTime");
      return;
  }
}

// Equality that takes a NaN (a client may send one in a FLOAT) as equal to itself.
bool same_rows(const std::vector<std::vector<Value>>& a, const std::vector<std::vector<Value>>& b) {
  if (a.size() != b.size()) return false;
  for (size_t r = 0; r < a.size(); ++r) {
    if (a[r].size() != b[r].size()) return false;
    for (size_t c = 0; c < a[r].size(); ++c) {
      const auto* x = std::get_if<double>(&a[r][c]);
      const auto* y = std::get_if<double>(&b[r][c]);
      if (x && y ? std::bit_cast<uint64_t>(*x) != std::bit_cast<uint64_t>(*y) : a[r][c] != b[r][c])
        return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider provider(data, size);
  auto raw_version = provider.ConsumeIntegral<uint32_t>();
  auto version = server::TdsVersion::negotiate(raw_version);
  const size_t max_piece = 1 + (raw_version ^ (raw_version >> 16)) % 61;
  std::vector<uint8_t> payload = provider.ConsumeRemainingBytes<uint8_t>();
  std::vector<std::vector<Value>> streamed;
  bool failed = false;
  try {
    server::BulkLoadReader reader(payload, version);
    std::vector<Value> row;
    while (reader.next(row)) {
      fuzz::check(row.size() == reader.columns().size(), "a row has one value per column");
      for (size_t c = 0; c < row.size(); ++c) check_value(row[c], reader.columns()[c]);
      streamed.push_back(row);
    }
    fuzz::check(reader.rows_read() == streamed.size(), "rows_read counts the rows");
    fuzz::check(!reader.next(row), "nothing follows the end");
  } catch (const server::ProtocolError&) {
    failed = true;
  } catch (const SqlError& e) {
    fuzz::check(e.message().number == 4816, "the only SqlError is 4816, a type bakrest does not take");
    failed = true;
  }
  try {
    server::BulkLoad whole = server::decode_bulk_load(payload, version);
    fuzz::check(!failed, "decoding whole fails where reading row by row fails");
    fuzz::check(same_rows(whole.rows, streamed), "decoding whole gives the rows read one by one");
  } catch (const server::ProtocolError&) {
    fuzz::check(failed, "decoding whole fails only where reading row by row fails");
  } catch (const SqlError&) {
    fuzz::check(failed, "decoding whole fails only where reading row by row fails");
  }

  server::RequestBudget budget(uint64_t{1} << 30, uint64_t{1} << 30);
  server::MessageStream stream(budget.open_account(), std::numeric_limits<uint64_t>::max());
  for (size_t from = 0, piece = 1; from < payload.size(); from += piece, piece = piece % max_piece + 1) {
    size_t to = std::min(payload.size(), from + piece);
    stream.push(Bytes(payload.begin() + static_cast<std::ptrdiff_t>(from),
                      payload.begin() + static_cast<std::ptrdiff_t>(to)));
  }
  stream.end(server::MessageEnd::kComplete);
  std::vector<std::vector<Value>> packeted;
  try {
    // A row limit far above what an input holds: the limit is for streams, whose end is not known ahead.
    server::BulkLoadReader reader(stream, version, server::BulkRowLimits{uint64_t{1} << 20, nullptr});
    std::vector<Value> row;
    while (reader.next(row)) {
      fuzz::check(row.size() == reader.columns().size(), "a streamed row has one value per column");
      packeted.push_back(row);
    }
    fuzz::check(!failed, "reading a stream fails where reading the payload fails");
    fuzz::check(same_rows(packeted, streamed), "reading a stream gives the rows of the payload");
  } catch (const server::ProtocolError&) {
    fuzz::check(failed, "reading a stream fails only where reading the payload fails");
  } catch (const SqlError& e) {
    // 701: a PLP value announced larger than the row limit, which the payload could not have held either.
    fuzz::check(failed, "reading a stream fails only where reading the payload fails");
    fuzz::check(e.message().number == 4816 || e.message().number == 701,
                "a stream's SqlError is 4816 or 701");
  }
  return 0;
}
