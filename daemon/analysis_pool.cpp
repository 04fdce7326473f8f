#include "daemon/analysis_pool.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "drivers/io/thread_priority.hpp"

namespace insitu::daemon {
namespace {

double quantile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  const auto k = static_cast<std::size_t>(std::ceil(p * static_cast<double>(v.size()))) - 1;
  const auto it = v.begin() + static_cast<std::ptrdiff_t>(std::min(k, v.size() - 1));
  std::nth_element(v.begin(), it, v.end());
  return *it;
}

}  // namespace

std::size_t AnalysisPool::default_workers() {
  const unsigned n = std::thread::hardware_concurrency();
  return n > 1 ? n - 1 : 1;
}

AnalysisPool::AnalysisPool(AnalysisPoolOptions options, Analyse analyse, Deliver deliver)
    : analyse_(std::move(analyse)), deliver_(std::move(deliver)), capacity_(std::max<std::size_t>(1, options.queue_capacity)) {
  const std::size_t n = options.workers ? options.workers : default_workers();
  stats_.workers = n;
  latencies_.reserve(latency_window);
  threads_.reserve(n);
  for (std::size_t i = 0; i < n; ++i)
    threads_.emplace_back([this, i] {
      io::lower_this_thread_priority();  // the integrator's threads follow it (analysis::WorkerPool)
      run_worker(i);
    });
}

AnalysisPool::~AnalysisPool() { shutdown(true); }

bool AnalysisPool::submit(AnalysisJob job, Clock::time_point requested) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || queue_.size() >= capacity_) {
      ++stats_.backlogged;
      return false;
    }
    queue_.push_back({std::move(job), requested});
    ++stats_.submitted;
    stats_.max_queue_depth = std::max(stats_.max_queue_depth, queue_.size());
  }
  wake_.notify_one();
  return true;
}

void AnalysisPool::wait_idle() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [this] { return queue_.empty() && stats_.in_flight == 0; });
}

void AnalysisPool::shutdown(bool finish_queued) {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    if (!finish_queued) drop_queued_ = true;
  }
  wake_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

AnalysisPoolStats AnalysisPool::stats() const {
  std::lock_guard lock(mutex_);
  AnalysisPoolStats s = stats_;
  s.queue_depth = queue_.size();
  s.median_latency_s = quantile(latencies_, 0.5);
  s.p99_latency_s = quantile(latencies_, 0.99);
  return s;
}

void AnalysisPool::run_worker(std::size_t index) {
  for (;;) {
    Queued item;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (drop_queued_) queue_.clear();
      if (queue_.empty()) {
        idle_.notify_all();
        return;  // stopping and nothing left
      }
      item = std::move(queue_.front());
      queue_.pop_front();
      ++stats_.in_flight;
    }
    AnalysisResult result;
    try {
      result.analysis = analyse_(index, item.job);
    } catch (const std::exception& e) {
      result.error = e.what();
    }
    result.latency_s = std::chrono::duration<double>(Clock::now() - item.requested).count();
    result.job = std::move(item.job);
    const bool failed = !result.analysis.has_value();
    const double latency = result.latency_s;
    deliver_(std::move(result));
    {
      std::lock_guard lock(mutex_);
      --stats_.in_flight;
      ++stats_.completed;
      if (failed) ++stats_.failed;
      stats_.max_latency_s = std::max(stats_.max_latency_s, latency);
      if (latencies_.size() < latency_window) latencies_.push_back(latency);
      else latencies_[latency_next_] = latency;
      latency_next_ = (latency_next_ + 1) % latency_window;
      if (queue_.empty() && stats_.in_flight == 0) idle_.notify_all();
    }
  }
}

PipelineWorkers::PipelineWorkers(const analysis::Geometry& geometry, const analysis::PipelineSettings& settings,
                                 std::size_t workers)
    : PipelineWorkers(geometry, settings, (settings.validate(), analysis::FormFactorTable::load(settings.form_factor_file)),
                      workers) {}

PipelineWorkers::PipelineWorkers(const analysis::Geometry& geometry, const analysis::PipelineSettings& settings,
                                 const analysis::FormFactorTable& table, std::size_t workers)
    : shared_(std::make_shared<Shared>(Shared{geometry, settings, table, {}, {}})) {
  for (std::size_t i = 0; i < std::max<std::size_t>(1, workers); ++i)
    shared_->workers.push_back({std::make_unique<analysis::FramePipeline>(geometry, settings, table), nullptr});
}

void PipelineWorkers::expect_axes(analysis::AnalysisAxes axes) { shared_->expected_axes = std::move(axes); }

AnalysisPool::Analyse PipelineWorkers::analyser() const {
  return [shared = shared_](std::size_t worker, const AnalysisJob& job) {
    if (!job.frame) throw std::invalid_argument("analysis job " + std::to_string(job.sequence) + " has no frame");
    auto& w = shared->workers.at(worker);
    if (job.mask && job.mask != w.mask) {
      auto settings = shared->settings;
      settings.mask = *job.mask;
      w.pipeline = std::make_unique<analysis::FramePipeline>(shared->geometry, std::move(settings), shared->table);
      w.mask = job.mask;
    }
    const std::span<const float> dark = job.dark ? std::span<const float>(*job.dark) : std::span<const float>();
    auto result = with_image_view(
        *job.frame, [&](const auto& view) { return w.pipeline->analyse(view, dark, job.sequence, job.temperature_K); });
    if (w.mask && !shared->expected_axes.q_inv_angstrom.empty()) {
      // The grid is fixed by geometry and range (range_includes_masked), but a mask that empties a whole bin
      // shortens the reduced Q grid.
      const auto axes = w.pipeline->axes();
      const auto& e = shared->expected_axes;
      if (axes.q_inv_angstrom != e.q_inv_angstrom || axes.q_reduced_inv_angstrom != e.q_reduced_inv_angstrom ||
          axes.r_angstrom != e.r_angstrom)
        throw std::runtime_error(fmt::format(
            "frame {}: the static mask ({} pixels) changes the analysis grids the run file records (it empties "
            "integration bins): reduced Q has {} points, the run file's {}",
            job.sequence, std::count_if(job.mask->begin(), job.mask->end(), [](auto m) { return m != 0; }),
            axes.q_reduced_inv_angstrom.size(), e.q_reduced_inv_angstrom.size()));
    }
    return result;
  };
}

analysis::AnalysisAxes PipelineWorkers::axes() const {
  for (const auto& w : shared_->workers) {
    auto a = w.pipeline->axes();
    if (!a.q_inv_angstrom.empty()) return a;
  }
  return {};
}

PooledAnalysis::PooledAnalysis(asio::any_io_executor loop, const PipelineWorkers& workers, AnalysisPoolOptions options)
    : loop_(std::move(loop)),
      backlog_capacity_(options.backlog_capacity),
      pool_(options, workers.analyser(), [this, alive = alive_](AnalysisResult&& result) {
        asio::post(loop_, [this, alive, result = std::move(result)]() mutable {
          if (*alive) on_result(std::move(result));
        });
      }) {}

PooledAnalysis::~PooledAnalysis() {
  *alive_ = false;
  pool_.shutdown(true);
}

void PooledAnalysis::analyse(AnalysisJob job, Done done) {
  const auto requested = AnalysisPool::Clock::now();
  if (backlog_.size() >= backlog_capacity_) {
    auto error = fmt::format("not analysed inline: {} frames already wait for an analysis worker (frames come faster "
                             "than the workers analyse them); insitu reprocess can analyse it later",
                             backlog_.size());
    asio::post(loop_, [done = std::move(done), sequence = job.sequence, error = std::move(error)] {
      done(program::AnalysisOutcome{sequence, std::nullopt, error, 0.0});
    });
    return;
  }
  waiting_.emplace(job.sequence, std::move(done));
  if (!backlog_.empty() || !pool_.submit(job, requested)) backlog_.push_back({std::move(job), requested});
}

void PooledAnalysis::on_result(AnalysisResult result) {
  while (!backlog_.empty() && pool_.submit(backlog_.front().job, backlog_.front().requested)) backlog_.pop_front();
  auto waiting = waiting_.extract(result.job.sequence);
  if (waiting.empty()) return;
  waiting.mapped()(program::AnalysisOutcome{result.job.sequence, std::move(result.analysis), std::move(result.error),
                                            result.latency_s});
}

}  // namespace insitu::daemon
