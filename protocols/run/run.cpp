#include "protocols/run/run.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>

#include "analysis/pipeline/darks.hpp"
#include "drivers/dhr3/export_watcher.hpp"
#include "drivers/io/loop_thread.hpp"

namespace insitu::program {
namespace {

double unix_s(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

// A worker that gives no result for this long has hung; the run ends without the frames it still holds.
constexpr auto kAnalysisStall = std::chrono::minutes(10);
// How long the run's end waits for the DMA exports being read when the watch stops (off the loop: a share can hang).
constexpr auto kDmaDrain = std::chrono::seconds(10);

EngineSettings engine_settings(const RunSetup& setup) {
  EngineSettings settings;
  if (setup.resumption) settings.resume_from = setup.resumption->at;
  return settings;
}

}  // namespace

struct Run::Impl final : RunObserver {
  asio::any_io_executor loop;
  const io::RunClock& clock;
  RunSetup setup;
  RunInstruments instruments;
  const documents::Dispatcher& documents;
  std::shared_ptr<spdlog::logger> log;
  io::LoopCondition changed{loop};  // notified on every program event, analysis result and acquisition end
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);  // analysis results that come back after the run

  StageLog stage_log = setup.acquisition ? StageLog(stage_log_keep_s(*setup.acquisition)) : StageLog();
  Engine engine;
  std::unique_ptr<Acquisition> acquisition;
  std::unique_ptr<Suspenders> suspenders;
  std::optional<analysis::RunAnalyser> run_analyser;
  std::string resource_uid = documents::new_uid();

  // Analyses in the order they were asked for; each result is applied once all before it are in, so the
  // run-level analysis and the file's rows follow frame order whatever order the workers finish in.
  struct PendingAnalysis {
    std::uint64_t sequence;
    double time_s;  // mid-exposure, for the run-level analysis
    std::optional<AnalysisOutcome> result;
  };
  std::deque<PendingAnalysis> analyses;
  std::shared_ptr<const std::vector<std::uint32_t>> dark_pixel_mask;  // the darks' bits static_mask came from
  std::shared_ptr<const std::vector<std::uint8_t>> static_mask;       // the recipe's mask OR the darks' bad pixels

  RunState outcome = RunState::failed;
  bool abort_requested = false, program_over = false, acquisition_done = true;
  // A pause ends the exposure series at once, before the engine has the stage holding: no frame starts after it.
  bool pause_requested = false;
  bool dma_watching = false;  // the DMA export watch runs (from the programme's start until its stop has drained)
  // Set by stop_after_frame(): the exposure series closes its open frame at its boundary while the programme goes
  // on; the run is aborted once the acquisition has ended.
  std::optional<std::string> stop_after_frame;
  std::optional<std::string> record_failure, stop_reason;
  RunStatus counts;
  documents::RunStop stop;

  Impl(asio::any_io_executor l, const io::RunClock& c, RunSetup s, RunInstruments i, const documents::Dispatcher& d,
       std::shared_ptr<spdlog::logger> lg)
      : loop(std::move(l)),
        clock(c),
        setup(std::move(s)),
        instruments(i),
        documents(d),
        log(std::move(lg)),
        engine(clock, instruments.stage, setup.recipe, *this, engine_settings(setup)) {
    if (setup.analysis && instruments.analysis) run_analyser.emplace(*setup.analysis);
    const auto driver_event = [this](double time_s, io::EventKind kind, const std::string& message) {
      emit(documents::RunEvent{time_s, kind, message});
    };
    instruments.stage.set_event_handler(driver_event);
    if (instruments.trigger) instruments.trigger->set_event_handler(driver_event);
  }

  ~Impl() override {
    *alive = false;
    instruments.stage.set_event_handler(nullptr);
    if (instruments.trigger) instruments.trigger->set_event_handler(nullptr);
  }

  void emit(const documents::Document& document) {
    std::visit(
        [this](const auto& d) {
          using T = std::decay_t<decltype(d)>;
          if constexpr (std::is_same_v<T, documents::StageReading>) ++stop.readings;
          if constexpr (std::is_same_v<T, documents::RunEvent>) ++stop.events;
          if constexpr (std::is_same_v<T, documents::FrameEvent>) ++stop.frames;
        },
        document);
    documents.emit(document);
    if (suspenders) suspenders->observe(document);
  }

  void event(io::EventKind kind, const std::string& message) {
    emit(documents::RunEvent{clock.now_s(), kind, message});
  }

  void on_sample(const StageSample& s) override {
    stage_log.append(s.time_s, s.time_uncertainty_s, s.temperature_K, s.setpoint_K);
    emit(documents::StageReading{s.time_s, s.time_uncertainty_s, s.temperature_K, s.setpoint_K, s.status_byte,
                                 s.error_byte, s.pump_byte});
  }

  void on_event(const ProgramEvent& e) override {
    emit(documents::RunEvent{e.time_s, e.kind, e.message});
    changed.notify();
  }

  // --- what the acquisition follows ----------------------------------------------------------------

  bool segment_exposed(std::size_t index) const {
    return index < setup.recipe.program.size() && setup.recipe.program[index].exposed;
  }
  bool exposing() const {
    const auto p = engine.progress();
    return p.state == RunState::running && !pause_requested && segment_exposed(p.segment_index);
  }
  bool exposure_ahead() const {
    if (program_over) return false;
    const auto p = engine.progress();
    for (auto i = p.segment_index; i < setup.recipe.program.size(); ++i)
      if (segment_exposed(i)) return true;
    return false;
  }
  bool stop_requested() const {
    const auto state = engine.progress().state;
    return abort_requested || stop_after_frame || state == RunState::aborted || state == RunState::failed ||
           (program_over && outcome != RunState::completed);
  }

  // --- documents at the start ----------------------------------------------------------------------

  void emit_start() {
    auto start = setup.start;
    start.uid = documents::new_uid();
    start.time_unix_s = unix_s(clock.utc_origin());
    start.start_time_iso = clock.iso8601_at(0.0);
    start.recipe_name = setup.recipe.name;
    start.recipe_text = setup.recipe.text;
    const auto& s = setup.recipe.sample;
    start.sample = {s.name, s.composition, s.treatment, s.description};
    emit(start);
    emit(documents::stage_descriptor());
    emit(documents::events_descriptor());
    if (setup.acquisition) {
      emit(documents::frames_descriptor(setup.acquisition->height, setup.acquisition->width));
      emit(documents::StreamResource{resource_uid, "NXdetector", setup.acquisition->height, setup.acquisition->width});
    }
    if (run_analyser) {
      emit(documents::frame_analysis_descriptor());
      emit(documents::run_analysis_descriptor());
    }
    if (instruments.dma) emit(documents::dma_descriptor());
    if (const auto& r = setup.resumption)
      emit(documents::RunEvent{clock.now_s(), io::EventKind::fault,
                               fmt::format("interrupted: the run's process died after {:.1f} s (its last record); "
                                           "resumed at {:.1f} s, {:.1f} s without records, in segment {}",
                                           r->last_record_s, clock.now_s(), clock.now_s() - r->last_record_s,
                                           r->at ? r->at->segment_index + 1 : 1)});
  }

  // --- the analysis --------------------------------------------------------------------------------

  // A resumed run's analysis starts from the first part's: its analysed frames, then the frames it left unanalysed.
  void take_up_first_part_analysis() {
    if (!setup.resumption || !run_analyser) return;
    auto& first = *setup.resumption;
    for (const auto& point : first.analysed) run_analyser->add(point);
    counts.analysed += first.analysed.size();
    if (!first.unanalysed.empty())
      event(io::EventKind::info, fmt::format("analysing {} frame(s) recorded before the interruption",
                                             first.unanalysed.size()));
    for (auto& frame : first.unanalysed) on_data_frame(std::move(frame));
    first.unanalysed.clear();
    if (!first.not_analysable.empty())
      event(io::EventKind::warning,
            fmt::format("frame(s) {} recorded before the interruption are not analysed: their analysis was in flight "
                        "and the run stores no frames (`insitu reprocess --frames` analyses them from the frame files)",
                        fmt::join(first.not_analysable, ", ")));
  }

  void on_data_frame(AcquiredFrame frame) {
    if (!run_analyser) return;
    try {
      // Data frames come after the darks: the first one with the darks' bad pixels sets the analysis mask.
      if (frame.pixel_mask && frame.pixel_mask != dark_pixel_mask) {
        dark_pixel_mask = frame.pixel_mask;
        static_mask = std::make_shared<const std::vector<std::uint8_t>>(
            analysis::static_mask(setup.analysis->mask, *dark_pixel_mask));
        emit(documents::AnalysisMask{static_mask});
      }
    } catch (const std::exception& e) {
      event(io::EventKind::warning, fmt::format("frame {} not analysed: {}", frame.record.sequence, e.what()));
      return;
    }
    // The analysis runs on the sample's temperature, as the run file's T_sample_mean records it.
    const auto& calibration = setup.recipe.stage.sample_calibration;
    const double mean_K = frame.record.temperature.mean_K;
    AnalysisJob job{frame.record.sequence,
                    0.5 * (frame.record.start_s + frame.record.stop_s),
                    calibration ? calibration->sample_K(mean_K) : mean_K,
                    frame.frame,
                    frame.dark_median,
                    static_mask};
    analyses.push_back({job.sequence, job.time_s, std::nullopt});
    instruments.analysis->analyse(std::move(job), [this, alive = alive](AnalysisOutcome outcome) {
      if (*alive) on_analysed(std::move(outcome));
    });
  }

  void on_analysed(AnalysisOutcome outcome) {
    for (auto& pending : analyses)
      if (pending.sequence == outcome.sequence && !pending.result) {
        pending.result = std::move(outcome);
        break;
      }
    while (!analyses.empty() && analyses.front().result) {
      apply(*analyses.front().result, analyses.front().time_s);
      analyses.pop_front();
    }
    changed.notify();
  }

  void apply(AnalysisOutcome& outcome, double time_s) {
    if (!outcome.analysis) {
      ++counts.analysis_failures;
      event(io::EventKind::warning, fmt::format("analysis of frame {} failed: {}", outcome.sequence, outcome.error));
      return;
    }
    ++counts.analysed;
    counts.latest_s_eq_J_per_mol_K = outcome.analysis->s_eq_J_per_mol_K;
    const auto& a = *outcome.analysis;
    run_analyser->add({time_s, a.temperature_K, a.s_eq_J_per_mol_K});
    emit(documents::FrameAnalysisEvent{std::move(*outcome.analysis)});
    emit(documents::RunAnalysisEvent{run_analyser->compute(), false});
  }

  awaitable<void> wait_for_analysis() {
    while (!analyses.empty()) {
      const auto before = analyses.size();
      const auto deadline = io::RunClock::wall_clock::now() + kAnalysisStall;
      const std::function<bool()> progressed = [&] { return analyses.size() != before; };
      co_await changed.wait_until(progressed, deadline);
      if (analyses.size() == before) {
        event(io::EventKind::fault,
              fmt::format("analysis stalled: {} frames left unanalysed (insitu reprocess can analyse them)",
                          analyses.size()));
        analyses.clear();
      }
    }
  }

  void final_analysis() {
    if (!run_analyser) return;
    try {
      const auto result = run_analyser->compute();
      const bool found = std::isfinite(result.glass_transition_K);
      event(io::EventKind::info,
            fmt::format("analysis: {} frames ({} failed), T_g {}", counts.analysed, counts.analysis_failures,
                        found ? fmt::format("{:.1f} K ({:.1f}..{:.1f} K)", result.glass_transition_K,
                                            result.glass_transition_low_K, result.glass_transition_high_K)
                              : std::string("not found")));
      emit(documents::RunAnalysisEvent{result, true});
    } catch (const std::exception& e) {
      event(io::EventKind::fault, fmt::format("run analysis failed: {}", e.what()));
    }
  }

  // --- the run's course ----------------------------------------------------------------------------

  void start_acquisition() {
    acquisition = std::make_unique<Acquisition>(
        loop, instruments.frame_readers, clock, *instruments.trigger, stage_log, *setup.acquisition,
        [this](const documents::Document& d) {
          emit(d);
          // Every frame read is stored in the run's frame stack: its datum points there.
          if (const auto* frame = std::get_if<documents::FrameEvent>(&d); frame && frame->pixels)
            emit(documents::StreamDatum{resource_uid, frame->record.sequence});
        },
        log);
    acquisition->set_frame_handler([this](AcquiredFrame frame) { on_data_frame(std::move(frame)); });
    acquisition_done = false;
    const ProgramView view{[this] { return exposing(); }, [this] { return exposure_ahead(); },
                           [this] { return stop_requested(); }, changed,
                           [this](double start_s, double stop_s) {
                             return suspenders ? suspenders->window_flags(start_s, stop_s) : 0u;
                           }};
    asio::co_spawn(loop, acquisition->run(view), [this, alive = alive](std::exception_ptr error) {
      if (!*alive) return;
      if (error) {
        try {
          std::rethrow_exception(error);
        } catch (const std::exception& e) {
          event(io::EventKind::fault, fmt::format("acquisition stopped: {}", e.what()));
          engine.abort("acquisition stopped");
        }
      }
      acquisition_done = true;
      if (stop_after_frame && !abort_requested) abort_now(*stop_after_frame);
      changed.notify();
    });
  }

  void pause_now() {
    const auto state = engine.progress().state;
    if (state == RunState::running || state == RunState::idle) pause_requested = true;
    engine.pause();
    changed.notify();
  }

  void resume_now() {
    pause_requested = false;
    engine.resume();
    changed.notify();
  }

  void start_suspenders() {
    if (setup.recipe.suspenders.empty()) return;
    SuspenderActions actions{[this] { pause_now(); }, [this] { resume_now(); },
                             [this](const std::string& reason) { abort_now(reason); },
                             [this](io::EventKind kind, const std::string& message) { event(kind, message); }};
    suspenders = std::make_unique<Suspenders>(loop, clock, setup.recipe.suspenders, std::move(actions),
                                              instruments.external_signals);
    suspenders->start();
  }

  void abort_now(const std::string& reason) {
    abort_requested = true;
    if (!stop_reason) stop_reason = reason;
    engine.abort(reason);
    changed.notify();
  }

  void start_dma_watcher() {
    instruments.dma->on_ingested([this](const dhr3::IngestedExport& ingested) {
      emit(documents::DmaExport{std::make_shared<const dhr3::IngestedExport>(ingested)});
    });
    instruments.dma->on_event([this](dhr3::ExportEventKind kind, const std::string& message) {
      event(kind == dhr3::ExportEventKind::ingested ? io::EventKind::info : io::EventKind::warning, message);
    });
    dma_watching = true;
    asio::co_spawn(loop, instruments.dma->run(), [this, alive = alive](std::exception_ptr) {
      if (!*alive) return;
      dma_watching = false;
      changed.notify();
    });
  }

  // The exports being read when the watch stops are still taken in, their documents before the run's stop.
  awaitable<void> stop_dma_watcher() {
    if (!instruments.dma) co_return;
    instruments.dma->stop();
    const std::function<bool()> over = [this] { return !dma_watching; };
    co_await changed.wait_until(over, io::RunClock::wall_clock::now() + kDmaDrain);
    if (dma_watching)
      event(io::EventKind::warning, "DMA exports: a file still being read at the run's end is not recorded");
  }

  awaitable<void> run_program() {
    try {
      start_suspenders();
      co_await instruments.stage.connect();
      if (instruments.trigger) {
        co_await instruments.trigger->connect();
        start_acquisition();
      }
      if (instruments.dma) start_dma_watcher();
      outcome = co_await engine.run();
    } catch (const std::exception& e) {
      event(io::EventKind::fault, e.what());
      if (!stop_reason) stop_reason = e.what();
      engine.abort(e.what());
      outcome = RunState::failed;
    }
    program_over = true;
    if (suspenders) suspenders->stop();
    changed.notify();
  }

  // Darks after the program still need the stage temperature over their windows: keep logging it.
  awaitable<void> log_stage_while_acquiring() {
    const std::function<bool()> acquired = [this] { return acquisition_done; };
    try {
      while (!acquisition_done) {
        if (auto reading = co_await instruments.stage.read_status()) {
          const auto& st = reading->status;
          on_sample({reading->time_s, reading->time_uncertainty_s, st.temperature_K, std::nan(""), st.status_byte,
                     st.error_byte, st.pump_byte});
        }
        co_await changed.wait_for(acquired, clock, setup.recipe.stage.poll_interval_s);
      }
      if (instruments.trigger) co_await instruments.trigger->shutdown();
    } catch (const std::exception& e) {
      event(io::EventKind::fault, e.what());
    }
    while (!acquisition_done) co_await changed.wait_for(acquired, clock, 60.0);
  }

  void log_frame_counts() {
    if (!acquisition) return;
    const auto a = acquisition->stats();
    event(io::EventKind::info,
          fmt::format("frames: {} data, {} dark, {} missing, {} unreadable, {} discarded, {} orphans; {} triggers "
                      "({} uncertain)",
                      a.data_frames, a.dark_frames, a.missing, a.truncated, a.discarded, a.orphans, a.boundaries,
                      a.uncertain_boundaries));
  }

  std::size_t suspensions() const { return suspenders ? suspenders->suspensions() : 0; }

  // Why a run that went through is not simply completed: its stretches off the programme and its suspensions.
  std::string deviation_reason() const {
    std::string reason;
    if (!stop.deviations.empty())
      reason = fmt::format("the stage was off the programme {} time(s) for longer than {:g} s", stop.deviations.size(),
                           setup.recipe.stage.follow_allowance_s);
    if (suspensions() > 0) {
      std::string by;
      for (const auto& name : suspenders->tripped_by()) by += (by.empty() ? "" : ", ") + name;
      reason += fmt::format("{}paused {} time(s) by {}", reason.empty() ? "" : "; ", suspensions(), by);
    }
    return reason;
  }

  documents::ExitStatus exit_status() const {
    if (record_failure) return documents::ExitStatus::incomplete_record;
    switch (outcome) {
      case RunState::completed:
        return engine.deviations().empty() && suspensions() == 0 ? documents::ExitStatus::completed
                                                                 : documents::ExitStatus::completed_with_deviations;
      case RunState::aborted:
        return documents::ExitStatus::aborted;
      default:
        return documents::ExitStatus::failed;
    }
  }
};

Run::Run(asio::any_io_executor loop, const io::RunClock& clock, RunSetup setup, RunInstruments instruments,
         const documents::Dispatcher& documents, std::shared_ptr<spdlog::logger> logger)
    : impl_(std::make_unique<Impl>(std::move(loop), clock, std::move(setup), instruments, documents,
                                   std::move(logger))) {}

Run::~Run() = default;

awaitable<documents::RunStop> Run::start() {
  io::assert_in_loop();
  auto& m = *impl_;
  m.emit_start();
  m.take_up_first_part_analysis();
  co_await m.run_program();
  co_await m.log_stage_while_acquiring();
  co_await m.stop_dma_watcher();
  co_await m.wait_for_analysis();
  m.final_analysis();
  m.log_frame_counts();
  m.stop.time_s = m.clock.now_s();
  m.stop.exit_status = m.exit_status();
  m.stop.reason = m.record_failure.value_or(m.stop_reason.value_or(m.engine.end_reason()));
  m.stop.analysed_frames = m.counts.analysed;
  for (const auto& d : m.engine.deviations()) m.stop.deviations.push_back({d.start_s, d.end_s, d.max_deviation_K});
  if (m.stop.reason.empty()) m.stop.reason = m.deviation_reason();
  m.emit(m.stop);
  co_return m.stop;
}

void Run::pause() {
  io::assert_in_loop();
  if (impl_->suspenders) impl_->suspenders->operator_paused();
  impl_->pause_now();
}

void Run::resume() {
  io::assert_in_loop();
  if (impl_->suspenders) impl_->suspenders->operator_resumed();
  impl_->resume_now();
}

void Run::abort(const std::string& reason) {
  io::assert_in_loop();
  impl_->abort_now(reason);
}

void Run::stop_after_frame(const std::string& reason) {
  io::assert_in_loop();
  auto& m = *impl_;
  if (m.acquisition_done) {
    m.abort_now(reason);
    return;
  }
  m.event(io::EventKind::state, fmt::format("stopping after the frame in flight: {}", reason));
  m.stop_after_frame = reason;
  m.changed.notify();
}

void Run::record_failed(const std::string& reason) {
  io::assert_in_loop();
  if (impl_->record_failure) return;
  impl_->record_failure = reason;
  abort(reason);
}

RunStatus Run::status() const {
  const auto& m = *impl_;
  RunStatus s = m.counts;
  s.program = m.engine.progress();
  if (m.acquisition) s.frames = m.acquisition->stats();
  s.analysis_pending = m.analyses.size();
  return s;
}

}  // namespace insitu::program
