#include "storage/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <stdexcept>

#include "common/text.h"

namespace bakrest::storage::http {

namespace {

using Kind = StorageError::Kind;

void global_init() {
  // curl_global_init is not thread-safe; every Client calls this before its first handle.
  static const CURLcode result = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (result != CURLE_OK)
    throw std::runtime_error("libcurl could not initialise: " + std::string(curl_easy_strerror(result)));
}

struct Transfer {
  const Request* request = nullptr;
  const CallContext* ctx = nullptr;
  const BodySink* sink = nullptr;
  CURL* curl = nullptr;
  size_t max_body = 0;
  size_t sent = 0;
  Response response;
  bool sink_stopped = false;
  bool body_too_long = false;
};

size_t read_body(char* buffer, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = std::min(size * count, t->request->body.size() - t->sent);
  std::copy_n(t->request->body.data() + t->sent, n, buffer);
  t->sent += n;
  return n;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * count);
  if (line.starts_with("HTTP/")) {
    t->response.headers.clear();  // a new reply starts (after 100 Continue or a redirect)
    return line.size();
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return line.size();
  std::string name = ascii_lower(std::string(line.substr(0, colon)));
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
    value.remove_suffix(1);
  t->response.headers[name] = std::string(value);
  return line.size();
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  long status = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
  if (t->sink && *t->sink && status >= 200 && status < 300) {
    if (!(*t->sink)(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data), n))) {
      t->sink_stopped = true;
      return 0;  // makes curl stop with CURLE_WRITE_ERROR
    }
    return n;
  }
  if (t->response.body.size() + n > t->max_body) {
    t->body_too_long = true;
    return 0;
  }
  t->response.body.append(data, n);
  return n;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  return t->ctx->cancelled() ? 1 : 0;
}

StorageError transport_error(const std::string& operation, CURLcode code, const char* detail,
                             const Transfer& t, const CallContext& ctx) {
  ErrorDetails details;
  details.operation = operation;
  std::string text = detail[0] ? detail : curl_easy_strerror(code);
  details.message = text;
  Kind kind = Kind::kTransient;
  std::string what = operation + " failed: " + text;
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      kind = Kind::kTimeout;
      what = ctx.expired() ? operation + " did not finish before its deadline (" + text + ")"
                           : operation + " stalled: " + text;
      break;
    case CURLE_ABORTED_BY_CALLBACK:
      kind = Kind::kCancelled;
      what = operation + " was cancelled.";
      break;
    case CURLE_WRITE_ERROR:
      if (t.sink_stopped) {
        kind = Kind::kCancelled;
        what = operation + " was stopped by its reader.";
      } else if (t.body_too_long) {
        what =
            operation + " failed: the reply's body is longer than " + std::to_string(t.max_body) + " bytes.";
      }
      break;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_OUT_OF_MEMORY:
      kind = Kind::kIo;
      break;
    default:
      break;
  }
  return StorageError(kind, what, details);
}

}  // namespace

struct Client::Handle {
  Handle() : curl(curl_easy_init()) {
    if (!curl) throw std::runtime_error("libcurl could not create a handle");
  }
  ~Handle() { curl_easy_cleanup(curl); }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  CURL* curl;
};

Client::Client(Options options) : options_(std::move(options)) { global_init(); }

Client::~Client() = default;

std::unique_ptr<Client::Handle> Client::take() {
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      auto handle = std::move(idle_.back());
      idle_.pop_back();
      return handle;
    }
  }
  return std::make_unique<Handle>();
}

void Client::give_back(std::unique_ptr<Handle> handle) {
  std::lock_guard lock(mutex_);
  idle_.push_back(std::move(handle));
}

Response Client::perform(const Request& request, const CallContext& ctx, const std::string& operation,
                         const BodySink& sink, size_t max_body_bytes) {
  ctx.check(operation);
  std::unique_ptr<Handle> handle = take();
  CURL* curl = handle->curl;
  // reset() forgets the options of the last request but keeps the handle's open connections.
  curl_easy_reset(curl);

  Transfer t;
  t.request = &request;
  t.ctx = &ctx;
  t.sink = &sink;
  t.curl = curl;
  t.max_body = max_body_bytes;

  struct SlistFree {
    void operator()(curl_slist* list) const { curl_slist_free_all(list); }
  };
  std::unique_ptr<curl_slist, SlistFree> headers;
  auto add_header = [&](const std::string& line) {
    curl_slist* next = curl_slist_append(headers.get(), line.c_str());
    if (!next) throw std::runtime_error("libcurl could not add a header");
    (void)headers.release();
    headers.reset(next);
  };
  for (const auto& [name, value] : request.headers) add_header(name + ": " + value);
  add_header("Expect:");  // no 100-continue round trip; S3 replies to a refused upload all the same

  char error_text[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_text);
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, options_.connect_timeout_ms);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, options_.low_speed_bytes);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, options_.low_speed_seconds);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, options_.verify_tls ? 1L : 0L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, options_.verify_tls ? 2L : 0L);
  if (!options_.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, options_.ca_file.c_str());
  if (ctx.deadline() != CallContext::Clock::time_point::max()) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(ctx.deadline() - CallContext::Clock::now());
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(std::max<int64_t>(left.count(), 1)));
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
  if (request.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (request.method == "PUT" || request.method == "POST") {
    // Every body goes through the read callback with a known length, whatever the method.
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_body);
    curl_easy_setopt(curl, CURLOPT_READDATA, &t);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  } else if (request.method != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &t);

  const CURLcode code = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  // The handle's pointers into this call's locals must not outlive it.
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);
  give_back(std::move(handle));
  if (code != CURLE_OK) throw transport_error(operation, code, error_text, t, ctx);
  t.response.status = status;
  return std::move(t.response);
}

}  // namespace bakrest::storage::http
