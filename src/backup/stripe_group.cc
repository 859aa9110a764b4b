#include "backup/stripe_group.h"

#include <thread>
#include <vector>

namespace bakrest::backup {

void StripeGroup::run(size_t count, const std::function<void(size_t)>& job,
                      const std::function<void()>& report) {
  {
    std::lock_guard lock(mutex_);
    running_ = count;
  }
  std::vector<std::jthread> threads;
  threads.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    threads.emplace_back([this, i, &job] {
      std::exception_ptr error;
      try {
        job(i);
      } catch (...) {
        error = std::current_exception();
      }
      std::lock_guard lock(mutex_);
      // The first failure is the cause; the stripes it stopped fail after it with JobCancelled or a
      // cancelled storage call, which say nothing more.
      if (error && !failed_) {
        failed_ = true;
        // A stripe stopped by the task's cancellation (often inside a storage call, which then says it was
        // cancelled) ends the task as cancelled.
        failure_ = control_.cancel_requested() ? std::make_exception_ptr(JobCancelled()) : error;
      }
      --running_;
      changed_.notify_all();
    });
  }
  std::unique_lock lock(mutex_);
  while (running_ > 0) {
    changed_.wait(lock, [&] { return notified_ || running_ == 0; });
    notified_ = false;
    lock.unlock();
    report();
    lock.lock();
  }
  lock.unlock();
  threads.clear();  // joins (every job has ended already)
  report();
  if (failure_) std::rethrow_exception(failure_);
}

bool StripeGroup::stopping() const {
  if (control_.cancel_requested()) return true;
  std::lock_guard lock(mutex_);
  return failed_;
}

void StripeGroup::notify() {
  std::lock_guard lock(mutex_);
  notified_ = true;
  changed_.notify_all();
}

storage::CallContext StripeGroup::storage_context() const {
  return storage::CallContext([this] { return stopping(); });
}

}  // namespace bakrest::backup
