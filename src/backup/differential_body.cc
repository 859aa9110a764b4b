#include "backup/differential_body.h"

#include <string>

#include "backup/job_support.h"

namespace bakrest::backup {

namespace {

constexpr uint32_t kPagesPerProgressCheck = 64;

}  // namespace

void encode_page_entry(uint32_t pgno, std::span<const uint8_t> page, std::vector<uint8_t>& out) {
  out.clear();
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(pgno >> (8 * i)));
  out.insert(out.end(), page.begin(), page.end());
}

uint64_t read_differential(format::BackupReader& reader, const format::BackupHeader& header,
                           format::PageRun run, const std::function<void()>& progress,
                           const std::function<void(uint32_t, std::span<const uint8_t>)>& on_page) {
  // page_size <= 64 KiB: the reader has checked the header's ranges.
  std::vector<uint8_t> entry(size_t{4} + header.page_size);
  uint64_t count = 0;
  uint32_t previous = 0;
  while (read_exact(reader, entry, "a page")) {
    uint32_t pgno = static_cast<uint32_t>(entry[0]) | static_cast<uint32_t>(entry[1]) << 8 |
                    static_cast<uint32_t>(entry[2]) << 16 | static_cast<uint32_t>(entry[3]) << 24;
    if (pgno < run.first || pgno - run.first >= run.count) {
      std::string where = "the database's " + std::to_string(header.page_count) + " pages";
      if (header.stripe_count > 1) {
        where = "pages " + std::to_string(run.first) + " to " + std::to_string(run.first + run.count - 1) +
                ", those of file " + std::to_string(header.stripe_index + 1) + " of " +
                std::to_string(header.stripe_count);
      }
      throw format::FormatError("backup is corrupt: differential page " + std::to_string(pgno) +
                                " is outside " + where);
    }
    if (pgno <= previous)
      throw format::FormatError("backup is corrupt: differential page " + std::to_string(pgno) +
                                " comes after page " + std::to_string(previous));
    previous = pgno;
    on_page(pgno, std::span<const uint8_t>(entry).subspan(4));
    if (++count % kPagesPerProgressCheck == 0) progress();
  }
  return count;
}

}  // namespace bakrest::backup
