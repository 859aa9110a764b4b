#include "instance/tls_certificate.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <functional>
#include <memory>
#include <stdexcept>

#include "common/durable_file.h"
#include "common/private_files.h"

namespace bakrest::instance {
namespace {

constexpr long kValidSeconds = 10L * 366 * 24 * 3600;
constexpr long kBackdateSeconds = 3600;  // a client whose clock is a little behind still accepts it

template <class T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using CertPtr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION, X509_EXTENSION_free>>;

std::runtime_error failure(const std::string& what) {
  std::string reasons;
  while (unsigned long code = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    reasons += reasons.empty() ? "" : "; ";
    reasons += text;
  }
  return std::runtime_error("cannot make a TLS certificate: " + what +
                            (reasons.empty() ? "" : ": " + reasons));
}

void add_extension(X509* certificate, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, certificate, certificate, nullptr, nullptr, 0);
  ExtPtr extension(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  if (!extension || X509_add_ext(certificate, extension.get(), -1) != 1) {
    throw failure("extension " + std::string(OBJ_nid2sn(nid)) + " = " + value);
  }
}

// A host name as a DNS subject alternative name: only the characters a host name may hold.
bool usable_dns_name(const std::string& name) {
  if (name.empty() || name.size() > 253) return false;
  for (char c : name) {
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

std::string pem_of(const std::function<int(BIO*)>& write) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || write(bio.get()) != 1) throw failure("PEM encoding");
  char* data = nullptr;
  long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(length));
}

void write_private(const std::filesystem::path& file, const std::string& text) {
  replace_file_durably(file, std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

}  // namespace

std::string local_host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

void make_self_signed_certificate(const std::filesystem::path& certificate_file,
                                  const std::filesystem::path& key_file, const std::string& host_name) {
  ERR_clear_error();
  KeyPtr key(EVP_RSA_gen(2048));
  if (!key) throw failure("RSA key");
  CertPtr certificate(X509_new());
  if (!certificate || X509_set_version(certificate.get(), 2) != 1) throw failure("X509_new");

  BnPtr serial(BN_new());
  if (!serial || BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      !BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(certificate.get()))) {
    throw failure("serial number");
  }
  if (!X509_gmtime_adj(X509_getm_notBefore(certificate.get()), -kBackdateSeconds) ||
      !X509_gmtime_adj(X509_getm_notAfter(certificate.get()), kValidSeconds)) {
    throw failure("validity");
  }
  if (X509_set_pubkey(certificate.get(), key.get()) != 1) throw failure("public key");

  // The common name is localhost, as the default instance listens there; pytds compares a host name with the
  // common name only. Other clients read the alternative names, which also hold the host name.
  X509_NAME* subject = X509_get_subject_name(certificate.get());
  auto add_name = [&](const char* field, const std::string& value) {
    if (X509_NAME_add_entry_by_txt(subject, field, MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1, 0) != 1) {
      throw failure(std::string("subject ") + field);
    }
  };
  add_name("O", "bakrest (self-signed)");
  add_name("CN", "localhost");
  if (X509_set_issuer_name(certificate.get(), subject) != 1) throw failure("issuer");

  std::string names = "DNS:localhost,IP:127.0.0.1,IP:::1";
  if (usable_dns_name(host_name) && host_name != "localhost") names += ",DNS:" + host_name;
  add_extension(certificate.get(), NID_subject_alt_name, names);
  // A certificate of its own issuing: clients that pin it use it as their trust anchor (a CA file).
  add_extension(certificate.get(), NID_basic_constraints, "critical,CA:TRUE");
  add_extension(certificate.get(), NID_key_usage, "critical,digitalSignature,keyEncipherment,keyCertSign");
  add_extension(certificate.get(), NID_ext_key_usage, "serverAuth");
  add_extension(certificate.get(), NID_subject_key_identifier, "hash");
  if (X509_sign(certificate.get(), key.get(), EVP_sha256()) == 0) throw failure("signature");

  std::string key_pem = pem_of([&](BIO* bio) {
    return PEM_write_bio_PrivateKey(bio, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  });
  std::string certificate_pem = pem_of([&](BIO* bio) { return PEM_write_bio_X509(bio, certificate.get()); });
  // The key first: a crash between the two leaves a key without a certificate, which the next start
  // replaces, never a certificate whose key is gone.
  write_private(key_file, key_pem);
  write_private(certificate_file, certificate_pem);
}

TlsFiles ensure_tls_files(const Config& config, const DataDir& data, const std::string& host_name) {
  if (!config.tls_certificate_file.empty()) {
    return TlsFiles{config.tls_certificate_file, config.tls_key_file, false};
  }
  TlsFiles files{data.tls_dir() / "server.crt", data.tls_dir() / "server.key", false};
  if (std::filesystem::exists(files.certificate) && std::filesystem::exists(files.key)) return files;
  create_private_directories(data.tls_dir());
  make_self_signed_certificate(files.certificate, files.key, host_name);
  files.generated = true;
  return files;
}

}  // namespace bakrest::instance
