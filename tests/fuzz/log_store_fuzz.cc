// A database's transaction log directory (engine/log_store.h): LogStore opening one or two fuzzed segment
// files (resealed unless the flags byte says otherwise, see reseal.h), reading every record it then holds,
// appending one more and opening the directory again. The log it opens must be a contiguous run of LSNs
// ending just below next_lsn(), and an append must survive the reopen.
#include <fuzzer/FuzzedDataProvider.h>

#include "engine/log_store.h"
#include "fuzz_support.h"
#include "reseal.h"

using namespace bakrest;

namespace {

uint64_t segment_first_lsn(std::span<const uint8_t> bytes) {
  return bytes.size() >= 24 ? format::layout::load_le<uint64_t>(bytes.subspan(16)) : 1;
}

void write_segment(const std::filesystem::path& dir, std::vector<uint8_t> bytes, bool reseal) {
  if (reseal) fuzz::reseal_log_segment(bytes);
  fuzz::write_file(dir / engine::log_segment_name(segment_first_lsn(bytes)), bytes);
}

void exercise(const std::filesystem::path& dir) {
  uint64_t next = 0;
  {
    engine::LogStore store(dir, 1, {.segment_bytes = 4096});
    next = store.next_lsn();
    fuzz::check(store.first_lsn() <= next, "the first LSN held is at most the next one");
    if (store.last()) fuzz::check(store.last()->lsn + 1 == next, "the next LSN follows the last record");
    std::optional<uint64_t> previous;
    try {
      store.read(store.first_lsn(), next, [&](const engine::LogRecordHeader& header, const auto& read_pages) {
        fuzz::check(!previous || header.lsn == *previous + 1, "records are read in LSN order without gaps");
        previous = header.lsn;
        read_pages([&](uint32_t pgno, std::span<const uint8_t> image) {
          fuzz::check(pgno != 0 && image.size() == header.page_size, "a page read is a page of the record");
        });
      });
      if (previous) fuzz::check(*previous + 1 == next, "reading ends at the last record");
      if (store.last()) {
        (void)store.lsn_at_or_before(store.last()->commit_time_us);
        (void)store.commit_time(store.last()->lsn);
      }
    } catch (const engine::LogFormatError&) {
      // An older segment is only scanned at open; damage in its pages shows when they are read.
    }
    engine::LogRecordHeader header;
    header.lsn = next;
    header.commit_time_us = 1;
    header.database_pages = 1;
    header.page_size = 512;
    header.page_count = 1;
    std::vector<uint8_t> page(512, 0x5A);
    store.append(header, [&](engine::LogRecordEncoder& encoder) { encoder.add_page(1, page); });
    store.sync();
  }
  engine::LogStore again(dir, 1, {.segment_bytes = 4096});
  fuzz::check(again.next_lsn() == next + 1, "an appended record is there after reopening");
  fuzz::check(again.last() && again.last()->lsn == next, "the appended record is the last one");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider provider(data, size);
  uint8_t flags = provider.ConsumeIntegral<uint8_t>();
  bool two_segments = flags & 1;
  bool reseal = (flags & 2) == 0;
  size_t split = provider.ConsumeIntegral<uint16_t>();
  std::vector<uint8_t> rest = provider.ConsumeRemainingBytes<uint8_t>();
  split = std::min(split, rest.size());

  auto dir = fuzz::ScratchDir::path() / "log";
  fuzz::reset_dir(dir);
  if (two_segments) {
    write_segment(dir, std::vector<uint8_t>(rest.begin(), rest.begin() + static_cast<ptrdiff_t>(split)),
                  reseal);
    write_segment(dir, std::vector<uint8_t>(rest.begin() + static_cast<ptrdiff_t>(split), rest.end()),
                  reseal);
  } else {
    write_segment(dir, rest, reseal);
  }
  try {
    exercise(dir);
  } catch (const engine::LogFormatError&) {
  }
  return 0;
}
