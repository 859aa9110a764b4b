// How a long-running job (backup, restore) reports progress and learns it should stop. Implemented by
// the task queue; the jobs below it only see this interface.
#pragma once

#include <stdexcept>
#include <string>

namespace bakrest {

// Thrown by a job that noticed cancellation; the task then ends CANCELLED.
class JobCancelled : public std::runtime_error {
 public:
  JobCancelled() : std::runtime_error("Task has been aborted") {}
};

class JobControl {
 public:
  virtual ~JobControl() = default;
  // percent in 0..100; info, when not empty, replaces the task's task_info text.
  virtual void progress(int percent, const std::string& info = {}) = 0;
  // May be called from any thread (the stripes of a backup ask it side by side); progress() may not.
  virtual bool cancel_requested() const = 0;
  // Throws JobCancelled if cancellation was requested.
  void check_cancelled() const {
    if (cancel_requested()) throw JobCancelled();
  }
};

}  // namespace bakrest
