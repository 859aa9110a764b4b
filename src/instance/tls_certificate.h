// The certificate the TDS endpoint presents (docs/OPERATIONS.md, "Encryption"): the files instance.toml
// names, or a self-signed one that bakrest makes in the data directory at first start and keeps.
#pragma once

#include <filesystem>
#include <string>

#include "instance/config.h"
#include "instance/data_dir.h"

namespace bakrest::instance {

struct TlsFiles {
  std::filesystem::path certificate;
  std::filesystem::path key;
  bool generated = false;  // made just now
};

// The [tls] files when configured (not checked here: TlsContext reads them). Otherwise
// <data>/tls/server.crt and server.key, made if either is missing: RSA 2048, SHA-256, valid for ten years,
// with subject alternative names localhost, 127.0.0.1, ::1 and host_name; the key file is 0600. Throws
// std::runtime_error naming what failed.
TlsFiles ensure_tls_files(const Config& config, const DataDir& data, const std::string& host_name);

// Writes a new self-signed certificate and key (as above) to the two files. Throws std::runtime_error.
void make_self_signed_certificate(const std::filesystem::path& certificate_file,
                                  const std::filesystem::path& key_file, const std::string& host_name);

// This machine's host name, or "localhost" when it has none.
std::string local_host_name();

}  // namespace bakrest::instance
