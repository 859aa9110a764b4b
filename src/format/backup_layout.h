// Byte layout of the backup format (docs/FORMAT.md), shared by the reader, the writer and the tests that
// forge files. Internal to format/: other layers use backup_file.h. Versions 1 and 2 share every byte but
// the trailer digest's algorithm; version 3 adds encrypted backups (sealed chunks, a trailer tag) and is
// version 2 byte for byte when not encrypted.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <type_traits>

namespace bakrest::format::layout {

inline constexpr uint16_t kVersion = 3;  // what writers write
inline constexpr uint16_t kFirstEncryptedVersion = 3;
inline constexpr uint16_t kOldestVersion = 1;  // the oldest version readers still read

inline constexpr std::array<uint8_t, 8> kMagic = {'B', 'A', 'K', 'R', 'E', 'S', 'T', 0};
inline constexpr std::array<uint8_t, 8> kEndMagic = {'B', 'K', 'R', 'S', 'T', 'E', 'N', 'D'};
inline constexpr std::array<uint8_t, 4> kChunkMarker = {'C', 'H', 'N', 'K'};
inline constexpr std::array<uint8_t, 4> kTrailerMarker = {'T', 'R', 'L', 'R'};

// Header: magic, version, fields length, fields, checksum.
inline constexpr size_t kHeaderPrefixSize = 14;  // magic + version + fields length
inline constexpr size_t kHeaderVersionOffset = 8;
inline constexpr size_t kHeaderFieldsLengthOffset = 10;
inline constexpr size_t kHeaderFixedFieldsSize = 112;
inline constexpr size_t kHeaderStringCount = 4;
inline constexpr size_t kHeaderMinFieldsSize = kHeaderFixedFieldsSize + 4 * kHeaderStringCount;
// A reader allocates the header before it can check it, so its size is capped.
inline constexpr size_t kHeaderMaxFieldsSize = 64 * 1024;
inline constexpr size_t kHeaderChecksumSize = 8;

// Offsets of fixed fields, relative to the start of the fields.
inline constexpr size_t kFieldType = 0;
inline constexpr size_t kFieldCompression = 1;
inline constexpr size_t kFieldEncryption = 2;
inline constexpr size_t kFieldChunkSize = 3;
inline constexpr size_t kFieldGuid = 7;
inline constexpr size_t kFieldFirstLsn = 23;
inline constexpr size_t kFieldLastLsn = 31;
inline constexpr size_t kFieldBeginTime = 39;
inline constexpr size_t kFieldPageSize = 47;
inline constexpr size_t kFieldPageCount = 51;
inline constexpr size_t kFieldBackupId = 59;
inline constexpr size_t kFieldStripeIndex = 75;
inline constexpr size_t kFieldStripeCount = 77;
inline constexpr size_t kFieldForkGuid = 79;
inline constexpr size_t kFieldBaseBackupId = 95;
inline constexpr size_t kFieldRecoveryModel = 111;
static_assert(kFieldRecoveryModel + 1 == kHeaderFixedFieldsSize);

// Chunk: header (with its own check, so a damaged length is reported as damage, not as truncation),
// payload, checksum over header and payload.
inline constexpr size_t kChunkSequenceOffset = 4;
inline constexpr size_t kChunkRawLengthOffset = 12;
inline constexpr size_t kChunkStoredLengthOffset = 16;
inline constexpr size_t kChunkFlagsOffset = 20;
inline constexpr size_t kChunkHeaderCheckOffset = 24;
inline constexpr size_t kChunkHeaderSize = 28;
inline constexpr size_t kChunkChecksumSize = 8;
inline constexpr size_t kChunkOverhead = kChunkHeaderSize + kChunkChecksumSize;
inline constexpr uint32_t kChunkFlagZstd = 1;
inline constexpr uint32_t kChunkFlagSealed = 2;  // AES-256-GCM: the payload is ciphertext and its 16-byte tag
inline constexpr uint32_t kChunkKnownFlags = kChunkFlagZstd | kChunkFlagSealed;
inline constexpr size_t kSealTagSize = 16;
// An encrypted chunk's associated data: backup ID, stripe index, stripe count, sequence, raw length, flags.
inline constexpr size_t kChunkAssociatedSize = 16 + 2 + 2 + 8 + 4 + 4;

// Bounds on the chunk size, so a reader's buffers stay small whatever a header says.
inline constexpr uint32_t kMinChunkSize = 1;
inline constexpr uint32_t kMaxChunkSize = 64u << 20;

// Trailer.
inline constexpr size_t kTrailerChunkCountOffset = 4;
inline constexpr size_t kTrailerBodyBytesOffset = 12;
inline constexpr size_t kTrailerStoredBytesOffset = 20;
inline constexpr size_t kTrailerEndTimeOffset = 28;
inline constexpr size_t kTrailerDigestOffset = 36;
inline constexpr size_t kTrailerTagOffset = 52;  // version 3, encrypted: the trailer's tag in the digest's
                                                 // last 16 bytes
inline constexpr size_t kTrailerChecksumOffset = 68;
inline constexpr size_t kTrailerEndMagicOffset = 76;
inline constexpr size_t kTrailerSize = 84;

// Little-endian integers, whatever the host's byte order.
template <typename T>
void store_le(std::span<uint8_t> at, T value) {
  auto bits = static_cast<std::make_unsigned_t<T>>(value);
  for (size_t i = 0; i < sizeof(T); ++i) at[i] = static_cast<uint8_t>(bits >> (8 * i));
}

template <typename T>
T load_le(std::span<const uint8_t> at) {
  std::make_unsigned_t<T> bits = 0;
  for (size_t i = 0; i < sizeof(T); ++i) bits |= static_cast<std::make_unsigned_t<T>>(at[i]) << (8 * i);
  return static_cast<T>(bits);
}

// XXH3-64 of bytes; the header, chunk and trailer checksums.
uint64_t checksum(std::span<const uint8_t> bytes);

// The trailer's digest of everything before the trailer, as the file's version computes it: version 1
// SHA-256; versions 2 and 3 XXH3-128 (its 16 bytes in canonical, big-endian order) followed by 16 zero bytes
// (an encrypted backup puts its trailer tag there instead).
// docs/FORMAT.md ("Trailer") says why version 2 changed it. One thread at a time.
class StreamDigest {
 public:
  explicit StreamDigest(uint16_t version);  // kOldestVersion..kVersion
  ~StreamDigest();
  StreamDigest(const StreamDigest&) = delete;
  StreamDigest& operator=(const StreamDigest&) = delete;
  void update(std::span<const uint8_t> bytes);
  std::array<uint8_t, 32> finish();
  const char* name() const;  // "SHA-256" or "XXH3-128"

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// The chunk header check: the low 32 bits of the checksum of the first 24 header bytes.
inline uint32_t chunk_header_check(std::span<const uint8_t> chunk_header) {
  return static_cast<uint32_t>(checksum(chunk_header.first(kChunkHeaderCheckOffset)));
}

}  // namespace bakrest::format::layout
