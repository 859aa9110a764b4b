// The changed-page file of a database (engine/changed_pages.h): ChangedPages loading a fuzzed file, which it
// must either take whole or treat as missing. What it loads must persist and load again unchanged, also
// after marking more pages.
#include <fuzzer/FuzzedDataProvider.h>

#include <limits>

#include "engine/changed_pages.h"
#include "fuzz_support.h"

using namespace bakrest;

namespace {

bool same(const engine::ChangedPages& a, const engine::ChangedPages& b) {
  bool bases = a.base().has_value() == b.base().has_value() &&
               (!a.base() || (a.base()->lsn == b.base()->lsn && a.base()->backup_id == b.base()->backup_id));
  return bases && a.covered_lsn() == b.covered_lsn() && a.since_base().words() == b.since_base().words();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider provider(data, size);
  // The last bytes name pages to mark after loading (page numbers start at 1); the rest is the file.
  size_t marks = provider.ConsumeIntegralInRange<size_t>(0, 4);
  std::vector<uint32_t> pages;
  for (size_t i = 0; i < marks; ++i) pages.push_back(provider.ConsumeIntegralInRange<uint32_t>(1, 1 << 16));
  std::vector<uint8_t> file_bytes = provider.ConsumeRemainingBytes<uint8_t>();

  auto file = fuzz::ScratchDir::path() / "changed_pages";
  fuzz::write_file(file, file_bytes);
  engine::ChangedPages loaded(file);
  for (uint32_t pgno : pages) (void)loaded.since_base().test(pgno);
  (void)loaded.since_base().count();

  if (!pages.empty() && loaded.covered_lsn() < std::numeric_limits<uint64_t>::max()) {
    loaded.mark(loaded.covered_lsn() + 1, pages);
    for (uint32_t pgno : pages) fuzz::check(loaded.since_base().test(pgno), "a marked page is set");
  } else {
    // Nothing changed, so persist() writes nothing; force a write by marking nothing at a new LSN.
    if (loaded.covered_lsn() < std::numeric_limits<uint64_t>::max())
      loaded.mark(loaded.covered_lsn() + 1, {});
  }
  loaded.persist();
  engine::ChangedPages again(file);
  fuzz::check(same(loaded, again), "changed pages persist and load unchanged");
  return 0;
}
