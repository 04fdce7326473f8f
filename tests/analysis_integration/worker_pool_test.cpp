// WorkerPool: run() gives every index one call; run_claiming() shares claimed work, each item done once.
#include <gtest/gtest.h>

#include <atomic>
#include <vector>

#include "analysis/integration/worker_pool.hpp"

namespace insitu::analysis {
namespace {

TEST(WorkerPool, RunCallsEveryIndexOnce) {
  WorkerPool pool(3);
  std::vector<std::atomic<int>> calls(pool.size());
  auto task = [&](std::size_t i) { ++calls[i]; };
  for (int round = 0; round < 100; ++round) pool.run(task);
  for (const auto& c : calls) EXPECT_EQ(c.load(), 100);
}

TEST(WorkerPool, RunClaimingDoesEveryItemOnceWhoeverTakesIt) {
  WorkerPool pool(3);
  constexpr std::size_t items = 64;
  for (int round = 0; round < 200; ++round) {
    std::vector<std::atomic<int>> done(items);
    std::atomic<std::size_t> next{0};
    auto task = [&](std::size_t) {
      for (std::size_t k; (k = next.fetch_add(1)) < items;) ++done[k];
    };
    pool.run_claiming(task);
    for (std::size_t k = 0; k < items; ++k) ASSERT_EQ(done[k].load(), 1) << "round " << round << " item " << k;
  }
  // Plain runs still reach every worker after claiming runs that some workers skipped.
  std::vector<std::atomic<int>> calls(pool.size());
  auto each = [&](std::size_t i) { ++calls[i]; };
  pool.run(each);
  for (const auto& c : calls) EXPECT_EQ(c.load(), 1);
}

}  // namespace
}  // namespace insitu::analysis
