#include "common/ordered_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <latch>
#include <stdexcept>
#include <thread>

namespace bakrest {
namespace {

TEST(OrderedPool, ResultsComeBackInSubmissionOrderWhateverOrderTheyFinishIn) {
  OrderedPool<int> pool(4);
  std::latch last_done(1);
  // The first piece waits until the last one has finished, so they finish out of order.
  pool.submit([&] {
    last_done.wait();
    return 0;
  });
  for (int i = 1; i < 3; ++i) pool.submit([i] { return i; });
  pool.submit([&] {
    last_done.count_down();
    return 3;
  });
  EXPECT_EQ(pool.in_flight(), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(pool.take(), i);
  EXPECT_EQ(pool.in_flight(), 0u);
  EXPECT_THROW(pool.take(), std::logic_error);
}

TEST(OrderedPool, AFailureComesBackAtItsTurnAndTheRestStillDo) {
  OrderedPool<int> pool(2);
  pool.submit([] { return 1; });
  pool.submit([]() -> int { throw std::runtime_error("piece 2 failed"); });
  pool.submit([] { return 3; });
  EXPECT_EQ(pool.take(), 1);
  EXPECT_THROW(pool.take(), std::runtime_error);
  EXPECT_EQ(pool.take(), 3);
}

TEST(OrderedPool, ReadySaysWhetherTakeWouldWait) {
  OrderedPool<int> pool(1);
  EXPECT_FALSE(pool.ready());
  std::latch go(1);
  pool.submit([&] {
    go.wait();
    return 7;
  });
  EXPECT_FALSE(pool.ready());  // it can't be done before go
  go.count_down();
  while (!pool.ready()) std::this_thread::yield();
  EXPECT_EQ(pool.take(), 7);
}

TEST(OrderedPool, DestroyingWithPiecesInFlightEndsTheirWork) {
  auto input = std::make_shared<int>(0);
  std::latch started(1);
  {
    OrderedPool<int> pool(2);
    pool.submit([&] {
      started.count_down();
      return 1;
    });
    for (int i = 0; i < 50; ++i) pool.submit([input] { return ++*input; });
    started.wait();
  }                                 // not taken: dropped; running: finished; not started: maybe never run
  EXPECT_EQ(input.use_count(), 1);  // no piece holds its input any more
}

TEST(OrderedPool, NeedsAThread) { EXPECT_THROW(OrderedPool<int>(0), std::invalid_argument); }

}  // namespace
}  // namespace bakrest
