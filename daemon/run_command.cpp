#include "daemon/run_command.hpp"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <deque>
#include <fstream>
#include <mutex>
#include <cstdio>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "daemon/acquisition.hpp"
#include "daemon/analysis_pool.hpp"
#include "daemon/storage/dma_entry.hpp"
#include "daemon/storage/run_file.hpp"
#include "daemon/xrd_setup.hpp"
#include "drivers/detector/sim/detector_simulator.hpp"
#include "drivers/dhr3/export_watcher.hpp"
#include "drivers/dhr3/simulator.hpp"
#include "drivers/linkam/sim/temperature_history.hpp"
#include "drivers/trigger/driver.hpp"
#include "drivers/trigger/sim/background_trigger.hpp"
#include "drivers/io/clock.hpp"
#include "drivers/io/thread_priority.hpp"
#include "drivers/linkam/driver.hpp"
#include "drivers/linkam/sim/background_stage.hpp"
#include "protocols/engine/engine.hpp"
#include "protocols/recipe/recipe.hpp"

namespace insitu::daemon {
namespace {

std::string safe_file_name(std::string_view text) {
  std::string out;
  for (char c : text) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') ? c : '_';
  return out;
}

std::filesystem::path make_run_directory(const std::filesystem::path& output, const std::string& sample) {
  const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  auto dir = output / fmt::format("{:%Y%m%dT%H%M%SZ}-{}", now, safe_file_name(sample));
  for (int n = 2; std::filesystem::exists(dir); ++n)
    dir = output / fmt::format("{:%Y%m%dT%H%M%SZ}-{}-{}", now, safe_file_name(sample), n);
  std::filesystem::create_directories(dir);
  return dir;
}

// Console log lines that first clear the live status line, so the two never share a row of the terminal.
class StatusAwareConsoleSink final : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    std::fputs("\r\033[K", stderr);
    std::fwrite(formatted.data(), 1, formatted.size(), stderr);
  }
  void flush_() override { std::fflush(stderr); }
};

// Samples and events go to the run file (its own thread) as they happen.
// The stage log is also kept in memory (on the loop) for the exposure windows.
class RunRecorder final : public program::RunObserver {
 public:
  RunRecorder(storage::RunFile& file, StageLog& log) : file_(file), log_(log) {}
  void on_sample(const program::StageSample& s) override {
    file_.append(storage::TemperatureSample{s.time_s, s.time_uncertainty_s, s.temperature_K, s.setpoint_K,
                                            s.status_byte, s.error_byte, s.pump_byte});
    log_.time_s.push_back(s.time_s);
    log_.time_uncertainty_s.push_back(s.time_uncertainty_s);
    log_.value_K.push_back(s.temperature_K);
    log_.setpoint_K.push_back(s.setpoint_K);
  }
  void on_event(const program::ProgramEvent& e) override {
    file_.append(storage::RunEvent{e.time_s, e.kind, e.message});
  }
  void on_driver_event(double time_s, const std::string& kind, const std::string& message) {
    file_.append(storage::RunEvent{time_s, kind, message});
  }

 private:
  storage::RunFile& file_;
  StageLog& log_;
};

double unix_s(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

// The simulated detector side: a BNC 575 behind a pty whose channel-A pulses read out the simulated XRD1621,
// which renders on its own thread (≈150 ms a full frame) into a folder the daemon watches like a real share.
class SimulatedDetector {
 public:
  SimulatedDetector(const io::RunClock& clock, const recipe::Recipe& recipe, const std::filesystem::path& run_dir,
                    linkam::sim::BackgroundStage& stage, std::uint64_t seed,
                    const std::vector<SimulatedFileFault>& faults)
      : stage_(stage), frames_dir_(run_dir / "detector-sim"), trigger_link_(run_dir / "ttyBNC-sim") {
    std::filesystem::create_directories(frames_dir_);
    // Rendering is the heavy part of the simulation: below the loop and the simulated delay generator, which must
    // answer at once, but above the analysis, which may lag (the detector computer of a real setup is its own).
    asio::post(render_thread_, [] { io::lower_this_thread_priority(5); });
    stage.with_model([this](auto& model) {
      model.set_recorder(&history_);
      return 0;
    });
    const auto& d = *recipe.detector;
    detector::sim::DetectorSimConfig config;
    config.poni_path = *d.geometry;
    config.form_factor_path = form_factor_table_path();
    config.binning = static_cast<std::size_t>(d.settings.binning);
    config.subframes = d.settings.subframes;
    config.seed = seed;
    // The simulated detector PC's clock is in step with this computer's: UTC origin + run time.
    detector_ = std::make_unique<detector::sim::DetectorSimulator>(
        config, frames_dir_, d.frames.pattern, [this](double t0, double t1) { return history_.mean_K(t0, t1); },
        unix_s(clock.utc_origin()), d.frames.first_index);
    for (const auto& f : faults) detector_->inject_fault(f.frame, f.fault, f.value_s);
    detector_->arm(0.0);
    trigger_ = std::make_unique<trigger::sim::BackgroundTrigger>(
        clock, trigger_link_, trigger::EmulatorConfig{}, [this](const trigger::PulseEvent& pulse) {
          // Channel B is the shutter line (closed = inverted polarity); channel A reads a frame out.
          asio::post(render_thread_, [this, pulse] {
            if (pulse.channel == 2) detector_->set_shutter_open(pulse.polarity == trigger::Polarity::normal);
            if (pulse.channel == 1) detector_->on_pulse(pulse.edge_s);
          });
        });
  }
  ~SimulatedDetector() {
    trigger_.reset();
    render_thread_.join();
    stage_.with_model([](auto& model) {
      model.set_recorder(nullptr);
      return 0;
    });
  }
  std::string trigger_url() const { return "pty:" + trigger_link_.string(); }
  const std::filesystem::path& frames_dir() const { return frames_dir_; }

 private:
  linkam::sim::BackgroundStage& stage_;
  std::filesystem::path frames_dir_, trigger_link_;
  linkam::sim::TemperatureHistory history_;
  asio::thread_pool render_thread_{1};
  std::unique_ptr<detector::sim::DetectorSimulator> detector_;
  std::unique_ptr<trigger::sim::BackgroundTrigger> trigger_;
};

// Early in a run the smoothing and T_g have too few points and come back empty; the file's run-level curves keep
// one value per frame all the same (NaN until they can be computed).
analysis::RunAnalysis aligned(analysis::RunAnalysis run) {
  const auto n = run.temperature_K.size();
  for (auto* curve : {&run.s_eq_smoothed_J_per_mol_K, &run.ds_eq_dT_J_per_mol_K2, &run.delta_phi_W_per_mol})
    if (curve->size() != n) curve->assign(n, std::nan(""));
  return run;
}

// The analysis grids are known once a pipeline has seen a frame; a blank one is enough to set them.
analysis::AnalysisAxes analysis_axes(PipelineWorkers& workers, const analysis::Geometry& geometry) {
  AnalysisJob job;
  job.frame = std::make_shared<detector::Frame>(detector::make_frame(
      geometry.height, geometry.width, std::vector<float>(geometry.height * geometry.width, 1000.0f)));
  try {
    workers.analyser()(0, job);
  } catch (const std::exception&) {
    // A flat frame may not reduce to a sensible PDF; the grids are set all the same.
  }
  return workers.axes();
}

std::string format_duration(double s) {
  const auto total = static_cast<long>(std::max(0.0, s));
  return fmt::format("{}:{:02d}:{:02d}", total / 3600, (total / 60) % 60, total % 60);
}

}  // namespace

int run_recipe(const RunOptions& options) {
  recipe::Recipe recipe;
  try {
    recipe = recipe::load_recipe(options.recipe_path);
  } catch (const recipe::RecipeError& e) {
    fmt::print(stderr, "{}\n", e.what());
    return 2;
  }

  const io::RunClock clock(options.speed);
  const auto output = options.output.value_or(std::filesystem::path(recipe.output_directory));
  const auto run_dir = make_run_directory(output, recipe.sample.name);

  auto file_sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>((run_dir / "run.log").string());
  const bool live_status = options.live_status.value_or(::isatty(STDOUT_FILENO) == 1);
  // On a terminal the status line carries progress, so only warnings and faults are logged there.
  spdlog::sink_ptr console;
  if (live_status) console = std::make_shared<StatusAwareConsoleSink>();
  else console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  console->set_level(live_status ? spdlog::level::warn : spdlog::level::info);
  auto make_logger = [&](const std::string& name) {
    auto logger = std::make_shared<spdlog::logger>(name, spdlog::sinks_init_list{console, file_sink});
    logger->set_level(spdlog::level::debug);
    logger->flush_on(spdlog::level::info);
    return logger;
  };
  auto log = make_logger("insitu.run");

  std::unique_ptr<linkam::sim::BackgroundStage> simulator;
  std::string url_text;
  if (options.simulate) {
    simulator = std::make_unique<linkam::sim::BackgroundStage>(clock, run_dir / "ttyLinkam-sim");
    url_text = simulator->url();
  } else if (options.linkam_url) {
    url_text = *options.linkam_url;
  } else if (recipe.stage.connection) {
    url_text = *recipe.stage.connection;
  } else {
    log->error("no stage connection: give --linkam URL, set stage.connection in the recipe, or use --simulate");
    return 2;
  }

  linkam::DriverSettings driver_settings;
  try {
    driver_settings.url = io::parse_connection_url(url_text);
  } catch (const std::invalid_argument& e) {
    log->error("{}", e.what());
    return 2;
  }
  driver_settings.limits = {recipe.stage.min_K, recipe.stage.max_K, recipe.stage.max_rate_K_per_min};

  // The detector side: everything the run file must know before SWMR starts, and the analysis workers.
  const bool exposures = recipe.detector && recipe.exposures;
  const bool analysing = exposures && recipe.analysis && recipe.analysis->enabled;
  storage::RunFileLayout layout;
  std::optional<analysis::Geometry> geometry;
  std::unique_ptr<PipelineWorkers> pipelines;
  std::optional<analysis::PipelineSettings> analysis_settings;
  constexpr std::size_t kAnalysisWorkers = 1;  // the other core renders (simulation) and writes frames
  try {
    if (exposures) {
      geometry = detector_geometry(*recipe.detector);
      layout.detector = detector_layout(*recipe.detector, *geometry);
      layout.detector->sample_calibration = recipe.stage.sample_calibration;
    }
    if (analysing) {
      analysis_settings = pipeline_settings(recipe);
      pipelines = std::make_unique<PipelineWorkers>(*geometry, *analysis_settings, kAnalysisWorkers);
      layout.analysis = analysis_layout(*analysis_settings, analysis_axes(*pipelines, *geometry), *geometry);
      pipelines->expect_axes(layout.analysis->axes);
    }
  } catch (const std::exception& e) {
    log->error("cannot prepare the detector side: {}", e.what());
    return 2;
  }
  std::unique_ptr<SimulatedDetector> simulated_detector;
  if (exposures && options.simulate)
    simulated_detector = std::make_unique<SimulatedDetector>(clock, recipe, run_dir, *simulator, options.sim_seed,
                                                             options.detector_faults);

  storage::RunMetadata meta;
  meta.program_version = INSITU_VERSION;
  meta.recipe_name = recipe.name;
  meta.recipe_path = std::filesystem::absolute(options.recipe_path).string();
  meta.recipe_text = recipe.text;
  meta.sample_name = recipe.sample.name;
  meta.sample_composition = recipe.sample.composition;
  meta.sample_treatment = recipe.sample.treatment;
  meta.sample_description = recipe.sample.description;
  meta.start_time_iso = clock.iso8601_at(0.0);
  meta.clock_speed = options.speed;
  meta.simulated = options.simulate;
  meta.stage_model = recipe.stage.model;
  meta.stage_connection = url_text;
  std::unique_ptr<storage::RunFile> run_file;
  try {
    run_file = storage::RunFile::create(run_dir / "run.h5", meta, {}, layout);
  } catch (const std::exception& e) {
    log->error("cannot create the run file: {}", e.what());
    return 2;
  }
  log->info("run directory {}", run_dir.string());

  asio::io_context io;
  linkam::Driver stage(clock, driver_settings, make_logger("insitu.linkam"));
  StageLog stage_log;
  RunRecorder recorder(*run_file, stage_log);
  const auto driver_event = [&](double t, const std::string& kind, const std::string& message) {
    recorder.on_driver_event(t, kind, message);
  };
  stage.set_event_handler(driver_event);

  std::unique_ptr<trigger::Driver> trigger_driver;
  std::unique_ptr<Acquisition> acquisition;
  if (exposures) {
    trigger::DriverSettings t;
    try {
      t.url = io::parse_connection_url(simulated_detector ? simulated_detector->trigger_url()
                                                          : recipe.detector->trigger.connection);
    } catch (const std::invalid_argument& e) {
      log->error("{}", e.what());
      return 2;
    }
    const auto& spec = recipe.detector->trigger;
    t.detector.channel = spec.channel - 'A' + 1;
    t.detector.width_s = spec.pulse_width_s;
    t.detector.polarity = spec.polarity == recipe::Polarity::inverted ? trigger::Polarity::inverted
                                                                      : trigger::Polarity::normal;
    if (spec.shutter_channel) t.shutter_channel = *spec.shutter_channel - 'A' + 1;
    t.trigger_latency_s = spec.latency_s;
    trigger_driver = std::make_unique<trigger::Driver>(clock, t, make_logger("insitu.trigger"));
    trigger_driver->set_event_handler(driver_event);
    const auto frames_dir = simulated_detector ? simulated_detector->frames_dir()
                                               : std::filesystem::path(recipe.detector->frames.folder);
    auto plan = acquisition_plan(recipe, frames_dir);
    // Reading out and saving a frame takes the detector computer wall time that no run clock accelerates.
    constexpr double kFileWriteWall_s = 2.0;
    plan.pairing.file_deadline_after_boundary_s =
        std::max(plan.pairing.file_deadline_after_boundary_s, kFileWriteWall_s * clock.speed());
    // The trigger stamp and the simulated detector's time stamp of the same edge are taken on different
    // threads; the wall-clock scheduling jitter between them grows with the run clock's speed.
    constexpr double kStampJitterWall_s = 0.2;
    plan.pairing.max_clock_skew_s = std::max(plan.pairing.max_clock_skew_s, kStampJitterWall_s * clock.speed());
    acquisition = std::make_unique<Acquisition>(io, clock, *trigger_driver, *run_file, stage_log, std::move(plan),
                                                make_logger("insitu.frames"));
  }

  // Frames are analysed on the pool as they come in; a full queue keeps them in a backlog, never the loop.
  std::unique_ptr<analysis::RunAnalyser> run_analyser;
  std::unique_ptr<AnalysisPool> pool;
  std::deque<AnalysisJob> backlog;
  std::shared_ptr<const std::vector<std::uint32_t>> dark_pixel_mask;  // the darks' bits static_mask was made from
  std::shared_ptr<const std::vector<std::uint8_t>> static_mask;       // the recipe's mask OR the darks' bad pixels
  std::size_t analysis_failures = 0;
  if (analysing) {
    run_analyser = std::make_unique<analysis::RunAnalyser>(*analysis_settings);
    pool = std::make_unique<AnalysisPool>(
        AnalysisPoolOptions{kAnalysisWorkers, 8}, pipelines->analyser(), [&](AnalysisResult&& result) {
          std::string error = result.error;
          if (result.analysis) {
            try {
              run_file->append(*result.analysis);
              run_analyser->add({result.job.time_s, result.job.temperature_K, result.analysis->s_eq_J_per_mol_K});
              run_file->update(aligned(run_analyser->compute()));
            } catch (const std::exception& e) {
              error = e.what();
            }
          }
          asio::post(io, [&, sequence = result.job.sequence, error] {
            if (!error.empty()) {
              ++analysis_failures;
              recorder.on_driver_event(clock.now_s(), "warning",
                                       fmt::format("analysis of frame {} failed: {}", sequence, error));
            }
            while (!backlog.empty() && pool->submit(backlog.front())) backlog.pop_front();
          });
        });
    acquisition->set_frame_handler([&](AcquiredFrame frame) {
      // Data frames come after the darks: the first one with the darks' bad pixels sets the analysis mask.
      if (frame.pixel_mask && frame.pixel_mask != dark_pixel_mask) {
        dark_pixel_mask = frame.pixel_mask;
        auto mask = analysis_mask(analysis_settings->mask, *dark_pixel_mask);
        static_mask = std::make_shared<const std::vector<std::uint8_t>>(mask);
        run_file->set_analysis_mask(std::move(mask));
      }
      // The analysis runs on the sample's temperature, as the run file's T_sample_mean records it.
      const double mean_K = recipe.stage.sample_calibration
                                ? recipe.stage.sample_calibration->sample_K(frame.record.temperature.mean_K)
                                : frame.record.temperature.mean_K;
      AnalysisJob job{frame.record.sequence, 0.5 * (frame.record.start_s + frame.record.stop_s), mean_K,
                      frame.frame, frame.dark_median, static_mask};
      if (!backlog.empty() || !pool->submit(job)) backlog.push_back(std::move(job));
    });
  }

  std::unique_ptr<dhr3::ExportWatcher> dma_watcher;
  if (recipe.dma) {
    dhr3::ExportWatcherSettings d;
    d.folder = recipe.dma->folder;
    if (options.simulate) {
      // The simulated DHR-3 has already measured the sweep: its TRIOS exports wait in the folder.
      d.folder = run_dir / "dhr3-sim";
      d.include_existing = true;
      std::filesystem::create_directories(d.folder);
      const auto sweep = dhr3::simulate_sweep(dhr3::paper_sweep(recipe.dma->geometry == recipe::DmaGeometry::torsion
                                                                    ? dhr3::SimGeometry::torsion
                                                                    : dhr3::SimGeometry::three_point_bending));
      std::ofstream(d.folder / "dma_sweep_lims.txt", std::ios::binary) << dhr3::write_lims(sweep);
      std::ofstream(run_dir / "dhr3-sim-truth.json", std::ios::binary) << dhr3::ground_truth_json(sweep);
    }
    try {
      dma_watcher = std::make_unique<dhr3::ExportWatcher>(io.get_executor(), clock, d, make_logger("insitu.dma"));
    } catch (const std::exception& e) {
      log->error("cannot watch the DMA export folder: {}", e.what());
      return 2;
    }
    dma_watcher->on_event([&](dhr3::ExportEventKind kind, const std::string& message) {
      recorder.on_driver_event(clock.now_s(), kind == dhr3::ExportEventKind::ingested ? "info" : "warning", message);
    });
  }
  program::Engine engine(clock, stage, recipe, recorder, log);

  // SIGINT/SIGTERM abort (the engine secures the stage first); SIGUSR1 pauses, SIGUSR2 resumes.
  asio::signal_set signals(io, SIGINT, SIGTERM, SIGUSR1);
  signals.add(SIGUSR2);
  std::function<void(const boost::system::error_code&, int)> on_signal = [&](const boost::system::error_code& ec,
                                                                             int signo) {
    if (ec) return;
    if (signo == SIGUSR1) engine.pause();
    else if (signo == SIGUSR2) engine.resume();
    else engine.abort(fmt::format("signal {}", signo == SIGINT ? "SIGINT" : "SIGTERM"));
    signals.async_wait(on_signal);
  };
  signals.async_wait(on_signal);

  program::RunState outcome = program::RunState::failed;
  bool finished = false;
  bool program_over = false;
  bool acquisition_done = !acquisition;
  // Exposures follow the program: on while it is in a segment the recipe exposes.
  const auto exposing = [&] {
    const auto p = engine.progress();
    return p.state == program::RunState::running && p.segment_index < recipe.program.size() &&
           recipe.program[p.segment_index].exposed;
  };
  const auto stop_requested = [&] {
    const auto state = engine.progress().state;
    return state == program::RunState::aborted || state == program::RunState::failed ||
           (program_over && outcome != program::RunState::completed);
  };
  asio::co_spawn(
      io,
      [&]() -> awaitable<void> {
        try {
          co_await stage.connect();
          if (trigger_driver) {
            co_await trigger_driver->connect();
            asio::co_spawn(io, acquisition->run(exposing, [&] { return program_over; }, stop_requested),
                           [&](std::exception_ptr error) {
                             if (error) {
                               try {
                                 std::rethrow_exception(error);
                               } catch (const std::exception& e) {
                                 recorder.on_driver_event(clock.now_s(), "fault",
                                                          fmt::format("acquisition stopped: {}", e.what()));
                                 engine.abort("acquisition stopped");
                               }
                             }
                             acquisition_done = true;
                           });
          }
          if (dma_watcher) asio::co_spawn(io, dma_watcher->run(), asio::detached);
          outcome = co_await engine.run();
          program_over = true;
          // Darks after the program still need the stage temperature over their windows: keep logging it.
          while (!acquisition_done) {
            if (auto reading = co_await stage.read_status()) {
              const auto& st = reading->status;
              recorder.on_sample({reading->time_s, reading->time_uncertainty_s, st.temperature_K, std::nan(""),
                                  st.status_byte, st.error_byte, st.pump_byte});
            }
            co_await clock.sleep_for(recipe.stage.poll_interval_s);
          }
          if (trigger_driver) co_await trigger_driver->shutdown();
        } catch (const std::exception& e) {
          log->error("{}", e.what());
          run_file->append(storage::RunEvent{clock.now_s(), "fault", e.what()});
          engine.abort(e.what());
        }
        program_over = true;
        if (dma_watcher) dma_watcher->stop();
        finished = true;
        signals.cancel();
      },
      asio::detached);

  // Watch the writer (a full disk stops the run: the stage is secured, what was flushed stays) and draw
  // the live status line, both on the loop.
  asio::steady_timer status_timer(io);
  std::function<void(const boost::system::error_code&)> on_status = [&](const boost::system::error_code& ec) {
    if (ec || finished) return;
    if (auto error = run_file->error()) engine.abort(fmt::format("run file error: {}", *error));
    if (live_status) {
      const auto p = engine.progress();
      fmt::print("\r\033[K[{}] {}/{} {} | T {} K | setpoint {:.2f} K | elapsed {} | ETA {}",
                 program::to_string(p.state), p.segment_index + 1, p.segment_count, p.segment_label,
                 p.temperature_K ? fmt::format("{:.2f}", *p.temperature_K) : "--", p.setpoint_K,
                 format_duration(p.time_s), format_duration(p.eta_s));
      std::fflush(stdout);
    }
    status_timer.expires_after(std::chrono::milliseconds(200));
    status_timer.async_wait(on_status);
  };
  status_timer.expires_after(std::chrono::milliseconds(200));
  status_timer.async_wait(on_status);

  io.run();
  if (live_status) fmt::print("\n");
  stage.close();
  if (trigger_driver) trigger_driver->close();

  std::optional<double> glass_transition_K;
  if (pool) {
    pool->shutdown(true);
    // Frames the pool could not take during the run are analysed now, before the file closes; a frame that fails
    // is reported as during the run and the file still gets finished.
    for (auto& job : backlog) {
      try {
        auto result = pipelines->analyser()(0, job);
        run_file->append(result);
        run_analyser->add({job.time_s, job.temperature_K, result.s_eq_J_per_mol_K});
      } catch (const std::exception& e) {
        ++analysis_failures;
        recorder.on_driver_event(clock.now_s(), "warning",
                                 fmt::format("analysis of frame {} failed: {}", job.sequence, e.what()));
      }
    }
    try {
      const auto final_analysis = aligned(run_analyser->compute());
      run_file->update(final_analysis);
      if (std::isfinite(final_analysis.glass_transition_K)) glass_transition_K = final_analysis.glass_transition_K;
      log->info("analysis: {} frames ({} failed), T_g {}", run_analyser->size(), analysis_failures,
                glass_transition_K ? fmt::format("{:.1f} K ({:.1f}..{:.1f} K)", *glass_transition_K,
                                                 final_analysis.glass_transition_low_K,
                                                 final_analysis.glass_transition_high_K)
                                   : std::string("not found"));
    } catch (const std::exception& e) {
      recorder.on_driver_event(clock.now_s(), "error", fmt::format("run analysis failed: {}", e.what()));
      log->error("run analysis failed: {}", e.what());
    }
  }
  if (dma_watcher && !dma_watcher->ingested().empty()) {
    run_file->at_finish([exports = dma_watcher->ingested(), glass_transition_K](const storage::h5::Handle& file) {
      // The watcher only parsed the exports: they are fitted here, where the entry is written.
      storage::write_dma_entry(file, storage::analyse_exports(exports, dma::cu_zr_glass_settings()),
                               glass_transition_K);
    });
  }
  if (acquisition) {
    const auto a = acquisition->stats();
    log->info("frames: {} data, {} dark, {} missing, {} unreadable, {} discarded, {} orphans; {} triggers ({} uncertain)",
              a.data_frames, a.dark_frames, a.missing, a.truncated, a.discarded, a.orphans, a.boundaries,
              a.uncertain_boundaries);
  }

  const std::string status{program::to_string(outcome)};
  run_file->finish(clock.now_s(), status);
  if (auto error = run_file->error()) log->error("run file: {}", *error);
  const auto outcome_line =
      fmt::format("run {} after {:.0f} s of run time; file {}", status, clock.now_s(), run_file->path().string());
  log->info("{}", outcome_line);
  if (live_status) fmt::print("{}\n", outcome_line);
  return outcome == program::RunState::completed ? 0 : 1;
}

}  // namespace insitu::daemon
