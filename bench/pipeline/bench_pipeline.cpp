// Frame -> S_eq latency of FramePipeline on the 2048^2 frame written by bench/integration/pyfai_reference.py
// (XRD1621 geometry at 60 keV), per stage, with 1 and 2 integration threads; the G(r) transform alone, the direct
// sine sum (before) beside the chirp-z transform (now); frame -> result latency through the daemon's analysis pool
// (1 and 2 workers, at 1x and under a 10x backlog); and the run-level RunAnalyser::compute() on a 391-frame ramp.
// Usage: bench_pipeline DIR FORM_FACTOR_FILE [NREP]   (DIR holds frame.npy and bench.poni)
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "analysis/pdf/reduction.hpp"
#include "analysis/pipeline/frame_pipeline.hpp"
#include "bench/common/npy.hpp"
#include "daemon/analysis_pool.hpp"

namespace {

using namespace insitu;
using Clock = std::chrono::steady_clock;

double quantile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  const auto k = static_cast<std::size_t>(std::ceil(p * static_cast<double>(v.size()))) - 1;
  return v[std::min(k, v.size() - 1)];
}

using SineTransform = std::vector<double> (*)(std::span<const double>, std::span<const double>, double, double,
                                               std::span<const double>);

// Milliseconds per call of `transform` on the pipeline's F(Q), run by `threads` threads at once (as analysis
// workers would), all calls pooled.
std::vector<double> time_transform(SineTransform transform, const analysis::AnalysisAxes& axes,
                                   const std::vector<double>& f, const analysis::PipelineSettings& s,
                                   std::size_t threads, int calls) {
  std::mutex mutex;
  std::vector<double> ms;
  std::vector<std::thread> workers;
  for (std::size_t t = 0; t < threads; ++t)
    workers.emplace_back([&] {
      for (int i = 0; i < calls; ++i) {
        const auto t0 = Clock::now();
        const auto g = transform(axes.q_reduced_inv_angstrom, f, s.qmin_inv_angstrom, s.qmax_inv_angstrom,
                                 axes.r_angstrom);
        const double elapsed_ms = std::chrono::duration<double>(Clock::now() - t0).count() * 1e3;
        std::lock_guard lock(mutex);
        ms.push_back(elapsed_ms);
      }
    });
  for (auto& w : workers) w.join();
  return ms;
}

// G(r) from the frame's F(Q): the old direct sum and today's transform, timed in the same run, and how far apart
// their results are (relative rms over r > 1 A, the acceptance figure, and the largest |dG|).
void bench_transform(const analysis::AnalysisAxes& axes, const std::vector<double>& f,
                     const analysis::PipelineSettings& s, int nrep) {
  const auto& r = axes.r_angstrom;
  const auto fast = analysis::sine_transform(axes.q_reduced_inv_angstrom, f, s.qmin_inv_angstrom,
                                             s.qmax_inv_angstrom, r);
  const auto direct = analysis::sine_transform_direct(axes.q_reduced_inv_angstrom, f, s.qmin_inv_angstrom,
                                                      s.qmax_inv_angstrom, r);
  double diff2 = 0, ref2 = 0, max_dev = 0;
  for (std::size_t j = 0; j < r.size(); ++j)
    if (r[j] > 1.0) {
      diff2 += (fast[j] - direct[j]) * (fast[j] - direct[j]);
      ref2 += direct[j] * direct[j];
      max_dev = std::max(max_dev, std::fabs(fast[j] - direct[j]));
    }
  const auto q_used = std::count_if(axes.q_reduced_inv_angstrom.begin(), axes.q_reduced_inv_angstrom.end(),
                                    [&](double q) { return q >= s.qmin_inv_angstrom && q <= s.qmax_inv_angstrom; });
  for (const std::size_t threads : {1u, 2u}) {
    const auto before = time_transform(&analysis::sine_transform_direct, axes, f, s, threads, nrep);
    const auto after = time_transform(&analysis::sine_transform, axes, f, s, threads, 10 * nrep);
    std::printf("insitu reduction G(r) transform %zu Q x %zu r threads %zu: before (direct sine sum) median_ms %.2f"
                " | after (chirp-z FFT) median_ms %.3f p99_ms %.3f | %.0fx | relative rms dG (r > 1 A) %.1e max |dG| %.1e\n",
                static_cast<std::size_t>(q_used), r.size(), threads, quantile(before, 0.5), quantile(after, 0.5),
                quantile(after, 0.99), quantile(before, 0.5) / quantile(after, 0.5), std::sqrt(diff2 / ref2), max_dev);
  }
}

struct PoolLayout {
  std::size_t workers, threads;  // analysis workers, integration threads each
};
// 1 x 1 is the daemon's default; 1 x 2 and 2 x 1 use both cores, one frame faster or two frames at once.
constexpr PoolLayout pool_layouts[] = {{1, 1}, {1, 2}, {2, 1}};

struct PoolLatency {
  std::vector<double> result_ms;   // the outcome's latency_s: request -> end of the analysis, every queue included
  std::vector<double> on_loop_ms;  // request -> the result handed to the run on the loop
  daemon::AnalysisPoolStats stats;
};

// `n` frames requested on a loop every `period_ms` through PooledAnalysis (its queue of 8, as a run's; a backlog
// that holds them all, so none is left unanalysed).
PoolLatency pool_latency(const daemon::PipelineWorkers& workers, std::size_t n_workers, const detector::Frame& frame,
                         const std::vector<float>& dark, int n, double period_ms) {
  asio::io_context loop;
  daemon::PooledAnalysis pooled(loop.get_executor(), workers, {n_workers, 8, static_cast<std::size_t>(n)});
  auto shared = std::make_shared<const detector::Frame>(frame);
  auto shared_dark = std::make_shared<const std::vector<float>>(dark);
  PoolLatency out;
  asio::steady_timer timer(loop);
  const auto start = Clock::now();
  int requested = 0;
  std::function<void()> request_next = [&] {
    const auto requested_at = Clock::now();
    const auto sequence = static_cast<std::uint64_t>(requested);
    pooled.analyse({sequence, 12.0 * requested, 300.0, shared, shared_dark}, [&, requested_at](auto outcome) {
      if (!outcome.analysis) throw std::runtime_error("pool: " + outcome.error);
      out.result_ms.push_back(outcome.latency_s * 1e3);
      out.on_loop_ms.push_back(std::chrono::duration<double>(Clock::now() - requested_at).count() * 1e3);
    });
    if (++requested == n) return;
    timer.expires_at(start + std::chrono::duration_cast<Clock::duration>(
                                 std::chrono::duration<double, std::milli>(period_ms * requested)));
    timer.async_wait([&](const boost::system::error_code&) { request_next(); });
  };
  request_next();
  const auto guard = asio::make_work_guard(loop);
  while (out.result_ms.size() < static_cast<std::size_t>(n) && loop.run_one()) {
  }
  out.stats = pooled.stats();
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: bench_pipeline DIR FORM_FACTOR_FILE [NREP]\n";
    return 2;
  }
  const std::string dir = argv[1];
  const int nrep = argc > 3 ? std::stoi(argv[3]) : 20;
  auto image = bench::read_npy_f32(dir + "/frame.npy");
  const auto frame = detector::make_frame(image.height, image.width, std::move(image.pixels));
  auto geometry = analysis::read_poni(dir + "/bench.poni");
  geometry.height = frame.height;
  geometry.width = frame.width;
  const auto& pixels = std::get<std::vector<float>>(frame.pixels);
  const analysis::ImageView<float> view{pixels, frame.height, frame.width};
  const std::vector<float> dark(pixels.size(), 100.0f);

  analysis::PipelineSettings settings;
  settings.form_factor_file = argv[2];
  // The detector corner reaches 22.8 1/A at 0.30 m; the paper's qmax is lower anyway.
  settings.apply("qmaxinst=22");
  settings.apply("qmax=21");
  settings.apply("npt=3000");

  std::map<std::size_t, double> single_frame_median_ms;
  for (const std::size_t threads : {1u, 2u}) {
    settings.integration_threads = threads;
    const auto t0 = Clock::now();
    analysis::FramePipeline pipeline(geometry, settings);
    const double setup_s = std::chrono::duration<double>(Clock::now() - t0).count();
    std::vector<double> total, integrate, reduce, s_eq;
    analysis::FrameAnalysis a;
    for (int i = 0; i < nrep + 2; ++i) {
      a = pipeline.analyse(view, dark, static_cast<std::uint64_t>(i), 300.0);
      if (i < 2) continue;  // first frames: caches (filtered-line response) and page faults
      total.push_back(a.analysis_time_s * 1e3);
      integrate.push_back(pipeline.last_stage_times().integrate_s * 1e3);
      reduce.push_back(pipeline.last_stage_times().reduce_s * 1e3);
      s_eq.push_back(pipeline.last_stage_times().s_eq_s * 1e3);
    }
    single_frame_median_ms[threads] = quantile(total, 0.5);
    std::printf("insitu frame->S_eq threads %zu median_ms %.1f p99_ms %.1f | integrate %.1f reduce %.2f rho0+g+S_eq %.2f"
                " (medians, ms) | setup_s %.2f | nQ %zu nr %zu | S_eq_kB %.4f\n",
                threads, quantile(total, 0.5), quantile(total, 0.99), quantile(integrate, 0.5), quantile(reduce, 0.5),
                quantile(s_eq, 0.5), setup_s, settings.npt, pipeline.axes().r_angstrom.size(), a.s_eq_k_B);
    if (threads == 2) bench_transform(pipeline.axes(), a.reduced_structure_factor, settings, nrep);
  }

  // Frame -> result through the daemon's PooledAnalysis on a loop, as a run uses it.
  for (const auto& layout : pool_layouts) {
    settings.integration_threads = layout.threads;
    const auto single_ms = single_frame_median_ms[layout.threads];
    const daemon::PipelineWorkers workers(geometry, settings, layout.workers);
    for (const bool backlog : {false, true}) {
      // 1x: a 12 s run period compressed to 3 single-frame times, still no queue; 10x: frames come 10x faster
      // than one worker analyses them.
      const double period_ms = backlog ? single_ms / 10 : 3 * single_ms;
      // At 1x, 10x the frames: a p99 of 20 would be their maximum, one scheduler hiccup.
      const int frames = backlog ? nrep : 10 * nrep;
      const auto r = pool_latency(workers, layout.workers, frame, dark, frames, period_ms);
      std::printf("insitu pool %zu worker(s) x %zu thread(s), %s (%d frames, one every %.0f ms): frame->result "
                  "median_ms %.1f p99_ms %.1f | on the loop median_ms %.1f p99_ms %.1f | single-frame median_ms "
                  "%.1f | p99/single %.2f%s | max_queue %zu backlogged %llu\n",
                  layout.workers, layout.threads, backlog ? "10x backlog" : "1x", frames, period_ms,
                  quantile(r.result_ms, 0.5), quantile(r.result_ms, 0.99), quantile(r.on_loop_ms, 0.5),
                  quantile(r.on_loop_ms, 0.99), single_ms, quantile(r.result_ms, 0.99) / single_ms,
                  backlog ? "" : " (goal <= 2)", r.stats.max_queue_depth,
                  static_cast<unsigned long long>(r.stats.backlogged));
    }
  }

  // Run level: 391 frames of a 10 K/min ramp (2 K apart), recomputed as after every frame.
  {
    analysis::RunAnalyser run(settings);
    for (int i = 0; i < 391; ++i) {
      const double T = 93.15 + 2.0 * i;
      run.add({12.0 * i, T, -30.0 + 0.004 * (T - 709) + (T > 709 ? 0.016 * (T - 709) : 0.0) + 0.01 * std::sin(i)});
    }
    std::vector<double> ms;
    for (int i = 0; i < 20; ++i) {
      const auto t0 = Clock::now();
      const auto r = run.compute();
      ms.push_back(std::chrono::duration<double>(Clock::now() - t0).count() * 1e3);
      if (!std::isfinite(r.glass_transition_K)) throw std::runtime_error("run analysis found no T_g");
    }
    std::printf("insitu run analysis (391 frames) median_ms %.2f max_ms %.2f\n", quantile(ms, 0.5), quantile(ms, 1.0));
  }
}
