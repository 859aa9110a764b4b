#include "server/listener.h"

#include <fcntl.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <thread>

#include "server/session.h"

namespace bakrest::server {
namespace {

constexpr int kFirstSpid = 51;  // SQL Server keeps lower SPIDs for system sessions
constexpr int kLastSpid = 32767;
constexpr int kReapIntervalMs = 1000;
// Connections over max_connections are told so (17809) by a few threads of their own; more than this many
// at once are closed without a word.
constexpr size_t kMaxRefusing = 16;
constexpr auto kRefusalTimeout = std::chrono::seconds(5);

}  // namespace

struct Listener::Slot {
  std::unique_ptr<Session> session;
  std::thread thread;
  std::atomic<bool> finished{false};
};

Listener::Listener(Backend& backend, ListenerOptions options)
    : backend_(backend),
      options_(std::move(options)),
      listen_socket_(Socket::listen_tcp(options_.host, options_.port)),
      budget_(options_.max_request_bytes, options_.max_buffered_request_bytes),
      throttle_(options_.throttle) {
  port_ = listen_socket_.local_port();
  int fds[2];
  if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0)
    throw std::system_error(errno, std::generic_category(), "pipe2");
  wake_read_ = Socket(fds[0]);
  wake_write_ = Socket(fds[1]);
  spdlog::info("listening for TDS connections on {}:{}", options_.host, port_);
}

Listener::~Listener() { stop(); }

void Listener::run() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    running_ = true;
  }
  for (;;) {
    pollfd fds[2] = {{listen_socket_.fd(), POLLIN, 0}, {wake_read_.fd(), POLLIN, 0}};
    int n = ::poll(fds, 2, kReapIntervalMs);
    if (n < 0 && errno != EINTR) {
      spdlog::error("poll on the listening socket failed: {}", std::strerror(errno));
      break;
    }
    if (n > 0 && fds[1].revents != 0) break;
    if (n > 0 && fds[0].revents != 0) accept_one();
    reap_finished();
  }
  std::lock_guard lock(mutex_);
  running_ = false;
  run_exited_.notify_all();
}

void Listener::accept_one() {
  int fd = ::accept4(listen_socket_.fd(), nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) {
    if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
      spdlog::warn("cannot accept a connection: {}", std::strerror(errno));
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // let sessions end before retrying
    }
    return;
  }
  Socket socket(fd);
  socket.set_no_delay();
  std::lock_guard lock(mutex_);
  if (active_ >= static_cast<size_t>(options_.max_connections)) {
    if (refusing_ >= kMaxRefusing) {
      spdlog::warn("closing a connection at once: {} connections are open and {} more are being refused",
                   active_, refusing_);
      return;
    }
    auto slot = std::make_unique<Slot>();
    Slot* raw = slot.get();
    ++refusing_;
    raw->thread = std::thread([this, raw, socket = std::move(socket)]() mutable {
      Session::refuse(std::move(socket), options_.server_name, options_.product, options_.encryption,
                      options_.max_connections, kRefusalTimeout);
      std::lock_guard lock(mutex_);
      --refusing_;
      raw->finished = true;
    });
    sessions_.push_back(std::move(slot));
    return;
  }
  int spid = allocate_spid();
  if (spid < 0) {
    spdlog::warn("refusing a connection: every SPID is in use");
    return;
  }
  auto slot = std::make_unique<Slot>();
  SessionLimits limits{&budget_, &throttle_, options_.login_timeout};
  slot->session =
      std::make_unique<Session>(std::move(socket), backend_, static_cast<uint16_t>(spid),
                                options_.server_name, options_.product, limits, options_.encryption);
  Slot* raw = slot.get();
  ++active_;
  raw->thread = std::thread([this, raw, spid] {
    raw->session->run();
    std::lock_guard lock(mutex_);
    spids_.erase(spid);
    --active_;
    raw->finished = true;
    session_ended_.notify_all();
  });
  sessions_.push_back(std::move(slot));
}

int Listener::allocate_spid() {
  for (int spid = kFirstSpid; spid <= kLastSpid; ++spid) {
    if (spids_.insert(spid).second) return spid;
  }
  return -1;
}

void Listener::reap_finished() {
  std::list<std::unique_ptr<Slot>> done;
  {
    std::lock_guard lock(mutex_);
    for (auto it = sessions_.begin(); it != sessions_.end();) {
      if ((*it)->finished) {
        done.push_back(std::move(*it));
        it = sessions_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& slot : done) slot->thread.join();
}

size_t Listener::active_sessions() {
  std::lock_guard lock(mutex_);
  return active_;
}

bool Listener::wait_for_sessions(size_t count, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return session_ended_.wait_for(lock, timeout, [&] { return active_ <= count; });
}

void Listener::stop() {
  std::lock_guard stop_lock(stop_mutex_);
  throttle_.stop();
  {
    std::unique_lock lock(mutex_);
    stopping_ = true;
    if (running_) {
      char byte = 1;
      [[maybe_unused]] ssize_t ignored = ::write(wake_write_.fd(), &byte, 1);
      run_exited_.wait(lock, [&] { return !running_; });
    }
  }
  if (listen_socket_.valid()) {
    listen_socket_.close();
    spdlog::info("stopped listening on {}:{}", options_.host, port_);
  }
  std::list<std::unique_ptr<Slot>> sessions;
  {
    std::lock_guard lock(mutex_);
    sessions.swap(sessions_);
    for (auto& slot : sessions) {
      if (slot->session) slot->session->shutdown();
    }
  }
  for (auto& slot : sessions) slot->thread.join();
}

}  // namespace bakrest::server
