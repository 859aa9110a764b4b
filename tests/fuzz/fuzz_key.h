// The data key the fuzzing seeds' encrypted backups are sealed with, and the backup reader target opens them
// with: so that mutations reach the decryption and what follows it, not only the first tag check.
#pragma once

#include "format/backup_file.h"

namespace bakrest::fuzz {

inline constexpr format::DataKey kDataKey = {0x42, 1,  2,  3,  4,  5,  6,  7,  8,  9,  10,
                                             11,   12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
                                             22,   23, 24, 25, 26, 27, 28, 29, 30, 31};

class FixedDataKey : public format::DataKeySource {
 public:
  format::DataKey unwrap(const format::BackupHeader&) const override { return kDataKey; }
};

}  // namespace bakrest::fuzz
