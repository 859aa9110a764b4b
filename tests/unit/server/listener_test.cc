// Drives a real Listener over TCP with a small hand-written TDS client and a fake backend.
#include "server/listener.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <bit>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include "server/bytes.h"
#include "server/login7.h"
#include "server/packet.h"
#include "server/socket.h"
#include "server/tds_version.h"
#include "server/text.h"

namespace bakrest::server {
namespace {

using namespace std::chrono_literals;

// ---- Fake backend ----------------------------------------------------------------------------

struct BackendState {
  std::mutex mutex;
  std::vector<std::string> batches;
  std::vector<ProcCall> rpcs;
  std::atomic<int> interrupts{0};
  std::atomic<int> logins{0};
  std::vector<int> spids;
  std::vector<bool> resets;  // keep_transaction of each reset
};

std::string echo_text(const Value& v) {
  if (is_null(v)) return "NULL";
  if (auto* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  if (auto* i = std::get_if<int64_t>(&v)) return "int:" + std::to_string(*i);
  if (auto* d = std::get_if<double>(&v)) return "float:" + std::to_string(*d);
  if (auto* s = std::get_if<std::string>(&v)) return "text:" + *s;
  if (auto* b = std::get_if<Bytes>(&v)) return "bytes:" + std::to_string(b->size());
  return "datetime:" + std::to_string(std::get<DateTime>(v).unix_micros);
}

class FakeHandler : public RequestHandler {
 public:
  explicit FakeHandler(BackendState& state) : state_(state) {}

  void run_batch(std::string_view sql, ResultSink& sink) override {
    {
      std::lock_guard lock(state_.mutex);
      state_.batches.emplace_back(sql);
    }
    if (sql == "SLOW") {
      sink.columns({{"n", ColumnType::kInt, 0}});
      int i = 0;
      for (; i < 10'000'000 && !sink.attention(); ++i) {
        sink.row({int64_t{i}});
        if (i % 200 == 0) std::this_thread::sleep_for(1ms);
      }
      sink.done(i);
      return;
    }
    if (sql == "THROW") throw std::runtime_error("kaboom");
    if (sql == "SQLERROR") throw SqlError(208, 16, "Invalid object name 'x'.");
    if (sql == "MANY") {
      sink.columns({{"n", ColumnType::kInt, 0}, {"s", ColumnType::kNVarCharMax, 0}});
      for (int i = 0; i < 2000; ++i) sink.row({int64_t{i}, std::string(50, 'y')});
      sink.done(2000);
      return;
    }
    if (sql.starts_with("BEGIN") || sql == "COMMIT" || sql.starts_with("ROLLBACK") ||
        sql.starts_with("SAVE")) {
      // A transaction as the server keeps it: BEGIN [name] opens it; COMMIT, ROLLBACK and ROLLBACK of its
      // own name end it; ROLLBACK of another name goes back to a savepoint.
      if (sql.starts_with("BEGIN")) {
        ++trancount_;
        transaction_name_ = sql.size() > 17 ? std::string(sql.substr(18)) : "";
      } else if (sql == "COMMIT" || sql == "ROLLBACK" ||
                 sql.substr(std::min<size_t>(sql.size(), 21)) == transaction_name_) {
        trancount_ = 0;
      }
      sink.done(std::nullopt);
      return;
    }
    sink.columns(
        {{"sql", ColumnType::kNVarCharMax, 0}, {"n", ColumnType::kInt, 0}, {"b", ColumnType::kBit, 0}});
    sink.row({std::string(sql), int64_t{1}, std::monostate{}});
    sink.done(1);
  }

  void run_rpc(const ProcCall& call, ResultSink& sink) override {
    {
      std::lock_guard lock(state_.mutex);
      state_.rpcs.push_back(call);
    }
    sink.procedure_started();
    sink.columns({{"name", ColumnType::kNVarChar, 128}, {"value", ColumnType::kNVarCharMax, 0}});
    sink.row({std::string("@proc"), call.name});
    for (const ProcArg& a : call.args) sink.row({a.name, echo_text(a.value)});
    sink.done(call.args.size() + 1);
    sink.procedure_done(0);
  }

  void interrupt() override { ++state_.interrupts; }
  std::string current_database() const override { return "master"; }
  int open_transactions() const override { return trancount_; }
  void reset(bool keep_transaction) override {
    std::lock_guard lock(state_.mutex);
    state_.resets.push_back(keep_transaction);
  }

 private:
  BackendState& state_;
  int trancount_ = 0;
  std::string transaction_name_;
};

class FakeBackend : public Backend {
 public:
  std::unique_ptr<RequestHandler> login(const LoginRequest& request, int spid) override {
    ++state.logins;
    {
      std::lock_guard lock(state.mutex);
      state.spids.push_back(spid);
    }
    if (request.password != "secret") {
      throw SqlError(Message{18456, 1, 14, "Login failed for user '" + request.user + "'.", {}, 1});
    }
    return std::make_unique<FakeHandler>(state);
  }
  BackendState state;
};

// ---- Test client -----------------------------------------------------------------------------

struct Token {
  uint8_t type = 0;
  uint16_t status = 0;              // DONE*
  uint64_t row_count = 0;           // DONE*
  int32_t number = 0;               // ERROR/INFO number, RETURNSTATUS value, ENVCHANGE type
  uint8_t severity = 0;             // ERROR/INFO
  std::string text;                 // ERROR/INFO message
  Bytes raw;                        // LOGINACK/ENVCHANGE body
  std::vector<std::string> values;  // ROW
};

struct ColumnInfo {
  uint8_t type;
  uint32_t max_length;
};

struct Reply {
  std::vector<Token> tokens;
  int packets = 0;
  std::vector<uint16_t> spids;
  std::vector<size_t> packet_lengths;

  std::vector<Token> of(uint8_t type) const {
    std::vector<Token> out;
    for (const Token& t : tokens) {
      if (t.type == type) out.push_back(t);
    }
    return out;
  }
  std::vector<std::vector<std::string>> rows() const {
    std::vector<std::vector<std::string>> out;
    for (const Token& t : of(0xD1)) out.push_back(t.values);
    return out;
  }
};

// ALL_HEADERS with one transaction descriptor header, as TDS 7.2+ requests begin.
Bytes all_headers_72() {
  ByteWriter w;
  w.u32le(22);
  w.u32le(18);
  w.u16le(2);
  w.u64le(0);
  w.u32le(1);
  return w.take();
}

class TestClient {
 public:
  explicit TestClient(int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      throw std::runtime_error("connect");
    socket_ = Socket(fd);
    socket_.set_receive_timeout(10s);
  }

  void send(PacketType type, const Bytes& payload, size_t packet_size = 4096, uint8_t first_status = 0) {
    size_t chunk = packet_size - 8;
    size_t pos = 0;
    uint8_t id = 1;
    do {
      size_t n = std::min(chunk, payload.size() - pos);
      bool last = pos + n == payload.size();
      uint8_t status = static_cast<uint8_t>((last ? packet_status::kEom : 0) | (id == 1 ? first_status : 0));
      PacketHeader h{static_cast<uint8_t>(type), status, static_cast<uint16_t>(n + 8), 0, id++, 0};
      auto header = encode_header(h);
      Bytes packet(header.begin(), header.end());
      packet.insert(packet.end(), payload.begin() + static_cast<ptrdiff_t>(pos),
                    payload.begin() + static_cast<ptrdiff_t>(pos + n));
      socket_.write_all(packet);
      pos += n;
    } while (pos < payload.size());
  }

  void send_raw(const Bytes& bytes) { socket_.write_all(bytes); }

  // Reads one message; nullopt if the server closed the connection.
  std::optional<Reply> read_reply() {
    Reply reply;
    Bytes payload;
    for (;;) {
      uint8_t header[8];
      if (!read_exact(header, 8)) {
        if (reply.packets == 0) return std::nullopt;
        throw std::runtime_error("connection closed mid-message");
      }
      PacketHeader h = decode_header(std::span<const uint8_t, 8>(header, 8));
      EXPECT_EQ(h.type, 0x04);
      Bytes body(h.length - 8);
      if (!read_exact(body.data(), body.size())) throw std::runtime_error("connection closed mid-packet");
      payload.insert(payload.end(), body.begin(), body.end());
      ++reply.packets;
      reply.spids.push_back(h.spid);
      reply.packet_lengths.push_back(h.length);
      if (h.status & packet_status::kEom) break;
    }
    last_payload = payload;
    reply.tokens = parse_tokens(payload);
    return reply;
  }

  bool closed_by_server() {
    uint8_t b;
    return socket_.read_some({&b, 1}) == 0;
  }

  Bytes prelogin(uint8_t encryption = 0x00) {
    Bytes p = {0x00, 0x00, 0x10, 0x00, 0x06, 0x01, 0x00, 0x16, 0x00, 0x01, 0xFF,      0x0B,
               0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, encryption};
    p.resize(0x16 + 1);
    p[0x16] = encryption;
    send(PacketType::kPrelogin, p);
    auto reply = read_raw_message();
    return reply;
  }

  Reply login(std::string_view user, std::string_view password, uint32_t version = kTds74,
              uint32_t packet_size = 4096) {
    version_ = version;
    prelogin();
    send(PacketType::kLogin7, build_login7(user, password, version, packet_size));
    auto reply = read_reply();
    if (!reply) throw std::runtime_error("closed during login");
    packet_size_ = packet_size;
    return *reply;
  }

  Reply batch(std::string_view sql) {
    send(PacketType::kSqlBatch, with_all_headers(utf16(sql)), packet_size_);
    return *read_reply();
  }

  // A batch with RESETCONNECTION (or RESETCONNECTIONSKIPTRAN) set, as connection pools send.
  Reply batch_after_reset(std::string_view sql, uint8_t reset_status) {
    send(PacketType::kSqlBatch, with_all_headers(utf16(sql)), packet_size_, reset_status);
    return *read_reply();
  }

  void attention() { send(PacketType::kAttention, {}); }

  // RPC by name with NVARCHAR and INT parameters; ProcID when name is a number like "#10".
  static Bytes rpc_call(std::string_view name, const std::vector<std::pair<std::string, Value>>& params) {
    ByteWriter w;
    if (name.starts_with("#")) {
      w.u16le(0xFFFF);
      w.u16le(static_cast<uint16_t>(std::stoi(std::string(name.substr(1)))));
    } else {
      w.u16le(static_cast<uint16_t>(utf8_to_utf16(name).size()));
      put_utf16le(w, utf8_to_utf16(name));
    }
    w.u16le(0);
    for (const auto& [pname, value] : params) {
      put_b_varchar(w, pname);
      w.u8(0);
      if (auto* s = std::get_if<std::string>(&value)) {
        std::u16string u = utf8_to_utf16(*s);
        w.u8(0xE7);
        w.u16le(8000);
        w.bytes(Bytes{0x09, 0x04, 0xD0, 0x00, 0x34});
        w.u16le(static_cast<uint16_t>(u.size() * 2));
        put_utf16le(w, u);
      } else if (auto* i = std::get_if<int64_t>(&value)) {
        w.u8(0x26);
        w.u8(8);
        w.u8(8);
        w.u64le(static_cast<uint64_t>(*i));
      } else {
        w.u8(0x26);
        w.u8(4);
        w.u8(0);
      }
    }
    return w.take();
  }

  Reply rpc(const std::vector<Bytes>& calls) {
    Bytes payload = all_headers();
    for (size_t i = 0; i < calls.size(); ++i) {
      if (i > 0) payload.push_back(0xFF);
      payload.insert(payload.end(), calls[i].begin(), calls[i].end());
    }
    send(PacketType::kRpc, payload, packet_size_);
    return *read_reply();
  }

  Reply transaction(uint16_t request_type, const std::string& name = "") {
    ByteWriter w;
    w.bytes(all_headers());
    w.u16le(request_type);
    if (request_type == 5) w.u8(0);                              // isolation level
    w.u8(static_cast<uint8_t>(2 * utf8_to_utf16(name).size()));  // B_VARBYTE: bytes
    put_utf16le(w, utf8_to_utf16(name));
    if (request_type == 7 || request_type == 8) w.u8(0);  // flags
    send(PacketType::kTransactionManager, w.take());
    return *read_reply();
  }

  Bytes last_payload;

 private:
  bool read_exact(uint8_t* buf, size_t n) {
    size_t got = 0;
    while (got < n) {
      size_t r = socket_.read_some({buf + got, n - got});
      if (r == 0) return false;
      got += r;
    }
    return true;
  }

  Bytes read_raw_message() {
    Bytes payload;
    for (;;) {
      uint8_t header[8];
      if (!read_exact(header, 8)) throw std::runtime_error("closed");
      PacketHeader h = decode_header(std::span<const uint8_t, 8>(header, 8));
      Bytes body(h.length - 8);
      if (!read_exact(body.data(), body.size())) throw std::runtime_error("closed");
      payload.insert(payload.end(), body.begin(), body.end());
      if (h.status & packet_status::kEom) return payload;
    }
  }

  bool has_72() const { return version_ >= kTds72; }

  Bytes all_headers() const { return has_72() ? all_headers_72() : Bytes{}; }

  Bytes with_all_headers(const Bytes& body) const {
    Bytes out = all_headers();
    out.insert(out.end(), body.begin(), body.end());
    return out;
  }

  static Bytes utf16(std::string_view s) {
    ByteWriter w;
    put_utf16le(w, utf8_to_utf16(s));
    return w.take();
  }

  static Bytes build_login7(std::string_view user, std::string_view password, uint32_t version,
                            uint32_t packet_size) {
    const std::string fields[] = {
        "testhost", std::string(user), std::string(password), "unit-test", "srv", "", "gtest", "", "mydb"};
    ByteWriter data;
    std::vector<std::pair<uint16_t, uint16_t>> table;
    for (size_t i = 0; i < std::size(fields); ++i) {
      uint16_t offset = static_cast<uint16_t>(94 + data.size());
      std::u16string units = utf8_to_utf16(fields[i]);
      if (i == 2) {
        data.bytes(encode_password(fields[i]));
      } else {
        put_utf16le(data, units);
      }
      table.emplace_back(offset, static_cast<uint16_t>(units.size()));
    }
    ByteWriter out;
    out.u32le(static_cast<uint32_t>(94 + data.size()));
    out.u32le(version);
    out.u32le(packet_size);
    out.u32le(7);
    out.u32le(1);
    out.u32le(0);
    out.u8(0xE0);
    out.u8(0x03);
    out.u8(0);
    out.u8(0);
    out.u32le(0);
    out.u32le(0x409);
    for (auto [offset, length] : table) {
      out.u16le(offset);
      out.u16le(length);
    }
    out.zeros(6);  // ClientID
    while (out.size() < 94) out.u8(0);
    out.bytes(data.data());
    return out.take();
  }

  std::string read_value(ByteReader& r, const ColumnInfo& c) {
    auto plp = [&]() -> std::string {
      uint64_t total = r.u64le();
      if (total == ~0ULL) return "NULL";
      Bytes data;
      for (uint32_t n; (n = r.u32le()) != 0;) {
        auto b = r.bytes(n);
        data.insert(data.end(), b.begin(), b.end());
      }
      return c.type == 0xE7 ? utf16le_to_utf8(data) : "bytes:" + std::to_string(data.size());
    };
    switch (c.type) {
      case 0x26:
      case 0x68: {
        uint8_t len = r.u8();
        if (len == 0) return "NULL";
        uint64_t v = r.uint_le(len);
        if (len < 8 && (v >> (len * 8 - 1)) & 1) v |= ~0ULL << (len * 8);
        return std::to_string(static_cast<int64_t>(v));
      }
      case 0x6D: {
        uint8_t len = r.u8();
        if (len == 0) return "NULL";
        return std::to_string(std::bit_cast<double>(r.u64le()));
      }
      case 0x6F:
      case 0x2A: {
        uint8_t len = r.u8();
        if (len == 0) return "NULL";
        r.skip(len);
        return "date";
      }
      case 0xE7:
      case 0xA5: {
        if (c.max_length == 0xFFFF) return plp();
        uint16_t len = r.u16le();
        if (len == 0xFFFF) return "NULL";
        auto b = r.bytes(len);
        return c.type == 0xE7 ? utf16le_to_utf8(b) : "bytes:" + std::to_string(len);
      }
      case 0x63:
      case 0x22: {
        uint8_t ptr = r.u8();
        if (ptr == 0) return "NULL";
        r.skip(ptr + 8);
        auto b = r.bytes(r.u32le());
        return c.type == 0x63 ? utf16le_to_utf8(b) : "bytes:" + std::to_string(b.size());
      }
    }
    throw std::runtime_error("test client: unknown column type");
  }

  std::vector<Token> parse_tokens(const Bytes& payload) {
    std::vector<Token> out;
    ByteReader r(payload);
    while (!r.at_end()) {
      Token t;
      t.type = r.u8();
      switch (t.type) {
        case 0xFD:
        case 0xFE:
        case 0xFF:
          t.status = r.u16le();
          r.u16le();
          t.row_count = has_72() ? r.u64le() : r.u32le();
          break;
        case 0xAA:
        case 0xAB: {
          size_t len = r.u16le();
          ByteReader m(r.bytes(len));
          t.number = m.i32le();
          m.u8();
          t.severity = m.u8();
          t.text = read_us_varchar(m);
          break;
        }
        case 0xE3: {
          size_t len = r.u16le();
          auto b = r.bytes(len);
          t.raw.assign(b.begin(), b.end());
          t.number = t.raw.at(0);
          break;
        }
        case 0xAD: {
          size_t len = r.u16le();
          auto b = r.bytes(len);
          t.raw.assign(b.begin(), b.end());
          break;
        }
        case 0xAE:
          while (r.u8() != 0xFF) r.skip(r.u32le());
          break;
        case 0x79:
          t.number = r.i32le();
          break;
        case 0xAC: {  // RETURNVALUE; only INTN values occur in these tests
          r.u16le();
          t.text = read_b_varchar(r);
          r.u8();
          has_72() ? r.u32le() : r.u16le();
          r.u16le();
          ColumnInfo c{r.u8(), 0};
          if (c.type != 0x26) throw std::runtime_error("test client: RETURNVALUE type");
          c.max_length = r.u8();
          t.values.push_back(read_value(r, c));
          break;
        }
        case 0x81: {
          columns_.clear();
          uint16_t count = r.u16le();
          for (uint16_t i = 0; i < count; ++i) {
            has_72() ? r.u32le() : r.u16le();
            r.u16le();
            ColumnInfo c{r.u8(), 0};
            switch (c.type) {
              case 0x26:
              case 0x68:
              case 0x6D:
              case 0x6F:
              case 0x2A:
                c.max_length = r.u8();
                break;
              case 0xE7:
                c.max_length = r.u16le();
                r.skip(5);
                break;
              case 0xA5:
                c.max_length = r.u16le();
                break;
              case 0x63:
              case 0x22:
                c.max_length = r.u32le();
                if (c.type == 0x63) r.skip(5);
                if (has_72()) {
                  for (uint8_t parts = r.u8(); parts > 0; --parts) read_us_varchar(r);
                } else {
                  read_us_varchar(r);
                }
                break;
              default:
                throw std::runtime_error("test client: unknown type in COLMETADATA");
            }
            read_b_varchar(r);
            columns_.push_back(c);
          }
          break;
        }
        case 0xD1:
          for (const ColumnInfo& c : columns_) t.values.push_back(read_value(r, c));
          break;
        default:
          throw std::runtime_error("test client: unknown token " + std::to_string(t.type));
      }
      out.push_back(std::move(t));
    }
    return out;
  }

  Socket socket_;
  uint32_t version_ = kTds74;
  uint32_t packet_size_ = 4096;
  std::vector<ColumnInfo> columns_;
};

// ---- Fixture ----------------------------------------------------------------------------------

// The listener as the tests run it: a quick login brake, so that failed logins cost the tests little.
ListenerOptions test_options(int port, const std::string& name) {
  ListenerOptions options;
  options.port = port;
  options.server_name = name;
  options.throttle.base = 20ms;
  options.throttle.max = 80ms;
  return options;
}

class TdsListenerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    listener_ = std::make_unique<Listener>(backend_, test_options(0, "unit-srv"));
    thread_ = std::thread([this] { listener_->run(); });
  }
  void TearDown() override {
    listener_->stop();
    thread_.join();
  }
  int port() const { return listener_->port(); }

  FakeBackend backend_;
  std::unique_ptr<Listener> listener_;
  std::thread thread_;
};

void expect_final_done(const Reply& reply) {
  ASSERT_FALSE(reply.tokens.empty());
  const Token& last = reply.tokens.back();
  EXPECT_TRUE(last.type == 0xFD || last.type == 0xFE) << int(last.type);
  EXPECT_EQ(last.status & 0x01, 0) << "the last DONE must not carry MORE";
  for (size_t i = 0; i + 1 < reply.tokens.size(); ++i) {
    uint8_t t = reply.tokens[i].type;
    if (t == 0xFD || t == 0xFE || t == 0xFF) {
      EXPECT_EQ(reply.tokens[i].status & 0x01, 1) << "token " << i;
    }
  }
}

bool is_attention_ack(const Reply& reply) {
  return reply.tokens.size() == 1 && reply.tokens[0].type == 0xFD && reply.tokens[0].status == 0x20;
}

TEST_F(TdsListenerTest, LoginReplySequenceAndRealSpid) {
  TestClient c(port());
  Bytes prelogin = c.prelogin();
  // MARS option present and off; ENCRYPT_NOT_SUP.
  EXPECT_EQ(prelogin.at(20), 0x04);
  EXPECT_EQ(prelogin.back(), 0x00);
  EXPECT_EQ(prelogin.at(32), 0x02);

  TestClient client(port());
  Reply r = client.login("alice", "secret");
  std::vector<std::pair<uint8_t, int>> sequence;
  for (const Token& t : r.tokens) sequence.emplace_back(t.type, t.number);
  std::vector<std::pair<uint8_t, int>> expected = {{0xE3, 1},    {0xAB, 5701}, {0xE3, 7}, {0xE3, 2},
                                                   {0xAB, 5703}, {0xE3, 4},    {0xAD, 0}, {0xFD, 0}};
  EXPECT_EQ(sequence, expected);
  EXPECT_EQ(r.tokens[6].raw,
            (Bytes{0x01, 0x74, 0x00, 0x00, 0x04, 20, 'M', 0, 'i', 0, 'c',  0,    'r',  0,   'o', 0, 's', 0,
                   'o',  0,    'f',  0,    't',  0,  ' ', 0, 'S', 0, 'Q',  0,    'L',  0,   ' ', 0, 'S', 0,
                   'e',  0,    'r',  0,    'v',  0,  'e', 0, 'r', 0, 0x0F, 0x00, 0x10, 0x39}));
  EXPECT_EQ(r.tokens.back().status, 0);
  ASSERT_FALSE(r.spids.empty());
  EXPECT_GE(r.spids[0], 51);
  Reply b = client.batch("SELECT 1");
  for (uint16_t spid : b.spids) EXPECT_EQ(spid, r.spids[0]);
}

TEST_F(TdsListenerTest, LoginFailureSendsErrorThenCloses) {
  TestClient c(port());
  Reply r = c.login("mallory", "wrong");
  ASSERT_EQ(r.tokens.size(), 2u);
  EXPECT_EQ(r.tokens[0].type, 0xAA);
  EXPECT_EQ(r.tokens[0].number, 18456);
  EXPECT_EQ(r.tokens[0].severity, 14);
  EXPECT_EQ(r.tokens[0].text, "Login failed for user 'mallory'.");
  EXPECT_EQ(r.tokens[1].type, 0xFD);
  EXPECT_EQ(r.tokens[1].status, 0x02);
  EXPECT_TRUE(c.closed_by_server());
}

TEST_F(TdsListenerTest, BatchIsDecodedAndAnswered) {
  TestClient c(port());
  c.login("alice", "secret");
  Reply r = c.batch("SELECT N'héllo'");
  ASSERT_EQ(r.rows().size(), 1u);
  EXPECT_EQ(r.rows()[0], (std::vector<std::string>{"SELECT N'héllo'", "1", "NULL"}));
  expect_final_done(r);
  EXPECT_EQ(r.tokens.back().status, 0x10);
  EXPECT_EQ(r.tokens.back().row_count, 1u);
  std::lock_guard lock(backend_.state.mutex);
  EXPECT_EQ(backend_.state.batches.back(), "SELECT N'héllo'");
}

TEST_F(TdsListenerTest, HandlerExceptionsBecomeErrors) {
  TestClient c(port());
  c.login("alice", "secret");
  Reply r = c.batch("THROW");
  ASSERT_EQ(r.of(0xAA).size(), 1u);
  EXPECT_EQ(r.of(0xAA)[0].number, 50000);
  EXPECT_EQ(r.of(0xAA)[0].severity, 16);
  EXPECT_EQ(r.of(0xAA)[0].text, "kaboom");
  expect_final_done(r);
  EXPECT_EQ(r.tokens.back().status & 0x02, 0x02);

  r = c.batch("SQLERROR");
  ASSERT_EQ(r.of(0xAA).size(), 1u);
  EXPECT_EQ(r.of(0xAA)[0].number, 208);
  // The session goes on.
  EXPECT_EQ(c.batch("SELECT 2").rows().size(), 1u);
}

TEST_F(TdsListenerTest, RpcByNameAndByProcId) {
  TestClient c(port());
  c.login("alice", "secret");
  Reply r = c.rpc({TestClient::rpc_call("msdb.dbo.rds_task_status", {{"@db_name", std::string("x")}})});
  EXPECT_EQ(r.rows(), (std::vector<std::vector<std::string>>{{"@proc", "msdb.dbo.rds_task_status"},
                                                             {"@db_name", "text:x"}}));
  expect_final_done(r);
  ASSERT_EQ(r.of(0xFF).size(), 1u);  // DONEINPROC for the statement
  ASSERT_EQ(r.of(0x79).size(), 1u);  // RETURNSTATUS
  EXPECT_EQ(r.tokens.back().type, 0xFE);

  r = c.rpc({TestClient::rpc_call("#10", {{"", std::string("SELECT @a")}, {"@a", int64_t{5}}})});
  EXPECT_EQ(r.rows()[0], (std::vector<std::string>{"@proc", "sp_executesql"}));
  EXPECT_EQ(r.rows()[2], (std::vector<std::string>{"@a", "int:5"}));

  r = c.rpc({TestClient::rpc_call("#1", {{"", int64_t{1}}})});
  ASSERT_EQ(r.of(0xAA).size(), 1u);
  EXPECT_NE(r.of(0xAA)[0].text.find("sp_cursor"), std::string::npos);
  expect_final_done(r);
}

TEST_F(TdsListenerTest, PreparedStatementsRunAsSpExecuteSql) {
  TestClient c(port());
  c.login("alice", "secret");
  Reply r = c.rpc({TestClient::rpc_call("#13", {{"", std::monostate{}},
                                                {"", std::string("@P1 bigint")},
                                                {"", std::string("SELECT @P1")},
                                                {"@P1", int64_t{9}}})});
  ASSERT_EQ(r.of(0xAC).size(), 1u);  // RETURNVALUE with the handle
  EXPECT_EQ(r.of(0xAC)[0].values, std::vector<std::string>{"1"});
  EXPECT_EQ(r.rows()[0], (std::vector<std::string>{"@proc", "sp_executesql"}));
  EXPECT_EQ(r.rows()[3], (std::vector<std::string>{"@P1", "int:9"}));
  expect_final_done(r);

  r = c.rpc({TestClient::rpc_call("#12", {{"", int64_t{1}}, {"@P1", int64_t{10}}})});
  EXPECT_EQ(r.rows()[1], (std::vector<std::string>{"", "text:SELECT @P1"}));
  EXPECT_EQ(r.rows()[3], (std::vector<std::string>{"@P1", "int:10"}));

  r = c.rpc({TestClient::rpc_call("#15", {{"", int64_t{1}}})});
  EXPECT_TRUE(r.of(0xAA).empty());
  r = c.rpc({TestClient::rpc_call("#12", {{"", int64_t{1}}})});
  ASSERT_EQ(r.of(0xAA).size(), 1u);
  EXPECT_EQ(r.of(0xAA)[0].number, 8179);
  expect_final_done(r);
}

TEST_F(TdsListenerTest, BatchedRpcsEachEndWithDoneProc) {
  TestClient c(port());
  c.login("alice", "secret");
  Reply r = c.rpc({TestClient::rpc_call("a", {}), TestClient::rpc_call("b", {{"@n", std::monostate{}}})});
  ASSERT_EQ(r.of(0xFE).size(), 2u);
  expect_final_done(r);
  EXPECT_EQ(r.rows().back(), (std::vector<std::string>{"@n", "NULL"}));
}

TEST_F(TdsListenerTest, AttentionDuringAResponse) {
  TestClient c(port());
  c.login("alice", "secret");
  c.send(PacketType::kSqlBatch, Bytes{22, 0, 0, 0, 18, 0, 0, 0,   2, 0,   0, 0,   0, 0,   0,
                                      0,  0, 0, 1, 0,  0, 0, 'S', 0, 'L', 0, 'O', 0, 'W', 0});
  std::this_thread::sleep_for(50ms);  // let rows flow
  c.attention();
  // The cut-short reply ends with EOM; then a separate message with DONE(ATTN).
  auto reply = c.read_reply();
  ASSERT_TRUE(reply);
  EXPECT_FALSE(is_attention_ack(*reply));
  EXPECT_EQ(reply->tokens.back().status & 0x01, 0);
  auto ack = c.read_reply();
  ASSERT_TRUE(ack);
  EXPECT_TRUE(is_attention_ack(*ack));
  EXPECT_EQ(c.last_payload, (Bytes{0xFD, 0x20, 0x00, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_GE(backend_.state.interrupts.load(), 1);
  EXPECT_EQ(c.batch("SELECT 3").rows().size(), 1u);
}

TEST_F(TdsListenerTest, AttentionAfterTheResponseIsStillAcknowledged) {
  TestClient c(port());
  c.login("alice", "secret");
  EXPECT_EQ(c.batch("SELECT 1").rows().size(), 1u);
  c.attention();
  auto ack = c.read_reply();
  ASSERT_TRUE(ack);
  EXPECT_TRUE(is_attention_ack(*ack));
  EXPECT_EQ(c.batch("SELECT 4").rows().size(), 1u);
}

TEST_F(TdsListenerTest, TwoConcurrentConnections) {
  TestClient a(port());
  TestClient b(port());
  Reply ra = a.login("alice", "secret");
  Reply rb = b.login("bob", "secret");
  EXPECT_NE(ra.spids[0], rb.spids[0]);
  std::atomic<int> ok{0};
  auto work = [&](TestClient& c, const std::string& tag) {
    for (int i = 0; i < 50; ++i) {
      std::string sql = tag + std::to_string(i);
      Reply r = c.batch(sql);
      if (r.rows().size() == 1 && r.rows()[0][0] == sql) ++ok;
    }
  };
  std::thread ta(work, std::ref(a), "a");
  std::thread tb(work, std::ref(b), "b");
  ta.join();
  tb.join();
  EXPECT_EQ(ok.load(), 100);
}

TEST_F(TdsListenerTest, TransactionManagerRequests) {
  TestClient c(port());
  c.login("alice", "secret");
  Reply begin = c.transaction(5);
  ASSERT_EQ(begin.of(0xE3).size(), 1u);
  EXPECT_EQ(begin.of(0xE3)[0].number, 8);
  EXPECT_EQ(begin.of(0xE3)[0].raw.at(1), 8);  // new descriptor of 8 bytes
  expect_final_done(begin);
  Reply commit = c.transaction(7);
  ASSERT_EQ(commit.of(0xE3).size(), 1u);
  EXPECT_EQ(commit.of(0xE3)[0].number, 9);
  c.transaction(5);
  Reply rollback = c.transaction(8);
  EXPECT_EQ(rollback.of(0xE3)[0].number, 10);
  std::lock_guard lock(backend_.state.mutex);
  EXPECT_EQ(backend_.state.batches,
            (std::vector<std::string>{"BEGIN TRANSACTION", "COMMIT", "BEGIN TRANSACTION", "ROLLBACK"}));
}

TEST_F(TdsListenerTest, SavepointsAndNamedRollbacksThroughTheTransactionManager) {
  TestClient c(port());
  c.login("alice", "secret");
  Reply begin = c.transaction(5, "outer");
  ASSERT_EQ(begin.of(0xE3).size(), 1u);
  // TM_SAVE_XACT and a rollback to the savepoint leave the transaction open: no ENVCHANGE.
  Reply save = c.transaction(9, "sp]1");
  EXPECT_TRUE(save.of(0xE3).empty());
  expect_final_done(save);
  Reply to_savepoint = c.transaction(8, "sp]1");
  EXPECT_TRUE(to_savepoint.of(0xE3).empty());
  // Rolling back the transaction's own name ends it.
  Reply whole = c.transaction(8, "outer");
  ASSERT_EQ(whole.of(0xE3).size(), 1u);
  EXPECT_EQ(whole.of(0xE3)[0].number, 10);
  std::lock_guard lock(backend_.state.mutex);
  EXPECT_EQ(backend_.state.batches,
            (std::vector<std::string>{"BEGIN TRANSACTION [outer]", "SAVE TRANSACTION [sp]]1]",
                                      "ROLLBACK TRANSACTION [sp]]1]", "ROLLBACK TRANSACTION [outer]"}));
}

TEST_F(TdsListenerTest, Tds71SessionUsesShortDoneAndTextTypes) {
  TestClient c(port());
  Reply login = c.login("alice", "secret", kTds71);
  ASSERT_EQ(login.of(0xAD).size(), 1u);
  Bytes ack = login.of(0xAD)[0].raw;
  EXPECT_EQ(Bytes(ack.begin() + 1, ack.begin() + 5), (Bytes{0x71, 0, 0, 1}));
  Reply r = c.batch("SELECT 71");  // NVARCHAR(MAX) column goes out as NTEXT
  ASSERT_EQ(r.rows().size(), 1u);
  EXPECT_EQ(r.rows()[0][0], "SELECT 71");
  EXPECT_EQ(c.last_payload.end()[-9], 0xFD);  // the 9-byte 7.1 DONE ends the reply
}

TEST_F(TdsListenerTest, NegotiatedPacketSizeSplitsLargeReplies) {
  TestClient c(port());
  c.login("alice", "secret", kTds74, 512);
  Reply r = c.batch("MANY");
  EXPECT_EQ(r.rows().size(), 2000u);
  EXPECT_GT(r.packets, 100);
  for (size_t i = 0; i + 1 < r.packet_lengths.size(); ++i) EXPECT_EQ(r.packet_lengths[i], 512u);
  expect_final_done(r);
}

TEST_F(TdsListenerTest, MalformedPacketClosesOnlyThatConnection) {
  TestClient good(port());
  good.login("alice", "secret");
  TestClient bad(port());
  bad.login("eve", "secret");
  bad.send_raw(Bytes{0x01, 0x01, 0x00, 0x02, 0, 0, 1, 0});  // length smaller than a header
  EXPECT_TRUE(bad.closed_by_server());
  EXPECT_EQ(good.batch("SELECT 5").rows().size(), 1u);
}

TEST_F(TdsListenerTest, GarbageBeforeLoginClosesTheConnection) {
  TestClient c(port());
  c.send_raw(Bytes{0x16, 0x03, 0x01, 0x00, 0x20, 0, 0, 0});  // a TLS ClientHello (TDS 8.0 strict)
  EXPECT_TRUE(c.closed_by_server());
  TestClient tls(port());
  tls.prelogin(0x01);
  tls.send(PacketType::kPrelogin, Bytes{0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5});  // TLS inside PRELOGIN
  EXPECT_TRUE(tls.closed_by_server());
}

TEST_F(TdsListenerTest, SecondListenerOnTheSamePortFailsClearly) {
  try {
    Listener other(backend_, test_options(port(), "x"));
    FAIL() << "expected the port to be taken";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(std::to_string(port())), std::string::npos) << e.what();
  }
}

TEST_F(TdsListenerTest, StopClosesConnectedSessions) {
  TestClient c(port());
  c.login("alice", "secret");
  listener_->stop();
  EXPECT_TRUE(c.closed_by_server());
}

TEST(TdsListenerStandaloneTest, StopBeforeRunAndTwice) {
  FakeBackend backend;
  Listener listener(backend, test_options(0, "x"));
  EXPECT_GT(listener.port(), 0);
  listener.stop();
  listener.stop();
  listener.run();  // returns at once after stop()
}

TEST(TdsListenerStandaloneTest, SpidsAreReusedAfterDisconnect) {
  FakeBackend backend;
  Listener listener(backend, test_options(0, "x"));
  std::thread t([&] { listener.run(); });
  {
    TestClient c(listener.port());
    c.login("a", "secret");
  }
  // The session's SPID is free once its thread has ended: wait for that, not for time.
  ASSERT_TRUE(listener.wait_for_sessions(0, 10s));
  {
    TestClient c(listener.port());
    c.login("b", "secret");
  }
  listener.stop();
  t.join();
  std::lock_guard lock(backend.state.mutex);
  EXPECT_EQ(backend.state.spids, (std::vector<int>{51, 51}));
}

}  // namespace
}  // namespace bakrest::server

namespace bakrest::server {
namespace {

TEST_F(TdsListenerTest, ResetConnectionResetsTheHandlerAndIsAcknowledged) {
  TestClient c(port());
  c.login("alice", "secret");
  Reply r = c.batch_after_reset("SELECT 1", packet_status::kResetConnection);
  ASSERT_FALSE(r.of(0xE3).empty());
  EXPECT_EQ(r.of(0xE3)[0].number, 18);
  EXPECT_EQ(r.tokens.front().type, 0xE3) << "the acknowledgement comes first";
  c.batch_after_reset("SELECT 1", packet_status::kResetConnectionSkipTran);
  c.batch("SELECT 1");
  std::lock_guard lock(backend_.state.mutex);
  EXPECT_EQ(backend_.state.resets, (std::vector<bool>{false, true}));
}

}  // namespace
}  // namespace bakrest::server

namespace bakrest::server {
namespace {

// A listener with small limits, started and stopped around one test.
class LimitedListener {
 public:
  explicit LimitedListener(ListenerOptions options) : listener(backend, std::move(options)) {
    thread = std::thread([this] { listener.run(); });
  }
  ~LimitedListener() {
    listener.stop();
    thread.join();
  }
  int port() const { return listener.port(); }
  FakeBackend backend;
  Listener listener;
  std::thread thread;
};

Bytes batch_payload(size_t text_bytes) {
  Bytes out = all_headers_72();
  for (size_t i = 0; i < text_bytes / 2; ++i) {
    out.push_back('x');
    out.push_back(0);
  }
  return out;
}

// A request over the session's limit is refused with SQL Server's 701; the connection stays usable and
// the server never holds the request.
TEST(TdsLimitsTest, ARequestOverTheLimitIsRefusedAndTheSessionGoesOn) {
  ListenerOptions options = test_options(0, "x");
  options.max_request_bytes = 1 << 20;
  options.max_buffered_request_bytes = 2 << 20;
  LimitedListener server(options);
  TestClient c(server.port());
  c.login("alice", "secret");
  c.send(PacketType::kSqlBatch, batch_payload(3 << 20));
  auto refused = c.read_reply();
  ASSERT_TRUE(refused);
  ASSERT_EQ(refused->of(0xAA).size(), 1u);
  EXPECT_EQ(refused->of(0xAA)[0].number, 701);
  EXPECT_NE(refused->of(0xAA)[0].text.find("a session may send at most 1 MiB at once"), std::string::npos)
      << refused->of(0xAA)[0].text;
  EXPECT_EQ(c.batch("SELECT 1").rows().size(), 1u);
  std::lock_guard lock(server.backend.state.mutex);
  EXPECT_EQ(server.backend.state.batches, std::vector<std::string>{"SELECT 1"});
}

// Sessions that each hold an unfinished large message fill the shared budget; the next large message is
// refused, while small requests (within each session's allowance) are still served.
TEST(TdsLimitsTest, UnfinishedMessagesCannotTakeTheServersMemory) {
  ListenerOptions options = test_options(0, "x");
  options.max_request_bytes = 4 << 20;
  options.max_buffered_request_bytes = 4 << 20;
  LimitedListener server(options);
  std::vector<std::unique_ptr<TestClient>> hogs;
  for (int i = 0; i < 3; ++i) {
    auto c = std::make_unique<TestClient>(server.port());
    c->login("hog", "secret");
    // 1.5 MiB of a message that never ends: no EOM packet follows.
    Bytes payload = batch_payload(3 << 19);
    size_t at = 0;
    while (at < payload.size()) {
      size_t n = std::min<size_t>(4088, payload.size() - at);
      PacketHeader h{0x01, 0, static_cast<uint16_t>(n + 8), 0, 1, 0};
      auto header = encode_header(h);
      Bytes packet(header.begin(), header.end());
      packet.insert(packet.end(), payload.begin() + static_cast<ptrdiff_t>(at),
                    payload.begin() + static_cast<ptrdiff_t>(at + n));
      c->send_raw(packet);
      at += n;
    }
    hogs.push_back(std::move(c));
  }
  // The server reads the hogs' bytes on its own threads: wait until it holds them all.
  const uint64_t hogged = 3 * ((3u << 19) + 22 - RequestBudget::kSessionAllowance);
  for (auto deadline = std::chrono::steady_clock::now() + 10s;
       server.listener.buffered_request_bytes() < hogged && std::chrono::steady_clock::now() < deadline;) {
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_EQ(server.listener.buffered_request_bytes(), hogged);
  // A normal client is served meanwhile.
  TestClient normal(server.port());
  normal.login("alice", "secret");
  EXPECT_EQ(normal.batch("SELECT 2").rows().size(), 1u);
  // A large request that does not fit beside the hogs' is refused, not buffered.
  normal.send(PacketType::kSqlBatch, batch_payload(3 << 20));
  auto refused = normal.read_reply();
  ASSERT_TRUE(refused && refused->of(0xAA).size() == 1u);
  EXPECT_EQ(refused->of(0xAA)[0].number, 701);
  EXPECT_NE(refused->of(0xAA)[0].text.find("max_buffered_request_mb"), std::string::npos);
  EXPECT_EQ(normal.batch("SELECT 3").rows().size(), 1u);
}

TEST(TdsLimitsTest, ConnectionsOverTheLimitAreRefusedWith17809) {
  ListenerOptions options = test_options(0, "x");
  options.max_connections = 2;
  LimitedListener server(options);
  auto a = std::make_unique<TestClient>(server.port());
  a->login("alice", "secret");
  TestClient b(server.port());
  b.login("bob", "secret");
  TestClient over(server.port());
  Reply refused = over.login("carol", "secret");
  ASSERT_EQ(refused.of(0xAA).size(), 1u);
  EXPECT_EQ(refused.of(0xAA)[0].number, 17809);
  EXPECT_NE(refused.of(0xAA)[0].text.find("the maximum number of '2' user connections"), std::string::npos);
  EXPECT_TRUE(over.closed_by_server());
  EXPECT_EQ(b.batch("SELECT 1").rows().size(), 1u);  // the others are untouched
  a.reset();
  ASSERT_TRUE(server.listener.wait_for_sessions(1, 10s));
  TestClient again(server.port());
  EXPECT_TRUE(again.login("dave", "secret").of(0xAA).empty());
}

// A client that connects and never finishes logging in is disconnected, even if it sends a byte now and
// then; it used to hold a thread for as long as it liked.
TEST(TdsLimitsTest, ConnectionsThatDoNotFinishLoginTimeOut) {
  ListenerOptions options = test_options(0, "x");
  options.login_timeout = 300ms;
  LimitedListener server(options);
  TestClient silent(server.port());
  EXPECT_TRUE(silent.closed_by_server());
  TestClient trickle(server.port());
  auto started = std::chrono::steady_clock::now();
  // A PRELOGIN header promising more than it ever sends, one byte at a time.
  Bytes header = {0x12, 0x01, 0x00, 0x40, 0, 0, 1, 0};
  trickle.send_raw(header);
  bool closed = false;
  for (int i = 0; i < 100 && !closed; ++i) {
    try {
      trickle.send_raw(Bytes{0});
    } catch (const std::exception&) {
      closed = true;
    }
    if (!closed && server.listener.active_sessions() == 0) closed = true;
    std::this_thread::sleep_for(50ms);  // the trickle itself, not a wait for the server
  }
  EXPECT_TRUE(closed);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  TestClient fine(server.port());
  EXPECT_TRUE(fine.login("alice", "secret").of(0xAA).empty());
}

// Wrong passwords slow down later attempts for the login name and from the address; the right password
// still gets in, after a bounded wait, and resets the brake.
TEST(TdsLimitsTest, RepeatedFailedLoginsAreSlowedDown) {
  ListenerOptions options = test_options(0, "x");
  options.throttle.base = 100ms;
  options.throttle.max = 400ms;
  LimitedListener server(options);
  auto attempt = [&](const char* password) {
    TestClient c(server.port());
    auto begin = std::chrono::steady_clock::now();
    Reply r = c.login("alice", password);
    return std::make_pair(r, std::chrono::steady_clock::now() - begin);
  };
  auto first = attempt("wrong");
  ASSERT_EQ(first.first.of(0xAA).size(), 1u);
  EXPECT_EQ(first.first.of(0xAA)[0].number, 18456);
  for (int i = 0; i < 3; ++i) attempt("wrong");
  // Four failures: the next attempt waits the brake's maximum (400 ms) from the last failure.
  auto slowed = attempt("wrong");
  EXPECT_GE(slowed.second, 300ms);
  auto right = attempt("secret");
  EXPECT_TRUE(right.first.of(0xAA).empty()) << "the right password is never locked out";
  EXPECT_LE(right.second, 2s);
  auto after = attempt("secret");
  EXPECT_LT(after.second, 300ms) << "a success resets the brake";
}

// ATTENTION packets are acknowledged, but a flood of them is not queued one by one.
TEST(TdsLimitsTest, AFloodOfAttentionsIsCoalesced) {
  LimitedListener server(test_options(0, "x"));
  TestClient c(server.port());
  c.login("alice", "secret");
  Bytes flood;
  for (int i = 0; i < 20000; ++i) {
    auto header = encode_header(PacketHeader{0x06, packet_status::kEom, 8, 0, 1, 0});
    flood.insert(flood.end(), header.begin(), header.end());
  }
  c.send_raw(flood);
  // Acknowledgements, then the next batch's reply.
  c.send(PacketType::kSqlBatch, batch_payload(2));
  int acks = 0;
  for (;;) {
    auto reply = c.read_reply();
    ASSERT_TRUE(reply);
    if (is_attention_ack(*reply)) {
      ++acks;
      continue;
    }
    EXPECT_EQ(reply->rows().size(), 1u);
    break;
  }
  EXPECT_GE(acks, 1);
  EXPECT_LT(acks, 20000);
}

}  // namespace
}  // namespace bakrest::server
