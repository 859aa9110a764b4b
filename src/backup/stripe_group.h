// Runs the stripes of one backup or restore side by side, one thread each, while the task's own thread
// reports their progress (JobControl is not thread-safe, so only that thread calls it).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>

#include "common/job_control.h"
#include "storage/object_store.h"

namespace bakrest::backup {

// Thread safety: stopping(), check(), notify() and storage_context() may be called from the stripe threads
// at any time; run() is called once, from the task's thread.
class StripeGroup {
 public:
  explicit StripeGroup(const JobControl& control) : control_(control) {}
  StripeGroup(const StripeGroup&) = delete;
  StripeGroup& operator=(const StripeGroup&) = delete;

  // Runs job(i) for i in 0..count-1, each on its own thread, and returns when all have ended. Meanwhile the
  // calling thread runs report() each time a stripe calls notify() (several notifications may fold into one
  // call) and once at the end. If a job throws, the others are told to stop (stopping() becomes true and
  // their storage calls end) and the first failure is rethrown here once all have ended; a stripe that stops
  // because another failed throws JobCancelled, which is not reported over the failure that caused it. If the
  // task was cancelled, run() throws JobCancelled.
  void run(size_t count, const std::function<void(size_t stripe)>& job, const std::function<void()>& report);

  // Whether the stripes should stop: the task was cancelled or a stripe failed.
  bool stopping() const;
  // Throws JobCancelled if the stripes should stop; jobs call it between units of work.
  void check() const {
    if (stopping()) throw JobCancelled();
  }
  // A stripe made progress: wakes the reporting thread.
  void notify();
  // For the stripes' storage calls: they end (StorageError kCancelled) once the stripes should stop.
  storage::CallContext storage_context() const;

 private:
  const JobControl& control_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  size_t running_ = 0;
  bool notified_ = false;
  bool failed_ = false;
  std::exception_ptr failure_;
};

}  // namespace bakrest::backup
