#include "backup/stripe_group.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <stdexcept>
#include <thread>

namespace bakrest::backup {
namespace {

class FlagControl : public JobControl {
 public:
  void progress(int, const std::string&) override {}
  bool cancel_requested() const override { return cancel; }
  std::atomic<bool> cancel = false;
};

// Every stripe runs on a thread of its own, side by side; the report runs on the caller's thread, at least
// once after the last stripe ended.
TEST(StripeGroupTest, RunsEveryStripeAndReportsOnTheCallersThread) {
  FlagControl control;
  StripeGroup group(control);
  std::mutex mutex;
  std::set<size_t> ran;
  std::set<std::thread::id> threads;
  std::atomic<int> done = 0;
  int reports = 0;
  int done_at_last_report = -1;
  const auto caller = std::this_thread::get_id();
  group.run(
      5,
      [&](size_t stripe) {
        {
          std::lock_guard lock(mutex);
          ran.insert(stripe);
          threads.insert(std::this_thread::get_id());
        }
        ++done;
        group.notify();
      },
      [&] {
        EXPECT_EQ(std::this_thread::get_id(), caller);
        ++reports;
        done_at_last_report = done;
      });
  EXPECT_EQ(ran, (std::set<size_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(threads.size(), 5u);
  EXPECT_FALSE(threads.contains(caller));
  EXPECT_GE(reports, 1);
  EXPECT_EQ(done_at_last_report, 5);
}

// The first failure stops the others (stopping(), check(), their storage calls) and is what run() throws;
// the JobCancelled of the stripes it stopped is not.
TEST(StripeGroupTest, TheFirstFailureStopsTheOthersAndIsRethrown) {
  FlagControl control;
  StripeGroup group(control);
  std::atomic<int> stopped = 0;
  try {
    group.run(
        4,
        [&](size_t stripe) {
          if (stripe == 2) throw std::runtime_error("stripe 2 failed");
          // The others wait for the failure, as a long stripe would be mid-way.
          while (!group.stopping()) std::this_thread::yield();
          EXPECT_TRUE(group.storage_context().cancelled());
          ++stopped;
          group.check();
        },
        [] {});
    ADD_FAILURE() << "run() returned";
  } catch (const JobCancelled&) {
    ADD_FAILURE() << "a stopped stripe's JobCancelled hid the failure";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "stripe 2 failed");
  }
  EXPECT_EQ(stopped, 3);
}

// A cancelled task stops every stripe, and run() says so with JobCancelled, whatever the stripes threw.
TEST(StripeGroupTest, CancellationEndsTheRunAsCancelled) {
  FlagControl control;
  StripeGroup group(control);
  EXPECT_THROW(group.run(
                   3,
                   [&](size_t stripe) {
                     if (stripe == 0) control.cancel = true;
                     while (!group.stopping()) std::this_thread::yield();
                     // A storage call notices first and says it was cancelled, in its own words.
                     group.storage_context().check("UploadPart");
                   },
                   [] {}),
               JobCancelled);
}

}  // namespace
}  // namespace bakrest::backup
