// The body of a differential backup as a restore reads it (backup/differential_body.h): the header's page
// size and page count come from the input, the body is the rest, written into a well-formed backup so that
// every mutation reaches the entry decoding behind the checksums. Invariants: the entries read are whole
// pages, in ascending order, within the page count.
#include <fuzzer/FuzzedDataProvider.h>

#include "backup/differential_body.h"
#include "fuzz_support.h"

namespace {

using namespace bakrest;

class VectorSink : public format::ByteSink {
 public:
  void write(std::span<const uint8_t> bytes) override { data.insert(data.end(), bytes.begin(), bytes.end()); }
  std::vector<uint8_t> data;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider provider(data, size);
  format::BackupHeader header;
  header.database_name = "d";
  header.type = format::BackupType::kDifferential;
  header.page_size = 512u << provider.ConsumeIntegralInRange<int>(0, 7);  // 512 .. 65536
  header.page_count = provider.ConsumeIntegralInRange<uint64_t>(1, 1u << 20);
  header.first_lsn = header.last_lsn = 1;
  header.base_backup_id[0] = 1;
  header.compression = provider.ConsumeBool() ? format::Compression::kZstd : format::Compression::kNone;
  std::vector<uint8_t> body = provider.ConsumeRemainingBytes<uint8_t>();

  VectorSink sink;
  {
    format::BackupWriter writer(sink, header, {.chunk_size = 4096, .zstd_level = 1});
    writer.write(body);
    writer.finish(0);
  }
  fuzz::MemorySource source(sink.data, 1 << 20);
  format::BackupReader reader(source);
  uint32_t previous = 0;
  try {
    backup::read_differential(
        reader, reader.header(), format::PageRun{1, reader.header().page_count}, [] {},
        [&](uint32_t pgno, std::span<const uint8_t> page) {
          fuzz::check(page.size() == header.page_size, "an entry is a whole page");
          fuzz::check(pgno > previous, "entries ascend");
          fuzz::check(pgno >= 1 && pgno <= header.page_count, "entries are in range");
          previous = pgno;
        });
  } catch (const format::FormatError&) {
  }
  return 0;
}
