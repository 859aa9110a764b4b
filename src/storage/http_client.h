// HTTP/1.1 requests through libcurl, for S3Store and the credential providers. A Client keeps a pool of
// curl handles, each with its own connection cache, so consecutive requests reuse connections (keep-alive)
// and several threads can send at once. Proxy variables (http_proxy, https_proxy, no_proxy) are honoured by
// libcurl itself. Thread safety: perform() may be called from any number of threads.
//
// Failures before a complete reply (connection refused or reset, a body cut short, a stall below the
// minimum speed, the context's deadline or cancellation) throw StorageError: kTransient, kTimeout or
// kCancelled; a TLS verification failure is kIo (sending again cannot help). An HTTP error status is not an
// exception: it is returned in the Response for the caller to map.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "storage/object_store.h"

namespace bakrest::storage::http {

struct Options {
  long connect_timeout_ms = 10'000;
  // A transfer slower than low_speed_bytes per second for low_speed_seconds is aborted as stalled (kTimeout).
  long low_speed_bytes = 1024;
  long low_speed_seconds = 30;
  bool verify_tls = true;
  std::string ca_file;  // empty: the system's CA bundle
};

struct Request {
  std::string method;  // GET, PUT, POST, DELETE, HEAD
  std::string url;     // complete, already encoded
  std::vector<std::pair<std::string, std::string>> headers;
  std::span<const uint8_t> body;  // sent with Content-Length; empty for none
};

struct Response {
  long status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased; a repeated header keeps its last value
  std::string body;                            // the body, unless a BodySink took it
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// Receives a successful (2xx) reply's body as it arrives, instead of Response::body; returns false to stop
// the transfer (perform() then throws kCancelled). Error replies always go to Response::body.
using BodySink = std::function<bool(std::span<const uint8_t>)>;

class Client {
 public:
  explicit Client(Options options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Sends the request and waits for the whole reply. operation names the request in errors. A reply body
  // longer than max_body_bytes (without a sink) is cut off and reported as kTransient: S3's XML replies are
  // small, so a huge one is a broken endpoint, not data to keep in memory.
  Response perform(const Request& request, const CallContext& ctx, const std::string& operation,
                   const BodySink& sink = {}, size_t max_body_bytes = 16 << 20);

 private:
  struct Handle;
  std::unique_ptr<Handle> take();
  void give_back(std::unique_ptr<Handle> handle);

  Options options_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<Handle>> idle_;
};

}  // namespace bakrest::storage::http
