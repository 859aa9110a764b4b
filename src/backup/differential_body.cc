#include "backup/differential_body.h"

#include <algorithm>
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
                           JobControl& control, int progress_from, int progress_to,
                           const std::function<void(uint32_t, std::span<const uint8_t>)>& on_page) {
  // page_size <= 64 KiB and page_count >= 1: the reader has checked the header's ranges.
  std::vector<uint8_t> entry(size_t{4} + header.page_size);
  uint64_t count = 0;
  uint32_t previous = 0;
  while (read_exact(reader, entry, "a page")) {
    uint32_t pgno = static_cast<uint32_t>(entry[0]) | static_cast<uint32_t>(entry[1]) << 8 |
                    static_cast<uint32_t>(entry[2]) << 16 | static_cast<uint32_t>(entry[3]) << 24;
    if (pgno == 0 || pgno > header.page_count)
      throw format::FormatError("backup is corrupt: differential page " + std::to_string(pgno) +
                                " is outside the database's " + std::to_string(header.page_count) + " pages");
    if (pgno <= previous)
      throw format::FormatError("backup is corrupt: differential page " + std::to_string(pgno) +
                                " comes after page " + std::to_string(previous));
    previous = pgno;
    on_page(pgno, std::span<const uint8_t>(entry).subspan(4));
    if (++count % kPagesPerProgressCheck == 0) {
      control.check_cancelled();
      control.progress(progress_from + static_cast<int>(std::min<uint64_t>(count, header.page_count) *
                                                        (progress_to - progress_from) / header.page_count));
    }
  }
  return count;
}

}  // namespace bakrest::backup
