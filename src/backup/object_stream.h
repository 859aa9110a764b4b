// The backup format reads and writes byte streams; these adapt object store readers and writers to them.
#pragma once

#include "format/backup_file.h"
#include "storage/object_store.h"

namespace bakrest::backup {

class ObjectSink : public format::ByteSink {
 public:
  explicit ObjectSink(storage::ObjectWriter& writer) : writer_(writer) {}
  void write(std::span<const uint8_t> bytes) override { writer_.write(bytes); }

 private:
  storage::ObjectWriter& writer_;
};

class ObjectSource : public format::ByteSource {
 public:
  explicit ObjectSource(storage::ObjectReader& reader) : reader_(reader) {}
  size_t read(std::span<uint8_t> out) override { return reader_.read(out); }

 private:
  storage::ObjectReader& reader_;
};

}  // namespace bakrest::backup
