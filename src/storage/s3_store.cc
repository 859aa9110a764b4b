#include "storage/s3_store.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <future>
#include <mutex>
#include <random>
#include <thread>

#include "common/digest.h"
#include "storage/quote.h"
#include "storage/s3_xml.h"
#include "storage/sigv4.h"

namespace bakrest::storage {

namespace {

using Kind = StorageError::Kind;
using Clock = std::chrono::steady_clock;
using Query = std::vector<std::pair<std::string, std::string>>;
using Headers = std::vector<std::pair<std::string, std::string>>;

constexpr uint64_t kMiB = 1 << 20;
constexpr uint64_t kMaxPartBytes = 5 * 1024 * kMiB;  // S3's largest part
constexpr int kMaxParts = 10'000;
constexpr char kEmptySha256[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

std::span<const uint8_t> bytes_of(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

std::string amz_date_now() { return sigv4::amz_date(std::time(nullptr)); }

// One S3 request as the store describes it, before addressing and signing.
struct Call {
  Call(std::string operation_, std::string method_, std::string bucket_, std::string key_, Query query_ = {})
      : operation(std::move(operation_)),
        method(std::move(method_)),
        bucket(std::move(bucket_)),
        key(std::move(key_)),
        query(std::move(query_)) {}
  std::string operation;  // "PutObject", ... for errors and logs
  std::string method;
  std::string bucket;
  std::string key;  // empty for a bucket operation
  Query query;
  Headers headers;  // besides host and the x-amz-* headers of signing; all are signed
  std::span<const uint8_t> body;
  std::string payload_sha256;  // hex; computed from body when empty
  std::vector<long> accept;    // error statuses the caller handles itself (HEAD's 404, ...)
  // Checks a 2xx reply's body (CompleteMultipartUpload can fail inside a 200); throws StorageError.
  std::function<void(const http::Response&)> check_reply;
  // Called before each attempt: lets a ranged GET resume from the byte it reached.
  std::function<void(Call&)> before_attempt;
};

std::string object_name(const std::string& bucket, const std::string& key) {
  return in_quotes(key.empty() ? "s3://" + bucket : "s3://" + bucket + "/" + key);
}

// "(S3 PutObject of 's3://b/k': HTTP 503 SlowDown: Please reduce your request rate.; request id X)"
std::string describe(const ErrorDetails& d) {
  std::string text = "S3 " + d.operation + " of " + object_name(d.bucket, d.key) + ": ";
  if (d.http_status != 0) {
    text += "HTTP " + std::to_string(d.http_status);
    if (!d.code.empty()) text += " " + d.code;
    if (!d.message.empty()) text += ": " + d.message;
  } else {
    text += d.message;
  }
  if (!d.request_id.empty()) text += "; request id " + d.request_id;
  return text;
}

// A request that failed other than by an error reply: a reply that breaks S3's rules, bytes that do not add
// up, a broken connection.
StorageError failure(Kind kind, const ErrorDetails& d) {
  return StorageError(kind, "The S3 request failed (" + describe(d) + ")", d);
}

// Maps an S3 error reply to the error users see: RDS's sentences where RDS has one, then the details.
StorageError reply_error(const Call& call, const http::Response& reply, std::optional<s3xml::Error> error) {
  ErrorDetails d;
  d.operation = call.operation;
  d.bucket = call.bucket;
  d.key = call.key;
  d.http_status = static_cast<int>(reply.status);
  if (!error) error = s3xml::parse_error(reply.body);
  if (error) {
    d.code = error->code;
    d.message = error->message;
    d.request_id = error->request_id;
  }
  if (d.request_id.empty()) d.request_id = reply.header("x-amz-request-id");
  const std::string& code = d.code;
  const long status = reply.status;
  Kind kind = Kind::kIo;
  std::string headline = "The S3 request failed";
  if (code == "SlowDown" || code == "Throttling" || code == "ThrottlingException" ||
      code == "RequestLimitExceeded" || status == 429 || status == 503) {
    kind = Kind::kThrottled;
  } else if (code == "RequestTimeout" || code == "InternalError" || code == "ServiceUnavailable" ||
             status >= 500) {
    kind = Kind::kTransient;
  } else if (status == 403 || code == "AccessDenied" || code == "InvalidAccessKeyId" ||
             code == "SignatureDoesNotMatch" || code == "InvalidToken" || code == "ExpiredToken" ||
             code == "AllAccessDisabled") {
    kind = Kind::kAccessDenied;
    headline = "Access Denied";
  } else if (code == "NoSuchBucket") {
    kind = Kind::kNoSuchBucket;
    headline = "The specified bucket does not exist";
  } else if (code == "NoSuchKey" || (status == 404 && !call.key.empty() && code.empty())) {
    kind = Kind::kNoSuchKey;
    headline = "The specified key does not exist";
  } else if (status == 404 && call.key.empty() && code.empty()) {
    kind = Kind::kNoSuchBucket;
    headline = "The specified bucket does not exist";
  } else if (status == 412 || code == "PreconditionFailed") {
    kind = Kind::kAlreadyExists;
    headline = "The object exists";
  } else if (status == 416 || code == "InvalidRange") {
    kind = Kind::kInvalidRequest;
    headline = "The range is not within the object";
  } else if (code == "KeyTooLongError") {
    kind = Kind::kInvalidKey;
    headline = "The object key is too long";
  }
  if (code.empty() && d.message.empty()) d.message = "(no error document)";
  return StorageError(kind, headline + " (" + describe(d) + ")", d);
}

// A failure without a reply (reset, stall, ...): the same details, named for this call.
StorageError named(const Call& call, const StorageError& e) {
  ErrorDetails d = e.details();
  d.operation = call.operation;
  d.bucket = call.bucket;
  d.key = call.key;
  if (d.message.empty()) d.message = e.what();
  if (e.kind() == Kind::kCancelled) return StorageError(Kind::kCancelled, e.what(), d);
  return failure(e.kind(), d);
}

// A StorageError like e whose sentence says how long the call kept trying.
StorageError gave_up(const StorageError& e, int attempts, Clock::duration spent) {
  const double seconds = std::chrono::duration<double>(spent).count();
  char tail[96];
  std::snprintf(tail, sizeof tail, " after %d attempt%s in %.1f s", attempts, attempts == 1 ? "" : "s",
                seconds);
  std::string what = e.what();
  if (!what.empty() && what.back() == ')') what.insert(what.size() - 1, tail);
  return StorageError(e.kind(), what, e.details());
}

}  // namespace

// --- Connection: addressing, signing, sending, retrying ------------------------------------------------

class S3Store::Connection {
 public:
  explicit Connection(S3Settings settings)
      : settings_(std::move(settings)),
        client_(settings_.http),
        credentials_(default_credential_chain(settings_.credentials, settings_.http)) {
    std::string endpoint = settings_.endpoint;
    if (endpoint.empty()) endpoint = "https://s3." + settings_.region + ".amazonaws.com";
    const size_t scheme_end = endpoint.find("://");
    if (scheme_end == std::string::npos) {
      throw std::runtime_error("the S3 endpoint '" + endpoint +
                               "' is not a URL (http://host[:port] or https://...)");
    }
    scheme_ = endpoint.substr(0, scheme_end);
    if (scheme_ != "http" && scheme_ != "https") {
      throw std::runtime_error("the S3 endpoint '" + endpoint + "' must start with http:// or https://");
    }
    std::string rest = endpoint.substr(scheme_end + 3);
    const size_t slash = rest.find('/');
    if (slash != std::string::npos) {
      if (rest.find_first_not_of('/', slash) != std::string::npos) {
        throw std::runtime_error("the S3 endpoint '" + endpoint + "' must not have a path");
      }
      rest.resize(slash);
    }
    if (rest.empty()) throw std::runtime_error("the S3 endpoint '" + endpoint + "' has no host");
    // "host:80" for http and "host:443" for https are sent (and signed) as curl sends them: without the port.
    if ((scheme_ == "http" && rest.ends_with(":80")) || (scheme_ == "https" && rest.ends_with(":443"))) {
      rest.resize(rest.rfind(':'));
    }
    host_ = rest;
    endpoint_ = scheme_ + "://" + host_;
    if (settings_.part_size_mb < 5 || static_cast<uint64_t>(settings_.part_size_mb) * kMiB > kMaxPartBytes) {
      throw std::runtime_error("part_size_mb must be between 5 and 5120 (S3's part sizes)");
    }
    if (settings_.parts_in_flight < 1 || settings_.max_attempts < 1 || settings_.read_chunk_mb < 1 ||
        settings_.parts_per_size < 1 || settings_.max_buffer_mb < 1 || settings_.retry_seconds < 0) {
      throw std::runtime_error(
          "parts_in_flight, max_attempts, read_chunk_mb, parts_per_size and max_buffer_mb must be at least "
          "1");
    }
  }

  const S3Settings& settings() const { return settings_; }
  const std::string& endpoint() const { return endpoint_; }

  // Sends the call, retrying what may pass, and returns a 2xx reply or one of call.accept's statuses.
  http::Response send(Call& call, const CallContext& ctx, const http::BodySink& sink = {}) {
    const auto started = Clock::now();
    const auto give_up_at = started + std::chrono::seconds(settings_.retry_seconds);
    bool refreshed_keys = false;
    for (int attempt = 1;; ++attempt) {
      ctx.check("S3 " + call.operation);
      if (call.before_attempt) call.before_attempt(call);
      std::optional<StorageError> failure;
      std::chrono::milliseconds retry_after{0};
      try {
        http::Response reply = perform(call, ctx, sink);
        const bool ok = reply.status >= 200 && reply.status < 300;
        if (ok || std::find(call.accept.begin(), call.accept.end(), reply.status) != call.accept.end()) {
          if (ok && call.check_reply) call.check_reply(reply);
          return reply;
        }
        auto error = s3xml::parse_error(reply.body);
        failure = reply_error(call, reply, error);
        if (error && error->code == "ExpiredToken" && !refreshed_keys) {
          // Temporary keys ran out between fetching and sending: fetch new ones and send again at once.
          refreshed_keys = true;
          (ctx.credentials() ? *ctx.credentials() : *credentials_).invalidate();
          --attempt;
          continue;
        }
        const std::string after = reply.header("retry-after");
        if (!after.empty() && after.find_first_not_of("0123456789") == std::string::npos &&
            after.size() < 6) {
          retry_after = std::chrono::seconds(std::stoi(after));
        }
      } catch (const StorageError& e) {
        if (e.kind() == Kind::kCancelled && ctx.cancelled()) throw named(call, e);
        failure = e.details().operation == call.operation ? e : named(call, e);
      }
      const auto now = Clock::now();
      if (!failure->retryable() || attempt >= settings_.max_attempts || now >= give_up_at || ctx.expired()) {
        if (!failure->retryable()) throw *failure;
        throw gave_up(*failure, attempt, now - started);
      }
      auto wait = std::max(retry_after, backoff(attempt));
      if (now + wait > give_up_at)
        wait = std::chrono::duration_cast<std::chrono::milliseconds>(give_up_at - now);
      spdlog::warn("{}; attempt {} of {}, again in {} ms", failure->what(), attempt, settings_.max_attempts,
                   wait.count());
      sleep(wait, ctx);
    }
  }

 private:
  http::Response perform(const Call& call, const CallContext& ctx, const http::BodySink& sink) {
    if (ctx.credentials()) return perform_as(call, ctx.credentials()->get(ctx), ctx, sink);
    const sigv4::Credentials keys = credentials_->get(ctx);
    std::call_once(logged_source_, [&] {
      spdlog::info("S3 bucket '{}' at {}: credentials from {}", settings_.bucket, endpoint_,
                   credentials_->source());
    });
    return perform_as(call, keys, ctx, sink);
  }

  http::Response perform_as(const Call& call, const sigv4::Credentials& keys, const CallContext& ctx,
                            const http::BodySink& sink) {
    std::string host = host_;
    std::string path;
    if (settings_.virtual_addressing && !call.bucket.empty()) {
      host = call.bucket + "." + host_;
      path = "/" + call.key;
    } else {
      path = "/" + call.bucket;
      if (!call.key.empty()) path += "/" + call.key;
    }
    const std::string date = amz_date_now();
    std::string payload = call.payload_sha256;
    if (payload.empty()) payload = call.body.empty() ? kEmptySha256 : to_hex(sha256(call.body));

    sigv4::Request signed_request;
    signed_request.method = call.method;
    signed_request.path = path;
    signed_request.query = call.query;
    signed_request.payload_hash = payload;
    signed_request.headers = call.headers;
    signed_request.headers.emplace_back("host", host);
    signed_request.headers.emplace_back("x-amz-date", date);
    signed_request.headers.emplace_back("x-amz-content-sha256", payload);
    if (!keys.session_token.empty())
      signed_request.headers.emplace_back("x-amz-security-token", keys.session_token);
    const sigv4::Scope scope{date.substr(0, 8), settings_.region, "s3"};

    http::Request request;
    request.method = call.method;
    request.url = scheme_ + "://" + host + sigv4::encode_path(path);
    if (!call.query.empty()) request.url += "?" + sigv4::canonical_query(call.query);
    request.headers = signed_request.headers;
    request.headers.emplace_back("Authorization", sigv4::authorization(signed_request, keys, date, scope));
    request.body = call.body;
    return client_.perform(request, ctx, "S3 " + call.operation, sink);
  }

  // Full jitter: a random wait in [0, min(max_backoff, base_backoff * 2^(attempt-1))].
  std::chrono::milliseconds backoff(int attempt) {
    const int64_t base = settings_.base_backoff.count();
    const int64_t cap = settings_.max_backoff.count();
    const int64_t ceiling = std::min<int64_t>(cap, base << std::min(attempt - 1, 20));
    std::lock_guard lock(random_mutex_);
    return std::chrono::milliseconds(
        std::uniform_int_distribution<int64_t>(0, std::max<int64_t>(ceiling, 0))(random_));
  }

  // Waits, waking every 100 ms to notice cancellation.
  static void sleep(std::chrono::milliseconds wait, const CallContext& ctx) {
    const auto until = Clock::now() + wait;
    while (Clock::now() < until) {
      if (ctx.cancelled()) return;
      std::this_thread::sleep_for(
          std::min<Clock::duration>(until - Clock::now(), std::chrono::milliseconds(100)));
    }
  }

  S3Settings settings_;
  http::Client client_;
  std::unique_ptr<CredentialProvider> credentials_;
  std::string scheme_;
  std::string host_;
  std::string endpoint_;
  std::once_flag logged_source_;
  std::mutex random_mutex_;
  std::mt19937_64 random_{std::random_device{}()};
};

namespace {

// --- writing: PutObject or a multipart upload ------------------------------------------------------------

// Parts (or chunks) of a size sent (or fetched) at once: parts_in_flight, fewer when (that many + 1) × size
// would pass max_buffer_mb — the one being filled (or read) is the +1 — and one at least.
uint64_t transfers_in_flight(const S3Settings& s, uint64_t size) {
  const uint64_t budget = static_cast<uint64_t>(s.max_buffer_mb) * kMiB;
  const uint64_t fit = budget / size > 1 ? budget / size - 1 : 1;
  return std::max<uint64_t>(1, std::min<uint64_t>(s.parts_in_flight, fit));
}

class S3Writer : public ObjectWriter {
 public:
  S3Writer(std::shared_ptr<S3Store::Connection> connection, std::string bucket, std::string key,
           IfExists if_exists, CallContext ctx)
      : c_(std::move(connection)),
        bucket_(std::move(bucket)),
        key_(std::move(key)),
        if_exists_(if_exists),
        ctx_(std::move(ctx)) {
    current_.reserve(part_size(1));
  }

  ~S3Writer() override { abort(); }

  void write(std::span<const uint8_t> bytes) override {
    if (closed_) throw StorageError(Kind::kIo, "write after the object was committed or aborted");
    while (!bytes.empty()) {
      const size_t room = part_size(next_part_) - current_.size();
      const size_t n = std::min(room, bytes.size());
      current_.insert(current_.end(), bytes.begin(), bytes.begin() + static_cast<ptrdiff_t>(n));
      bytes = bytes.subspan(n);
      written_ += n;
      if (current_.size() == part_size(next_part_)) submit_part();
    }
  }

  void commit() override {
    if (closed_) throw StorageError(Kind::kIo, "commit after the object was committed or aborted");
    try {
      if (upload_id_.empty()) {
        put_whole();
      } else {
        if (!current_.empty()) submit_part();
        wait_for_parts();
        complete();
      }
    } catch (...) {
      abort();
      throw;
    }
    closed_ = true;
  }

  void abort() noexcept override {
    if (closed_ && upload_id_.empty()) return;
    closed_ = true;
    stop_workers();
    if (upload_id_.empty()) return;
    const std::string upload = std::exchange(upload_id_, "");
    try {
      // The task's own context may be the reason for aborting (a cancel): end the upload regardless, signed
      // as the upload was.
      CallContext cleanup = CallContext().within(std::chrono::seconds(60)).signed_by(ctx_.credentials());
      Call call{"AbortMultipartUpload", "DELETE", bucket_, key_, {{"uploadId", upload}}};
      call.accept = {404};  // already gone
      c_->send(call, cleanup);
    } catch (const std::exception& e) {
      spdlog::warn("could not abort the multipart upload to {}: {}", object_name(bucket_, key_), e.what());
    }
  }

  uint64_t bytes_written() const override { return written_; }

  uint64_t buffer_limit_bytes() const override {
    const uint64_t size = part_size(next_part_);
    return (in_flight_limit(size) + 1) * size;
  }

 private:
  struct Part {
    int number = 0;
    std::vector<uint8_t> bytes;
    Md5::Digest md5{};
    std::string etag;
  };

  // Part n's size: part_size_mb, doubled after every parts_per_size parts, at most S3's 5 GiB.
  uint64_t part_size(int n) const {
    const auto& s = c_->settings();
    const int doublings = std::min((n - 1) / s.parts_per_size, 30);
    return std::min<uint64_t>(kMaxPartBytes, static_cast<uint64_t>(s.part_size_mb) * kMiB << doublings);
  }

  uint64_t in_flight_limit(uint64_t size) const { return transfers_in_flight(c_->settings(), size); }

  void put_whole() {
    Call call{"PutObject", "PUT", bucket_, key_};
    if (if_exists_ == IfExists::kFail) fail_if_taken(call);
    const Md5::Digest md5 = md5_of(current_);
    call.headers.emplace_back("content-md5", to_base64(md5));
    call.body = current_;
    http::Response reply = c_->send(call, ctx_);
    check_part_etag(call, reply.header("etag"), md5);
  }

  // A kFail writer: If-None-Match: * where the endpoint honours it, else a look just before publishing.
  void fail_if_taken(Call& call) {
    if (c_->settings().conditional_writes) {
      call.headers.emplace_back("if-none-match", "*");
      return;
    }
    Call head{"HeadObject", "HEAD", bucket_, key_};
    head.accept = {404};
    if (c_->send(head, ctx_).status != 404) {
      throw StorageError(Kind::kAlreadyExists, "The object " + object_name(bucket_, key_) + " exists");
    }
  }

  static Md5::Digest md5_of(std::span<const uint8_t> bytes) {
    Md5 md5;
    md5.update(bytes);
    return md5.finish();
  }

  // An ETag that is an MD5 (no encryption by KMS, not multipart) must be the MD5 that was sent.
  void check_part_etag(const Call& call, const std::string& quoted, const Md5::Digest& md5) const {
    const std::string etag = s3xml::unquote(quoted);
    if (etag.size() == 32 && etag.find_first_not_of("0123456789abcdef") == std::string::npos &&
        etag != to_hex(md5)) {
      ErrorDetails d{call.operation,
                     bucket_,
                     key_,
                     200,
                     "",
                     "the ETag " + etag + " is not the MD5 of the bytes sent",
                     ""};
      throw failure(Kind::kIo, d);
    }
  }

  void start_upload() {
    Call call{"CreateMultipartUpload", "POST", bucket_, key_, {{"uploads", ""}}};
    http::Response reply = c_->send(call, ctx_);
    auto id = s3xml::parse_upload_id(reply.body);
    if (!id || id->empty()) {
      ErrorDetails d{call.operation,
                     bucket_,
                     key_,
                     static_cast<int>(reply.status),
                     "",
                     "the reply has no UploadId",
                     reply.header("x-amz-request-id")};
      throw failure(Kind::kIo, d);
    }
    upload_id_ = *id;
    const uint64_t workers = std::min<uint64_t>(c_->settings().parts_in_flight, kMaxParts);
    for (uint64_t i = 0; i < workers; ++i) workers_.emplace_back([this] { work(); });
  }

  // Hands the current part to the senders, waiting while as many parts as memory allows are in flight.
  void submit_part() {
    if (next_part_ > kMaxParts) {
      throw StorageError(Kind::kIo, "The object " + object_name(bucket_, key_) +
                                        " would need more than 10,000 parts (S3's limit for one object)");
    }
    if (upload_id_.empty()) start_upload();
    auto part = std::make_unique<Part>();
    part->number = next_part_;
    part->bytes = std::move(current_);
    const uint64_t limit = in_flight_limit(part->bytes.size());
    {
      std::unique_lock lock(mutex_);
      room_.wait(lock, [&] { return failure_ || in_flight_ < limit; });
      if (failure_) std::rethrow_exception(failure_);
      ++in_flight_;
      queue_.push_back(std::move(part));
      current_ = std::move(spare_);
      spare_.clear();  // moved from; empty already
    }
    work_.notify_one();
    ++next_part_;
    current_.reserve(part_size(next_part_));  // a spare of a smaller part size is replaced
  }

  void work() {
    for (;;) {
      std::unique_ptr<Part> part;
      {
        std::unique_lock lock(mutex_);
        work_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (stopping_) return;
        part = std::move(queue_.front());
        queue_.pop_front();
      }
      std::exception_ptr failed;
      try {
        part->md5 = md5_of(part->bytes);  // here, not in submit_part: the backup goes on meanwhile
        Call call{"UploadPart",
                  "PUT",
                  bucket_,
                  key_,
                  {{"partNumber", std::to_string(part->number)}, {"uploadId", upload_id_}}};
        call.headers.emplace_back("content-md5", to_base64(part->md5));
        call.body = part->bytes;
        http::Response reply = c_->send(call, ctx_);
        check_part_etag(call, reply.header("etag"), part->md5);
        part->etag = reply.header("etag");
        if (part->etag.empty()) {
          ErrorDetails d{call.operation,
                         bucket_,
                         key_,
                         static_cast<int>(reply.status),
                         "",
                         "the reply has no ETag",
                         reply.header("x-amz-request-id")};
          throw failure(Kind::kIo, d);
        }
      } catch (...) {
        failed = std::current_exception();
      }
      // Sent (or failed): the part keeps its number, MD5 and ETag, not its bytes — done_ holds every part
      // until the upload completes.
      std::vector<uint8_t> sent = std::move(part->bytes);
      {
        std::lock_guard lock(mutex_);
        --in_flight_;
        if (failed && !failure_) failure_ = failed;
        if (!failed) done_.push_back(std::move(part));
        // One buffer is kept for the next part to fill: its pages are mapped already (a fresh 8 MiB buffer
        // costs 2,048 page faults as it fills). It takes the place of this part in flight, so memory stays
        // within (parts in flight + 1) x part size.
        if (!failed && spare_.capacity() == 0) {
          sent.clear();
          spare_ = std::move(sent);
        }
      }
      room_.notify_all();
    }
  }

  void wait_for_parts() {
    std::unique_lock lock(mutex_);
    room_.wait(lock, [&] { return failure_ || in_flight_ == 0; });
    if (failure_) std::rethrow_exception(failure_);
  }

  void stop_workers() noexcept {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    work_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

  void complete() {
    stop_workers();
    std::sort(done_.begin(), done_.end(), [](const auto& a, const auto& b) { return a->number < b->number; });
    std::vector<s3xml::Part> parts;
    Md5 of_parts;
    for (const auto& p : done_) {
      parts.push_back({p->number, p->etag});
      of_parts.update(p->md5);
    }
    const std::string expected = to_hex(of_parts.finish()) + "-" + std::to_string(parts.size());
    const std::string body = s3xml::complete_request(parts);
    Call call{"CompleteMultipartUpload", "POST", bucket_, key_, {{"uploadId", upload_id_}}};
    call.headers.emplace_back("content-type", "application/xml");
    if (if_exists_ == IfExists::kFail) fail_if_taken(call);
    call.body = bytes_of(body);
    // A retried completion may find its first attempt done: the upload is gone, the object is there.
    call.accept = {404};
    std::optional<std::string> etag;
    call.check_reply = [&](const http::Response& reply) {
      etag = s3xml::parse_complete_result(reply.body);
      if (!etag) {
        auto error = s3xml::parse_error(reply.body);
        if (!error)
          error = s3xml::Error{"InternalError", "the reply to CompleteMultipartUpload is not its document",
                               "", ""};
        http::Response as_error = reply;
        as_error.status = 500;  // an error in a 200: S3 asks to send it again
        throw reply_error(call, as_error, error);
      }
    };
    http::Response reply = c_->send(call, ctx_);
    if (reply.status == 404) {
      auto error = s3xml::parse_error(reply.body);
      Call head{"HeadObject", "HEAD", bucket_, key_};
      head.accept = {404};
      http::Response found = c_->send(head, ctx_);
      if (!error || error->code != "NoSuchUpload" || found.status == 404 ||
          s3xml::unquote(found.header("etag")) != expected) {
        throw reply_error(call, reply, error);
      }
      etag = expected;
    }
    upload_id_.clear();  // completed: nothing to abort any more
    if (*etag != expected) {
      // Endpoints that encrypt or compute other checksums send other ETags; the size still has to be right.
      Call head{"HeadObject", "HEAD", bucket_, key_};
      http::Response found = c_->send(head, ctx_);
      if (found.header("content-length") != std::to_string(written_)) {
        ErrorDetails d{call.operation,
                       bucket_,
                       key_,
                       200,
                       "",
                       "the completed object has " + found.header("content-length") + " bytes, not " +
                           std::to_string(written_),
                       found.header("x-amz-request-id")};
        throw failure(Kind::kIo, d);
      }
    }
  }

  std::shared_ptr<S3Store::Connection> c_;
  std::string bucket_;
  std::string key_;
  IfExists if_exists_;
  CallContext ctx_;
  std::vector<uint8_t> current_;
  uint64_t written_ = 0;
  int next_part_ = 1;
  bool closed_ = false;
  std::string upload_id_;

  std::mutex mutex_;
  std::condition_variable work_;  // a part is queued, or the senders must stop
  std::condition_variable room_;  // a part was sent or failed
  std::deque<std::unique_ptr<Part>> queue_;
  std::vector<std::unique_ptr<Part>> done_;
  std::vector<uint8_t> spare_;  // a sent part's buffer (empty, its capacity kept) for the next part
  uint64_t in_flight_ = 0;      // queued or being sent
  bool stopping_ = false;
  std::exception_ptr failure_;
  std::vector<std::thread> workers_;
};

// --- reading: ranged GETs, one chunk ahead ---------------------------------------------------------------

class S3Reader : public ObjectReader {
 public:
  S3Reader(std::shared_ptr<S3Store::Connection> connection, std::string bucket, std::string key,
           const ByteRange& range, CallContext ctx)
      : c_(std::move(connection)), bucket_(std::move(bucket)), key_(std::move(key)), ctx_(std::move(ctx)) {
    Call head{"HeadObject", "HEAD", bucket_, key_};
    http::Response reply = c_->send(head, ctx_);
    etag_ = reply.header("etag");
    const std::string length = reply.header("content-length");
    if (length.empty() || length.size() > 19 || length.find_first_not_of("0123456789") != std::string::npos) {
      ErrorDetails d{head.operation,
                     bucket_,
                     key_,
                     static_cast<int>(reply.status),
                     "",
                     "the reply has no valid Content-Length",
                     reply.header("x-amz-request-id")};
      throw failure(Kind::kIo, d);
    }
    size_ = std::stoull(length);
    if (range.offset > size_) {
      throw StorageError(Kind::kInvalidRequest,
                         "The range starts past the end of " + object_name(bucket_, key_));
    }
    end_ =
        range.length ? std::min(size_, range.offset + std::min(*range.length, size_ - range.offset)) : size_;
    chunk_ = static_cast<uint64_t>(c_->settings().read_chunk_mb) * kMiB;
    ahead_limit_ = transfers_in_flight(c_->settings(), chunk_);
    next_fetch_ = range.offset;
    fill_ahead();
  }

  // The fetches capture this: each must end before the reader does.
  ~S3Reader() override {
    for (auto& f : ahead_) f.wait();
  }

  uint64_t size() const override { return size_; }

  size_t read(std::span<uint8_t> out) override {
    size_t filled = 0;
    while (filled < out.size()) {
      if (used_ == buffer_.size()) {
        if (ahead_.empty()) break;
        std::future<std::vector<uint8_t>> next = std::move(ahead_.front());
        ahead_.pop_front();
        // The buffer read out is the next fetch's: its pages are mapped already (a fresh 8 MiB buffer costs
        // 2,048 page faults as it fills).
        spare_ = std::move(buffer_);
        buffer_ = next.get();  // rethrows what the fetch threw
        used_ = 0;
        fill_ahead();
        if (buffer_.empty()) break;
      }
      const size_t n = std::min(out.size() - filled, buffer_.size() - used_);
      std::copy_n(buffer_.data() + used_, n, out.data() + filled);
      used_ += n;
      filled += n;
    }
    return filled;
  }

 private:
  // Starts fetches of the next chunks, in order, until ahead_limit_ are under way or the range is asked for.
  // Each chunk is complete (fetch() asks again for what a broken reply left out), so the chunks, taken in
  // order, are the range.
  void fill_ahead() {
    while (ahead_.size() < ahead_limit_ && next_fetch_ < end_) {
      const uint64_t from = next_fetch_;
      const uint64_t to = std::min(end_, from + chunk_);
      ahead_.push_back(std::async(std::launch::async, [this, from, to, into = std::move(spare_)]() mutable {
        return fetch(from, to, std::move(into));
      }));
      spare_.clear();  // moved from; empty already
      next_fetch_ = to;
    }
  }

  // Bytes [from, to) by ranged GETs; a GET that breaks off is sent again for the bytes still missing.
  std::vector<uint8_t> fetch(uint64_t from, uint64_t to, std::vector<uint8_t> bytes) {
    bytes.clear();
    bytes.reserve(to - from);
    bool overflow = false;
    Call call{"GetObject", "GET", bucket_, key_};
    call.before_attempt = [&](Call& c) {
      c.headers.clear();
      c.headers.emplace_back("range",
                             "bytes=" + std::to_string(from + bytes.size()) + "-" + std::to_string(to - 1));
      if (!etag_.empty()) c.headers.emplace_back("if-match", etag_);
    };
    http::BodySink sink = [&](std::span<const uint8_t> part) {
      if (bytes.size() + part.size() > to - from) {
        overflow = true;
        return false;
      }
      bytes.insert(bytes.end(), part.begin(), part.end());
      return true;
    };
    for (int round = 1; bytes.size() < to - from; ++round) {
      try {
        c_->send(call, ctx_, sink);
      } catch (const StorageError& e) {
        if (overflow && !ctx_.cancelled()) {
          ErrorDetails d{
              call.operation, bucket_, key_, 0, "", "the reply holds more bytes than the range asked", ""};
          throw failure(Kind::kIo, d);
        }
        if (e.kind() == Kind::kAlreadyExists) {  // 412: If-Match failed
          ErrorDetails d = e.details();
          d.message = "the object was replaced while it was being read";
          throw failure(Kind::kIo, d);
        }
        throw;
      }
      // A reply that ended early without an error (a proxy cutting a body at a chunk boundary): ask again.
      if (bytes.size() < to - from && round >= c_->settings().max_attempts) {
        ErrorDetails d{call.operation,
                       bucket_,
                       key_,
                       0,
                       "",
                       "the replies held " + std::to_string(bytes.size()) + " of " +
                           std::to_string(to - from) + " bytes",
                       ""};
        throw failure(Kind::kTransient, d);
      }
    }
    return bytes;
  }

  std::shared_ptr<S3Store::Connection> c_;
  std::string bucket_;
  std::string key_;
  CallContext ctx_;
  std::string etag_;
  uint64_t size_ = 0;
  uint64_t end_ = 0;
  uint64_t chunk_ = 0;
  uint64_t ahead_limit_ = 1;
  uint64_t next_fetch_ = 0;  // where the next chunk to fetch starts
  std::vector<uint8_t> buffer_;
  std::vector<uint8_t> spare_;  // a buffer read out, for the next fetch to fill
  size_t used_ = 0;
  std::deque<std::future<std::vector<uint8_t>>> ahead_;  // the chunks after buffer_, in order
};

}  // namespace

// --- the store ------------------------------------------------------------------------------------------

S3Store::S3Store(S3Settings settings) : connection_(std::make_shared<Connection>(std::move(settings))) {}

S3Store::~S3Store() = default;

std::string S3Store::endpoint(const std::string&) const { return connection_->endpoint(); }

std::optional<std::string> S3Store::bucket_region(const std::string& bucket, const CallContext& ctx) {
  Call call{"HeadBucket", "HEAD", bucket, ""};
  // A bucket of another region answers 301 (or 400 for a request signed for the wrong region) and names
  // its region in x-amz-bucket-region.
  call.accept = {301, 400, 404};
  http::Response reply = connection_->send(call, ctx);
  std::string region = reply.header("x-amz-bucket-region");
  if (!region.empty()) return region;
  if (reply.status == 404) return std::nullopt;
  if (reply.status != 200) throw reply_error(call, reply, std::nullopt);
  // Endpoints that do not send the header: GetBucketLocation.
  Call location{"GetBucketLocation", "GET", bucket, "", {{"location", ""}}};
  http::Response answer = connection_->send(location, ctx);
  auto named_region = s3xml::parse_location(answer.body);
  if (!named_region)
    throw reply_error(location, answer, s3xml::Error{"", "the reply is not a LocationConstraint", "", ""});
  return *named_region;
}

void S3Store::create_bucket(const std::string& bucket, const std::string& region, const CallContext& ctx) {
  const std::string body = s3xml::create_bucket_request(region);
  Call call{"CreateBucket", "PUT", bucket, ""};
  call.body = bytes_of(body);
  call.accept = {409};
  http::Response reply = connection_->send(call, ctx);
  if (reply.status == 409) {
    auto actual = bucket_region(bucket, ctx);
    if (actual != region) throw reply_error(call, reply, std::nullopt);
  }
}

std::optional<ObjectInfo> S3Store::head(const std::string& bucket, const std::string& key,
                                        const CallContext& ctx) {
  Call call{"HeadObject", "HEAD", bucket, key};
  call.accept = {404};
  http::Response reply = connection_->send(call, ctx);
  if (reply.status == 404) {
    // HEAD has no body: whether the bucket or the key is missing takes another look.
    if (!bucket_region(bucket, ctx))
      throw StorageError(Kind::kNoSuchBucket, "The specified bucket does not exist");
    return std::nullopt;
  }
  ObjectInfo info;
  info.key = key;
  info.etag = s3xml::unquote(reply.header("etag"));
  const std::string length = reply.header("content-length");
  if (!length.empty() && length.size() <= 19 && length.find_first_not_of("0123456789") == std::string::npos) {
    info.size = std::stoull(length);
  }
  return info;
}

std::unique_ptr<ObjectWriter> S3Store::create(const std::string& bucket, const std::string& key,
                                              IfExists if_exists, const CallContext& ctx) {
  if (key.empty() || key.size() > 1024) {
    throw StorageError(Kind::kInvalidKey,
                       "The object key " + in_quotes(key) + " is not valid: S3 keys have 1 to 1024 bytes.");
  }
  if (if_exists == IfExists::kFail && head(bucket, key, ctx)) {
    throw StorageError(Kind::kAlreadyExists, "The object " + object_name(bucket, key) + " exists");
  }
  return std::make_unique<S3Writer>(connection_, bucket, key, if_exists, ctx);
}

std::unique_ptr<ObjectReader> S3Store::open(const std::string& bucket, const std::string& key,
                                            const ByteRange& range, const CallContext& ctx) {
  return std::make_unique<S3Reader>(connection_, bucket, key, range, ctx);
}

void S3Store::remove(const std::string& bucket, const std::string& key, const CallContext& ctx) {
  Call call{"DeleteObject", "DELETE", bucket, key};
  call.accept = {404};
  http::Response reply = connection_->send(call, ctx);
  if (reply.status == 404) {
    auto error = s3xml::parse_error(reply.body);
    if (error && error->code == "NoSuchBucket") throw reply_error(call, reply, error);
  }
}

std::vector<ObjectInfo> S3Store::list(const std::string& bucket, const std::string& prefix,
                                      const CallContext& ctx) {
  std::vector<ObjectInfo> out;
  std::string token;
  for (;;) {
    Call call{
        "ListObjectsV2", "GET", bucket, "", {{"list-type", "2"}, {"prefix", prefix}, {"max-keys", "1000"}}};
    if (!token.empty()) call.query.emplace_back("continuation-token", token);
    http::Response reply = connection_->send(call, ctx);
    auto page = s3xml::parse_list_objects_v2(reply.body);
    if (!page)
      throw reply_error(call, reply, s3xml::Error{"", "the reply is not a ListBucketResult", "", ""});
    for (auto& object : page->objects) out.push_back(std::move(object));
    if (!page->truncated) break;
    if (page->next_continuation_token.empty() || page->next_continuation_token == token) {
      throw reply_error(call, reply,
                        s3xml::Error{"", "a truncated listing without a new continuation token", "", ""});
    }
    token = page->next_continuation_token;
  }
  return out;
}

int S3Store::abort_unfinished_uploads(const std::string& bucket, const std::string& key,
                                      std::chrono::system_clock::time_point before, const CallContext& ctx) {
  const int64_t before_us =
      std::chrono::duration_cast<std::chrono::microseconds>(before.time_since_epoch()).count();
  std::vector<std::string> ours;
  std::string key_marker, upload_marker;
  for (int pages = 0; pages < 1000; ++pages) {
    Call call{"ListMultipartUploads", "GET", bucket, "", {{"uploads", ""}, {"prefix", key}}};
    if (!key_marker.empty()) call.query.emplace_back("key-marker", key_marker);
    if (!upload_marker.empty()) call.query.emplace_back("upload-id-marker", upload_marker);
    http::Response reply = connection_->send(call, ctx);
    auto page = s3xml::parse_list_uploads(reply.body);
    if (!page)
      throw reply_error(call, reply,
                        s3xml::Error{"", "the reply is not a ListMultipartUploadsResult", "", ""});
    for (const auto& upload : page->uploads) {
      if (upload.key == key && (upload.initiated_us == 0 || upload.initiated_us < before_us))
        ours.push_back(upload.upload_id);
    }
    if (!page->truncated) break;
    if (page->next_key_marker == key_marker && page->next_upload_id_marker == upload_marker) break;
    key_marker = page->next_key_marker;
    upload_marker = page->next_upload_id_marker;
  }
  for (const auto& id : ours) {
    Call call{"AbortMultipartUpload", "DELETE", bucket, key, {{"uploadId", id}}};
    call.accept = {404};
    connection_->send(call, ctx);
  }
  return static_cast<int>(ours.size());
}

}  // namespace bakrest::storage
