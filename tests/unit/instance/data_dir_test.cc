// The data directory is private to the server's user whatever the umask (docs/OPERATIONS.md).
#include "instance/data_dir.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "engine/engine.h"
#include "instance/logins.h"
#include "instance/msdb.h"
#include "storage/local_store.h"
#include "temp_dir.h"

namespace bakrest::instance {
namespace {

namespace fs = std::filesystem;

// Every path under root that group or others may use in any way.
std::vector<std::string> shared_paths(const fs::path& root) {
  std::vector<std::string> out;
  constexpr auto kOthers = fs::perms::group_all | fs::perms::others_all;
  if ((fs::status(root).permissions() & kOthers) != fs::perms::none) out.push_back(root.string());
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if ((entry.symlink_status().permissions() & kOthers) != fs::perms::none)
      out.push_back(entry.path().string());
  }
  return out;
}

class PermissiveUmask {
 public:
  PermissiveUmask() : saved_(::umask(0)) {}
  ~PermissiveUmask() { ::umask(saved_); }

 private:
  mode_t saved_;
};

TEST(DataDirTest, EverythingTheInstanceCreatesIsPrivateWhateverTheUmask) {
  PermissiveUmask umask;
  testing::TempDir dir;
  fs::path root = dir.path() / "data";
  {
    DataDir data(root);
    Msdb msdb(data.msdb_file());
    Logins(msdb).ensure_master(std::string("admin"), std::string("Secret-Passw0rd"));
    engine::Engine engine(data.databases_dir(), msdb);
    engine.create_database("shop");
    auto c = engine.connect("shop");
    c->db().exec("CREATE TABLE t (x INT); INSERT INTO t VALUES (1)");
    storage::LocalStore store(data.store_dir());
    store.create_bucket("bkt", "us-east-1");
    auto object = store.create("bkt", "backups/shop.bak");
    std::vector<uint8_t> bytes(100, 7);
    object->write(bytes);
    object->commit();
    EXPECT_EQ(shared_paths(root), std::vector<std::string>{});
  }
  EXPECT_EQ(shared_paths(root), std::vector<std::string>{});
}

TEST(DataDirTest, LooserModesAreTightenedAtStart) {
  testing::TempDir dir;
  fs::path root = dir.path() / "data";
  fs::create_directories(root / "databases");
  std::ofstream(root / "msdb.db") << "x";
  std::ofstream(root / "databases" / "a.db") << "x";
  fs::permissions(root, fs::perms::all);
  fs::permissions(root / "databases", fs::perms::owner_all | fs::perms::group_read | fs::perms::others_read);
  fs::permissions(root / "msdb.db", fs::perms::owner_read | fs::perms::owner_write | fs::perms::others_read);
  fs::permissions(root / "databases" / "a.db", fs::perms::all);
  ASSERT_EQ(shared_paths(root).size(), 4u);
  DataDir data(root);
  EXPECT_EQ(shared_paths(root), std::vector<std::string>{});
  EXPECT_EQ(fs::status(root / "msdb.db").permissions(), fs::perms::owner_read | fs::perms::owner_write);
}

}  // namespace
}  // namespace bakrest::instance
