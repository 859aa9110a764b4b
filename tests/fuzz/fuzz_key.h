// The data key the fuzzing seeds' encrypted backups are sealed with, and the backup reader target opens them
// with: so that mutations reach the decryption and what follows it, not only the first tag check.
#pragma once

#include "format/backup_file.h"

namespace bakrest::fuzz {

// 0x42, then 1, 2, ..., 31.
inline const format::DataKey kDataKey = [] {
  format::DataKey key;
  key[0] = 0x42;
  for (size_t i = 1; i < key.size(); ++i) key[i] = static_cast<uint8_t>(i);
  return key;
}();

class FixedDataKey : public format::DataKeySource {
 public:
  format::DataKey unwrap(const format::BackupHeader&) const override { return kDataKey; }
};

}  // namespace bakrest::fuzz
