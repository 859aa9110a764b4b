// The body of a differential backup (docs/FORMAT.md, "Bodies"): one entry per page changed since the base
// full backup, in ascending page order, each a little-endian u32 page number (1..the header's page count)
// followed by that page.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "format/backup_file.h"

namespace bakrest::backup {

// One entry: pgno, then the page.
void encode_page_entry(uint32_t pgno, std::span<const uint8_t> page, std::vector<uint8_t>& out);

// Reads every entry of a differential body from reader, whose header is header (a differential, checked by
// the reader), calling on_page for each; the page span is valid during the call only. The entries must lie
// in run, the pages of the reader's stripe (format::stripe_pages; all pages for a single-file backup).
// Calls progress() every few entries, from the calling thread; it may throw to stop (cancellation). Returns
// the number of entries. Throws format::FormatError for a page number out of order or outside run, an entry
// cut short, or any damage the reader finds (after on_page may have seen earlier entries: a restore
// verifies the whole body before it applies any).
uint64_t read_differential(format::BackupReader& reader, const format::BackupHeader& header,
                           format::PageRun run, const std::function<void()>& progress,
                           const std::function<void(uint32_t pgno, std::span<const uint8_t> page)>& on_page);

}  // namespace bakrest::backup
