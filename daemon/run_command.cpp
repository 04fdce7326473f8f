#include "daemon/run_command.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <csignal>

#include "daemon/console.hpp"
#include "daemon/host.hpp"
#include "daemon/run_file_sink.hpp"
#include "daemon/storage/run_file.hpp"
#include "daemon/xrd_setup.hpp"
#include "drivers/dhr3/export_watcher.hpp"
#include "drivers/linkam/driver.hpp"
#include "drivers/trigger/driver.hpp"
#include "protocols/run/run.hpp"

namespace insitu::daemon {
namespace {

std::string safe_file_name(std::string_view text) {
  std::string out;
  for (char c : text)
    out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') ? c : '_';
  return out;
}

// The run's folder, removed again when the run never starts (nothing of it would be worth keeping).
class RunDirectory {
 public:
  RunDirectory(const std::filesystem::path& output, const std::string& sample) {
    const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    path_ = output / fmt::format("{:%Y%m%dT%H%M%SZ}-{}", now, safe_file_name(sample));
    for (int n = 2; std::filesystem::exists(path_); ++n)
      path_ = output / fmt::format("{:%Y%m%dT%H%M%SZ}-{}-{}", now, safe_file_name(sample), n);
    std::filesystem::create_directories(path_);
  }
  ~RunDirectory() {
    std::error_code ignored;
    if (!kept_) std::filesystem::remove_all(path_, ignored);
  }
  void keep() { kept_ = true; }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  bool kept_ = false;
};

// The detector side: what the run file must know before SWMR starts, and the analysis pipelines.
struct DetectorSide {
  storage::RunFileLayout layout;
  std::optional<analysis::Geometry> geometry;
  std::optional<analysis::PipelineSettings> analysis;
  std::unique_ptr<PipelineWorkers> pipelines;
};

constexpr std::size_t kAnalysisQueue = 8;  // frames waiting for a worker; more wait in the backlog

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

DetectorSide prepare_detector_side(const recipe::Recipe& recipe, std::size_t workers) {
  DetectorSide side;
  if (!recipe.detector || !recipe.exposures) return side;
  side.geometry = detector_geometry(*recipe.detector);
  side.layout.detector = detector_layout(*recipe.detector, *side.geometry);
  side.layout.detector->sample_calibration = recipe.stage.sample_calibration;
  if (!recipe.analysis || !recipe.analysis->enabled) return side;
  side.analysis = pipeline_settings(recipe);
  side.pipelines = std::make_unique<PipelineWorkers>(*side.geometry, *side.analysis, workers);
  side.layout.analysis =
      analysis_layout(*side.analysis, analysis_axes(*side.pipelines, *side.geometry), *side.geometry);
  side.pipelines->expect_axes(side.layout.analysis->axes);
  return side;
}

// Where each instrument is reached: the simulators' URLs and folders, or the options' and the recipe's.
struct Connections {
  io::ConnectionUrl stage;
  std::string stage_text;
  std::optional<io::ConnectionUrl> trigger;
  std::filesystem::path frames_folder, dma_folder;
};

Connections resolve_connections(const RunOptions& options, const recipe::Recipe& recipe, const Simulation* sim) {
  Connections c;
  if (sim)
    c.stage_text = sim->stage_url();
  else if (options.linkam_url)
    c.stage_text = *options.linkam_url;
  else if (recipe.stage.connection)
    c.stage_text = *recipe.stage.connection;
  else
    throw std::invalid_argument(
        "no stage connection: give --linkam URL, set stage.connection in the recipe, or use --simulate");
  c.stage = io::parse_connection_url(c.stage_text);
  if (recipe.detector && recipe.exposures) {
    c.trigger = io::parse_connection_url(sim ? *sim->trigger_url() : recipe.detector->trigger.connection);
    c.frames_folder = sim ? *sim->frames_folder() : std::filesystem::path(recipe.detector->frames.folder);
  }
  if (recipe.dma) c.dma_folder = sim ? *sim->dma_folder() : std::filesystem::path(recipe.dma->folder);
  return c;
}

trigger::DriverSettings trigger_settings(const recipe::DetectorSpec& detector, io::ConnectionUrl url) {
  trigger::DriverSettings t;
  t.url = std::move(url);
  const auto& spec = detector.trigger;
  t.detector.channel = spec.channel - 'A' + 1;
  t.detector.width_s = spec.pulse_width_s;
  t.detector.polarity =
      spec.polarity == recipe::Polarity::inverted ? trigger::Polarity::inverted : trigger::Polarity::normal;
  if (spec.shutter_channel) t.shutter_channel = *spec.shutter_channel - 'A' + 1;
  t.trigger_latency_s = spec.latency_s;
  return t;
}

program::AcquisitionPlan acquisition_plan_for(const recipe::Recipe& recipe, const Connections& c,
                                              const io::RunClock& clock) {
  auto plan = program::acquisition_plan(recipe, c.frames_folder);
  // Reading out and saving a frame takes the detector computer wall time that no run clock accelerates.
  constexpr double kFileWriteWall_s = 2.0;
  plan.pairing.file_deadline_after_boundary_s =
      std::max(plan.pairing.file_deadline_after_boundary_s, kFileWriteWall_s * clock.speed());
  // The trigger stamp and the simulated detector's time stamp of the same edge are taken on different
  // threads; the wall-clock scheduling jitter between them grows with the run clock's speed.
  constexpr double kStampJitterWall_s = 0.2;
  plan.pairing.max_clock_skew_s = std::max(plan.pairing.max_clock_skew_s, kStampJitterWall_s * clock.speed());
  return plan;
}

storage::RunMetadata run_metadata(const RunOptions& options, const recipe::Recipe& recipe, const io::RunClock& clock,
                                  const Connections& c) {
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
  meta.stage_connection = c.stage_text;
  return meta;
}

std::unique_ptr<dhr3::ExportWatcher> dma_watcher(Host& host, const io::RunClock& clock, const recipe::Recipe& recipe,
                                                 const Connections& c, bool simulated) {
  if (!recipe.dma) return nullptr;
  dhr3::ExportWatcherSettings d;
  d.folder = c.dma_folder;
  d.include_existing = simulated;  // the simulated DHR-3's exports are there before the run
  // No logger of its own: its events reach the log as the run's documents.
  return std::make_unique<dhr3::ExportWatcher>(host.loop(), clock, d);
}

int exit_code(const documents::RunStop& stop, const RunFileSink& file) {
  if (file.error() || stop.exit_status == documents::ExitStatus::incomplete_record) return run_record_incomplete;
  return stop.exit_status == documents::ExitStatus::completed ? run_completed : run_aborted_or_failed;
}

// Everything is prepared and the run file exists: the instruments, the run and its sinks, on the host's loop.
int execute(Host& host, const io::RunClock& clock, program::RunSetup setup, const Connections& c,
            storage::RunFile& file, DetectorSide& side, std::unique_ptr<dhr3::ExportWatcher> dma, RunLogging& logging,
            bool live_status) {
  const auto& recipe = setup.recipe;
  linkam::DriverSettings stage_settings;
  stage_settings.url = c.stage;
  stage_settings.limits = {recipe.stage.min_K, recipe.stage.max_K, recipe.stage.max_rate_K_per_min};
  linkam::Driver stage(clock, stage_settings, logging.logger("insitu.linkam"));
  std::unique_ptr<trigger::Driver> trigger;
  if (c.trigger)
    trigger = std::make_unique<trigger::Driver>(clock, trigger_settings(*recipe.detector, *c.trigger),
                                                logging.logger("insitu.trigger"));
  program::RunInstruments instruments{stage, trigger.get(), host.frame_readers(), nullptr, dma.get()};
  if (side.pipelines)
    instruments.analysis = &host.start_analysis(*side.pipelines, side.pipelines->size(), kAnalysisQueue);

  documents::Dispatcher documents;
  const auto log = logging.logger("insitu.run");
  program::Run run(host.loop(), clock, std::move(setup), instruments, documents, log);
  RunFileSink file_sink(host.loop(), file, side.layout.detector && side.layout.detector->store_frames,
                        [&run](const std::string& error) { run.record_failed("run file: " + error); });
  documents.subscribe([&file_sink](const documents::Document& d) { file_sink(d); });
  documents.subscribe(LogSink(log));
  std::optional<StatusLine> status_line;
  if (live_status) {
    status_line.emplace(host.loop(), run);
    documents.subscribe([&status_line](const documents::Document& d) { (*status_line)(d); });
  }
  documents.on_sink_failure([&run](const std::string& why) { run.record_failed("the run record: " + why); });

  // SIGINT/SIGTERM abort (the stage is put in its safe state first); SIGUSR1 pauses, SIGUSR2 resumes.
  host.on_signal([&run](int signal) {
    if (signal == SIGUSR1)
      run.pause();
    else if (signal == SIGUSR2)
      run.resume();
    else
      run.abort(signal == SIGINT ? "signal SIGINT" : "signal SIGTERM");
  });
  documents::RunStop stop;
  host.run([&]() -> awaitable<void> {
    stop = co_await run.start();
    stage.close();
    if (trigger) trigger->close();
  }());
  if (auto error = file_sink.error()) log->error("run file: {}", *error);
  if (live_status)
    fmt::print("run {} after {:.0f} s of run time; file {}\n", documents::to_string(stop.exit_status), stop.time_s,
               file.path().string());
  return exit_code(stop, file_sink);
}

}  // namespace

int run_recipe(const RunOptions& options, const SimulationSettings& simulation) {
  recipe::Recipe recipe;
  DetectorSide side;
  try {
    recipe = recipe::load_recipe(options.recipe_path);
    side = prepare_detector_side(recipe, std::max<std::size_t>(1, options.analysis_workers));
  } catch (const recipe::RecipeError& e) {
    fmt::print(stderr, "{}\n", e.what());
    return run_not_started;
  } catch (const std::exception& e) {
    fmt::print(stderr, "cannot prepare the detector side: {}\n", e.what());
    return run_not_started;
  }
  const io::RunClock clock(options.speed);
  std::optional<RunDirectory> dir;
  try {
    dir.emplace(options.output.value_or(std::filesystem::path(recipe.output_directory)), recipe.sample.name);
  } catch (const std::exception& e) {
    fmt::print(stderr, "cannot create the run directory: {}\n", e.what());
    return run_not_started;
  }
  const bool live_status = options.live_status.value_or(::isatty(STDOUT_FILENO) == 1);
  RunLogging logging(dir->path() / "run.log", live_status);
  const auto log = logging.logger("insitu.run");
  Host host;
  std::unique_ptr<storage::RunFile> file;
  Connections connections;
  std::unique_ptr<dhr3::ExportWatcher> dma;
  try {
    const Simulation* sim = options.simulate ? &host.start_simulation(clock, recipe, dir->path(), simulation) : nullptr;
    connections = resolve_connections(options, recipe, sim);
    dma = dma_watcher(host, clock, recipe, connections, options.simulate);
    file = storage::RunFile::create(dir->path() / "run.h5", run_metadata(options, recipe, clock, connections), {},
                                    side.layout);
  } catch (const std::exception& e) {
    log->error("the run cannot start: {}", e.what());
    return run_not_started;
  }
  dir->keep();
  log->info("run directory {}", dir->path().string());
  program::RunSetup setup{recipe, {}, std::nullopt, side.analysis};
  setup.start.recipe_path = std::filesystem::absolute(options.recipe_path).string();
  setup.start.program_version = INSITU_VERSION;
  setup.start.instruments = {recipe.stage.model,
                             connections.stage_text,
                             "",
                             connections.frames_folder.string(),
                             connections.dma_folder.string(),
                             options.simulate,
                             options.speed};
  if (connections.trigger) {
    setup.start.instruments.trigger_connection = connections.trigger->to_string();
    setup.acquisition = acquisition_plan_for(recipe, connections, clock);
  }
  return execute(host, clock, std::move(setup), connections, *file, side, std::move(dma), logging, live_status);
}

}  // namespace insitu::daemon
