// RPC requests: parse_rpc_request() on a payload under a fuzzed TDS version (the last four input bytes,
// little endian, go to TdsVersion::negotiate), then each decoded call through the prepared-statement planner
// the session hands sp_prepare / sp_execute / sp_prepexec / sp_unprepare to.
#include <fuzzer/FuzzedDataProvider.h>

#include "common/error.h"
#include "fuzz_support.h"
#include "server/prepared.h"
#include "server/rpc_reader.h"

using namespace bakrest;

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
  for (const server::RpcCall& rpc : calls) {
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
