// S3Store against the strict S3 test server (tests/support/s3_server.py: SigV4 verified, Content-MD5 and
// payload hashes checked, multipart rules, regions) and, for faults, through the fault-injecting proxy
// (tests/support/fault_proxy.py). Each test starts its own server on a free loopback port in its own
// directory.
#include "storage/s3_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "storage/http_client.h"
#include "support/child_process.h"

namespace bakrest::storage {
namespace {

namespace fs = std::filesystem;
using Kind = StorageError::Kind;
using testing::ChildProcess;

constexpr char kKeyId[] = "AKIDBAKRESTTEST";
constexpr char kSecret[] = "s3cr3t/BakrestTestKey+0123456789abcdef";
constexpr uint64_t kMiB = 1 << 20;

std::vector<uint8_t> pattern(size_t size, uint32_t seed = 0x9E3779B9u) {
  std::vector<uint8_t> out(size);
  uint32_t state = seed;
  for (auto& byte : out) {
    state = state * 1664525u + 1013904223u;
    byte = static_cast<uint8_t>(state >> 24);
  }
  return out;
}

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

std::string support(const char* script) { return std::string(BAKREST_TEST_SUPPORT) + "/" + script; }

class S3StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "bakrest-s3-store-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    start_server({});
  }

  void TearDown() override {
    proxy_.reset();
    server_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void start_server(const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {"/usr/bin/python3", support("s3_server.py"),
                                     "--root",           (dir_ / "s3").string(),
                                     "--port",           "0",
                                     "--credentials",    std::string(kKeyId) + ":" + kSecret,
                                     "--bucket",         "backups:us-east-1",
                                     "--bucket",         "faraway:eu-west-1"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    server_.reset();
    server_ = std::make_unique<ChildProcess>(argv);
    server_port_ = testing::port_in(server_->wait_for_line("s3_server listening on"));
  }

  void start_proxy() {
    proxy_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{"/usr/bin/python3", support("fault_proxy.py"), "--target",
                                 "127.0.0.1:" + std::to_string(server_port_), "--port", "0"});
    const std::string line = proxy_->wait_for_line("fault_proxy listening on");
    proxy_port_ = testing::port_in(line);
    control_port_ = testing::port_in(line.substr(line.find("control")));
  }

  // Replaces the proxy's rules (fault_proxy.py's JSON).
  void faults(const nlohmann::json& rules) {
    http::Client client(http::Options{});
    const std::string body = nlohmann::json{{"rules", rules}}.dump();
    http::Request request{"POST",
                          "http://127.0.0.1:" + std::to_string(control_port_) + "/rules",
                          {{"Content-Type", "application/json"}},
                          std::span(reinterpret_cast<const uint8_t*>(body.data()), body.size())};
    ASSERT_EQ(client.perform(request, {}, "set faults").status, 200);
  }

  // The faults the proxy applied so far.
  std::vector<std::string> applied_faults() {
    http::Client client(http::Options{});
    http::Request request{"GET", "http://127.0.0.1:" + std::to_string(control_port_) + "/log", {}, {}};
    auto log = nlohmann::json::parse(client.perform(request, {}, "read the proxy's log").body);
    std::vector<std::string> out;
    for (const auto& entry : log) {
      if (entry.contains("fault") && entry["fault"].is_string()) out.push_back(entry["fault"]);
    }
    return out;
  }

  S3Settings settings(bool through_proxy = false) const {
    S3Settings s;
    s.bucket = "backups";
    s.endpoint = "http://127.0.0.1:" + std::to_string(through_proxy ? proxy_port_ : server_port_);
    s.region = "us-east-1";
    s.credentials.access_key_id = kKeyId;
    s.credentials.secret_access_key = kSecret;
    s.part_size_mb = 5;
    s.parts_per_size = 2;
    s.read_chunk_mb = 2;
    s.base_backoff = std::chrono::milliseconds(10);
    s.max_backoff = std::chrono::milliseconds(200);
    s.retry_seconds = 30;
    s.http.low_speed_seconds = 2;
    return s;
  }

  static void put(S3Store& store, const std::string& key, const std::vector<uint8_t>& bytes,
                  IfExists if_exists = IfExists::kReplace) {
    auto writer = store.create("backups", key, if_exists);
    // In pieces of odd sizes, as the backup writer sends them.
    for (size_t at = 0; at < bytes.size();) {
      const size_t n = std::min<size_t>(bytes.size() - at, 700'001);
      writer->write(std::span(bytes).subspan(at, n));
      at += n;
    }
    writer->commit();
  }

  static std::vector<uint8_t> get(S3Store& store, const std::string& key, ByteRange range = {}) {
    auto reader = store.open("backups", key, range, {});
    std::vector<uint8_t> out;
    std::vector<uint8_t> buffer(999'983);
    for (size_t n; (n = reader->read(buffer)) > 0;) out.insert(out.end(), buffer.begin(), buffer.begin() + n);
    return out;
  }

  // Unfinished uploads to key, ended (and counted) now.
  int open_uploads(const std::string& key) {
    S3Store direct(settings());
    return direct.abort_unfinished_uploads("backups", key,
                                           std::chrono::system_clock::now() + std::chrono::hours(1), {});
  }

  fs::path dir_;
  std::unique_ptr<ChildProcess> server_;
  std::unique_ptr<ChildProcess> proxy_;
  int server_port_ = 0;
  int proxy_port_ = 0;
  int control_port_ = 0;
};

TEST_F(S3StoreTest, SmallAndMultipartObjectsReadBackByteForByte) {
  S3Store store(settings());
  const auto small = pattern(100'000, 1);
  const auto large = pattern(23 * kMiB + 12345, 2);  // parts of 5, 5, 10 and 3.x MiB
  put(store, "db/small.bak", small);
  put(store, "db/large.bak", large);
  EXPECT_EQ(get(store, "db/small.bak"), small);
  EXPECT_EQ(get(store, "db/large.bak"), large);
  auto info = store.head("backups", "db/large.bak");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->size, large.size());
  EXPECT_TRUE(info->etag.ends_with("-4")) << info->etag;  // four parts: the part size grew after two
  EXPECT_EQ(open_uploads("db/large.bak"), 0);
}

TEST_F(S3StoreTest, RangesReadExactlyTheirBytes) {
  S3Store store(settings());
  const auto bytes = pattern(5 * kMiB + 77, 3);
  put(store, "r.bak", bytes);
  auto slice = [&](uint64_t from, uint64_t n) {
    return std::vector<uint8_t>(bytes.begin() + static_cast<ptrdiff_t>(from),
                                bytes.begin() + static_cast<ptrdiff_t>(from + n));
  };
  EXPECT_EQ(get(store, "r.bak", {0, 10}), slice(0, 10));
  EXPECT_EQ(get(store, "r.bak", {3 * kMiB - 5, 2 * kMiB + 9}), slice(3 * kMiB - 5, 2 * kMiB + 9));
  EXPECT_EQ(get(store, "r.bak", {4 * kMiB, std::nullopt}), slice(4 * kMiB, bytes.size() - 4 * kMiB));
  EXPECT_EQ(get(store, "r.bak", {bytes.size() - 1, 100}), slice(bytes.size() - 1, 1));
  EXPECT_TRUE(get(store, "r.bak", {bytes.size(), std::nullopt}).empty());
  EXPECT_EQ(kind_thrown([&] {
              get(store, "r.bak", {bytes.size() + 1, std::nullopt});
            }),
            Kind::kInvalidRequest);
  EXPECT_EQ(store.open("backups", "r.bak", {100, 5}, {})->size(), bytes.size());
}

TEST_F(S3StoreTest, EmptyObject) {
  S3Store store(settings());
  put(store, "empty", {});
  EXPECT_TRUE(get(store, "empty").empty());
  EXPECT_EQ(store.head("backups", "empty")->size, 0u);
}

TEST_F(S3StoreTest, NothingIsVisibleBeforeCommitAndAnAbandonedUploadIsEnded) {
  S3Store store(settings());
  {
    auto writer = store.create("backups", "pending.bak");
    const auto bytes = pattern(12 * kMiB, 4);
    writer->write(bytes);  // two parts sent: the multipart upload exists
    EXPECT_FALSE(store.head("backups", "pending.bak"));
    EXPECT_TRUE(store.list("backups", "pending").empty());
    EXPECT_GE(writer->buffer_limit_bytes(), 5 * kMiB);
  }  // destroyed uncommitted: aborted
  EXPECT_EQ(open_uploads("pending.bak"), 0);
  EXPECT_FALSE(store.head("backups", "pending.bak"));
}

TEST_F(S3StoreTest, UnfinishedUploadsOfExactlyOneKeyAreEnded) {
  S3Store store(settings());
  auto a = store.create("backups", "k.bak");
  auto b = store.create("backups", "k.bak2");
  a->write(pattern(6 * kMiB, 5));
  b->write(pattern(6 * kMiB, 6));
  // What an instance does at start for the key an interrupted task was writing.
  EXPECT_EQ(store.abort_unfinished_uploads("backups", "k.bak", std::chrono::system_clock::now(), {}), 1);
  EXPECT_NE(kind_thrown([&] { a->commit(); }), Kind::kCancelled);
  EXPECT_FALSE(store.head("backups", "k.bak"));
  b->commit();
  EXPECT_EQ(store.head("backups", "k.bak2")->size, 6 * kMiB);
  // Uploads begun after `before` are not the interrupted task's.
  auto c = store.create("backups", "k.bak");
  c->write(pattern(6 * kMiB, 7));
  EXPECT_EQ(store.abort_unfinished_uploads("backups", "k.bak",
                                           std::chrono::system_clock::now() - std::chrono::hours(1), {}),
            0);
  c->commit();
}

void expect_if_exists_fail_is_atomic(S3Store& store, size_t size) {
  const auto first = pattern(size, 8);
  const auto second = pattern(size, 9);
  const std::string key = "once-" + std::to_string(size);
  auto loser = store.create("backups", key, IfExists::kFail);
  loser->write(second);
  {
    auto winner = store.create("backups", key, IfExists::kFail);
    winner->write(first);
    winner->commit();
  }
  std::string message;
  EXPECT_EQ(kind_thrown([&] { loser->commit(); }, &message), Kind::kAlreadyExists) << message;
  auto reader = store.open("backups", key, {}, {});
  std::vector<uint8_t> back(size);
  EXPECT_EQ(reader->read(back), size);
  EXPECT_EQ(back, first);
  EXPECT_EQ(kind_thrown([&] { store.create("backups", key, IfExists::kFail); }), Kind::kAlreadyExists);
}

TEST_F(S3StoreTest, IfExistsFailPublishesOnlyOntoAFreeKeyWithConditionalWrites) {
  S3Store store(settings());
  expect_if_exists_fail_is_atomic(store, 1000);
  expect_if_exists_fail_is_atomic(store, 11 * kMiB);
  EXPECT_EQ(open_uploads("once-" + std::to_string(11 * kMiB)), 0);
}

TEST_F(S3StoreTest, IfExistsFailLooksBeforeCompletingWhereWritesCannotBeConditional) {
  start_server({"--no-conditional-writes"});
  S3Settings s = settings();
  s.conditional_writes = false;
  S3Store store(s);
  expect_if_exists_fail_is_atomic(store, 1000);
  expect_if_exists_fail_is_atomic(store, 11 * kMiB);
}

TEST_F(S3StoreTest, ListingPagesThroughMoreThanAThousandKeysInOrder) {
  S3Store store(settings());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < 1050; i += 4) {
        char key[32];
        std::snprintf(key, sizeof key, "many/%04d.bak", i);
        put(store, key, {static_cast<uint8_t>(i)});
      }
    });
  }
  for (auto& t : threads) t.join();
  put(store, "other.bak", {1});
  auto listed = store.list("backups", "many/");
  ASSERT_EQ(listed.size(), 1050u);
  for (size_t i = 1; i < listed.size(); ++i) EXPECT_LT(listed[i - 1].key, listed[i].key);
  EXPECT_EQ(listed.front().key, "many/0000.bak");
  EXPECT_EQ(listed.back().size, 1u);
}

TEST_F(S3StoreTest, MissingBucketsKeysAndOtherRegionsAreToldApart) {
  S3Store store(settings());
  EXPECT_EQ(store.bucket_region("backups"), "us-east-1");
  EXPECT_EQ(store.bucket_region("faraway"), "eu-west-1");
  EXPECT_EQ(store.bucket_region("nonesuch"), std::nullopt);
  std::string message;
  EXPECT_EQ(kind_thrown([&] { store.head("nonesuch", "k"); }, &message), Kind::kNoSuchBucket);
  EXPECT_EQ(message, "The specified bucket does not exist");
  EXPECT_EQ(kind_thrown([&] { store.open("backups", "absent.bak"); }, &message), Kind::kNoSuchKey);
  EXPECT_FALSE(store.head("backups", "absent.bak"));
  EXPECT_EQ(kind_thrown([&] { store.list("nonesuch", ""); }, &message), Kind::kNoSuchBucket);
  EXPECT_TRUE(message.starts_with("The specified bucket does not exist")) << message;
  store.remove("backups", "absent.bak");  // not an error
}

TEST_F(S3StoreTest, WrongKeysAreAccessDeniedAtOnceAndNeverShowTheSecret) {
  for (bool unknown_key : {false, true}) {
    S3Settings s = settings();
    s.credentials.secret_access_key = "not-the-secret-" + std::string(kSecret);
    if (unknown_key) s.credentials.access_key_id = "AKIDUNKNOWN";
    S3Store store(s);
    const auto started = std::chrono::steady_clock::now();
    std::string message;
    EXPECT_EQ(kind_thrown([&] { store.list("backups", ""); }, &message), Kind::kAccessDenied);
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
    EXPECT_TRUE(message.starts_with("Access Denied (S3 ListObjectsV2 of 's3://backups': HTTP 403 "))
        << message;
    EXPECT_NE(message.find(unknown_key ? "InvalidAccessKeyId" : "SignatureDoesNotMatch"), std::string::npos)
        << message;
    EXPECT_NE(message.find("request id "), std::string::npos) << message;
    EXPECT_EQ(message.find("attempt"), std::string::npos) << "retried: " << message;
    EXPECT_EQ(message.find("not-the-secret"), std::string::npos);
  }
}

TEST_F(S3StoreTest, AKeyWithoutReadPermissionIsAccessDenied) {
  start_server({"--deny", "get:secret/"});
  S3Store store(settings());
  put(store, "secret/x.bak", pattern(1000));
  std::string message;
  EXPECT_EQ(kind_thrown([&] { get(store, "secret/x.bak"); }, &message), Kind::kAccessDenied);
  EXPECT_TRUE(message.starts_with("Access Denied")) << message;
}

// One fault of each kind once: the request it hits is sent again and the data arrives whole.
TEST_F(S3StoreTest, EachFaultOnceIsRetriedAndTheBytesArriveWhole) {
  start_proxy();
  S3Store store(settings(true));
  const auto bytes = pattern(16 * kMiB + 3, 10);
  const std::vector<nlohmann::json> cases = {
      {{"fault", "status_500"}, {"match", "partNumber=2"}, {"times", 1}},
      {{"fault", "status_503_slowdown"}, {"match", "partNumber=1"}, {"times", 1}},
      {{"fault", "reset_request"}, {"match", "partNumber=3"}, {"times", 1}},
      {{"fault", "reset_response"}, {"method", "GET"}, {"times", 1}},
      {{"fault", "truncate"}, {"method", "GET"}, {"times", 2}},
      {{"fault", "stall"}, {"method", "GET"}, {"times", 1}, {"after_bytes", 1000}, {"seconds", 30}},
      {{"fault", "complete_error"}, {"times", 1}},
      {{"fault", "status_500"}, {"match", "uploads"}, {"method", "POST"}, {"times", 1}},
  };
  int n = 0;
  for (const auto& rule : cases) {
    SCOPED_TRACE(rule.dump());
    faults(nlohmann::json::array({rule}));
    const std::string key = "fault-" + std::to_string(n++) + ".bak";
    put(store, key, bytes);
    EXPECT_EQ(get(store, key), bytes);
    auto applied = applied_faults();
    EXPECT_NE(std::find(applied.begin(), applied.end(), rule["fault"].get<std::string>()), applied.end());
    EXPECT_EQ(open_uploads(key), 0);
  }
}

TEST_F(S3StoreTest, AFaultOnEveryRequestEndsInAnErrorThatSaysWhatFailed) {
  start_proxy();
  S3Settings s = settings(true);
  s.max_attempts = 3;
  S3Store store(s);
  faults(nlohmann::json::array({{{"fault", "status_500"}, {"match", "partNumber="}}}));
  std::string message;
  EXPECT_EQ(kind_thrown([&] { put(store, "doomed.bak", pattern(12 * kMiB, 11)); }, &message),
            Kind::kTransient);
  EXPECT_NE(message.find("S3 UploadPart of 's3://backups/doomed.bak': HTTP 500 InternalError: "),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("; request id "), std::string::npos) << message;
  EXPECT_NE(message.find("after 3 attempts"), std::string::npos) << message;
  EXPECT_FALSE(store.head("backups", "doomed.bak"));
  EXPECT_EQ(open_uploads("doomed.bak"), 0);

  faults(nlohmann::json::array({{{"fault", "reset_response"}, {"method", "GET"}}}));
  put(store, "readable.bak", pattern(100, 12));  // a PUT: not faulted
  EXPECT_EQ(kind_thrown([&] { get(store, "readable.bak"); }, &message), Kind::kTransient);
  EXPECT_NE(message.find("S3 GetObject of 's3://backups/readable.bak'"), std::string::npos) << message;
}

TEST_F(S3StoreTest, ACancelledUploadStopsAndIsAborted) {
  S3Store store(settings());
  std::atomic<bool> cancelled = false;
  CallContext ctx([&] { return cancelled.load(); });
  auto writer = store.create("backups", "cancelled.bak", IfExists::kReplace, ctx);
  writer->write(pattern(11 * kMiB, 13));
  cancelled = true;
  EXPECT_EQ(kind_thrown([&] {
              writer->write(pattern(10 * kMiB, 14));
              writer->commit();
            }),
            Kind::kCancelled);
  writer.reset();
  EXPECT_EQ(open_uploads("cancelled.bak"), 0);
  EXPECT_FALSE(store.head("backups", "cancelled.bak"));
}

TEST_F(S3StoreTest, VirtualHostAddressingReachesTheSameBucket) {
  S3Settings s = settings();
  s.endpoint = "http://localhost:" + std::to_string(server_port_);
  s.virtual_addressing = true;
  S3Store store(s);
  put(store, "virtual.bak", pattern(1000, 15));
  EXPECT_EQ(get(store, "virtual.bak"), pattern(1000, 15));
  S3Store path_style(settings());
  EXPECT_EQ(get(path_style, "virtual.bak"), pattern(1000, 15));
}

TEST_F(S3StoreTest, BadSettingsAreRefusedByName) {
  S3Settings s = settings();
  s.endpoint = "127.0.0.1:9000";
  EXPECT_THROW(S3Store{s}, std::runtime_error);
  s = settings();
  s.part_size_mb = 4;
  EXPECT_THROW(S3Store{s}, std::runtime_error);
  s = settings();
  s.endpoint = "ftp://example.com";
  EXPECT_THROW(S3Store{s}, std::runtime_error);
}

}  // namespace
}  // namespace bakrest::storage
