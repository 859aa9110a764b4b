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

}  // namespace

struct Listener::Slot {
  std::unique_ptr<Session> session;
  std::thread thread;
  std::atomic<bool> finished{false};
};

Listener::Listener(Backend& backend, ListenerOptions options)
    : backend_(backend),
      options_(std::move(options)),
      listen_socket_(Socket::listen_tcp(options_.host, options_.port)) {
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
  int spid = allocate_spid();
  if (spid < 0) {
    spdlog::warn("refusing a connection: every SPID is in use");
    return;
  }
  auto slot = std::make_unique<Slot>();
  slot->session = std::make_unique<Session>(std::move(socket), backend_, static_cast<uint16_t>(spid),
                                            options_.server_name);
  Slot* raw = slot.get();
  raw->thread = std::thread([this, raw, spid] {
    raw->session->run();
    std::lock_guard lock(mutex_);
    spids_.erase(spid);
    raw->finished = true;
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

void Listener::stop() {
  std::lock_guard stop_lock(stop_mutex_);
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
    for (auto& slot : sessions) slot->session->shutdown();
  }
  for (auto& slot : sessions) slot->thread.join();
}

}  // namespace bakrest::server
