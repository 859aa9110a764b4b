#include "engine/changed_pages.h"

#include <spdlog/spdlog.h>
#include <xxhash.h>

#include <bit>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>

#include "common/durable_file.h"

namespace bakrest::engine {

namespace fs = std::filesystem;

namespace {

constexpr uint8_t kMagic[8] = {'B', 'K', 'R', 'S', 'C', 'P', 'G', 0};
constexpr size_t kHeaderSize = 56;  // magic, version, has_base, base lsn, backup id, covered lsn, words

void put64(uint8_t* at, uint64_t v) {
  for (int i = 0; i < 8; ++i) at[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint64_t get64(const uint8_t* at) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(at[i]) << (8 * i);
  return v;
}

}  // namespace

void PageBitmap::set(uint32_t pgno) {
  size_t bit = pgno - 1;
  if (bit / 64 >= words_.size()) words_.resize(bit / 64 + 1 + words_.size() / 4);
  words_[bit / 64] |= uint64_t{1} << (bit % 64);
}

bool PageBitmap::test(uint32_t pgno) const {
  size_t bit = pgno - 1;
  return bit / 64 < words_.size() && (words_[bit / 64] >> (bit % 64) & 1) != 0;
}

uint64_t PageBitmap::count() const {
  uint64_t n = 0;
  for (uint64_t w : words_) n += static_cast<uint64_t>(std::popcount(w));
  return n;
}

ChangedPages::ChangedPages(fs::path file) : file_(std::move(file)) {
  std::ifstream in(file_, std::ios::binary);
  if (!in) return;
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() < kHeaderSize + 8 || std::memcmp(bytes.data(), kMagic, 8) != 0) return;
  size_t body = bytes.size() - 8;
  if (get64(&bytes[body]) != XXH3_64bits(bytes.data(), body)) return;
  uint64_t words = get64(&bytes[48]);
  if (words > (body - kHeaderSize) / 8 || kHeaderSize + words * 8 != body) return;
  if (bytes[12] != 0) {
    DifferentialBase base;
    base.lsn = get64(&bytes[16]);
    std::memcpy(base.backup_id.data(), &bytes[24], 16);
    base_ = base;
  }
  covered_lsn_ = get64(&bytes[40]);
  std::vector<uint64_t> w(words);
  for (size_t i = 0; i < words; ++i) w[i] = get64(&bytes[kHeaderSize + 8 * i]);
  current_.assign(std::move(w));
}

void ChangedPages::mark(uint64_t lsn, std::span<const uint32_t> pages) {
  if (lsn <= covered_lsn_) return;  // already marked before a restart
  for (uint32_t pgno : pages) current_.set(pgno);
  for (auto& [handle, generation] : generations_) {
    if (lsn > generation.lsn)
      for (uint32_t pgno : pages) generation.pages.set(pgno);
  }
  covered_lsn_ = lsn;
  dirty_ = true;
}

uint64_t ChangedPages::begin_generation(uint64_t lsn) {
  uint64_t handle = next_handle_++;
  generations_[handle] = Generation{lsn, {}};
  return handle;
}

void ChangedPages::finish_generation(uint64_t handle, const std::optional<Guid>& succeeded_backup_id) {
  auto it = generations_.find(handle);
  if (it == generations_.end()) return;
  Generation generation = std::move(it->second);
  generations_.erase(it);
  if (!succeeded_backup_id) return;
  // An older full backup finishing after a newer one must not move the base back.
  if (base_ && base_->lsn > generation.lsn) return;
  base_ = DifferentialBase{generation.lsn, *succeeded_backup_id};
  current_ = std::move(generation.pages);
  dirty_ = true;
  // The backup is safe and recorded by now: a failure here must not fail it. The new base holds in memory
  // and is written at the next flush of the log, which tries again.
  try {
    persist();
  } catch (const std::exception& e) {
    spdlog::warn("the differential base could not be written yet (the next flush of the log tries again): {}",
                 e.what());
  }
}

void ChangedPages::adopt_base(const DifferentialBase& base) {
  if (base_ && (base_->backup_id == base.backup_id || base_->lsn > base.lsn)) return;
  base_ = base;
  dirty_ = true;
  persist();
}

void ChangedPages::persist() {
  if (!dirty_) return;
  const auto& words = current_.words();
  std::vector<uint8_t> bytes(kHeaderSize + words.size() * 8 + 8, 0);
  std::memcpy(bytes.data(), kMagic, 8);
  bytes[8] = 1;  // version
  if (base_) {
    bytes[12] = 1;
    put64(&bytes[16], base_->lsn);
    std::memcpy(&bytes[24], base_->backup_id.data(), 16);
  }
  put64(&bytes[40], covered_lsn_);
  put64(&bytes[48], words.size());
  for (size_t i = 0; i < words.size(); ++i) put64(&bytes[kHeaderSize + 8 * i], words[i]);
  put64(&bytes[bytes.size() - 8], XXH3_64bits(bytes.data(), bytes.size() - 8));

  replace_file_durably(file_, bytes);
  dirty_ = false;
}

}  // namespace bakrest::engine
