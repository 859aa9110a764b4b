// Work done on a pool of threads and handed back in the order it was submitted: the backup writer compresses
// and checksums chunks on it while the stream it writes stays in sequence (format/backup_file.cc).
//
// The caller bounds what is outstanding: it submits while in_flight() is below its limit and otherwise
// take()s the oldest result first. Each piece of work holds its own input, so memory is that limit times a
// piece's size. Results come back by take() only, oldest first, whatever order the threads finish in; a
// piece that threw rethrows from its take(), and the later ones are still there to take or to drop.
//
// The destructor drops what was not taken, waits for the pieces running and joins the threads; pieces not
// started by then are not run.
//
// Thread safety: submit(), take(), ready() and in_flight() from one thread (the owner); the work runs on the
// pool's threads.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

namespace bakrest {

template <typename Result>
class OrderedPool {
 public:
  // threads: at least 1. Throws std::invalid_argument for 0, std::system_error if a thread can't start.
  explicit OrderedPool(unsigned threads) {
    if (threads == 0) throw std::invalid_argument("an ordered pool needs at least one thread");
    workers_.reserve(threads);
    try {
      for (unsigned i = 0; i < threads; ++i) workers_.emplace_back([this] { run(); });
    } catch (...) {
      stop();
      throw;
    }
  }
  ~OrderedPool() { stop(); }
  OrderedPool(const OrderedPool&) = delete;
  OrderedPool& operator=(const OrderedPool&) = delete;

  void submit(std::function<Result()> work) {
    auto piece = std::make_shared<Piece>();
    piece->work = std::move(work);
    std::lock_guard lock(mutex_);
    pieces_.push_back(piece);
    waiting_.push_back(piece);
    work_added_.notify_one();
  }

  // The oldest piece's result, waiting until it is done; rethrows what it threw. Throws std::logic_error when
  // nothing is in flight.
  Result take() {
    std::unique_lock lock(mutex_);
    if (pieces_.empty()) throw std::logic_error("OrderedPool::take() with nothing in flight");
    std::shared_ptr<Piece> piece = pieces_.front();
    piece_done_.wait(lock, [&] { return piece->done; });
    pieces_.pop_front();
    lock.unlock();
    if (piece->error) std::rethrow_exception(piece->error);
    return std::move(*piece->result);
  }

  // True when the oldest piece is done, so that take() would not wait.
  bool ready() const {
    std::lock_guard lock(mutex_);
    return !pieces_.empty() && pieces_.front()->done;
  }

  // Pieces submitted and not yet taken.
  size_t in_flight() const {
    std::lock_guard lock(mutex_);
    return pieces_.size();
  }

  unsigned threads() const { return static_cast<unsigned>(workers_.size()); }

 private:
  struct Piece {
    std::function<Result()> work;
    std::optional<Result> result;  // guarded by mutex_ once done
    std::exception_ptr error;
    bool done = false;
  };

  void run() {
    for (;;) {
      std::shared_ptr<Piece> piece;
      {
        std::unique_lock lock(mutex_);
        work_added_.wait(lock, [&] { return stopping_ || !waiting_.empty(); });
        if (stopping_) return;
        piece = waiting_.front();
        waiting_.pop_front();
      }
      // Outside the lock: the work is the expensive part, and the others run theirs meanwhile.
      std::optional<Result> result;
      std::exception_ptr error;
      try {
        result.emplace(piece->work());
      } catch (...) {
        error = std::current_exception();
      }
      std::lock_guard lock(mutex_);
      piece->result = std::move(result);
      piece->error = error;
      piece->work = nullptr;  // what the work captured (its input) goes now, not at take()
      piece->done = true;
      piece_done_.notify_all();
    }
  }

  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      waiting_.clear();
      work_added_.notify_all();
    }
    for (std::thread& t : workers_) {
      if (t.joinable()) t.join();
    }
  }

  mutable std::mutex mutex_;
  std::condition_variable work_added_;  // a piece to run, or stopping
  std::condition_variable piece_done_;
  std::deque<std::shared_ptr<Piece>> pieces_;   // submitted, not taken: the order of results
  std::deque<std::shared_ptr<Piece>> waiting_;  // submitted, not started
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace bakrest
