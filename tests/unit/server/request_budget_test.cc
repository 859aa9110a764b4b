#include "server/request_budget.h"

#include <gtest/gtest.h>

#include <thread>

namespace bakrest::server {
namespace {

using Refusal = RequestBudget::Refusal;
constexpr uint64_t kAllowance = RequestBudget::kSessionAllowance;

TEST(RequestBudgetTest, EachSessionHasAnAllowanceAndShareTheRest) {
  RequestBudget budget(4 * kAllowance, 2 * kAllowance);
  auto a = budget.open_account();
  auto b = budget.open_account();
  RequestBudget::Reservation ra, rb;
  EXPECT_EQ(a->grow(ra, kAllowance), Refusal::kNone);  // within the allowance: the shared total is untouched
  EXPECT_EQ(budget.held(), 0u);
  EXPECT_EQ(a->grow(ra, 3 * kAllowance), Refusal::kNone);
  EXPECT_EQ(budget.held(), 2 * kAllowance);            // the shared total is full
  EXPECT_EQ(b->grow(rb, kAllowance), Refusal::kNone);  // small requests still fit
  EXPECT_EQ(b->grow(rb, kAllowance + 1), Refusal::kServerFull);
  EXPECT_EQ(rb.bytes(), kAllowance);  // unchanged by the refusal
  EXPECT_EQ(a->grow(ra, 4 * kAllowance + 1), Refusal::kTooLarge);
  ra = RequestBudget::Reservation();  // the message was handled
  EXPECT_EQ(budget.held(), 0u);
  EXPECT_EQ(a->held(), 0u);
  EXPECT_EQ(b->grow(rb, 3 * kAllowance), Refusal::kNone);
}

// A session's next message waits for its earlier ones to be handled, instead of being refused.
TEST(RequestBudgetTest, ASessionsNextMessageWaitsForItsEarlierOnes) {
  RequestBudget budget(2 * kAllowance, 8 * kAllowance);
  auto a = budget.open_account();
  auto first = std::make_unique<RequestBudget::Reservation>();
  ASSERT_EQ(a->grow(*first, 2 * kAllowance), Refusal::kNone);
  RequestBudget::Reservation second;
  std::thread reader([&] { EXPECT_EQ(a->grow(second, kAllowance), Refusal::kNone); });
  first.reset();  // the handler is done with the first
  reader.join();
  EXPECT_EQ(second.bytes(), kAllowance);
  // A session that ends wakes a reader that waits.
  RequestBudget::Reservation third;
  ASSERT_EQ(a->grow(third, kAllowance), Refusal::kNone);
  RequestBudget::Reservation fourth;
  std::thread waiting([&] { EXPECT_EQ(a->grow(fourth, 2 * kAllowance), Refusal::kServerFull); });
  a->close();
  waiting.join();
}

// try_grow() is for the thread that gives the session's bytes back, which must not wait for itself.
TEST(RequestBudgetTest, TryGrowRefusesWhatGrowWouldWaitFor) {
  RequestBudget budget(2 * kAllowance, 8 * kAllowance);
  auto a = budget.open_account();
  RequestBudget::Reservation held, more;
  ASSERT_EQ(a->grow(held, 2 * kAllowance - 10), Refusal::kNone);
  EXPECT_EQ(a->try_grow(more, 100), Refusal::kTooLarge);  // grow() would wait for `held` to go
  EXPECT_EQ(more.bytes(), 0u);
  EXPECT_EQ(a->try_grow(more, 10), Refusal::kNone);
  held = RequestBudget::Reservation();
  EXPECT_EQ(a->try_grow(more, kAllowance), Refusal::kNone);
  EXPECT_EQ(a->try_grow(more, 2 * kAllowance + 1), Refusal::kTooLarge);
  RequestBudget full(4 * kAllowance, 1);
  RequestBudget::Reservation shared;
  EXPECT_EQ(full.open_account()->try_grow(shared, 2 * kAllowance), Refusal::kServerFull);
}

}  // namespace
}  // namespace bakrest::server
