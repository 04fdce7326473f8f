#include "daemon/analysis_pool.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "tests/pipeline/synthetic.hpp"

namespace insitu::daemon {
namespace {

using Clock = std::chrono::steady_clock;

// Holds every analysis until opened: the workers are "busy" for as long as the test wants.
class Gate {
 public:
  void wait() {
    std::unique_lock lock(mutex_);
    ++waiting_;
    changed_.notify_all();
    changed_.wait(lock, [this] { return open_; });
  }
  void wait_for_waiters(int n) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return waiting_ >= n; });
  }
  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int waiting_ = 0;
  bool open_ = false;
};

struct Delivered {
  std::mutex mutex;
  std::set<std::uint64_t> sequences;
  std::vector<std::string> errors;
  std::set<std::thread::id> threads;
  void add(AnalysisResult&& r) {
    std::lock_guard lock(mutex);
    if (r.analysis) sequences.insert(r.analysis->sequence);
    else errors.push_back(r.error);
    threads.insert(std::this_thread::get_id());
  }
};

AnalysisJob job(std::uint64_t sequence) { return AnalysisJob{sequence, 12.0 * static_cast<double>(sequence), 300.0, nullptr, nullptr}; }

analysis::FrameAnalysis fake(const AnalysisJob& j) {
  analysis::FrameAnalysis a;
  a.sequence = j.sequence;
  return a;
}

TEST(AnalysisPool, DefaultWorkersLeaveACoreForTheLoop) {
  const auto n = AnalysisPool::default_workers();
  EXPECT_GE(n, 1u);
  if (std::thread::hardware_concurrency() > 1) {
    EXPECT_EQ(n, std::thread::hardware_concurrency() - 1);
  }
}

TEST(AnalysisPool, SubmitNeverBlocksAndRefusesWhenFull) {
  Gate gate;
  Delivered delivered;
  const auto caller = std::this_thread::get_id();
  AnalysisPool pool({2, 3}, [&](std::size_t, const AnalysisJob& j) {
    gate.wait();
    return fake(j);
  }, [&](AnalysisResult&& r) { delivered.add(std::move(r)); });
  ASSERT_EQ(pool.workers(), 2u);

  // Two jobs occupy both workers; three fill the queue; the sixth and seventh are refused. All while the analyses
  // are blocked indefinitely: a submit that waited on them would hang this test.
  double slowest_submit_s = 0;
  std::vector<bool> accepted;
  for (std::uint64_t i = 0; i < 7; ++i) {
    const auto t0 = Clock::now();
    accepted.push_back(pool.submit(job(i)));
    slowest_submit_s = std::max(slowest_submit_s, std::chrono::duration<double>(Clock::now() - t0).count());
    if (i == 1) gate.wait_for_waiters(2);
  }
  std::cout << "[pool] slowest submit while workers are busy: " << slowest_submit_s * 1e6 << " us\n";
  EXPECT_LT(slowest_submit_s, 0.01);  // microseconds in practice; 10 ms leaves room for a loaded CI machine
  EXPECT_EQ(accepted, (std::vector<bool>{true, true, true, true, true, false, false}));
  auto s = pool.stats();
  EXPECT_EQ(s.queue_depth, 3u);
  EXPECT_EQ(s.max_queue_depth, 3u);
  EXPECT_EQ(s.in_flight, 2u);
  EXPECT_EQ(s.submitted, 5u);
  EXPECT_EQ(s.backlogged, 2u);
  EXPECT_EQ(s.completed, 0u);

  gate.open();
  pool.wait_idle();
  // The refused frames are resubmitted once there is room (the daemon keeps them meanwhile).
  EXPECT_TRUE(pool.submit(job(5)));
  EXPECT_TRUE(pool.submit(job(6)));
  pool.wait_idle();
  s = pool.stats();
  EXPECT_EQ(s.completed, 7u);
  EXPECT_EQ(s.queue_depth, 0u);
  EXPECT_EQ(s.in_flight, 0u);
  EXPECT_EQ(delivered.sequences, (std::set<std::uint64_t>{0, 1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(delivered.threads.count(caller), 0u) << "results are delivered on worker threads";
  // The first five waited for the gate, so latencies are positive and ordered.
  EXPECT_GT(s.median_latency_s, 0.0);
  EXPECT_LE(s.median_latency_s, s.p99_latency_s);
  EXPECT_LE(s.p99_latency_s, s.max_latency_s);
}

TEST(AnalysisPool, FailuresAreDeliveredAndCounted) {
  Delivered delivered;
  AnalysisPool pool({1, 4}, [](std::size_t, const AnalysisJob& j) -> analysis::FrameAnalysis {
    if (j.sequence == 2) throw std::runtime_error("frame 2 is corrupt");
    return fake(j);
  }, [&](AnalysisResult&& r) { delivered.add(std::move(r)); });
  for (std::uint64_t i = 0; i < 4; ++i) ASSERT_TRUE(pool.submit(job(i)));
  pool.wait_idle();
  EXPECT_EQ(delivered.sequences, (std::set<std::uint64_t>{0, 1, 3}));
  ASSERT_EQ(delivered.errors.size(), 1u);
  EXPECT_EQ(delivered.errors[0], "frame 2 is corrupt");
  EXPECT_EQ(pool.stats().failed, 1u);
}

TEST(AnalysisPool, ShutdownFinishesOrDropsTheQueue) {
  for (const bool finish : {true, false}) {
    Gate gate;
    std::atomic<int> done{0};
    AnalysisPool pool({1, 4}, [&](std::size_t, const AnalysisJob& j) {
      gate.wait();
      return fake(j);
    }, [&](AnalysisResult&&) { ++done; });
    for (std::uint64_t i = 0; i < 4; ++i) ASSERT_TRUE(pool.submit(job(i)));
    gate.wait_for_waiters(1);
    std::thread opener([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      gate.open();
    });
    pool.shutdown(finish);
    opener.join();
    EXPECT_EQ(done.load(), finish ? 4 : 1);
    EXPECT_FALSE(pool.submit(job(9)));  // closed
  }
}

TEST(PipelineWorkers, RealFramesOnTwoWorkersMatchOnePipeline) {
  using namespace analysis;
  const auto geometry = test::small_detector();
  const auto settings = test::test_settings();
  const auto table = FormFactorTable::load(test::form_factor_file());
  auto frame = std::make_shared<detector::Frame>(
      detector::make_frame(geometry.height, geometry.width, test::render(geometry, test::model_intensity(table, 40.0), 0.99, 0.0f)));

  FramePipeline reference(geometry, settings, table);
  const auto expected = with_image_view(*frame, [&](const auto& v) { return reference.analyse(v, {}, 0, 300.0); });

  const PipelineWorkers workers(geometry, settings, 2);
  std::mutex mutex;
  std::vector<FrameAnalysis> results;
  AnalysisPool pool({2, 8}, workers.analyser(), [&](AnalysisResult&& r) {
    ASSERT_TRUE(r.analysis) << r.error;
    std::lock_guard lock(mutex);
    results.push_back(std::move(*r.analysis));
  });
  for (std::uint64_t i = 0; i < 4; ++i) ASSERT_TRUE(pool.submit({i, 12.0 * static_cast<double>(i), 300.0 + static_cast<double>(i), frame, nullptr}));
  pool.wait_idle();
  ASSERT_EQ(results.size(), 4u);
  for (const auto& r : results) {
    EXPECT_DOUBLE_EQ(r.s_eq_k_B, expected.s_eq_k_B);
    EXPECT_EQ(r.temperature_K, 300.0 + static_cast<double>(r.sequence));
  }
  EXPECT_EQ(workers.axes().r_angstrom, reference.axes().r_angstrom);
}

// A frame the bounded queue cannot take waits in the run's backlog on the loop; its reported latency starts at the
// request, not at the resubmission. The loop is kept from running for `held`, so the third frame sits in the
// backlog at least that long whatever the analysis takes.
TEST(PooledAnalysis, LatencyCountsTheWaitInTheBacklog) {
  namespace synthetic = analysis::test;
  const auto geometry = synthetic::small_detector();
  const auto table = analysis::FormFactorTable::load(synthetic::form_factor_file());
  const auto intensity = synthetic::model_intensity(table, 40.0);
  auto frame = std::make_shared<const detector::Frame>(
      detector::make_frame(geometry.height, geometry.width, synthetic::render(geometry, intensity, 0.99, 0.0f)));
  const PipelineWorkers workers(geometry, synthetic::test_settings(), table, 1);
  asio::io_context loop;
  const auto keep_running = asio::make_work_guard(loop);
  PooledAnalysis pooled(loop.get_executor(), workers, {1, 1});
  std::map<std::uint64_t, double> latency_s;
  for (std::uint64_t i = 0; i < 3; ++i)
    pooled.analyse({i, 12.0 * static_cast<double>(i), 300.0, frame, nullptr}, [&](program::AnalysisOutcome outcome) {
      EXPECT_TRUE(outcome.analysis) << outcome.error;
      latency_s[outcome.sequence] = outcome.latency_s;
    });
  constexpr double held_s = 0.3;
  std::this_thread::sleep_for(std::chrono::duration<double>(held_s));
  while (latency_s.size() < 3 && loop.run_one()) {
  }
  ASSERT_EQ(latency_s.size(), 3u);
  EXPECT_GE(latency_s[2], held_s) << "the backlog's wait is part of the latency";
  EXPECT_GE(latency_s[2], latency_s[0]);
  EXPECT_GE(pooled.stats().backlogged, 1u);
}

// Frames beyond the backlog fail at once instead of piling up in memory; the first ones are analysed. The loop
// does not run until all are asked for, so at most one is in flight, one queued and one in the backlog.
TEST(PooledAnalysis, AFullBacklogFailsTheFrameAtOnce) {
  const auto geometry = analysis::test::small_detector();
  const PipelineWorkers workers(geometry, analysis::test::test_settings(), 1);
  auto frame = std::make_shared<const detector::Frame>(detector::make_frame(
      geometry.height, geometry.width, std::vector<float>(geometry.height * geometry.width, 1000.0f)));
  asio::io_context loop;
  const auto keep_running = asio::make_work_guard(loop);
  PooledAnalysis pooled(loop.get_executor(), workers, {1, 1, 1});
  std::map<std::uint64_t, std::string> errors;
  for (std::uint64_t i = 0; i < 5; ++i)
    pooled.analyse({i, 12.0 * static_cast<double>(i), 300.0, frame, nullptr}, [&](program::AnalysisOutcome outcome) {
      EXPECT_FALSE(errors.contains(outcome.sequence)) << "one outcome per frame";
      errors[outcome.sequence] = outcome.error;
    });
  while (errors.size() < 5 && loop.run_one()) {
  }
  ASSERT_EQ(errors.size(), 5u);
  EXPECT_THAT(errors[0], testing::Not(testing::HasSubstr("not analysed inline")));
  EXPECT_THAT(errors[1], testing::Not(testing::HasSubstr("not analysed inline")));
  EXPECT_THAT(errors[3], testing::HasSubstr("not analysed inline: 1 frames already wait"));
  EXPECT_THAT(errors[4], testing::HasSubstr("not analysed inline"));
}

}  // namespace
}  // namespace insitu::daemon
