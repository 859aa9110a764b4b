#include "server/tls.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cstring>

#include <fstream>
#include <thread>

#include "instance/tls_certificate.h"
#include "server/bytes.h"
#include "server/socket.h"
#include "temp_dir.h"

namespace bakrest::server {
namespace {

// A client as the drivers are: OpenSSL verifying the certificate against it as CA and checking the name.
class TestClient {
 public:
  TestClient(const std::filesystem::path& ca, const char* alpn = nullptr, int max_version = 0) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    EXPECT_EQ(SSL_CTX_load_verify_locations(ctx_, ca.c_str(), nullptr), 1);
    if (max_version) SSL_CTX_set_max_proto_version(ctx_, max_version);
    ssl_ = SSL_new(ctx_);
    SSL_set1_host(ssl_, "localhost");
    SSL_set_tlsext_host_name(ssl_, "localhost");
    if (alpn) {
      std::string wire = std::string(1, static_cast<char>(std::strlen(alpn))) + alpn;
      SSL_set_alpn_protos(ssl_, reinterpret_cast<const unsigned char*>(wire.data()),
                          static_cast<unsigned>(wire.size()));
    }
  }
  ~TestClient() {
    SSL_free(ssl_);
    SSL_CTX_free(ctx_);
  }

  // Memory-to-memory handshake with the server session: each side's output is the other's input.
  bool handshake_with(TlsSession& server) {
    BIO* in = BIO_new(BIO_s_mem());
    BIO* out = BIO_new(BIO_s_mem());
    SSL_set_bio(ssl_, in, out);
    SSL_set_connect_state(ssl_);
    bool server_done = false;
    for (int round = 0; round < 10; ++round) {
      int rc = SSL_do_handshake(ssl_);
      if (rc != 1 && SSL_get_error(ssl_, rc) != SSL_ERROR_WANT_READ) return false;
      Bytes to_server(BIO_ctrl_pending(out));
      BIO_read(out, to_server.data(), static_cast<int>(to_server.size()));
      if (rc == 1 && server_done && to_server.empty()) return true;
      Bytes to_client;
      server_done = server.handshake(to_server, to_client);
      BIO_write(in, to_client.data(), static_cast<int>(to_client.size()));
      if (rc == 1 && server_done) return true;
    }
    return false;
  }

  SSL* ssl() { return ssl_; }

 private:
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
};

class TlsTest : public ::testing::Test {
 protected:
  TlsTest() { instance::make_self_signed_certificate(crt_, key_, "testhost"); }
  bakrest::testing::TempDir dir_;
  std::filesystem::path crt_ = dir_.path() / "server.crt";
  std::filesystem::path key_ = dir_.path() / "server.key";
};

TEST_F(TlsTest, TheSelfSignedCertificateLoadsAndHasAFingerprint) {
  TlsContext context(crt_, key_);
  EXPECT_EQ(context.fingerprint().size(), 32u * 3 - 1);  // 32 bytes as "AB:" ... "EF"
  EXPECT_EQ(std::filesystem::status(key_).permissions() & std::filesystem::perms::group_all,
            std::filesystem::perms::none);
}

TEST_F(TlsTest, AWrappedHandshakeIsTls12AndVerifiesForLocalhost) {
  TlsContext context(crt_, key_);
  auto server = context.open(TlsMode::kWrapped);
  TestClient client(crt_);
  ASSERT_TRUE(client.handshake_with(*server)) << ERR_error_string(ERR_get_error(), nullptr);
  EXPECT_EQ(server->protocol(), "TLSv1.2");
  EXPECT_EQ(SSL_get_verify_result(client.ssl()), X509_V_OK);
}

TEST_F(TlsTest, AStrictHandshakeIsTls13WithAlpnTds8) {
  TlsContext context(crt_, key_);
  auto server = context.open(TlsMode::kStrict);
  TestClient client(crt_, "tds/8.0");
  ASSERT_TRUE(client.handshake_with(*server));
  EXPECT_EQ(server->protocol(), "TLSv1.3");
  const unsigned char* chosen = nullptr;
  unsigned length = 0;
  SSL_get0_alpn_selected(client.ssl(), &chosen, &length);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(chosen), length), "tds/8.0");
}

TEST_F(TlsTest, AStrictHandshakeOfferingAnotherProtocolFails) {
  TlsContext context(crt_, key_);
  auto server = context.open(TlsMode::kStrict);
  TestClient client(crt_, "h2");
  EXPECT_THROW(client.handshake_with(*server), ProtocolError);
}

TEST_F(TlsTest, AKeyOfAnotherCertificateIsRefusedByName) {
  instance::make_self_signed_certificate(dir_.path() / "other.crt", dir_.path() / "other.key", "x");
  try {
    TlsContext context(crt_, dir_.path() / "other.key");
    FAIL() << "expected a mismatch";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("other.key"), std::string::npos) << e.what();
  }
}

// After the handshake both directions run at once, as a session's reader and request threads do.
TEST_F(TlsTest, ReadsAndWritesRunAtTheSameTimeWithoutMixingRecords) {
  TlsContext context(crt_, key_);
  auto server = context.open(TlsMode::kWrapped);
  TestClient client(crt_);
  ASSERT_TRUE(client.handshake_with(*server));

  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  Socket server_socket(fds[0]);
  Socket client_socket(fds[1]);
  // The client continues over the socket from where the memory handshake left it.
  BIO* bio = BIO_new_socket(client_socket.fd(), BIO_NOCLOSE);
  SSL_set_bio(client.ssl(), bio, bio);

  constexpr size_t kBytes = 4 << 20;
  Bytes up(kBytes), down(kBytes);
  for (size_t i = 0; i < kBytes; ++i) {
    up[i] = static_cast<uint8_t>(i * 7);
    down[i] = static_cast<uint8_t>(i * 13);
  }
  Bytes server_got, client_got;
  std::thread server_reader([&] {
    Bytes buf(3000);
    while (server_got.size() < kBytes) {
      size_t n = server->read_some(server_socket, buf);
      if (n == 0) break;
      server_got.insert(server_got.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
    }
  });
  std::thread server_writer([&] {
    for (size_t at = 0; at < kBytes; at += 4096) {
      server->write_all(server_socket, std::span(down).subspan(at, std::min<size_t>(4096, kBytes - at)));
    }
  });
  // The client writes and reads from one thread, so it interleaves with a non-blocking socket.
  int flags = 1;
  ASSERT_EQ(ioctl(client_socket.fd(), FIONBIO, &flags), 0);
  size_t sent = 0;
  Bytes buf(16384);
  while (sent < kBytes || client_got.size() < kBytes) {
    if (sent < kBytes) {
      int n =
          SSL_write(client.ssl(), up.data() + sent, static_cast<int>(std::min<size_t>(8192, kBytes - sent)));
      if (n > 0) sent += static_cast<size_t>(n);
    }
    int n = SSL_read(client.ssl(), buf.data(), static_cast<int>(buf.size()));
    if (n > 0) client_got.insert(client_got.end(), buf.begin(), buf.begin() + n);
    if (n <= 0) {
      int error = SSL_get_error(client.ssl(), n);
      ASSERT_TRUE(error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) << error;
    }
  }
  server_writer.join();
  server_reader.join();
  EXPECT_TRUE(server_got == up);
  EXPECT_TRUE(client_got == down);
}

}  // namespace
}  // namespace bakrest::server
