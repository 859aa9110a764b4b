// RPC requests: parse_rpc_request() on a payload under a fuzzed TDS version (the last four input bytes,
// little endian, go to TdsVersion::negotiate), then what the session does next: each decoded value through
// the value conversions and, as an output parameter is echoed, encoded as a RETURNVALUE; each call through
// the prepared-statement planner that sp_prepare / sp_execute / sp_prepexec / sp_unprepare go to.
#include <fuzzer/FuzzedDataProvider.h>

#include "common/error.h"
#include "fuzz_support.h"
#include "server/prepared.h"
#include "server/row_codec.h"
#include "server/rpc_reader.h"
#include "server/value_convert.h"

using namespace bakrest;

namespace {

// Each value meets one column type, chosen by its place in the request, which keeps the target fast.
void convert_and_echo(const ProcArg& arg, size_t place, server::TdsVersion version) {
  (void)server::value_to_bit(arg.value);
  (void)server::value_to_int(arg.value, INT32_MIN, INT32_MAX);
  (void)server::value_to_float(arg.value);
  (void)server::value_to_text(arg.value);
  (void)server::value_to_binary(arg.value);
  (void)server::value_to_datetime(arg.value);
  static const Column kColumns[] = {
      {"b", ColumnType::kBit, 0},          {"i", ColumnType::kInt, 0},
      {"l", ColumnType::kBigInt, 0},       {"f", ColumnType::kFloat, 0},
      {"s", ColumnType::kNVarChar, 10},    {"m", ColumnType::kNVarCharMax, 0},
      {"v", ColumnType::kVarBinary, 8000}, {"x", ColumnType::kVarBinaryMax, 0},
      {"d", ColumnType::kDateTime, 0},     {"t", ColumnType::kDateTime2, 0},
  };
  server::ByteWriter out;
  server::write_return_value(out, 1, arg.name, kColumns[place % std::size(kColumns)], arg.value, version);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider provider(data, size);
  auto version = server::TdsVersion::negotiate(provider.ConsumeIntegral<uint32_t>());
  std::vector<uint8_t> payload = provider.ConsumeRemainingBytes<uint8_t>();
  std::vector<server::RpcCall> calls;
  try {
    calls = server::parse_rpc_request(payload, version);
  } catch (const server::ProtocolError&) {
    return 0;
  }
  server::PreparedStatements prepared;
  size_t place = 0;
  for (const server::RpcCall& rpc : calls) {
    for (const ProcArg& arg : rpc.call.args) convert_and_echo(arg, place++, version);
    if (rpc.error || !server::PreparedStatements::is_prepared_procedure(rpc.call.name)) continue;
    try {
      server::PreparedStatements::Plan plan = prepared.plan(rpc.call);
      if (plan.execute)
        fuzz::check(plan.execute->name == "sp_executesql", "a prepared plan runs sp_executesql");
    } catch (const SqlError&) {
    }
  }
  return 0;
}
