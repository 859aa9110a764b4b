#include "storage/local_store.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/file_io.h"

namespace bakrest::storage {
namespace {

namespace fs = std::filesystem;
using Kind = StorageError::Kind;

std::vector<uint8_t> bytes_of(const std::string& text) {
  return std::vector<uint8_t>(text.begin(), text.end());
}

// A pseudo-random pattern, so a misplaced or repeated block would not compare equal.
std::vector<uint8_t> pattern(size_t size) {
  std::vector<uint8_t> out(size);
  uint32_t state = 0x9E3779B9u;
  for (auto& byte : out) {
    state = state * 1664525u + 1013904223u;
    byte = static_cast<uint8_t>(state >> 24);
  }
  return out;
}

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  ASSERT_TRUE(out.good()) << path;
}

// The StorageError kind thrown by call, or a test failure if it throws nothing or something else.
Kind kind_thrown(const std::function<void()>& call, std::string* message = nullptr) {
  try {
    call();
  } catch (const StorageError& e) {
    if (message) *message = e.what();
    return e.kind();
  }
  ADD_FAILURE() << "no StorageError thrown";
  return Kind::kIo;
}

class LocalStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "bakrest-local-store-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    root_ = dir_ / "store";
    store_ = std::make_unique<LocalStore>(root_);
    store_->create_bucket("backups", "us-east-1");
  }

  void TearDown() override {
    store_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void put(const std::string& key, const std::string& text, const std::string& bucket = "backups") {
    auto writer = store_->create(bucket, key);
    writer->write(bytes_of(text));
    writer->commit();
  }

  std::string get(const std::string& key, const std::string& bucket = "backups") {
    auto reader = store_->open(bucket, key);
    std::string text(reader->size(), '\0');
    std::span<uint8_t> out(reinterpret_cast<uint8_t*>(text.data()), text.size());
    EXPECT_EQ(reader->read(out), text.size());
    uint8_t extra;
    EXPECT_EQ(reader->read(std::span<uint8_t>(&extra, 1)), 0u);
    return text;
  }

  std::vector<std::string> keys(const std::string& prefix) {
    std::vector<std::string> out;
    for (const ObjectInfo& info : store_->list("backups", prefix)) out.push_back(info.key);
    return out;
  }

  size_t tmp_files(const std::string& bucket = "backups") {
    return static_cast<size_t>(std::distance(fs::directory_iterator(root_ / bucket / "tmp"), {}));
  }

  fs::path objects(const std::string& bucket = "backups") { return root_ / bucket / "objects"; }

  fs::path dir_;
  fs::path root_;
  std::unique_ptr<LocalStore> store_;
};

// --- construction and buckets -----------------------------------------------------------------------------

TEST_F(LocalStoreTest, ConstructorCreatesAMissingRoot) {
  const fs::path deep = dir_ / "a" / "b" / "c";
  LocalStore store(deep);
  EXPECT_TRUE(fs::is_directory(deep));
}

TEST_F(LocalStoreTest, ConstructorRefusesARootThatIsAFile) {
  write_file(dir_ / "plain", "x");
  EXPECT_EQ(kind_thrown([&] { LocalStore store(dir_ / "plain"); }), Kind::kIo);
}

TEST_F(LocalStoreTest, CreateBucketRecordsItsRegion) {
  store_->create_bucket("eu-bucket", "eu-west-1");
  EXPECT_EQ(store_->bucket_region("eu-bucket"), "eu-west-1");
  EXPECT_EQ(store_->bucket_region("backups"), "us-east-1");
  EXPECT_EQ(store_->bucket_region("missing"), std::nullopt);
  EXPECT_EQ(store_->bucket_region("x"), std::nullopt);  // not even a valid name
  EXPECT_EQ(store_->bucket_region("../store"), std::nullopt);

  std::ifstream in(root_ / "eu-bucket" / "bucket.json");
  EXPECT_EQ(nlohmann::json::parse(in), (nlohmann::json{{"region", "eu-west-1"}}));
  EXPECT_TRUE(fs::is_directory(root_ / "eu-bucket" / "objects"));
  EXPECT_TRUE(fs::is_directory(root_ / "eu-bucket" / "tmp"));
  EXPECT_EQ(tmp_files("eu-bucket"), 0u);

  // A new store on the same root sees it.
  LocalStore again(root_);
  EXPECT_EQ(again.bucket_region("eu-bucket"), "eu-west-1");
}

TEST_F(LocalStoreTest, CreateBucketAgainInTheSameRegionIsHarmless) {
  put("keep.bak", "data");
  store_->create_bucket("backups", "us-east-1");
  EXPECT_EQ(get("keep.bak"), "data");
  std::string message;
  EXPECT_EQ(kind_thrown([&] { store_->create_bucket("backups", "eu-west-1"); }, &message), Kind::kIo);
  EXPECT_NE(message.find("already exists in region 'us-east-1'"), std::string::npos) << message;
  EXPECT_EQ(store_->bucket_region("backups"), "us-east-1");
}

TEST_F(LocalStoreTest, CreateBucketRejectsBadNamesAndRegions) {
  for (const std::string name : {"x", "-bad", "../escape", "a/b", "has space"}) {
    EXPECT_EQ(kind_thrown([&] { store_->create_bucket(name, "us-east-1"); }), Kind::kInvalidKey) << name;
  }
  for (const std::string region : {"", "us east", "../x", "a\nb"}) {
    EXPECT_EQ(kind_thrown([&] { store_->create_bucket("fine-bucket", region); }), Kind::kInvalidKey)
        << region;
  }
  EXPECT_FALSE(fs::exists(root_ / "fine-bucket" / "bucket.json"));
  EXPECT_FALSE(fs::exists(dir_ / "escape"));
}

TEST_F(LocalStoreTest, DamagedBucketFileIsAnIoError) {
  store_->create_bucket("damaged", "us-east-1");
  write_file(root_ / "damaged" / "bucket.json", "{not json");
  std::string message;
  EXPECT_EQ(kind_thrown([&] { store_->bucket_region("damaged"); }, &message), Kind::kIo);
  EXPECT_NE(message.find("bucket.json"), std::string::npos) << message;
  write_file(root_ / "damaged" / "bucket.json", R"({"region": 5})");
  EXPECT_EQ(kind_thrown([&] { store_->bucket_region("damaged"); }), Kind::kIo);
}

// --- writing and reading
// ------------------------------------------------------------------------------------

TEST_F(LocalStoreTest, WriteCommitReadBackSeveralMegabytes) {
  const std::vector<uint8_t> data = pattern(5 * 1024 * 1024 + 123);
  auto writer = store_->create("backups", "db/full.bak");
  for (size_t pos = 0; pos < data.size();) {
    const size_t n = std::min<size_t>(data.size() - pos, 65536 + pos % 1000);  // uneven chunks
    writer->write(std::span<const uint8_t>(data).subspan(pos, n));
    pos += n;
  }
  EXPECT_EQ(writer->bytes_written(), data.size());
  writer->commit();
  EXPECT_EQ(tmp_files(), 0u);

  auto reader = store_->open("backups", "db/full.bak");
  EXPECT_EQ(reader->size(), data.size());
  std::vector<uint8_t> back;
  std::vector<uint8_t> buffer(7777);
  while (size_t n = reader->read(buffer)) back.insert(back.end(), buffer.begin(), buffer.begin() + n);
  EXPECT_EQ(back, data);
  EXPECT_EQ(reader->read(buffer), 0u);
  EXPECT_TRUE(store_->exists("backups", "db/full.bak"));
}

TEST_F(LocalStoreTest, RangesReadExactlyTheirBytes) {
  const std::vector<uint8_t> data = pattern(100000);
  auto writer = store_->create("backups", "ranged.bak");
  writer->write(data);
  writer->commit();
  auto read_range = [&](uint64_t offset, std::optional<uint64_t> length) {
    auto reader = store_->open("backups", "ranged.bak", ByteRange{offset, length}, {});
    EXPECT_EQ(reader->size(), data.size());  // the object's size, not the range's
    std::vector<uint8_t> back, buffer(3333);
    while (size_t n = reader->read(buffer)) back.insert(back.end(), buffer.begin(), buffer.begin() + n);
    return back;
  };
  EXPECT_EQ(read_range(0, std::nullopt), data);
  EXPECT_EQ(read_range(12345, 1000), std::vector<uint8_t>(data.begin() + 12345, data.begin() + 13345));
  EXPECT_EQ(read_range(99000, 5000), std::vector<uint8_t>(data.begin() + 99000, data.end()));  // clipped
  EXPECT_TRUE(read_range(data.size(), std::nullopt).empty());
  try {
    store_->open("backups", "ranged.bak", ByteRange{data.size() + 1, std::nullopt}, {});
    ADD_FAILURE() << "a range past the end was opened";
  } catch (const StorageError& e) {
    EXPECT_EQ(e.kind(), Kind::kInvalidRequest);
  }
  EXPECT_EQ(store_->head("backups", "ranged.bak")->size, data.size());
  EXPECT_FALSE(store_->head("backups", "absent.bak"));
}

TEST_F(LocalStoreTest, ACancelledContextStopsWritesAndReads) {
  bool cancel = false;
  CallContext ctx([&] { return cancel; });
  auto writer = store_->create("backups", "c.bak", IfExists::kReplace, ctx);
  writer->write(bytes_of("abc"));
  cancel = true;
  try {
    writer->write(bytes_of("def"));
    ADD_FAILURE() << "a cancelled write went through";
  } catch (const StorageError& e) {
    EXPECT_EQ(e.kind(), Kind::kCancelled);
    EXPECT_FALSE(e.retryable());
  }
  writer.reset();
  EXPECT_FALSE(store_->exists("backups", "c.bak"));
  EXPECT_EQ(tmp_files(), 0u);
  put("c.bak", "abc");
  EXPECT_THROW(store_->open("backups", "c.bak", ByteRange{}, ctx), StorageError);
  CallContext expired = CallContext().within(std::chrono::seconds(-1));
  try {
    store_->list("backups", "", expired);
    ADD_FAILURE() << "an expired call went through";
  } catch (const StorageError& e) {
    EXPECT_EQ(e.kind(), Kind::kTimeout);
    EXPECT_TRUE(e.retryable());
  }
}

TEST_F(LocalStoreTest, EmptyObject) {
  auto writer = store_->create("backups", "empty");
  writer->commit();
  EXPECT_EQ(writer->bytes_written(), 0u);
  EXPECT_TRUE(store_->exists("backups", "empty"));
  EXPECT_EQ(store_->open("backups", "empty")->size(), 0u);
  EXPECT_EQ(get("empty"), "");
}

TEST_F(LocalStoreTest, ObjectIsInvisibleUntilCommit) {
  auto writer = store_->create("backups", "pending.bak");
  writer->write(bytes_of("half of it"));
  EXPECT_FALSE(store_->exists("backups", "pending.bak"));
  EXPECT_EQ(kind_thrown([&] { store_->open("backups", "pending.bak"); }), Kind::kNoSuchKey);
  EXPECT_TRUE(store_->list("backups", "").empty());
  EXPECT_EQ(tmp_files(), 1u);
  writer->commit();
  EXPECT_TRUE(store_->exists("backups", "pending.bak"));
  EXPECT_EQ(get("pending.bak"), "half of it");
  EXPECT_EQ(tmp_files(), 0u);
}

TEST_F(LocalStoreTest, TempFileIsPrivate) {
  auto writer = store_->create("backups", "secret.bak");
  const auto entry = *fs::directory_iterator(root_ / "backups" / "tmp");
  EXPECT_EQ(entry.status().permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
}

TEST_F(LocalStoreTest, AbortRemovesTheTempFileAndPublishesNothing) {
  auto writer = store_->create("backups", "aborted.bak");
  writer->write(bytes_of("doomed"));
  writer->abort();
  EXPECT_EQ(tmp_files(), 0u);
  EXPECT_FALSE(store_->exists("backups", "aborted.bak"));
  EXPECT_THROW(writer->write(bytes_of("more")), std::logic_error);
  EXPECT_THROW(writer->commit(), std::logic_error);
  writer->abort();  // twice is fine
  EXPECT_TRUE(fs::is_empty(objects()));
}

TEST_F(LocalStoreTest, DestroyingAnUncommittedWriterRemovesTheTempFile) {
  {
    auto writer = store_->create("backups", "dropped/deep/key.bak");
    writer->write(bytes_of("doomed"));
    EXPECT_EQ(tmp_files(), 1u);
  }
  EXPECT_EQ(tmp_files(), 0u);
  EXPECT_FALSE(store_->exists("backups", "dropped/deep/key.bak"));
  EXPECT_TRUE(fs::is_empty(objects()));  // no directories made for a key never published
}

TEST_F(LocalStoreTest, CommitTwiceIsAMisuse) {
  auto writer = store_->create("backups", "once");
  writer->commit();
  EXPECT_THROW(writer->commit(), std::logic_error);
  writer->abort();  // after commit: does not remove the object
  EXPECT_TRUE(store_->exists("backups", "once"));
}

TEST_F(LocalStoreTest, OverwriteReplacesAtomicallyAndOpenReadersKeepTheOldBytes) {
  put("db.bak", "old contents");
  auto old_reader = store_->open("backups", "db.bak");
  auto writer = store_->create("backups", "db.bak");
  writer->write(bytes_of("new, longer contents"));
  EXPECT_EQ(get("db.bak"), "old contents");  // still the old one until commit
  writer->commit();
  EXPECT_EQ(get("db.bak"), "new, longer contents");
  std::string old(old_reader->size(), '\0');
  EXPECT_EQ(old_reader->read(std::span<uint8_t>(reinterpret_cast<uint8_t*>(old.data()), old.size())),
            old.size());
  EXPECT_EQ(old, "old contents");
  EXPECT_EQ(store_->list("backups", "").size(), 1u);
}

TEST_F(LocalStoreTest, KeysWithUnusualButValidCharactersRoundTrip) {
  const std::vector<std::string> names = {"backup*",
                                          "with space.bak",
                                          "\xC3\xBCnic\xC3\xB6"
                                          "de/\xE2\x82\xAC.bak",
                                          "a:b",
                                          "..hidden",
                                          "dir.d/x"};
  for (const std::string& key : names) put(key, "v:" + key);
  for (const std::string& key : names) EXPECT_EQ(get(key), "v:" + key);
  EXPECT_EQ(store_->list("backups", "").size(), names.size());
}

// --- listing
// --------------------------------------------------------------------------------------------------

TEST_F(LocalStoreTest, ListFiltersByPrefixAcrossDirectoriesInKeyOrder) {
  for (const std::string key : {"b/2", "a", "b/c/3", "ba", "c.bak", "b.x", "b/1", "b/c/d/4"})
    put(key, key + key);
  using V = std::vector<std::string>;
  EXPECT_EQ(keys(""), (V{"a", "b.x", "b/1", "b/2", "b/c/3", "b/c/d/4", "ba", "c.bak"}));  // '.' < '/' < 'a'
  EXPECT_EQ(keys("b"), (V{"b.x", "b/1", "b/2", "b/c/3", "b/c/d/4", "ba"}));
  EXPECT_EQ(keys("b/"), (V{"b/1", "b/2", "b/c/3", "b/c/d/4"}));
  EXPECT_EQ(keys("b/c"), (V{"b/c/3", "b/c/d/4"}));
  EXPECT_EQ(keys("b/c/"), (V{"b/c/3", "b/c/d/4"}));
  EXPECT_EQ(keys("b/c/3"), (V{"b/c/3"}));
  EXPECT_EQ(keys("b/c/3/"), V{});
  EXPECT_EQ(keys("zzz"), V{});
  EXPECT_EQ(keys("../"), V{});  // a prefix is only compared, never used as a path

  const auto infos = store_->list("backups", "b/c/d");
  ASSERT_EQ(infos.size(), 1u);
  EXPECT_EQ(infos[0].key, "b/c/d/4");
  EXPECT_EQ(infos[0].size, 14u);
}

TEST_F(LocalStoreTest, ListWithAWildcardLikePrefix) {
  for (const std::string key : {"backup1.bak", "backup2.bak", "backups/x", "other.bak"}) put(key, "x");
  EXPECT_EQ(keys("backup"), (std::vector<std::string>{"backup1.bak", "backup2.bak", "backups/x"}));
}

TEST_F(LocalStoreTest, ListSkipsInProgressWritesAndEmptyDirectories) {
  put("a/b", "1");
  auto writer = store_->create("backups", "a/c");
  fs::create_directories(objects() / "empty" / "dir");
  EXPECT_EQ(keys(""), (std::vector<std::string>{"a/b"}));
}

// --- removing
// -------------------------------------------------------------------------------------------------

TEST_F(LocalStoreTest, RemoveDeletesAndPrunesEmptyDirectories) {
  put("x/y/z.bak", "1");
  put("x/keep.bak", "2");
  store_->remove("backups", "x/y/z.bak");
  EXPECT_FALSE(store_->exists("backups", "x/y/z.bak"));
  EXPECT_FALSE(fs::exists(objects() / "x" / "y"));
  EXPECT_TRUE(fs::exists(objects() / "x"));  // still holds x/keep.bak
  store_->remove("backups", "x/keep.bak");
  EXPECT_TRUE(fs::is_empty(objects()));
  EXPECT_TRUE(fs::is_directory(objects()));  // the bucket's own directory stays
}

TEST_F(LocalStoreTest, RemovingAnAbsentObjectIsNotAnError) {
  store_->remove("backups", "never-there");
  store_->remove("backups", "no/such/dir/key");
  put("obj", "1");
  store_->remove("backups", "obj/below-an-object");  // parent is a file
  put("p/q", "1");
  store_->remove("backups", "p");  // only a prefix of another key, not an object
  EXPECT_TRUE(store_->exists("backups", "p/q"));
  EXPECT_TRUE(store_->exists("backups", "obj"));
}

TEST_F(LocalStoreTest, ReaderSurvivesRemoval) {
  put("gone.bak", "still readable");
  auto reader = store_->open("backups", "gone.bak");
  store_->remove("backups", "gone.bak");
  std::string text(reader->size(), '\0');
  EXPECT_EQ(reader->read(std::span<uint8_t>(reinterpret_cast<uint8_t*>(text.data()), text.size())),
            text.size());
  EXPECT_EQ(text, "still readable");
}

// --- errors
// ---------------------------------------------------------------------------------------------------

TEST_F(LocalStoreTest, MissingBucketIsReportedWithS3sSentence) {
  fs::create_directories(root_ / "half-made" / "objects");  // a directory without bucket.json is no bucket
  for (const std::string bucket : {"missing", "half-made", "x", "../store", ""}) {
    SCOPED_TRACE(bucket);
    const std::vector<std::function<void()>> calls = {
        [&] { store_->exists(bucket, "k"); },
        [&] { store_->create(bucket, "k"); },
        [&] { store_->open(bucket, "k"); },
        [&] { store_->remove(bucket, "k"); },
        [&] { store_->list(bucket, ""); },
        [&] { store_->exists(bucket, "../bad"); },  // the bucket is checked before the key
    };
    for (const auto& call : calls) {
      std::string message;
      EXPECT_EQ(kind_thrown(call, &message), Kind::kNoSuchBucket);
      EXPECT_EQ(message, "The specified bucket does not exist");
    }
  }
}

TEST_F(LocalStoreTest, MissingKeyIsNoSuchKey) {
  put("dir/obj", "1");
  EXPECT_EQ(kind_thrown([&] { store_->open("backups", "nope"); }), Kind::kNoSuchKey);
  EXPECT_EQ(kind_thrown([&] { store_->open("backups", "dir"); }),
            Kind::kNoSuchKey);  // a prefix, not an object
  EXPECT_EQ(kind_thrown([&] { store_->open("backups", "dir/obj/x"); }), Kind::kNoSuchKey);
  EXPECT_FALSE(store_->exists("backups", "dir"));
  EXPECT_FALSE(store_->exists("backups", "dir/obj/x"));
}

TEST_F(LocalStoreTest, InvalidKeysAreRefusedEverywhere) {
  store_->create_bucket("neighbour", "us-east-1");
  put("victim", "safe", "neighbour");
  const std::vector<std::string> bad = {"../x",
                                        "a/../../x",
                                        "/abs",
                                        "a//b",
                                        ".",
                                        "..",
                                        "a/",
                                        "",
                                        "a/./b",
                                        "x\ny",
                                        "../../neighbour/objects/victim",
                                        std::string(256, 's'),
                                        "ok/" + std::string(256, 's'),
                                        std::string(1025, 'k')};
  for (const std::string& key : bad) {
    SCOPED_TRACE(key);
    const std::vector<std::function<void()>> calls = {
        [&] { store_->exists("backups", key); },
        [&] { store_->create("backups", key); },
        [&] { store_->open("backups", key); },
        [&] { store_->remove("backups", key); },
    };
    for (const auto& call : calls) {
      std::string message;
      EXPECT_EQ(kind_thrown(call, &message), Kind::kInvalidKey);
      EXPECT_EQ(message.rfind("The object key '", 0), 0u) << message;
    }
  }
  std::string message;
  kind_thrown([&] { store_->open("backups", "a/../../x"); }, &message);
  EXPECT_NE(message.find("'a/../../x'"), std::string::npos) << message;
  EXPECT_EQ(get("victim", "neighbour"), "safe");
  EXPECT_EQ(tmp_files(), 0u);
}

TEST_F(LocalStoreTest, AKeyCannotAlsoBeTheFolderOfOtherKeys) {
  put("a", "object a");
  std::string message;
  EXPECT_EQ(kind_thrown([&] { store_->create("backups", "a/b"); }, &message), Kind::kInvalidKey);
  EXPECT_NE(message.find("'a/b' cannot be stored because 'a' is an object"), std::string::npos) << message;
  EXPECT_EQ(kind_thrown([&] { store_->create("backups", "a/b/c"); }), Kind::kInvalidKey);

  put("c/d", "object c/d");
  EXPECT_EQ(kind_thrown([&] { store_->create("backups", "c"); }, &message), Kind::kInvalidKey);
  EXPECT_NE(message.find("other keys start with 'c/'"), std::string::npos) << message;
  EXPECT_EQ(get("a"), "object a");
  EXPECT_EQ(get("c/d"), "object c/d");
  EXPECT_EQ(tmp_files(), 0u);
}

TEST_F(LocalStoreTest, AConflictArisingBeforeCommitFailsTheCommitCleanly) {
  auto below = store_->create("backups", "p/q");
  below->write(bytes_of("late"));
  put("p", "first");  // now "p" is an object, so "p/q" can no longer be published
  EXPECT_EQ(kind_thrown([&] { below->commit(); }), Kind::kInvalidKey);
  EXPECT_EQ(tmp_files(), 0u);
  EXPECT_EQ(get("p"), "first");

  auto above = store_->create("backups", "r");
  put("r/s", "first");  // now "r" is a folder
  EXPECT_EQ(kind_thrown([&] { above->commit(); }), Kind::kInvalidKey);
  EXPECT_EQ(tmp_files(), 0u);
  EXPECT_EQ(get("r/s"), "first");
}

// Tests run as root, so failures are scripted with files where directories must be, not with permissions.
TEST_F(LocalStoreTest, TmpDirectoryReplacedByAFileIsAnIoError) {
  fs::remove_all(root_ / "backups" / "tmp");
  write_file(root_ / "backups" / "tmp", "in the way");
  std::string message;
  EXPECT_EQ(kind_thrown([&] { store_->create("backups", "k"); }, &message), Kind::kIo);
  EXPECT_NE(message.find((root_ / "backups" / "tmp").string()), std::string::npos) << message;
  EXPECT_NE(message.find("Not a directory"), std::string::npos) << message;
}

TEST_F(LocalStoreTest, MissingTmpDirectoryIsRecreated) {
  fs::remove_all(root_ / "backups" / "tmp");
  put("k", "v");
  EXPECT_EQ(get("k"), "v");
}

TEST_F(LocalStoreTest, ObjectsDirectoryReplacedByAFileIsAnIoError) {
  auto writer = store_->create("backups", "dir/k");
  writer->write(bytes_of("v"));
  fs::remove_all(objects());
  write_file(objects(), "in the way");
  std::string message;
  EXPECT_EQ(kind_thrown([&] { writer->commit(); }, &message), Kind::kIo);
  EXPECT_NE(message.find("Not a directory"), std::string::npos) << message;
  EXPECT_EQ(tmp_files(), 0u);  // a failed commit cleans up after itself
  EXPECT_EQ(kind_thrown([&] { store_->create("backups", "k"); }), Kind::kIo);
  EXPECT_EQ(kind_thrown([&] { store_->list("backups", ""); }), Kind::kIo);
}

TEST_F(LocalStoreTest, FailedWriteIsAnIoErrorAndBlocksCommit) {
  auto writer = store_->create("backups", "too-big.bak");
  // RLIMIT_FSIZE makes write() fail with EFBIG even for root once SIGXFSZ is ignored.
  struct rlimit saved;
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &saved), 0);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = saved;
  small.rlim_cur = 4096;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  std::string message;
  const Kind kind = kind_thrown([&] { writer->write(pattern(10000)); }, &message);
  ::setrlimit(RLIMIT_FSIZE, &saved);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_EQ(kind, Kind::kIo);
  EXPECT_NE(message.find("too large"), std::string::npos) << message;
  EXPECT_EQ(kind_thrown([&] { writer->commit(); }, &message), Kind::kIo);
  EXPECT_NE(message.find("earlier write"), std::string::npos) << message;
  writer.reset();
  EXPECT_FALSE(store_->exists("backups", "too-big.bak"));
  EXPECT_EQ(tmp_files(), 0u);
}

// --- crash leftovers and concurrency ----------------------------------------------------------------------

TEST_F(LocalStoreTest, ConstructionRemovesCrashLeftoversButNotLiveWrites) {
  write_file(root_ / "backups" / "tmp" / "123-0-deadbeef.part", "crashed writer");
  write_file(root_ / "backups" / "tmp" / "stray", "anything");
  fs::create_symlink("/nonexistent", root_ / "backups" / "tmp" / "link");
  auto live = store_->create("backups", "live.bak");
  live->write(bytes_of("in progress"));
  fs::create_directories(root_ / "not a bucket" / "tmp");
  write_file(root_ / "not a bucket" / "tmp" / "x", "not ours");
  EXPECT_EQ(tmp_files(), 4u);

  LocalStore second(root_);
  EXPECT_EQ(tmp_files(), 1u);  // only the live writer's file is left
  EXPECT_TRUE(fs::exists(root_ / "not a bucket" / "tmp" / "x"));
  live->commit();
  EXPECT_EQ(get("live.bak"), "in progress");
  EXPECT_EQ(tmp_files(), 0u);
}

TEST_F(LocalStoreTest, ConcurrentWritersAndRemoversShareDirectories) {
  constexpr int kThreads = 8;
  constexpr int kRounds = 40;
  std::vector<std::thread> threads;
  std::vector<std::string> failures(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      try {
        for (int round = 0; round < kRounds; ++round) {
          // Every thread writes into the same directory that others keep emptying and pruning.
          const std::string key = "shared/dir/t" + std::to_string(t);
          auto writer = store_->create("backups", key);
          writer->write(bytes_of(key));
          writer->commit();
          auto reader = store_->open("backups", key);
          if (reader->size() != key.size()) throw std::runtime_error("wrong size");
          store_->remove("backups", key);
        }
        put("final/t" + std::to_string(t), "done");
      } catch (const std::exception& e) {
        failures[t] = e.what();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (const std::string& failure : failures) EXPECT_EQ(failure, "");
  EXPECT_EQ(keys("shared/"), std::vector<std::string>{});
  EXPECT_EQ(keys("final/").size(), static_cast<size_t>(kThreads));
  EXPECT_EQ(tmp_files(), 0u);
}

}  // namespace
}  // namespace bakrest::storage

namespace bakrest::storage {
namespace {

TEST_F(LocalStoreTest, CreateIfAbsentPublishesOnlyOntoAFreeKey) {
  auto first = store_->create("backups", "once.bak", IfExists::kFail);
  first->write(bytes_of("first"));
  first->commit();
  EXPECT_EQ(get("once.bak"), "first");
  EXPECT_EQ(tmp_files(), 0u);

  // Two writers raced past an existence check: the second to commit loses, and nothing of it remains.
  auto second = store_->create("backups", "once.bak", IfExists::kFail);
  second->write(bytes_of("second"));
  std::string message;
  EXPECT_EQ(kind_thrown([&] { second->commit(); }, &message), Kind::kAlreadyExists);
  EXPECT_EQ(message, "The object 'once.bak' already exists.");
  EXPECT_EQ(get("once.bak"), "first");
  EXPECT_EQ(tmp_files(), 0u);
}

// A file system on which directories cannot be fsynced (everything else goes to POSIX).
class UnsyncableDirectories : public fileio::FileSystem {
 public:
  int open(const char* path, int flags, mode_t mode) override { return ::open(path, flags, mode); }
  int close(int fd) override { return ::close(fd); }
  ssize_t read(int fd, void* buffer, size_t size) override { return ::read(fd, buffer, size); }
  ssize_t pread(int fd, void* buffer, size_t size, off_t offset) override {
    return ::pread(fd, buffer, size, offset);
  }
  ssize_t write(int fd, const void* data, size_t size) override { return ::write(fd, data, size); }
  ssize_t pwrite(int fd, const void* data, size_t size, off_t offset) override {
    return ::pwrite(fd, data, size, offset);
  }
  int fsync(int fd) override {
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
      errno = EIO;
      return -1;
    }
    return ::fsync(fd);
  }
  int fdatasync(int fd) override { return fsync(fd); }
  int ftruncate(int fd, off_t size) override { return ::ftruncate(fd, size); }
  int rename(const char* from, const char* to) override { return ::rename(from, to); }
  int link(const char* from, const char* to) override { return ::link(from, to); }
  int unlink(const char* path) override { return ::unlink(path); }
  int mkdir(const char* path, mode_t mode) override { return ::mkdir(path, mode); }
  int rmdir(const char* path) override { return ::rmdir(path); }
};

// The new name is made, but its directory cannot be synced: the commit fails, and a failed commit leaves
// nothing under the key (a replaced object is gone too: it was replaced before the sync failed).
TEST_F(LocalStoreTest, CommitWhoseDirectoryCannotBeSyncedLeavesNoObject) {
  put("old.bak", "old");
  for (IfExists if_exists : {IfExists::kFail, IfExists::kReplace}) {
    std::string key = if_exists == IfExists::kFail ? "new.bak" : "old.bak";
    SCOPED_TRACE(key);
    auto writer = store_->create("backups", key, if_exists);
    writer->write(bytes_of("new"));
    std::string message;
    {
      UnsyncableDirectories file_system;
      fileio::ScopedFileSystem installed(file_system);
      EXPECT_EQ(kind_thrown([&] { writer->commit(); }, &message), Kind::kIo);
    }
    EXPECT_NE(message.find("Could not flush directory"), std::string::npos) << message;
    EXPECT_FALSE(store_->exists("backups", key));
    EXPECT_EQ(tmp_files(), 0u);
  }
}

}  // namespace
}  // namespace bakrest::storage
