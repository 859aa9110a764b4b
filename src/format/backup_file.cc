#include "format/backup_file.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <xxhash.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "common/digest.h"
#include "common/ordered_pool.h"
#include "crypto/aead.h"
#include "format/backup_layout.h"

namespace bakrest::format {

namespace layout {

uint64_t checksum(std::span<const uint8_t> bytes) { return XXH3_64bits(bytes.data(), bytes.size()); }

struct StreamDigest::State {
  std::optional<Sha256> sha;  // version 1
  struct XxhFree {
    void operator()(XXH3_state_t* s) const { XXH3_freeState(s); }
  };
  std::unique_ptr<XXH3_state_t, XxhFree> xxh;  // version 2
};

StreamDigest::StreamDigest(uint16_t version) : state_(std::make_unique<State>()) {
  if (version == 1) {
    state_->sha.emplace();
    return;
  }
  if (version != 2 && version != 3)
    throw std::invalid_argument("no digest for backup format version " + std::to_string(version));
  state_->xxh.reset(XXH3_createState());
  if (!state_->xxh || XXH3_128bits_reset(state_->xxh.get()) != XXH_OK) throw std::bad_alloc();
}

StreamDigest::~StreamDigest() = default;

void StreamDigest::update(std::span<const uint8_t> bytes) {
  if (state_->sha) return state_->sha->update(bytes);
  XXH3_128bits_update(state_->xxh.get(), bytes.data(), bytes.size());
}

std::array<uint8_t, 32> StreamDigest::finish() {
  if (state_->sha) return state_->sha->finish();
  XXH128_canonical_t canonical;
  XXH128_canonicalFromHash(&canonical, XXH3_128bits_digest(state_->xxh.get()));
  std::array<uint8_t, 32> out{};
  std::copy(std::begin(canonical.digest), std::end(canonical.digest), out.begin());
  return out;
}

const char* StreamDigest::name() const { return state_->sha ? "SHA-256" : "XXH3-128"; }

}  // namespace layout

using namespace layout;  // NOLINT(build/namespaces): this file is the layout's one implementation

namespace {

using Bytes = std::vector<uint8_t>;
using Digest = std::array<uint8_t, 32>;

[[noreturn]] void corrupt(const std::string& what) { throw FormatError("backup is corrupt: " + what); }
[[noreturn]] void truncated(const std::string& what) { throw FormatError("backup is truncated: " + what); }

bool equal_bytes(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

struct CCtxFree {
  void operator()(ZSTD_CCtx* ctx) const { ZSTD_freeCCtx(ctx); }
};
struct DCtxFree {
  void operator()(ZSTD_DCtx* ctx) const { ZSTD_freeDCtx(ctx); }
};

// Appends little-endian fields to a growing buffer.
class Encoder {
 public:
  template <typename T>
  void put(T value) {
    size_t at = bytes_.size();
    bytes_.resize(at + sizeof(T));
    store_le<T>(std::span(bytes_).subspan(at), value);
  }
  void put_bytes(std::span<const uint8_t> bytes) { bytes_.insert(bytes_.end(), bytes.begin(), bytes.end()); }
  void put_string(std::string_view text) {
    put<uint32_t>(static_cast<uint32_t>(text.size()));
    put_bytes({reinterpret_cast<const uint8_t*>(text.data()), text.size()});
  }
  Bytes& bytes() { return bytes_; }

 private:
  Bytes bytes_;
};

// Reads fields from a header whose checksum already matched; running out still means a bad header.
class Decoder {
 public:
  explicit Decoder(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  template <typename T>
  T get() {
    return load_le<T>(take(sizeof(T)));
  }
  std::string get_string(const char* field) {
    auto length = get<uint32_t>();
    if (length > bytes_.size()) corrupt(std::string("header field ") + field + " runs past the header");
    auto text = take(length);
    return std::string(text.begin(), text.end());
  }
  template <size_t N>
  void get_bytes(std::array<uint8_t, N>& out) {
    auto bytes = take(N);
    std::copy(bytes.begin(), bytes.end(), out.begin());
  }
  std::span<const uint8_t> take(size_t count) {
    if (count > bytes_.size()) corrupt("header fields run past the header");
    auto taken = bytes_.first(count);
    bytes_ = bytes_.subspan(count);
    return taken;
  }
  size_t remaining() const { return bytes_.size(); }

 private:
  std::span<const uint8_t> bytes_;
};

// The pages a full backup's body holds: all of them, or its stripe's share. Called only on headers whose
// stripe fields are valid.
uint64_t full_body_pages(const BackupHeader& header) {
  return stripe_pages(header.page_count, header.stripe_index, header.stripe_count).count;
}

bool full_body_matches(const BackupHeader& header, uint64_t body_bytes) {
  if (header.type != BackupType::kFull) return true;
  const uint64_t pages = full_body_pages(header);
  if (header.page_size != 0 && pages > std::numeric_limits<uint64_t>::max() / header.page_size) return false;
  return pages * header.page_size == body_bytes;
}

std::string full_body_mismatch(const BackupHeader& header, uint64_t body_bytes) {
  std::string pages =
      std::to_string(full_body_pages(header)) + " pages of " + std::to_string(header.page_size) + " bytes";
  if (header.stripe_count > 1) {
    pages += " (stripe " + std::to_string(header.stripe_index + 1) + " of " +
             std::to_string(header.stripe_count) + ")";
  }
  return "full backup has " + std::to_string(body_bytes) + " body bytes but its header says " + pages;
}

bool all_zero(std::span<const uint8_t> bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b == 0; });
}

// The rules on the identity fields that writer and reader share; returns what is wrong, or "" if nothing.
std::string identity_problem(BackupType type, uint8_t recovery_model, uint16_t stripe_index,
                             uint16_t stripe_count, std::span<const uint8_t> base_backup_id) {
  if (recovery_model < static_cast<uint8_t>(RecoveryModel::kFull) ||
      recovery_model > static_cast<uint8_t>(RecoveryModel::kSimple)) {
    return "unknown recovery model " + std::to_string(recovery_model);
  }
  if (stripe_count == 0 || stripe_count > kMaxStripeCount) {
    return "stripe count " + std::to_string(stripe_count) + " is outside 1.." +
           std::to_string(kMaxStripeCount);
  }
  if (stripe_index >= stripe_count) {
    return "stripe index " + std::to_string(stripe_index) + " is not below the stripe count " +
           std::to_string(stripe_count);
  }
  if (type == BackupType::kDifferential && all_zero(base_backup_id)) {
    return "differential backup names no base backup";
  }
  if (type != BackupType::kDifferential && !all_zero(base_backup_id)) {
    return std::string(type == BackupType::kFull ? "full" : "log") +
           " backup names a base backup; only a differential has one";
  }
  return "";
}

// The ranges of docs/FORMAT.md ("Header"): what the header says about the database and its position must
// make sense before any reader sizes a buffer or a file by it.
std::string contents_problem(const BackupHeader& h) {
  bool power_of_two = (h.page_size & (h.page_size - 1)) == 0;
  if (h.page_size < kMinPageSize || h.page_size > kMaxPageSize || !power_of_two) {
    return "page size " + std::to_string(h.page_size) + " is not a power of two in " +
           std::to_string(kMinPageSize) + ".." + std::to_string(kMaxPageSize);
  }
  if (h.type == BackupType::kLog) {
    if (h.page_count != 0) return "log backup has a page count (" + std::to_string(h.page_count) + ")";
    if (h.first_lsn == 0 || h.first_lsn > h.last_lsn || h.last_lsn > kMaxLsn) {
      return "log backup's LSN range " + std::to_string(h.first_lsn) + ".." + std::to_string(h.last_lsn) +
             " is not within 1.." + std::to_string(kMaxLsn);
    }
  } else {
    if (h.page_count == 0 || h.page_count > kMaxPageCount) {
      return "page count " + std::to_string(h.page_count) + " is outside 1.." + std::to_string(kMaxPageCount);
    }
    if (h.first_lsn == 0 || h.first_lsn != h.last_lsn || h.last_lsn > kMaxLsn) {
      return "database image's LSNs " + std::to_string(h.first_lsn) + " and " + std::to_string(h.last_lsn) +
             " are not one LSN within 1.." + std::to_string(kMaxLsn);
    }
  }
  if (h.begin_time_us < 0) return "begin time " + std::to_string(h.begin_time_us) + " is before 1970";
  if (h.database_name.empty() || h.database_name.size() > kMaxDatabaseNameBytes) {
    return "database name of " + std::to_string(h.database_name.size()) + " bytes is outside 1.." +
           std::to_string(kMaxDatabaseNameBytes);
  }
  if (h.time_zone.empty()) return "the time zone is empty";
  return "";
}

Bytes encode_header(const BackupHeader& header, uint32_t chunk_size) {
  Encoder fields;
  fields.put<uint8_t>(static_cast<uint8_t>(header.type));
  fields.put<uint8_t>(static_cast<uint8_t>(header.compression));
  fields.put<uint8_t>(static_cast<uint8_t>(header.encryption));
  fields.put<uint32_t>(chunk_size);
  fields.put_bytes(header.database_guid);
  fields.put<uint64_t>(header.first_lsn);
  fields.put<uint64_t>(header.last_lsn);
  fields.put<int64_t>(header.begin_time_us);
  fields.put<uint32_t>(header.page_size);
  fields.put<uint64_t>(header.page_count);
  fields.put_bytes(header.backup_id);
  fields.put<uint16_t>(header.stripe_index);
  fields.put<uint16_t>(header.stripe_count);
  fields.put_bytes(header.fork_guid);
  fields.put_bytes(header.base_backup_id);
  fields.put<uint8_t>(static_cast<uint8_t>(header.recovery_model));
  fields.put_string(header.database_name);
  fields.put_string(header.time_zone);
  fields.put_string(header.kms_key_arn);
  fields.put_string(header.wrapped_data_key);
  size_t fields_size = fields.bytes().size();
  if (fields_size > kHeaderMaxFieldsSize) {
    throw std::invalid_argument("backup header strings are too long: " + std::to_string(fields_size) +
                                " bytes of header fields, at most " + std::to_string(kHeaderMaxFieldsSize));
  }

  Encoder out;
  out.put_bytes(kMagic);
  out.put<uint16_t>(kVersion);
  out.put<uint32_t>(static_cast<uint32_t>(fields_size));
  out.put_bytes(fields.bytes());
  out.put<uint64_t>(checksum(out.bytes()));
  return std::move(out.bytes());
}

constexpr unsigned kMaxThreads = 64;

void check_writer_input(const BackupHeader& header, const WriterOptions& options) {
  if (options.threads < 1 || options.threads > kMaxThreads)
    throw std::invalid_argument("writer threads " + std::to_string(options.threads) + " is outside 1.." +
                                std::to_string(kMaxThreads));
  if (options.max_in_flight > kMaxChunksInFlight)
    throw std::invalid_argument("chunks in flight " + std::to_string(options.max_in_flight) + " is over " +
                                std::to_string(kMaxChunksInFlight));
  if (options.chunk_size < kMinChunkSize || options.chunk_size > kMaxChunkSize) {
    throw std::invalid_argument("chunk size " + std::to_string(options.chunk_size) + " is outside 1.." +
                                std::to_string(kMaxChunkSize));
  }
  if (header.type != BackupType::kFull && header.type != BackupType::kDifferential &&
      header.type != BackupType::kLog) {
    throw std::invalid_argument("unknown backup type " + std::to_string(static_cast<int>(header.type)));
  }
  if (header.compression != Compression::kNone && header.compression != Compression::kZstd) {
    throw std::invalid_argument("unknown compression " +
                                std::to_string(static_cast<int>(header.compression)));
  }
  if (header.encryption == Encryption::kAes256Gcm) {
    if (!options.data_key || header.kms_key_arn.empty() || header.wrapped_data_key.empty())
      throw std::invalid_argument(
          "an encrypted backup needs a data key, a KMS key ARN and the wrapped data key");
  } else if (header.encryption != Encryption::kNone) {
    throw std::invalid_argument("unknown encryption " + std::to_string(static_cast<int>(header.encryption)));
  } else if (options.data_key || !header.kms_key_arn.empty() || !header.wrapped_data_key.empty()) {
    throw std::invalid_argument("a backup that is not encrypted has no data key, KMS key ARN or wrapped key");
  }
  std::string problem = identity_problem(header.type, static_cast<uint8_t>(header.recovery_model),
                                         header.stripe_index, header.stripe_count, header.base_backup_id);
  if (problem.empty()) problem = contents_problem(header);
  if (!problem.empty()) throw std::invalid_argument(problem);
  if (header.compression == Compression::kZstd &&
      (options.zstd_level < ZSTD_minCLevel() || options.zstd_level > ZSTD_maxCLevel())) {
    throw std::invalid_argument("zstd level " + std::to_string(options.zstd_level) + " is outside " +
                                std::to_string(ZSTD_minCLevel()) + ".." + std::to_string(ZSTD_maxCLevel()));
  }
}

}  // namespace

PageRun stripe_pages(uint64_t page_count, uint16_t index, uint16_t count) {
  if (count == 0 || index >= count) throw std::invalid_argument("stripe index outside the stripe count");
  // page_count <= kMaxPageCount < 2^32 for any valid header and count <= 2^16, so the products fit; larger
  // page counts are refused before they could overflow.
  if (page_count > kMaxPageCount) throw std::invalid_argument("page count outside 1..kMaxPageCount");
  const uint64_t begin = page_count * index / count;
  const uint64_t end = page_count * (index + uint64_t{1}) / count;
  return PageRun{begin + 1, end - begin};
}

std::array<uint8_t, 16> random_backup_id() {
  std::array<uint8_t, 16> id{};
  if (RAND_bytes(id.data(), static_cast<int>(id.size())) != 1) {
    throw std::runtime_error("OpenSSL could not produce random bytes for a backup ID");
  }
  return id;
}

// ---------------------------------------------------------------------------------------------------------

// One chunk as it is written: header, payload (zstd or raw) and checksum.
struct SealedChunk {
  Bytes bytes;
  uint32_t stored_size = 0;  // of its payload
};

// Chunk buffers the caller's thread and the pool's threads hand back and forth. A fresh megabyte for every
// chunk cost a server twice the CPU of the compression itself: glibc gives memory of that size back to the
// kernel when it is freed, so each new buffer was page faults and zeroed pages (measured with bench/suite.py:
// 16.8 CPU-seconds for a 1 GiB compressed backup that needed 8.4). Reused buffers keep their pages. Thread
// safe; holds at most `keep` spare buffers.
class Buffers {
 public:
  explicit Buffers(size_t keep) : keep_(keep) {}
  // A buffer given back earlier, with its size and stale bytes (a resize to the size it had then writes
  // nothing, where an emptied one would be zero-filled again: a megabyte a chunk), or an empty one. Every
  // user writes what it then reads.
  Bytes take() {
    std::lock_guard lock(mutex_);
    if (spare_.empty()) return Bytes();
    Bytes out = std::move(spare_.back());
    spare_.pop_back();
    return out;
  }
  void give_back(Bytes&& buffer) {
    std::lock_guard lock(mutex_);
    if (spare_.size() < keep_ && buffer.capacity() > 0) spare_.push_back(std::move(buffer));
  }

 private:
  std::mutex mutex_;
  size_t keep_;
  std::vector<Bytes> spare_;
};

// A chunk's body as the reader's pool hands it back: bytes[offset, offset + length) of a buffer (a
// decompressed chunk's own buffer, or the stored chunk itself, opened in place).
struct PooledBody {
  Bytes bytes;
  size_t offset = 0;
  size_t length = 0;
};

// An encrypted backup's sealing (docs/FORMAT.md, "Encryption"): AES-256-GCM under the backup's data key.
// The nonce is the stripe index and the chunk's sequence number, so it never repeats under the key (one key
// per backup, each stripe's chunks numbered apart, the trailer's tag on a sequence no chunk reaches). The
// associated data binds each chunk to this backup, this stripe and its place in it, so a chunk moved to
// another place or another backup does not open.
class ChunkCipher {
 public:
  ChunkCipher(const DataKey& key, const BackupHeader& header)
      : backup_id_(header.backup_id), stripe_index_(header.stripe_index), stripe_count_(header.stripe_count) {
    std::copy(key.begin(), key.end(), key_.begin());
  }

  // Encrypts plaintext into out, followed by the tag; out must have room for both and may be plaintext's own
  // bytes (in place).
  void seal(uint64_t sequence, uint32_t raw_length, uint32_t flags, std::span<const uint8_t> plaintext,
            std::span<uint8_t> out) const {
    auto associated = chunk_associated(sequence, raw_length, flags);
    crypto::seal_into(key_, nonce(sequence), associated, plaintext, out);
  }
  // Opens sealed in place; returns the plaintext's length. Throws FormatError naming the chunk.
  size_t open(uint64_t sequence, uint32_t raw_length, uint32_t flags, std::span<uint8_t> sealed,
              const std::string& name) const {
    try {
      return crypto::open_into(key_, nonce(sequence), chunk_associated(sequence, raw_length, flags), sealed,
                               sealed);
    } catch (const crypto::AuthenticationFailed&) {
      corrupt(name +
              " does not authenticate under the backup's data key: it was changed, or comes from "
              "another backup or another place in this one");
    }
  }
  // The trailer's tag: of the header as written and the trailer's fields and XXH3-128 digest (its first
  // kTrailerTagOffset bytes), so that no chunk can be dropped from the end and no header field changed.
  std::array<uint8_t, kSealTagSize> trailer_tag(std::span<const uint8_t> header,
                                                std::span<const uint8_t> trailer_fields) const {
    Bytes associated(header.begin(), header.end());
    associated.insert(associated.end(), trailer_fields.begin(), trailer_fields.end());
    std::array<uint8_t, kSealTagSize> tag{};
    crypto::seal_into(key_, nonce(std::numeric_limits<uint64_t>::max()), associated, {}, tag);
    return tag;
  }

 private:
  crypto::AeadNonce nonce(uint64_t sequence) const {
    crypto::AeadNonce n{};
    store_le<uint32_t>(n, stripe_index_);
    store_le<uint64_t>(std::span(n).subspan(4), sequence);
    return n;
  }
  std::array<uint8_t, kChunkAssociatedSize> chunk_associated(uint64_t sequence, uint32_t raw_length,
                                                             uint32_t flags) const {
    std::array<uint8_t, kChunkAssociatedSize> a{};
    std::span<uint8_t> out(a);
    std::copy(backup_id_.begin(), backup_id_.end(), a.begin());
    store_le<uint16_t>(out.subspan(16), stripe_index_);
    store_le<uint16_t>(out.subspan(18), stripe_count_);
    store_le<uint64_t>(out.subspan(20), sequence);
    store_le<uint32_t>(out.subspan(28), raw_length);
    store_le<uint32_t>(out.subspan(32), flags);
    return a;
  }

  crypto::SecretArray<crypto::kAeadKeyBytes> key_;
  std::array<uint8_t, 16> backup_id_;
  uint16_t stripe_index_;
  uint16_t stripe_count_;
};

// Seals raw as chunk number `sequence` into out (resized to fit). cctx null: stored raw. cipher: encrypted
// after compression. Throws std::runtime_error when zstd fails.
SealedChunk seal_chunk(ZSTD_CCtx* cctx, int level, uint64_t sequence, std::span<const uint8_t> raw, Bytes out,
                       const ChunkCipher* cipher) {
  out.resize(kChunkOverhead + (cctx ? ZSTD_compressBound(raw.size()) : raw.size()) +
             (cipher ? kSealTagSize : 0));
  std::span<uint8_t> chunk(out);
  std::span<uint8_t> payload = chunk.subspan(kChunkHeaderSize, out.size() - kChunkOverhead);
  size_t stored = raw.size();
  uint32_t flags = 0;
  if (cctx) {
    size_t n = ZSTD_compressCCtx(cctx, payload.data(), payload.size(), raw.data(), raw.size(), level);
    if (ZSTD_isError(n))
      throw std::runtime_error(std::string("zstd compression failed: ") + ZSTD_getErrorName(n));
    // Incompressible chunks are stored raw, so a chunk never grows and readers can bound its size.
    if (n < raw.size()) {
      stored = n;
      flags |= kChunkFlagZstd;
    }
  }
  if (cipher) {
    // Compressed: sealed in place. Stored raw: encrypted straight from raw, which spares copying it first.
    flags |= kChunkFlagSealed;
    const bool zstd = (flags & kChunkFlagZstd) != 0;
    cipher->seal(sequence, static_cast<uint32_t>(raw.size()), flags, zstd ? payload.first(stored) : raw,
                 payload);
    stored += kSealTagSize;
  } else if ((flags & kChunkFlagZstd) == 0) {
    std::memcpy(payload.data(), raw.data(), raw.size());
  }

  std::copy(kChunkMarker.begin(), kChunkMarker.end(), chunk.begin());
  store_le<uint64_t>(chunk.subspan(kChunkSequenceOffset), sequence);
  store_le<uint32_t>(chunk.subspan(kChunkRawLengthOffset), static_cast<uint32_t>(raw.size()));
  store_le<uint32_t>(chunk.subspan(kChunkStoredLengthOffset), static_cast<uint32_t>(stored));
  store_le<uint32_t>(chunk.subspan(kChunkFlagsOffset), flags);
  store_le<uint32_t>(chunk.subspan(kChunkHeaderCheckOffset), chunk_header_check(chunk));
  size_t checked = kChunkHeaderSize + stored;
  store_le<uint64_t>(chunk.subspan(checked), checksum(chunk.first(checked)));
  out.resize(checked + kChunkChecksumSize);
  return SealedChunk{std::move(out), static_cast<uint32_t>(stored)};
}

// A compression context per pool thread, made at its first chunk and freed when the thread ends.
ZSTD_CCtx* thread_cctx() {
  thread_local std::unique_ptr<ZSTD_CCtx, CCtxFree> cctx;
  if (!cctx) {
    cctx.reset(ZSTD_createCCtx());
    if (!cctx) throw std::bad_alloc();
  }
  return cctx.get();
}

class BackupWriter::Impl {
 public:
  Impl(ByteSink& sink, const BackupHeader& header, WriterOptions options)
      : sink_(sink), header_(header), options_(options) {
    check_writer_input(header_, options_);
    if (options_.data_key) cipher_.emplace(*options_.data_key, header_);
    Bytes encoded = encode_header(header_, options_.chunk_size);
    if (cipher_) header_bytes_ = encoded;
    if (options_.threads > 1) {
      max_in_flight_ = options_.max_in_flight > 0 ? options_.max_in_flight : 2 * options_.threads;
      // Each chunk in flight holds a body and a sealed buffer; one more body is being filled.
      buffers_ = std::make_unique<Buffers>(2 * max_in_flight_ + 2);
      pool_ = std::make_unique<OrderedPool<SealedChunk>>(options_.threads);
    } else if (header_.compression == Compression::kZstd) {
      cctx_.reset(ZSTD_createCCtx());
      if (!cctx_) throw std::bad_alloc();
    }
    pending_.reserve(options_.chunk_size);
    guarded([&] { emit(encoded); });
  }

  void write(std::span<const uint8_t> body) {
    check_open();
    guarded([&] {
      const size_t chunk_size = options_.chunk_size;
      while (!body.empty()) {
        // Whole chunks straight from the caller's buffer spare a copy (the pool's threads need their own).
        if (!pool_ && pending_.empty() && body.size() >= chunk_size) {
          seal(body.first(chunk_size));
          body = body.subspan(chunk_size);
          continue;
        }
        size_t take = std::min(chunk_size - pending_.size(), body.size());
        pending_.insert(pending_.end(), body.begin(), body.begin() + static_cast<ptrdiff_t>(take));
        body = body.subspan(take);
        if (pending_.size() == chunk_size) seal_pending();
      }
    });
  }

  BackupTrailer finish(int64_t end_time_us) {
    check_open();
    // Refused before anything more is written, so no complete-looking backup that a reader rejects exists.
    if (!full_body_matches(header_, body_bytes_ + pending_.size())) {
      state_ = State::kFailed;
      throw std::invalid_argument(full_body_mismatch(header_, body_bytes_ + pending_.size()));
    }
    BackupTrailer trailer;
    guarded([&] {
      if (!pending_.empty()) seal_pending();
      while (pool_ && pool_->in_flight() > 0) emit_chunk(pool_->take());
      trailer.chunk_count = sequence_;
      trailer.body_bytes = body_bytes_;
      trailer.stored_bytes = stored_bytes_;
      trailer.end_time_us = end_time_us;
      trailer.digest = digest_.finish();

      std::array<uint8_t, kTrailerSize> bytes{};
      std::span<uint8_t> out(bytes);
      std::copy(kTrailerMarker.begin(), kTrailerMarker.end(), bytes.begin());
      store_le<uint64_t>(out.subspan(kTrailerChunkCountOffset), trailer.chunk_count);
      store_le<uint64_t>(out.subspan(kTrailerBodyBytesOffset), trailer.body_bytes);
      store_le<uint64_t>(out.subspan(kTrailerStoredBytesOffset), trailer.stored_bytes);
      store_le<int64_t>(out.subspan(kTrailerEndTimeOffset), trailer.end_time_us);
      std::copy(trailer.digest.begin(), trailer.digest.end(), bytes.begin() + kTrailerDigestOffset);
      if (cipher_) {
        auto tag = cipher_->trailer_tag(header_bytes_, out.first(kTrailerTagOffset));
        std::copy(tag.begin(), tag.end(), bytes.begin() + kTrailerTagOffset);
        std::copy(tag.begin(), tag.end(),
                  trailer.digest.begin() + (kTrailerTagOffset - kTrailerDigestOffset));
      }
      store_le<uint64_t>(out.subspan(kTrailerChecksumOffset), checksum(out.first(kTrailerChecksumOffset)));
      std::copy(kEndMagic.begin(), kEndMagic.end(), bytes.begin() + kTrailerEndMagicOffset);
      // The trailer is outside its own digest, so it bypasses emit().
      sink_.write(bytes);
      bytes_written_ += bytes.size();
    });
    state_ = State::kFinished;
    return trailer;
  }

  uint64_t bytes_written() const { return bytes_written_; }
  uint64_t peak_buffer_bytes() const {
    // Without a pool: the chunk being filled and the sealed chunk being written.
    return pool_ ? peak_buffer_bytes_ : 2 * uint64_t{options_.chunk_size + kChunkOverhead};
  }

 private:
  enum class State { kOpen, kFinished, kFailed };

  void check_open() const {
    if (state_ == State::kFinished) throw std::logic_error("backup writer used after finish()");
    if (state_ == State::kFailed) throw std::logic_error("backup writer used after an earlier failure");
  }

  // Once the sink or a codec has thrown, the stream is in an unknown state; later calls must not extend it.
  template <typename F>
  void guarded(F&& work) {
    try {
      work();
    } catch (...) {
      state_ = State::kFailed;
      throw;
    }
  }

  void emit(std::span<const uint8_t> bytes) {
    digest_.update(bytes);
    sink_.write(bytes);
    bytes_written_ += bytes.size();
  }

  // Seals the chunk in pending_ and empties it: here, or on the pool, where up to two chunks per thread are
  // in flight (the memory bound) and the oldest are written as soon as they are done.
  void seal_pending() {
    if (!pool_) {
      seal(pending_);
      pending_.clear();
      return;
    }
    while (pool_->in_flight() >= max_in_flight_) emit_chunk(pool_->take());
    // Held now: the chunks on the pool, each with its body and (once sealed) its sealed bytes, and the one
    // being filled next.
    peak_buffer_bytes_ =
        std::max<uint64_t>(peak_buffer_bytes_, (2 * (pool_->in_flight() + 1) + 1) *
                                                   uint64_t{options_.chunk_size + kChunkOverhead});
    bool zstd = header_.compression == Compression::kZstd;
    body_bytes_ += pending_.size();
    pool_->submit([raw = std::move(pending_), sequence = sequence_, level = options_.zstd_level, zstd,
                   buffers = buffers_.get(), cipher = cipher_ ? &*cipher_ : nullptr]() mutable {
      SealedChunk sealed =
          seal_chunk(zstd ? thread_cctx() : nullptr, level, sequence, raw, buffers->take(), cipher);
      buffers->give_back(std::move(raw));
      return sealed;
    });
    ++sequence_;
    pending_ = buffers_->take();
    pending_.clear();  // filled by appending
    pending_.reserve(options_.chunk_size);
    while (pool_->ready()) emit_chunk(pool_->take());
  }

  // A chunk from the pool: written, then its buffer goes back for another.
  void emit_chunk(SealedChunk&& chunk) {
    emit_chunk(static_cast<const SealedChunk&>(chunk));
    buffers_->give_back(std::move(chunk.bytes));
  }

  void seal(std::span<const uint8_t> raw) {
    chunk_ = seal_chunk(cctx_.get(), options_.zstd_level, sequence_, raw, std::move(chunk_.bytes),
                        cipher_ ? &*cipher_ : nullptr);
    ++sequence_;
    body_bytes_ += raw.size();
    emit_chunk(chunk_);
  }

  void emit_chunk(const SealedChunk& chunk) {
    emit(chunk.bytes);
    stored_bytes_ += chunk.stored_size;
  }

  ByteSink& sink_;
  BackupHeader header_;
  WriterOptions options_;
  std::unique_ptr<ZSTD_CCtx, CCtxFree> cctx_;  // without a pool
  std::optional<ChunkCipher> cipher_;          // an encrypted backup's
  Bytes header_bytes_;                         // ... and its header as written, for the trailer's tag
  // With a pool (options_.threads > 1). The pool is declared after the buffers and the cipher its pieces
  // use, so it ends (joining its threads) first.
  std::unique_ptr<Buffers> buffers_;
  std::unique_ptr<OrderedPool<SealedChunk>> pool_;
  Bytes pending_;      // body bytes of the chunk being filled
  SealedChunk chunk_;  // without a pool: the last chunk sealed, whose buffer the next reuses
  StreamDigest digest_{kVersion};
  State state_ = State::kOpen;
  uint64_t sequence_ = 0;
  uint64_t body_bytes_ = 0;
  uint64_t stored_bytes_ = 0;
  uint64_t bytes_written_ = 0;
  size_t max_in_flight_ = 0;  // with a pool
  uint64_t peak_buffer_bytes_ = 0;
};

BackupWriter::BackupWriter(ByteSink& sink, const BackupHeader& header, WriterOptions options)
    : impl_(std::make_unique<Impl>(sink, header, options)) {}
BackupWriter::~BackupWriter() = default;
void BackupWriter::write(std::span<const uint8_t> body) { impl_->write(body); }
BackupTrailer BackupWriter::finish(int64_t end_time_us) { return impl_->finish(end_time_us); }
uint64_t BackupWriter::bytes_written() const { return impl_->bytes_written(); }
uint64_t BackupWriter::peak_buffer_bytes() const { return impl_->peak_buffer_bytes(); }

// ---------------------------------------------------------------------------------------------------------

// A decompression context per pool thread, made at its first chunk and freed when the thread ends.
ZSTD_DCtx* thread_dctx() {
  thread_local std::unique_ptr<ZSTD_DCtx, DCtxFree> dctx;
  if (!dctx) {
    dctx.reset(ZSTD_createDCtx());
    if (!dctx) throw std::bad_alloc();
  }
  return dctx.get();
}

// Checks the checksum of a chunk read whole (header, payload, checksum). Throws FormatError naming it.
void verify_chunk(std::span<const uint8_t> stored, const std::string& name) {
  size_t checked = stored.size() - kChunkChecksumSize;
  if (load_le<uint64_t>(stored.subspan(checked)) != checksum(stored.first(checked)))
    corrupt(name + " checksum mismatch");
}

// Decompresses a chunk's zstd payload into out, which is its raw length. Throws FormatError naming it.
void decompress_chunk(ZSTD_DCtx* dctx, std::span<const uint8_t> payload, const std::string& name,
                      std::span<uint8_t> out) {
  size_t n = ZSTD_decompressDCtx(dctx, out.data(), out.size(), payload.data(), payload.size());
  if (ZSTD_isError(n)) corrupt(name + " does not decompress: " + ZSTD_getErrorName(n));
  if (n != out.size()) {
    corrupt(name + " decompresses to " + std::to_string(n) + " bytes instead of " +
            std::to_string(out.size()));
  }
}

class BackupReader::Impl {
 public:
  Impl(ByteSource& source, ReaderOptions options) : source_(source) {
    if (options.threads < 1 || options.threads > kMaxThreads)
      throw std::invalid_argument("reader threads " + std::to_string(options.threads) + " is outside 1.." +
                                  std::to_string(kMaxThreads));
    if (options.read_ahead > kMaxChunksInFlight)
      throw std::invalid_argument("chunks read ahead " + std::to_string(options.read_ahead) + " is over " +
                                  std::to_string(kMaxChunksInFlight));
    read_ahead_ = options.read_ahead > 0 ? options.read_ahead : 2 * options.threads;
    read_header();
    const bool encrypted = header_.encryption == Encryption::kAes256Gcm;
    if (encrypted && options.data_key) cipher_.emplace(options.data_key->unwrap(header_), header_);
    // zstd and AES-GCM run on the pool, off the thread that reads and hands out the body. A chunk is read
    // straight into a buffer of its own for the pool, and an encrypted chunk that was not compressed is
    // opened in place there and handed out from that same buffer: no copy of it is made on the way.
    if ((header_.compression == Compression::kZstd || encrypted) && options.threads > 1) {
      // Each chunk in flight holds its stored bytes and its body; one more body is being handed out.
      buffers_ = std::make_unique<Buffers>(2 * read_ahead_ + 2);
      pool_ = std::make_unique<OrderedPool<PooledBody>>(options.threads);
    } else if (header_.compression == Compression::kZstd) {
      raw_.resize(chunk_size_);
      dctx_.reset(ZSTD_createDCtx());
      if (!dctx_) throw std::bad_alloc();
    }
    // With a pool, chunks are read into the pool's buffers and stored_ holds only the next block's head.
    stored_.resize(pool_ ? kChunkHeaderSize : kChunkOverhead + chunk_size_ + (encrypted ? kSealTagSize : 0));
  }

  const BackupHeader& header() const { return header_; }

  size_t read(std::span<uint8_t> out) {
    if (state_ == State::kFailed) throw FormatError(failure_);
    if (out.empty()) return 0;
    if (header_.encryption == Encryption::kAes256Gcm && !cipher_) {
      throw FormatError("backup is encrypted with the KMS key " + header_.kms_key_arn +
                        ": reading it needs its data key");
    }
    try {
      while (current_.empty()) {
        if (state_ == State::kEnd) return 0;
        if (pool_) {
          next_pooled();
        } else if (next_block() == Block::kTrailer) {
          state_ = State::kEnd;
        }
      }
      size_t n = std::min(out.size(), current_.size());
      std::memcpy(out.data(), current_.data(), n);
      current_ = current_.subspan(n);
      return n;
    } catch (const FormatError& e) {
      fail(e.what());
      throw;
    } catch (...) {
      fail("backup reading stopped after an earlier error");
      throw;
    }
  }

  const BackupTrailer& trailer() const {
    if (state_ != State::kEnd) throw std::logic_error("backup trailer asked for before the end of the body");
    return trailer_;
  }

  uint64_t bytes_read() const { return bytes_read_; }

 private:
  enum class State { kBody, kEnd, kFailed };

  void fail(std::string message) {
    state_ = State::kFailed;
    failure_ = std::move(message);
    current_ = {};
  }

  // Fills out unless the source ends first; returns how much it got.
  size_t read_up_to(std::span<uint8_t> out) {
    size_t got = 0;
    while (got < out.size()) {
      size_t n = source_.read(out.subspan(got));
      if (n == 0) break;
      if (n > out.size() - got) throw std::logic_error("byte source returned more bytes than asked for");
      got += n;
    }
    bytes_read_ += got;
    return got;
  }

  std::string at_byte() const { return "at byte " + std::to_string(bytes_read_); }

  void read_header() {
    std::array<uint8_t, kHeaderPrefixSize> prefix{};
    size_t got = read_up_to(prefix);
    if (got == 0) truncated("the source is empty");
    size_t magic_got = std::min(got, kMagic.size());
    if (!equal_bytes(std::span(prefix).first(magic_got), std::span(kMagic).first(magic_got))) {
      throw FormatError("not a bakrest backup");
    }
    if (got < kHeaderFieldsLengthOffset) truncated("it ends " + at_byte() + ", in the header");
    auto version = load_le<uint16_t>(std::span(prefix).subspan(kHeaderVersionOffset));
    // Nothing past the version is known for other versions, so nothing else is checked.
    if (version < kOldestVersion || version > kVersion)
      throw FormatError("unsupported backup format version " + std::to_string(version));
    version_ = version;
    digest_.emplace(version);
    if (got < kHeaderPrefixSize) truncated("it ends " + at_byte() + ", in the header");

    auto fields_size = load_le<uint32_t>(std::span(prefix).subspan(kHeaderFieldsLengthOffset));
    if (fields_size < kHeaderMinFieldsSize || fields_size > kHeaderMaxFieldsSize) {
      corrupt("header length " + std::to_string(fields_size) + " is outside " +
              std::to_string(kHeaderMinFieldsSize) + ".." + std::to_string(kHeaderMaxFieldsSize));
    }
    Bytes header(kHeaderPrefixSize + fields_size + kHeaderChecksumSize);
    std::copy(prefix.begin(), prefix.end(), header.begin());
    std::span<uint8_t> rest = std::span(header).subspan(kHeaderPrefixSize);
    if (read_up_to(rest) < rest.size()) truncated("it ends " + at_byte() + ", in the header");
    size_t checked = kHeaderPrefixSize + fields_size;
    if (load_le<uint64_t>(std::span(header).subspan(checked)) != checksum(std::span(header).first(checked))) {
      corrupt("header checksum mismatch");
    }
    digest_->update(header);
    parse_fields(std::span(header).subspan(kHeaderPrefixSize, fields_size));
    if (header_.encryption == Encryption::kAes256Gcm) header_bytes_ = std::move(header);
  }

  void parse_fields(std::span<const uint8_t> fields) {
    Decoder in(fields);
    auto type = in.get<uint8_t>();
    auto compression = in.get<uint8_t>();
    auto encryption = in.get<uint8_t>();
    chunk_size_ = in.get<uint32_t>();
    in.get_bytes(header_.database_guid);
    header_.first_lsn = in.get<uint64_t>();
    header_.last_lsn = in.get<uint64_t>();
    header_.begin_time_us = in.get<int64_t>();
    header_.page_size = in.get<uint32_t>();
    header_.page_count = in.get<uint64_t>();
    in.get_bytes(header_.backup_id);
    header_.stripe_index = in.get<uint16_t>();
    header_.stripe_count = in.get<uint16_t>();
    in.get_bytes(header_.fork_guid);
    in.get_bytes(header_.base_backup_id);
    auto recovery_model = in.get<uint8_t>();
    header_.database_name = in.get_string("database name");
    header_.time_zone = in.get_string("time zone");
    header_.kms_key_arn = in.get_string("KMS key ARN");
    header_.wrapped_data_key = in.get_string("wrapped data key");
    if (in.remaining() != 0) corrupt("header has " + std::to_string(in.remaining()) + " unexpected bytes");

    if (type < static_cast<uint8_t>(BackupType::kFull) || type > static_cast<uint8_t>(BackupType::kLog)) {
      corrupt("unknown backup type " + std::to_string(type));
    }
    header_.type = static_cast<BackupType>(type);
    if (compression > static_cast<uint8_t>(Compression::kZstd)) {
      corrupt("unknown compression " + std::to_string(compression));
    }
    header_.compression = static_cast<Compression>(compression);
    if (encryption == static_cast<uint8_t>(Encryption::kAes256Gcm) && version_ >= kFirstEncryptedVersion) {
      header_.encryption = Encryption::kAes256Gcm;
      if (header_.kms_key_arn.empty() || header_.wrapped_data_key.empty())
        corrupt("encrypted backup names no KMS key or no wrapped data key");
    } else if (encryption != static_cast<uint8_t>(Encryption::kNone)) {
      throw FormatError("unsupported backup encryption " + std::to_string(encryption));
    } else {
      header_.encryption = Encryption::kNone;
      if (version_ >= kFirstEncryptedVersion &&
          (!header_.kms_key_arn.empty() || !header_.wrapped_data_key.empty()))
        corrupt("backup that is not encrypted names a KMS key or a wrapped data key");
    }
    if (chunk_size_ < kMinChunkSize || chunk_size_ > kMaxChunkSize) {
      corrupt("chunk size " + std::to_string(chunk_size_) + " is outside 1.." +
              std::to_string(kMaxChunkSize));
    }
    std::string problem = identity_problem(header_.type, recovery_model, header_.stripe_index,
                                           header_.stripe_count, header_.base_backup_id);
    if (!problem.empty()) corrupt(problem);
    header_.recovery_model = static_cast<RecoveryModel>(recovery_model);
    problem = contents_problem(header_);
    if (!problem.empty()) corrupt(problem);
  }

  enum class Block { kChunk, kTrailer };

  // With a pool: keeps up to two chunks per thread in flight, read and checked in order here and verified
  // and decompressed on the pool, and hands out the oldest. What reading ahead found wrong, or the end, takes
  // effect only once the chunks before it have been handed out, so the body and the errors come in the
  // order of the file, as without a pool.
  void next_pooled() {
    while (!ahead_stopped_ && pool_->in_flight() < read_ahead_) {
      try {
        if (next_block() == Block::kTrailer) ahead_stopped_ = true;
      } catch (...) {
        ahead_error_ = std::current_exception();
        ahead_stopped_ = true;
      }
    }
    if (pool_->in_flight() > 0) {
      buffers_->give_back(std::move(body_.bytes));
      body_ = pool_->take();
      current_ = std::span(body_.bytes).subspan(body_.offset, body_.length);
      return;
    }
    if (ahead_error_) std::rethrow_exception(ahead_error_);
    state_ = State::kEnd;
  }

  // Reads the next chunk into current_ (or onto the pool), or the trailer.
  Block next_block() {
    std::span<uint8_t> head = std::span(stored_).first(kChunkHeaderSize);
    size_t got = read_up_to(head.first(kChunkMarker.size()));
    if (got == 0) {
      truncated("it ends " + at_byte() + ", after " +
                (sequence_ == 0 ? std::string("the header") : "chunk " + std::to_string(sequence_ - 1)) +
                ", with no trailer");
    }
    if (got < kChunkMarker.size()) truncated("it ends " + at_byte() + ", in a chunk or trailer marker");
    auto marker = head.first(kChunkMarker.size());
    if (equal_bytes(marker, kTrailerMarker)) {
      read_trailer();
      return Block::kTrailer;
    }
    if (!equal_bytes(marker, kChunkMarker)) {
      corrupt("expected chunk " + std::to_string(sequence_) + " or the trailer at byte " +
              std::to_string(bytes_read_ - got) + ", found neither");
    }
    read_chunk(head);
    return Block::kChunk;
  }

  void read_chunk(std::span<uint8_t> head) {
    const std::string name = "chunk " + std::to_string(sequence_);
    auto rest = head.subspan(kChunkMarker.size());
    if (read_up_to(rest) < rest.size()) truncated("it ends " + at_byte() + ", in " + name);
    if (load_le<uint32_t>(head.subspan(kChunkHeaderCheckOffset)) != chunk_header_check(head)) {
      corrupt(name + " header checksum mismatch");
    }
    auto sequence = load_le<uint64_t>(head.subspan(kChunkSequenceOffset));
    auto raw_length = load_le<uint32_t>(head.subspan(kChunkRawLengthOffset));
    auto stored_length = load_le<uint32_t>(head.subspan(kChunkStoredLengthOffset));
    auto flags = load_le<uint32_t>(head.subspan(kChunkFlagsOffset));
    if (sequence != sequence_) {
      corrupt("found chunk " + std::to_string(sequence) + " where chunk " + std::to_string(sequence_) +
              " belongs; chunks are missing, repeated or out of order");
    }
    if (last_was_short_) {
      corrupt(name + " follows a chunk shorter than the chunk size; only the last chunk may be short");
    }
    if ((flags & ~kChunkKnownFlags) != 0) corrupt(name + " has unknown flags " + std::to_string(flags));
    const bool zstd = (flags & kChunkFlagZstd) != 0;
    if (zstd && header_.compression != Compression::kZstd) {
      corrupt(name + " is zstd-compressed but the backup is not compressed");
    }
    const bool sealed = (flags & kChunkFlagSealed) != 0;
    if (sealed != (header_.encryption == Encryption::kAes256Gcm)) {
      corrupt(name +
              (sealed ? " is encrypted but the backup is not" : " is not encrypted but the backup is"));
    }
    if (raw_length == 0 || raw_length > chunk_size_) {
      corrupt(name + " has " + std::to_string(raw_length) + " body bytes, outside 1.." +
              std::to_string(chunk_size_));
    }
    // What the payload holds before sealing: the body bytes, or a zstd frame shorter than them.
    const uint64_t inner = sealed ? uint64_t{stored_length} - kSealTagSize : stored_length;
    if ((sealed && stored_length < kSealTagSize) ||
        (zstd ? (inner == 0 || inner >= raw_length) : inner != raw_length)) {
      corrupt(name + " has a stored length of " + std::to_string(stored_length) + " for " +
              std::to_string(raw_length) + " body bytes");
    }

    size_t checked = kChunkHeaderSize + stored_length;
    if (pool_) {
      // Read into the pool's own buffer; the checksum, the cipher and zstd on the pool; the digest over the
      // file here, in order.
      Bytes stored = buffers_->take();
      stored.resize(checked + kChunkChecksumSize);
      std::copy(head.begin(), head.end(), stored.begin());
      if (read_up_to(std::span(stored).subspan(kChunkHeaderSize)) < stored.size() - kChunkHeaderSize)
        truncated("it ends " + at_byte() + ", in " + name);
      digest_->update(stored);
      pool_->submit([stored = std::move(stored), name, zstd, raw_length, flags, sequence,
                     buffers = buffers_.get(), cipher = cipher_ ? &*cipher_ : nullptr]() mutable {
        verify_chunk(stored, name);
        auto payload = std::span(stored).subspan(kChunkHeaderSize, stored.size() - kChunkOverhead);
        if (cipher) payload = payload.first(cipher->open(sequence, raw_length, flags, payload, name));
        if (!zstd) return PooledBody{std::move(stored), kChunkHeaderSize, payload.size()};  // in place
        Bytes raw = buffers->take();
        raw.resize(raw_length);
        decompress_chunk(thread_dctx(), payload, name, raw);
        buffers->give_back(std::move(stored));
        return PooledBody{std::move(raw), 0, raw_length};
      });
      ++sequence_;
      body_bytes_ += raw_length;
      stored_bytes_ += stored_length;
      last_was_short_ = raw_length < chunk_size_;
      return;
    }
    auto tail = std::span(stored_).subspan(kChunkHeaderSize, stored_length + kChunkChecksumSize);
    if (read_up_to(tail) < tail.size()) truncated("it ends " + at_byte() + ", in " + name);
    auto chunk = std::span(stored_).first(checked);
    verify_chunk(std::span(stored_).first(checked + kChunkChecksumSize), name);
    digest_->update(std::span(stored_).first(checked + kChunkChecksumSize));

    auto payload = chunk.subspan(kChunkHeaderSize);
    if (sealed) payload = payload.first(cipher_->open(sequence, raw_length, flags, payload, name));
    if (zstd) {
      decompress_chunk(dctx_.get(), payload, name, std::span(raw_).first(raw_length));
      current_ = std::span(raw_).first(raw_length);
    } else {
      current_ = payload;
    }
    ++sequence_;
    body_bytes_ += raw_length;
    stored_bytes_ += stored_length;
    last_was_short_ = raw_length < chunk_size_;
  }

  void read_trailer() {
    std::array<uint8_t, kTrailerSize> bytes{};
    std::span<const uint8_t> in(bytes);
    std::copy(kTrailerMarker.begin(), kTrailerMarker.end(), bytes.begin());
    auto rest = std::span(bytes).subspan(kTrailerMarker.size());
    if (read_up_to(rest) < rest.size()) truncated("it ends " + at_byte() + ", in the trailer");
    if (load_le<uint64_t>(in.subspan(kTrailerChecksumOffset)) != checksum(in.first(kTrailerChecksumOffset))) {
      corrupt("trailer checksum mismatch");
    }
    if (!equal_bytes(in.subspan(kTrailerEndMagicOffset), kEndMagic)) corrupt("the end marker is wrong");
    std::array<uint8_t, 1> probe{};
    if (read_up_to(probe) != 0) corrupt("there are bytes after the trailer");

    trailer_.chunk_count = load_le<uint64_t>(in.subspan(kTrailerChunkCountOffset));
    trailer_.body_bytes = load_le<uint64_t>(in.subspan(kTrailerBodyBytesOffset));
    trailer_.stored_bytes = load_le<uint64_t>(in.subspan(kTrailerStoredBytesOffset));
    trailer_.end_time_us = load_le<int64_t>(in.subspan(kTrailerEndTimeOffset));
    std::copy_n(bytes.begin() + kTrailerDigestOffset, trailer_.digest.size(), trailer_.digest.begin());

    if (trailer_.chunk_count != sequence_) {
      corrupt("the trailer says " + std::to_string(trailer_.chunk_count) + " chunks but " +
              std::to_string(sequence_) + " were read");
    }
    if (trailer_.body_bytes != body_bytes_) {
      corrupt("the trailer says " + std::to_string(trailer_.body_bytes) + " body bytes but " +
              std::to_string(body_bytes_) + " were read");
    }
    if (trailer_.stored_bytes != stored_bytes_) {
      corrupt("the trailer says " + std::to_string(trailer_.stored_bytes) + " stored bytes but " +
              std::to_string(stored_bytes_) + " were read");
    }
    // An encrypted backup's digest ends in the trailer's tag instead of zero bytes.
    const size_t digest_checked = cipher_ ? kTrailerTagOffset - kTrailerDigestOffset : trailer_.digest.size();
    auto digest = digest_->finish();
    if (!equal_bytes(std::span(digest).first(digest_checked),
                     std::span(trailer_.digest).first(digest_checked))) {
      corrupt(std::string("digest mismatch: the ") + digest_->name() +
              " of the header and chunks differs from the one in the trailer");
    }
    if (cipher_) {
      auto tag = cipher_->trailer_tag(header_bytes_, in.first(kTrailerTagOffset));
      if (CRYPTO_memcmp(tag.data(), bytes.data() + kTrailerTagOffset, tag.size()) != 0)
        corrupt(
            "the trailer does not authenticate under the backup's data key: the header or the totals were "
            "changed");
    }
    if (!full_body_matches(header_, body_bytes_)) corrupt(full_body_mismatch(header_, body_bytes_));
  }

  ByteSource& source_;
  BackupHeader header_;
  BackupTrailer trailer_;
  uint32_t chunk_size_ = 0;
  std::unique_ptr<ZSTD_DCtx, DCtxFree> dctx_;  // without a pool
  uint16_t version_ = 0;
  std::optional<ChunkCipher> cipher_;  // an encrypted backup's, once its data key is given
  Bytes header_bytes_;                 // ... and its header as read, for the trailer's tag
  // A compressed or encrypted backup and options.threads > 1. The pool ends (joining its threads) before
  // the buffers and the cipher its pieces use.
  std::unique_ptr<Buffers> buffers_;
  std::unique_ptr<OrderedPool<PooledBody>> pool_;
  size_t read_ahead_ = 0;               // with a pool: chunks in flight at most
  bool ahead_stopped_ = false;          // with a pool: the trailer or an error was reached
  std::exception_ptr ahead_error_;      // ... the error, to throw after the chunks before it
  PooledBody body_;                     // with a pool: the chunk being handed out
  Bytes stored_;                        // the chunk as read: header, payload, checksum (a pool: the header)
  Bytes raw_;                           // a compressed chunk's body bytes
  std::span<const uint8_t> current_;    // body bytes of the current chunk not yet returned
  std::optional<StreamDigest> digest_;  // the header's version decides the algorithm
  State state_ = State::kBody;
  std::string failure_;
  uint64_t sequence_ = 0;  // the next chunk's sequence number
  uint64_t body_bytes_ = 0;
  uint64_t stored_bytes_ = 0;
  uint64_t bytes_read_ = 0;
  bool last_was_short_ = false;
};

BackupReader::BackupReader(ByteSource& source, ReaderOptions options)
    : impl_(std::make_unique<Impl>(source, options)) {}
BackupReader::~BackupReader() = default;
const BackupHeader& BackupReader::header() const { return impl_->header(); }
size_t BackupReader::read(std::span<uint8_t> out) { return impl_->read(out); }
const BackupTrailer& BackupReader::trailer() const { return impl_->trailer(); }
uint64_t BackupReader::bytes_read() const { return impl_->bytes_read(); }

}  // namespace bakrest::format
