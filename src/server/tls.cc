#include "server/tls.h"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <climits>
#include <cstring>
#include <stdexcept>

#include "common/error.h"
#include "server/bytes.h"

namespace bakrest::server {
namespace {

constexpr unsigned char kAlpnTds8[] = "tds/8.0";

// OpenSSL's queued reasons, oldest first, or `fallback` when it queued none. Empties the (thread-local)
// queue, so a later failure does not report this one's reasons.
std::string openssl_reasons(const char* fallback = "no reason given") {
  std::string out;
  while (unsigned long code = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    if (!out.empty()) out += "; ";
    out += text;
  }
  return out.empty() ? fallback : out;
}

// Strict connections must speak TDS 8.0; a client that offers no ALPN at all is let through (ODBC and
// SqlClient always offer it, and nothing else could be meant on this port).
int select_tds8(SSL*, const unsigned char** out, unsigned char* out_length, const unsigned char* offered,
                unsigned int offered_length, void*) {
  for (unsigned int i = 0; i < offered_length;) {
    unsigned int length = offered[i];
    if (i + 1 + length > offered_length) break;
    if (length == sizeof kAlpnTds8 - 1 && std::memcmp(offered + i + 1, kAlpnTds8, length) == 0) {
      *out = offered + i + 1;
      *out_length = static_cast<unsigned char>(length);
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + length;
  }
  return SSL_TLSEXT_ERR_ALERT_FATAL;
}

SSL_CTX* make_context(TlsMode mode, const std::filesystem::path& certificate_file,
                      const std::filesystem::path& key_file) {
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) throw std::runtime_error("TLS: " + openssl_reasons());
  auto fail = [&](const std::string& what) {
    std::string reasons = openssl_reasons();
    SSL_CTX_free(ctx);
    return std::runtime_error(what + ": " + reasons);
  };
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(ctx, mode == TlsMode::kWrapped ? TLS1_2_VERSION : TLS1_3_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_num_tickets(ctx, 0);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  // An idle connection gives its record buffers back.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_use_certificate_chain_file(ctx, certificate_file.c_str()) != 1) {
    throw fail("cannot use the TLS certificate " + certificate_file.string());
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    throw fail("cannot use the TLS key " + key_file.string());
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    throw fail("the TLS key " + key_file.string() + " does not belong to the certificate " +
               certificate_file.string());
  }
  if (mode == TlsMode::kStrict) SSL_CTX_set_alpn_select_cb(ctx, select_tds8, nullptr);
  return ctx;
}

std::string sha256_fingerprint(SSL_CTX* ctx) {
  X509* certificate = SSL_CTX_get0_certificate(ctx);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (!certificate || X509_digest(certificate, EVP_sha256(), digest, &length) != 1) {
    throw std::runtime_error("TLS: cannot compute the certificate's fingerprint: " + openssl_reasons());
  }
  std::string out;
  for (unsigned int i = 0; i < length; ++i) out += fmt::format("{}{:02X}", i ? ":" : "", digest[i]);
  return out;
}

}  // namespace

TlsContext::TlsContext(const std::filesystem::path& certificate_file, const std::filesystem::path& key_file)
    : certificate_file_(certificate_file) {
  wrapped_ = make_context(TlsMode::kWrapped, certificate_file, key_file);
  try {
    strict_ = make_context(TlsMode::kStrict, certificate_file, key_file);
    fingerprint_ = sha256_fingerprint(wrapped_);
  } catch (...) {
    SSL_CTX_free(wrapped_);
    SSL_CTX_free(strict_);
    throw;
  }
}

TlsContext::~TlsContext() {
  SSL_CTX_free(wrapped_);
  SSL_CTX_free(strict_);
}

std::unique_ptr<TlsSession> TlsContext::open(TlsMode mode) const {
  ERR_clear_error();
  SSL* ssl = SSL_new(mode == TlsMode::kWrapped ? wrapped_ : strict_);
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  if (!ssl || !in || !out) {
    SSL_free(ssl);
    BIO_free(in);
    BIO_free(out);
    throw std::runtime_error("TLS: cannot start a session: " + openssl_reasons());
  }
  SSL_set_bio(ssl, in, out);  // the SSL object owns both from here
  SSL_set_accept_state(ssl);
  return std::unique_ptr<TlsSession>(new TlsSession(ssl));
}

TlsSession::TlsSession(ssl_st* ssl) : ssl_(ssl) {}

TlsSession::~TlsSession() { SSL_free(ssl_); }

void TlsSession::drain(Bytes& out) {
  BIO* bio = SSL_get_wbio(ssl_);
  size_t pending = BIO_ctrl_pending(bio);
  if (pending == 0) return;
  size_t at = out.size();
  out.resize(at + pending);
  int n = BIO_read(bio, out.data() + at, static_cast<int>(pending));
  out.resize(at + static_cast<size_t>(std::max(n, 0)));
}

bool TlsSession::handshake(std::span<const uint8_t> received, Bytes& reply) {
  std::lock_guard lock(ssl_mutex_);
  ERR_clear_error();
  if (!received.empty() &&
      BIO_write(SSL_get_rbio(ssl_), received.data(), static_cast<int>(received.size())) <= 0) {
    throw ProtocolError("TLS handshake: cannot buffer the client's records");
  }
  int rc = SSL_do_handshake(ssl_);
  drain(reply);
  if (rc == 1) return true;
  int error = SSL_get_error(ssl_, rc);
  if (error == SSL_ERROR_WANT_READ) return false;
  throw ProtocolError("TLS handshake failed: " + openssl_reasons("the client ended it"));
}

size_t TlsSession::read_some(Stream& raw, std::span<uint8_t> buf) {
  if (buf.empty()) return 0;
  const int want = static_cast<int>(std::min<size_t>(buf.size(), INT_MAX));
  for (;;) {
    int n = 0;
    int error = SSL_ERROR_NONE;
    bool output = false;
    {
      std::lock_guard lock(ssl_mutex_);
      ERR_clear_error();
      n = SSL_read(ssl_, buf.data(), want);
      if (n <= 0) error = SSL_get_error(ssl_, n);
      output = BIO_ctrl_pending(SSL_get_wbio(ssl_)) > 0;
    }
    if (output) {
      // Reading made OpenSSL answer the client (an alert, a TLS 1.3 key update): it goes out in order with
      // what the writer thread sends, so both drain under write_mutex_.
      std::lock_guard write_lock(write_mutex_);
      Bytes out;
      {
        std::lock_guard lock(ssl_mutex_);
        drain(out);
      }
      raw.write_all(out);
    }
    if (n > 0) return static_cast<size_t>(n);
    if (error == SSL_ERROR_ZERO_RETURN) return 0;  // close_notify
    if (error != SSL_ERROR_WANT_READ) throw ProtocolError("TLS: " + openssl_reasons("the stream is broken"));
    incoming_.resize(16 * 1024 + 512);  // a TLS record and its overhead
    size_t got = raw.read_some(incoming_);
    if (got == 0) return 0;
    std::lock_guard lock(ssl_mutex_);
    if (BIO_write(SSL_get_rbio(ssl_), incoming_.data(), static_cast<int>(got)) != static_cast<int>(got)) {
      throw ProtocolError("TLS: cannot buffer the client's records");
    }
  }
}

void TlsSession::write_all(Stream& raw, std::span<const uint8_t> data) {
  std::lock_guard write_lock(write_mutex_);
  Bytes out;
  {
    std::lock_guard lock(ssl_mutex_);
    ERR_clear_error();
    while (!data.empty()) {
      int chunk = static_cast<int>(std::min<size_t>(data.size(), 16 * 1024));
      int n = SSL_write(ssl_, data.data(), chunk);
      if (n <= 0) throw ProtocolError("TLS: cannot encrypt: " + openssl_reasons());
      data = data.subspan(static_cast<size_t>(n));
    }
    drain(out);
  }
  raw.write_all(out);
}

std::string TlsSession::protocol() const { return SSL_is_init_finished(ssl_) ? SSL_get_version(ssl_) : ""; }

std::string TlsSession::cipher() const {
  const char* name = SSL_is_init_finished(ssl_) ? SSL_get_cipher_name(ssl_) : nullptr;
  return name ? name : "";
}

}  // namespace bakrest::server
