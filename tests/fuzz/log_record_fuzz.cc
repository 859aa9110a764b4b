// Transaction-log records (engine/log_record.h): decode_log_record_header() and decode_log_record_pages()
// over a byte stream of records, as read and resealed (reseal.h). A record that decodes must encode again
// to the same bytes.
#include <algorithm>

#include "engine/log_record.h"
#include "fuzz_support.h"
#include "reseal.h"

using namespace bakrest;

namespace {

void decode_all(std::span<const uint8_t> bytes) {
  size_t pos = 0;
  engine::LogInput in = [&](std::span<uint8_t> out) {
    size_t n = std::min(out.size(), bytes.size() - pos);
    std::copy_n(bytes.begin() + static_cast<ptrdiff_t>(pos), n, out.begin());
    pos += n;
    return n;
  };
  for (;;) {
    size_t start = pos;
    engine::LogRecordHeader header;
    std::vector<std::pair<uint32_t, std::vector<uint8_t>>> pages;
    try {
      if (!engine::decode_log_record_header(in, header)) return;
      engine::decode_log_record_pages(in, header, [&](uint32_t pgno, std::span<const uint8_t> image) {
        fuzz::check(image.size() == header.page_size, "a page image has the record's page size");
        pages.emplace_back(pgno, std::vector<uint8_t>(image.begin(), image.end()));
      });
    } catch (const engine::LogFormatError&) {
      return;
    }
    fuzz::check(pages.size() == header.page_count, "a record has its page count of pages");
    fuzz::check(pos - start == header.encoded_size(), "a record is its encoded size");
    std::vector<uint8_t> encoded;
    engine::LogRecordEncoder encoder(header, [&](std::span<const uint8_t> piece) {
      encoded.insert(encoded.end(), piece.begin(), piece.end());
    });
    for (const auto& [pgno, image] : pages) encoder.add_page(pgno, image);
    encoder.finish();
    fuzz::check(std::equal(encoded.begin(), encoded.end(), bytes.begin() + static_cast<ptrdiff_t>(start),
                           bytes.begin() + static_cast<ptrdiff_t>(pos)),
                "a decoded record encodes to the same bytes");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> bytes(data, data + size);
  decode_all(bytes);
  fuzz::reseal_log_records(bytes, 0);
  if (!std::equal(bytes.begin(), bytes.end(), data)) decode_all(bytes);
  return 0;
}
