#include "daemon/run_session.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/sinks/basic_file_sink.h>

#include <chrono>
#include <cmath>
#include <limits>

#include "daemon/console.hpp"
#include "daemon/disk_space_watch.hpp"
#include "daemon/run_file_sink.hpp"
#include "daemon/storage/run_file.hpp"
#include "daemon/xrd_setup.hpp"
#include "drivers/dhr3/export_watcher.hpp"
#include "drivers/linkam/driver.hpp"
#include "drivers/tango/attribute_reader.hpp"
#include "drivers/trigger/driver.hpp"

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
  // A directory a run already has (one being resumed): never removed.
  explicit RunDirectory(std::filesystem::path existing) : path_(std::move(existing)), kept_(true) {}
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

Connections resolve_connections(const SessionSettings& settings, const recipe::Recipe& recipe,
                                const Simulation* sim) {
  Connections c;
  if (sim)
    c.stage_text = sim->stage_url();
  else if (settings.linkam_url)
    c.stage_text = *settings.linkam_url;
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

storage::RunMetadata run_metadata(const SessionSettings& settings, const recipe::Recipe& recipe,
                                  const io::RunClock& clock, const Connections& c, bool simulated) {
  storage::RunMetadata meta;
  meta.program_version = INSITU_VERSION;
  meta.recipe_name = recipe.name;
  meta.recipe_path = settings.recipe_source;
  meta.recipe_text = recipe.text;
  meta.sample_name = recipe.sample.name;
  meta.sample_composition = recipe.sample.composition;
  meta.sample_treatment = recipe.sample.treatment;
  meta.sample_description = recipe.sample.description;
  if (const auto& state = recipe.sample.state)
    meta.sample_state = storage::SampleStateRecord{
        state->label, std::string(recipe::to_string(state->deformation)), state->rotations,
        state->deformation_temperature_K.value_or(std::numeric_limits<double>::quiet_NaN()),
        state->storage_temperature_K};
  meta.start_time_iso = clock.iso8601_at(0.0);
  meta.clock_speed = clock.speed();
  meta.simulated = simulated;
  meta.stage_model = recipe.stage.model;
  meta.stage_connection = c.stage_text;
  return meta;
}

// A resumed run (`resumed_from`: when its first part started) takes again the exports saved since then: the first
// part kept them only in memory, for the run file's end.
std::unique_ptr<dhr3::ExportWatcher> dma_watcher(
    Host& host, const io::RunClock& clock, const recipe::Recipe& recipe, const Connections& c, bool simulated,
    std::optional<std::chrono::system_clock::time_point> resumed_from = std::nullopt) {
  if (!recipe.dma) return nullptr;
  dhr3::ExportWatcherSettings d;
  d.folder = c.dma_folder;
  d.include_existing = simulated;  // the simulated DHR-3's exports are there before the run
  d.include_existing_since = resumed_from;
  // No logger of its own: its events reach the log as the run's documents.
  return std::make_unique<dhr3::ExportWatcher>(host.loop(), host.background(), clock, d);
}

SessionEnd session_end(const documents::RunStop& stop, const RunFileSink& file) {
  if (file.error() || stop.exit_status == documents::ExitStatus::incomplete_record)
    return SessionEnd::record_incomplete;
  switch (stop.exit_status) {
    case documents::ExitStatus::completed:
      return SessionEnd::completed;
    case documents::ExitStatus::completed_with_deviations:
      return SessionEnd::completed_with_deviations;
    default:
      return SessionEnd::aborted_or_failed;
  }
}

std::shared_ptr<spdlog::logger> make_logger(const std::string& name, const std::vector<spdlog::sink_ptr>& sinks) {
  auto logger = std::make_shared<spdlog::logger>(name, sinks.begin(), sinks.end());
  logger->set_level(spdlog::level::debug);
  logger->flush_on(spdlog::level::info);
  return logger;
}

// A tango suspender's attribute, read on the host's thread for blocking clients.
class TangoSignal final : public program::ExternalSignal {
 public:
  TangoSignal(asio::any_io_executor blocking, const recipe::Suspender& spec)
      : reader_(std::move(blocking), spec.attribute, spec.timeout_s) {}
  void read(std::function<void(program::SignalValue)> done) override {
    reader_.read([done = std::move(done)](tango::AttributeRead r) { done({r.value, std::move(r.error)}); });
  }

 private:
  tango::AttributeReader reader_;
};

}  // namespace

struct RunSession::Impl {
  Host& host;
  const io::RunClock& clock;
  SessionSettings settings;
  DetectorSide side;
  std::optional<RunDirectory> dir;
  std::vector<spdlog::sink_ptr> log_sinks;
  std::shared_ptr<spdlog::logger> log;
  Connections connections;
  std::unique_ptr<dhr3::ExportWatcher> dma;
  std::unique_ptr<storage::RunFile> file;
  std::filesystem::path file_path;
  program::RunSetup setup;
  std::vector<documents::Sink> extra_sinks;
  // What execute() builds lives until the session goes, so that completions still in flight when the run has
  // stopped (cancelled reads and timers) find it alive.
  std::unique_ptr<linkam::Driver> stage;
  std::unique_ptr<trigger::Driver> trigger;
  documents::Dispatcher documents;
  std::unique_ptr<program::Run> run;
  std::unique_ptr<RunFileSink> file_sink;
  std::unique_ptr<bluesky::DocumentSink> bluesky_sink;
  std::unique_ptr<DiskSpaceWatch> disk_watch;
  std::optional<StatusLine> status_line;
  std::unique_ptr<RunJournal> journal;
  std::optional<std::size_t> journaled_segment;  // the last segment the journal has
  bool running = false;
  std::optional<std::string> abort_at_start;  // an abort asked for before the run started
  documents::RunStop stop;

  Impl(Host& h, const io::RunClock& c, SessionSettings s) : host(h), clock(c), settings(std::move(s)) {}

  std::shared_ptr<spdlog::logger> logger(const std::string& name) const { return make_logger(name, log_sinks); }
  void prepare(recipe::Recipe recipe);
  void prepare_resumed(recipe::Recipe recipe, const ResumeFrom& resume);
  void open_log(const std::filesystem::path& directory);
  void journal_document(const documents::Document& document);
  void describe_start();
  void connect_instruments();
  void build_run();
  void watch_disk_space();
};

void RunSession::Impl::prepare(recipe::Recipe recipe) {
  try {
    side = prepare_detector_side(
        recipe, settings.analysis_workers ? settings.analysis_workers : AnalysisPool::default_workers());
  } catch (const std::exception& e) {
    throw SessionNotStarted(fmt::format("cannot prepare the detector side: {}", e.what()));
  }
  try {
    dir.emplace(settings.output, recipe.sample.name);
  } catch (const std::exception& e) {
    throw SessionNotStarted(fmt::format("cannot create the run directory: {}", e.what()));
  }
  open_log(dir->path());
  const bool simulated = settings.simulate || host.simulation();
  try {
    Simulation* sim = host.simulation();
    if (settings.simulate && !sim) sim = &host.start_simulation(clock, dir->path());
    if (sim) sim->prepare_run(clock, recipe, dir->path(), settings.simulation);
    connections = resolve_connections(settings, recipe, sim);
    dma = dma_watcher(host, clock, recipe, connections, simulated);
    file_path = dir->path() / "run.h5";
    file = storage::RunFile::create(file_path, run_metadata(settings, recipe, clock, connections, simulated), {},
                                    side.layout);
    journal = std::make_unique<RunJournal>(dir->path() / kJournalName, clock.utc_origin(), clock.speed(),
                                           settings.recipe_source);
  } catch (const std::exception& e) {
    throw SessionNotStarted(fmt::format("the run cannot start: {}", e.what()));
  }
  dir->keep();
  log->info("run directory {}", dir->path().string());
  setup = program::RunSetup{std::move(recipe), {}, std::nullopt, side.analysis, std::nullopt};
  describe_start();
  if (connections.trigger) setup.acquisition = acquisition_plan_for(setup.recipe, connections, clock);
}

void RunSession::Impl::open_log(const std::filesystem::path& directory) {
  log_sinks = settings.log_sinks;
  log_sinks.push_back(std::make_shared<spdlog::sinks::basic_file_sink_mt>((directory / "run.log").string()));
  log = logger("insitu.run");
}

namespace {

// The first part's records in the file, as the resumed run takes them: analysed frames for the run-level analysis,
// frames whose analysis was in flight (with their stored pixels) to analyse first.
program::Resumption resumption_from(const storage::ResumedRecords& records, const program::AcquisitionPlan* plan) {
  program::Resumption r;
  r.last_record_s = records.last_committed_s;
  for (const auto& a : records.analysed) r.analysed.push_back({a.time_s, a.temperature_K, a.s_eq_J_per_mol_K});
  if (!plan) return r;
  for (const auto& f : records.unanalysed_data_frames) {
    if (f.pixels.empty()) {  // frames not stored: the run says which, `insitu reprocess --frames` can analyse them
      r.not_analysable.push_back(f.sequence);
      continue;
    }
    program::AcquiredFrame frame;
    frame.record.sequence = f.sequence;
    frame.record.start_s = f.start_s;
    frame.record.stop_s = f.stop_s;
    frame.record.temperature.mean_K = f.mean_K;
    frame.frame = std::make_shared<detector::Frame>(detector::make_frame(plan->height, plan->width, f.pixels));
    frame.dark_median = plan->recorded_dark_median;
    frame.pixel_mask = plan->recorded_pixel_mask;
    r.unanalysed.push_back(std::move(frame));
  }
  return r;
}

// Frame numbers go on after the first part's last; its darks are re-read from the file (taken again only when the
// first part died before combining them).
void continue_acquisition(program::AcquisitionPlan& plan, const storage::ResumedRecords& records) {
  if (records.last_frame_sequence) plan.first_sequence = *records.last_frame_sequence + 1;
  if (records.dark_median.empty()) return;
  plan.recorded_dark_median = std::make_shared<const std::vector<float>>(records.dark_median);
  plan.recorded_pixel_mask = std::make_shared<const std::vector<std::uint32_t>>(records.pixel_mask);
}

}  // namespace

// Where the first part got to (its journal) and what it flushed (its file) decide where the programme goes on.
void RunSession::Impl::prepare_resumed(recipe::Recipe recipe, const ResumeFrom& resume) {
  dir.emplace(resume.directory);
  open_log(dir->path());
  const auto& j = resume.journal;
  const std::size_t segment = j.segment_known ? j.segment_index : 0;
  try {
    side = prepare_detector_side(
        recipe, settings.analysis_workers ? settings.analysis_workers : AnalysisPool::default_workers());
    Simulation* sim = host.simulation();
    if (sim) sim->prepare_run(clock, recipe, dir->path(), settings.simulation);
    connections = resolve_connections(settings, recipe, sim);
    dma = dma_watcher(host, clock, recipe, connections, sim != nullptr, j.utc_origin);
    file_path = dir->path() / "run.h5";
    file = storage::RunFile::reopen(file_path, run_metadata(settings, recipe, clock, connections, sim != nullptr),
                                    storage::RunFile::ResumptionRow{clock.now_s(), segment + 1}, {}, side.layout);
    journal = std::make_unique<RunJournal>(dir->path() / kJournalName);
    journal->resumed(clock.now_s(), segment);
  } catch (const std::exception& e) {
    throw SessionNotStarted(fmt::format("the run cannot be resumed: {}", e.what()));
  }
  const auto& records = file->resumed();
  log->warn("run resumed in {}: segment {}, {:.1f} s after its last record, {} frames and {} analyses recorded",
            dir->path().string(), segment + 1, clock.now_s() - records.last_committed_s, records.frames,
            records.analysed.size());
  setup = program::RunSetup{std::move(recipe), {}, std::nullopt, side.analysis, std::nullopt};
  describe_start();
  if (connections.trigger) {
    setup.acquisition = acquisition_plan_for(setup.recipe, connections, clock);
    continue_acquisition(*setup.acquisition, records);
  }
  program::Resumption resumption = resumption_from(records, setup.acquisition ? &*setup.acquisition : nullptr);
  if (j.segment_known) {
    resumption.at = program::ResumePoint{j.segment_index, j.segment_started_s, j.segment_start_K};
    journaled_segment = j.segment_index;
  }
  setup.resumption = std::move(resumption);
}

// The journal follows the run: segment changes, frames and the end, each line on disk before the next document.
void RunSession::Impl::journal_document(const documents::Document& document) {
  if (const auto* e = std::get_if<documents::RunEvent>(&document); e && e->kind == io::EventKind::segment) {
    const auto p = run->status().program;
    if (journaled_segment && p.segment_index <= *journaled_segment) return;
    journaled_segment = p.segment_index;
    journal->segment(p.segment_index, e->time_s, p.temperature_K.value_or(std::nan("")));
  } else if (const auto* f = std::get_if<documents::FrameEvent>(&document)) {
    journal->frame(f->record.sequence);
  } else if (const auto* stop = std::get_if<documents::RunStop>(&document)) {
    journal->end(std::string(documents::to_string(stop->exit_status)));
  }
}

void RunSession::Impl::describe_start() {
  auto& start = setup.start;
  start.recipe_path = settings.recipe_source;
  start.program_version = INSITU_VERSION;
  start.instruments = {setup.recipe.stage.model,
                       connections.stage_text,
                       connections.trigger ? connections.trigger->to_string() : "",
                       connections.frames_folder.string(),
                       connections.dma_folder.string(),
                       host.simulation() != nullptr,
                       clock.speed()};
}

RunSession::RunSession(Host& host, const io::RunClock& clock, recipe::Recipe recipe, SessionSettings settings)
    : impl_(std::make_unique<Impl>(host, clock, std::move(settings))) {
  impl_->prepare(std::move(recipe));
}

void close_interrupted_run(const std::filesystem::path& directory, const JournalState& journal,
                           const recipe::Recipe* recipe, const std::string& reason) {
  storage::RunMetadata meta;
  meta.start_time_iso = io::iso8601_utc(journal.utc_origin);
  meta.clock_speed = journal.speed;
  const DetectorSide side = recipe ? prepare_detector_side(*recipe, 1) : DetectorSide{};
  auto file = storage::RunFile::reopen(directory / "run.h5", meta, std::nullopt, {}, side.layout);
  const double end_s = file->last_committed_s();
  file->append(storage::RunEvent{end_s, std::string(io::to_string(io::EventKind::fault)), reason});
  if (!file->finish(end_s, "interrupted")) throw std::runtime_error(file->error().value_or("run file not closed"));
  RunJournal(directory / kJournalName).end("interrupted");
}

RunSession::RunSession(Host& host, const io::RunClock& clock, recipe::Recipe recipe, SessionSettings settings,
                       ResumeFrom resume)
    : impl_(std::make_unique<Impl>(host, clock, std::move(settings))) {
  impl_->prepare_resumed(std::move(recipe), resume);
}

RunSession::~RunSession() {
  if (auto* sim = impl_->host.simulation()) sim->end_run();
}

const std::filesystem::path& RunSession::directory() const { return impl_->dir->path(); }
const std::filesystem::path& RunSession::file_path() const { return impl_->file_path; }
std::shared_ptr<spdlog::logger> RunSession::log() const { return impl_->log; }
const recipe::Recipe& RunSession::recipe() const { return impl_->setup.recipe; }
const analysis::AnalysisAxes* RunSession::analysis_axes() const {
  const auto& analysis = impl_->side.layout.analysis;
  return analysis ? &analysis->axes : nullptr;
}
void RunSession::subscribe(documents::Sink sink) { impl_->extra_sinks.push_back(std::move(sink)); }
program::Run* RunSession::run() { return impl_->running ? impl_->run.get() : nullptr; }

void RunSession::abort(const std::string& reason) {
  if (auto* the_run = run())
    the_run->abort(reason);
  else if (!impl_->run && !impl_->abort_at_start)
    impl_->abort_at_start = reason;
}
const documents::RunStop& RunSession::stop() const { return impl_->stop; }

void RunSession::Impl::connect_instruments() {
  const auto& recipe = setup.recipe;
  linkam::DriverSettings stage_settings;
  stage_settings.url = connections.stage;
  stage_settings.limits = {recipe.stage.min_K, recipe.stage.max_K, recipe.stage.max_rate_K_per_min};
  stage = std::make_unique<linkam::Driver>(clock, stage_settings, logger("insitu.linkam"));
  if (connections.trigger)
    trigger = std::make_unique<trigger::Driver>(clock, trigger_settings(*recipe.detector, *connections.trigger),
                                                logger("insitu.trigger"));
}

void RunSession::Impl::build_run() {
  program::RunInstruments instruments{*stage, trigger.get(), host.frame_readers(), nullptr, dma.get()};
  instruments.external_signals = [blocking = host.blocking_clients()](const recipe::Suspender& spec) {
    return std::make_unique<TangoSignal>(blocking, spec);
  };
  if (side.pipelines)
    instruments.analysis = &host.start_analysis(*side.pipelines, side.pipelines->size(), kAnalysisQueue);
  run = std::make_unique<program::Run>(host.loop(), clock, setup, instruments, documents, log);
  auto& the_run = *run;
  file_sink = std::make_unique<RunFileSink>(
      host.loop(), *file, side.layout.detector && side.layout.detector->store_frames,
      [&the_run](const std::string& error) { the_run.record_failed("run file: " + error); });
  if (setup.recipe.dsc) file_sink->import_dsc_at_finish(*setup.recipe.dsc, log);
  documents.subscribe([sink = file_sink.get()](const documents::Document& d) { (*sink)(d); });
  documents.subscribe([this](const documents::Document& d) { journal_document(d); });
  documents.subscribe(LogSink(log));
  if (settings.bluesky.jsonl || settings.bluesky.publisher) {
    const bool frames_stored = side.layout.detector && side.layout.detector->store_frames;
    bluesky_sink = std::make_unique<bluesky::DocumentSink>(
        clock, bluesky::RunFileFrames{std::filesystem::absolute(file_path), frames_stored}, settings.bluesky, log);
    documents.subscribe([sink = bluesky_sink.get()](const documents::Document& d) { (*sink)(d); });
  }
  watch_disk_space();
  if (settings.live_status) {
    status_line.emplace(host.loop(), the_run);
    documents.subscribe([this](const documents::Document& d) { (*status_line)(d); });
  }
  if (auto* sim = host.simulation(); sim && sim->stage_is_external())
    documents.subscribe([sim](const documents::Document& d) {
      if (const auto* reading = std::get_if<documents::StageReading>(&d))
        sim->record_stage_reading(reading->time_s, reading->temperature_K);
    });
  for (auto& sink : extra_sinks) documents.subscribe(sink);
  documents.on_sink_failure([&the_run](const std::string& why) { the_run.record_failed("the run record: " + why); });
}

// The run directory takes the run file, the journal and the log; the frames folder, the detector's files.
void RunSession::Impl::watch_disk_space() {
  const std::uint64_t frame_bytes =
      setup.acquisition ? std::uint64_t{setup.acquisition->height} * setup.acquisition->width * sizeof(float) : 0;
  std::vector<WatchedFolder> folders{{dir->path(), bytes_a_run_keeps_free(frame_bytes)}};
  if (setup.acquisition) folders.push_back({connections.frames_folder, bytes_a_run_keeps_free(frame_bytes)});
  disk_watch = std::make_unique<DiskSpaceWatch>(host.loop(), host.background(), std::move(folders),
                                                [this](const std::string& why) { run->abort(why); });
  documents.subscribe([watch = disk_watch.get()](const documents::Document& d) { (*watch)(d); });
}

awaitable<SessionEnd> RunSession::execute() {
  auto& m = *impl_;
  m.connect_instruments();
  m.build_run();
  m.running = true;
  if (m.abort_at_start) m.run->abort(*m.abort_at_start);
  m.stop = co_await m.run->start();
  m.running = false;
  m.stage->close();
  if (m.trigger) m.trigger->close();
  if (auto error = m.file_sink->error()) m.log->error("run file: {}", *error);
  co_return session_end(m.stop, *m.file_sink);
}

}  // namespace insitu::daemon
