// A stand-in for an AWS service's HTTP API in unit tests: it replies with the body a test sets (in tests,
// bodies recorded from the service's API reference), keeps what it was sent, and checks every request's
// SigV4 signature for its service and region as the control endpoint checks them (control/sigv4_verifier.h),
// with the keys it was given. A request whose signature fails gets `auth_failure_reply` with status 400/403.
// Listens on a free loopback port; the destructor stops it.
#pragma once

#include <httplib.h>

#include <atomic>
#include <ctime>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "control/sigv4_verifier.h"

namespace bakrest::testing {

class RecordedService {
 public:
  struct Received {
    std::map<std::string, std::string> headers;  // names lower-cased
    std::string body;
  };

  // keys: access key ID -> secret.
  RecordedService(std::string service, std::string region, std::map<std::string, std::string> keys,
                  std::string auth_failure_reply, int auth_failure_status = 400)
      : service_(std::move(service)),
        region_(std::move(region)),
        keys_(std::move(keys)),
        auth_failure_reply_(std::move(auth_failure_reply)),
        auth_failure_status_(auth_failure_status),
        verifier_([this](std::string_view id) -> std::optional<std::string> {
          auto it = keys_.find(std::string(id));
          if (it == keys_.end()) return std::nullopt;
          return it->second;
        }) {
    server_.Post("/", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mutex_);
      Received got;
      for (const auto& [name, value] : req.headers) {
        std::string lower = name;
        for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        got.headers[lower] = value;
      }
      got.body = req.body;
      received.push_back(got);
      std::vector<std::pair<std::string, std::string>> headers(req.headers.begin(), req.headers.end());
      const std::string regions[] = {region_};
      try {
        verifier_.verify({"POST", "/", {}, headers, req.body}, service_, regions, std::time(nullptr));
      } catch (const control::AuthError& e) {
        res.status = auth_failure_status_;
        res.set_content(auth_failure_reply_, content_type.c_str());
        return;
      }
      res.status = status;
      res.set_content(reply, content_type.c_str());
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] {
      server_.listen_after_bind();
      done_ = true;
    });
  }
  ~RecordedService() {
    // stop() does nothing before the listening loop runs (as in control/endpoint.cc).
    while (!server_.is_running() && !done_) std::this_thread::yield();
    server_.stop();
    thread_.join();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  size_t requests() {
    std::lock_guard lock(mutex_);
    return received.size();
  }

  // What to answer; set before the calls (the server reads them under its lock while serving).
  int status = 200;
  std::string content_type = "text/xml";
  std::string reply;
  std::vector<Received> received;

 private:
  std::string service_;
  std::string region_;
  std::map<std::string, std::string> keys_;
  std::string auth_failure_reply_;
  int auth_failure_status_;
  std::mutex mutex_;
  control::SigV4Verifier verifier_;
  httplib::Server server_;
  int port_ = 0;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace bakrest::testing
