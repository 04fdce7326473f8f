#pragma once
// The daemon's analysis workers: N threads, each with its own FramePipeline (an integrator is not re-entrant),
// behind a BOUNDED queue. submit() never blocks the Asio loop: when the queue is full it refuses the job and counts
// it as backlogged. The caller still owns the raw frame (it is in the run file), so a refused frame is not lost: the
// daemon resubmits refused frames when the queue has room, or analyses them after the run (`insitu reprocess`).
// Results come back through a callback invoked on the worker thread; the daemon posts them to its loop.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "analysis/pipeline/frame_pipeline.hpp"
#include "drivers/detector/frame_files.hpp"
#include "drivers/io/asio.hpp"
#include "protocols/run/analysis_service.hpp"

namespace insitu::daemon {

using AnalysisJob = program::AnalysisJob;

struct AnalysisResult {
  AnalysisJob job;
  std::optional<analysis::FrameAnalysis> analysis;  // unset when the analysis threw
  std::string error;                                // what it threw
  double latency_s = 0;  // wall time from the request (submit()'s `requested`) to the end of the analysis
};

struct AnalysisPoolOptions {
  std::size_t workers = 0;         // 0: hardware_concurrency - 1, at least 1
  std::size_t queue_capacity = 8;  // jobs waiting (not counting the ones being analysed)
  // PooledAnalysis: jobs waiting on the loop for room in the queue. Beyond it a frame is not analysed inline, so a
  // run whose frames come faster than the workers keep up holds at most this many frames in memory.
  std::size_t backlog_capacity = 32;
};

struct AnalysisPoolStats {
  std::size_t workers = 0;
  std::size_t queue_depth = 0;      // waiting now
  std::size_t max_queue_depth = 0;  // since start
  std::size_t in_flight = 0;        // being analysed now
  std::uint64_t submitted = 0;      // accepted
  std::uint64_t backlogged = 0;     // refused because the queue was full
  std::uint64_t completed = 0;      // results delivered, including failures
  std::uint64_t failed = 0;
  double median_latency_s = 0;  // over the last latency_window results; 0 before the first
  double p99_latency_s = 0;
  double max_latency_s = 0;
};

class AnalysisPool {
 public:
  // Analyses one job on worker `worker` (0..workers-1); may throw (the result then carries the error).
  using Analyse = std::function<analysis::FrameAnalysis(std::size_t worker, const AnalysisJob&)>;
  using Deliver = std::function<void(AnalysisResult&&)>;  // runs on a worker thread; must not throw
  using Clock = std::chrono::steady_clock;
  static constexpr std::size_t latency_window = 4096;

  AnalysisPool(AnalysisPoolOptions options, Analyse analyse, Deliver deliver);
  ~AnalysisPool();  // shutdown(): finishes queued jobs
  AnalysisPool(const AnalysisPool&) = delete;
  AnalysisPool& operator=(const AnalysisPool&) = delete;

  // Never blocks on analysis: takes the lock for a push only. False (and backlogged + 1) when the queue is full or
  // the pool is shutting down. `requested` is when the frame asked for analysis: a job resubmitted from a backlog
  // keeps its first request, so its latency counts every wait.
  bool submit(AnalysisJob job, Clock::time_point requested = Clock::now());
  // Blocks until the queue is empty and no job is in flight (the end of a run; never on the Asio loop).
  void wait_idle();
  // Stops accepting jobs; finishes the queued ones (or drops them if !finish_queued) and joins the workers.
  void shutdown(bool finish_queued = true);
  AnalysisPoolStats stats() const;
  std::size_t workers() const { return threads_.size(); }

  static std::size_t default_workers();

 private:
  struct Queued {
    AnalysisJob job;
    Clock::time_point requested;
  };
  void run_worker(std::size_t index);

  Analyse analyse_;
  Deliver deliver_;
  std::size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable wake_, idle_;
  std::deque<Queued> queue_;
  bool stopping_ = false, drop_queued_ = false;
  AnalysisPoolStats stats_;
  std::vector<double> latencies_;  // ring of the last latency_window
  std::size_t latency_next_ = 0;
  std::vector<std::thread> threads_;
};

// One FramePipeline per worker over the same geometry and settings (the form-factor table is loaded once);
// analyser() is the pool's Analyse, sharing ownership of the pipelines. A job with a mask other than the one a
// worker's pipeline was built with rebuilds that pipeline, on the worker thread (the cost of one pipeline, once).
class PipelineWorkers {
 public:
  PipelineWorkers(const analysis::Geometry& geometry, const analysis::PipelineSettings& settings, std::size_t workers);
  // With a form-factor table from elsewhere (a run file's record) instead of settings.form_factor_file.
  PipelineWorkers(const analysis::Geometry& geometry, const analysis::PipelineSettings& settings,
                  const analysis::FormFactorTable& table, std::size_t workers);
  AnalysisPool::Analyse analyser() const;
  // The grids a rebuilt pipeline must keep (the run file's, recorded at create): a job whose mask changes them
  // fails. Call before the first job.
  void expect_axes(analysis::AnalysisAxes axes);
  // The run's grids, from a pipeline that has analysed a frame (empty before); call when the pool is idle.
  analysis::AnalysisAxes axes() const;
  std::size_t size() const { return shared_->workers.size(); }

 private:
  struct Worker {
    std::unique_ptr<analysis::FramePipeline> pipeline;
    std::shared_ptr<const std::vector<std::uint8_t>> mask;  // the job mask it was rebuilt with; null: the settings'
  };
  struct Shared {
    analysis::Geometry geometry;
    analysis::PipelineSettings settings;
    analysis::FormFactorTable table;
    analysis::AnalysisAxes expected_axes;
    std::vector<Worker> workers;  // each touched only by its own worker thread
  };
  std::shared_ptr<Shared> shared_;
};

// A run's frame analysis on the pool: jobs the queue cannot take wait in a bounded backlog on the loop (never
// blocking it) and are handed on as results free the queue; every result is posted back to the loop. A job that
// finds the backlog full fails at once (its raw frame is kept as ever, for `insitu reprocess`).
class PooledAnalysis final : public program::FrameAnalysisService {
 public:
  PooledAnalysis(asio::any_io_executor loop, const PipelineWorkers& workers, AnalysisPoolOptions options);
  ~PooledAnalysis() override;  // finishes queued jobs; their results are dropped
  void analyse(AnalysisJob job, Done done) override;
  AnalysisPoolStats stats() const { return pool_.stats(); }

 private:
  void on_result(AnalysisResult result);

  asio::any_io_executor loop_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  struct Backlogged {
    AnalysisJob job;
    AnalysisPool::Clock::time_point requested;
  };
  std::map<std::uint64_t, Done> waiting_;  // by sequence; loop only
  std::deque<Backlogged> backlog_;         // loop only
  std::size_t backlog_capacity_;
  AnalysisPool pool_;
};

// The frame's pixels as the integrator's view of its own pixel type, passed to `fn`.
template <class Fn>
decltype(auto) with_image_view(const detector::Frame& frame, Fn&& fn) {
  return std::visit(
      [&](const auto& pixels) {
        using T = typename std::decay_t<decltype(pixels)>::value_type;
        return fn(analysis::ImageView<T>{std::span<const T>(pixels), frame.height, frame.width});
      },
      frame.pixels);
}

}  // namespace insitu::daemon
