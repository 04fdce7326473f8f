#include "protocols/run/acquisition.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <optional>
#include <set>
#include <string>

#include "analysis/pipeline/darks.hpp"
#include "drivers/io/folder_watcher.hpp"
#include "drivers/io/loop_thread.hpp"
#include "drivers/io/run_events.hpp"
#include "protocols/engine/frame_schedule.hpp"

namespace insitu::program {
namespace {

enum class FrameKind { discarded, dark, data };

std::uint32_t exposure_flags(unsigned pairing_flags) {
  using detector::FrameFlag;
  namespace f = detector::exposure_flag;
  std::uint32_t out = 0;
  if (pairing_flags & unsigned(FrameFlag::missing)) out |= f::missing;
  if (pairing_flags & unsigned(FrameFlag::late)) out |= f::late;
  if (pairing_flags & unsigned(FrameFlag::duplicate)) out |= f::duplicate;
  if (pairing_flags & unsigned(FrameFlag::truncated)) out |= f::truncated;
  if (pairing_flags & unsigned(FrameFlag::trigger_uncertain)) out |= f::trigger_uncertain;
  if (pairing_flags & unsigned(FrameFlag::clock_skew)) out |= f::clock_skew;
  return out;
}

// The darks' median and bad pixels, whatever the frames' pixel type (all darks of a run share it).
analysis::DarkSet combine_dark_frames(const std::vector<std::shared_ptr<const detector::Frame>>& darks) {
  return std::visit(
      [&](const auto& first) {
        using Pixel = typename std::decay_t<decltype(first)>::value_type;
        std::vector<std::span<const Pixel>> views;
        for (const auto& d : darks) views.emplace_back(std::get<std::vector<Pixel>>(d->pixels));
        return analysis::combine_darks(views);
      },
      darks.front()->pixels);
}

}  // namespace

void StageLog::append(double t_s, double t_uncertainty_s, double T_K, double T_setpoint_K) {
  time_s.push_back(t_s);
  time_uncertainty_s.push_back(t_uncertainty_s);
  value_K.push_back(T_K);
  setpoint_K.push_back(T_setpoint_K);
  const auto stale = static_cast<std::size_t>(
      std::lower_bound(time_s.begin(), time_s.end(), t_s - keep_s) - time_s.begin());
  if (stale < 2 || 2 * stale < time_s.size()) return;  // drop when half is stale: amortised O(1) a reading
  for (auto* column : {&time_s, &time_uncertainty_s, &value_K, &setpoint_K})
    column->erase(column->begin(), column->begin() + static_cast<std::ptrdiff_t>(stale - 1));
}

double stage_log_keep_s(const AcquisitionPlan& plan) {
  return 2 * plan.period_s + plan.pairing.file_deadline_after_boundary_s + 120.0;
}

AcquisitionPlan acquisition_plan(const recipe::Recipe& recipe, const std::filesystem::path& frames_folder) {
  const auto& d = *recipe.detector;
  const auto& e = *recipe.exposures;
  AcquisitionPlan plan;
  plan.period_s = e.period_s;
  plan.darks_before = e.darks_before;
  plan.darks_after = e.darks_after;
  plan.folder = frames_folder;
  plan.pattern = d.frames.pattern;
  plan.extension = d.frames.format == recipe::FrameFormat::edf ? ".edf" : ".tif";
  plan.sidecar = d.frames.sidecar;
  plan.pairing.first_file_index = d.frames.first_index;
  plan.pairing.file_deadline_after_boundary_s = d.frames.readout_s + d.frames.deadline_margin_s;
  plan.height = static_cast<std::size_t>(d.height_px());
  plan.width = static_cast<std::size_t>(d.width_px());
  return plan;
}

struct Acquisition::Impl : std::enable_shared_from_this<Impl> {
  asio::any_io_executor loop;
  asio::any_io_executor readers;
  const io::RunClock& clock;
  trigger::Driver& trigger;
  const StageLog& stage_log;
  AcquisitionPlan plan;
  std::function<void(const documents::Document&)> emit;
  std::shared_ptr<spdlog::logger> log;
  std::function<void(AcquiredFrame)> on_data_frame;
  std::function<std::uint32_t(double, double)> window_flags;  // the program's (ProgramView::window_flags)
  AcquisitionStats stats;
  // Notified when a frame is recorded or a read ends, for the waits on "all recorded".
  io::LoopCondition recorded_changed{loop};

  detector::FramePairer pairer;
  std::vector<FrameKind> kind_of_frame{FrameKind::discarded};  // by frame index k; k = 0 is pre-trigger
  std::vector<double> boundary_uncertainty_s;
  std::vector<bool> recorded;
  std::vector<std::size_t> duplicates_reported;  // by k: extra files for that index already told of
  std::vector<bool> recorded_missing;            // by k: a file arriving now comes too late to be recorded
  std::set<std::string> orphans_reported;        // paths: each stray file is said once
  // Detector PC clock - run clock, fixed by the first frame whose sidecar came in (see detector_time_s).
  std::optional<double> detector_clock_offset_s;
  // Complete frame files whose sidecar is not written out yet (the watcher counts a file complete once its
  // sidecar exists, which is before the sidecar has its content), with the run time they were first held.
  std::vector<std::pair<detector::FileArrival, double>> awaiting_sidecar;
  std::uint64_t next_sequence = 0;
  std::size_t pending_reads = 0;

  std::vector<std::shared_ptr<const detector::Frame>> darks_before;
  std::shared_ptr<const std::vector<float>> dark_median;
  std::shared_ptr<const std::vector<std::uint32_t>> pixel_mask;
  bool darks_combined = false;
  // Set when the Acquisition goes: reads still in flight then come back to nothing.
  bool closed = false;

  Impl(asio::any_io_executor l, asio::any_io_executor r, const io::RunClock& c, trigger::Driver& t, const StageLog& s,
       AcquisitionPlan p, std::function<void(const documents::Document&)> e, std::shared_ptr<spdlog::logger> lg)
      : loop(std::move(l)),
        readers(std::move(r)),
        clock(c),
        trigger(t),
        stage_log(s),
        plan(std::move(p)),
        emit(std::move(e)),
        log(std::move(lg)),
        pairer(plan.pairing),
        next_sequence(plan.first_sequence),
        dark_median(plan.recorded_dark_median),
        pixel_mask(plan.recorded_pixel_mask) {}

  // Folder polls and re-reads of a file found still in writing.
  double poll_interval_s() const { return std::min(0.5, plan.period_s / 8); }

  void event(io::EventKind kind, const std::string& message) {
    emit(documents::RunEvent{clock.now_s(), kind, message});
  }

  // One frame boundary; `kind` is what the frame that this boundary closes was exposed as.
  awaitable<void> boundary(FrameKind kind) {
    const auto stamp = co_await trigger.fire();
    ++stats.boundaries;
    if (stamp.uncertain) ++stats.uncertain_boundaries;  // the driver has recorded why
    const bool first_ever = boundary_uncertainty_s.empty();
    pairer.boundary(stamp.t_trigger_s, stamp.uncertain);
    boundary_uncertainty_s.push_back(stamp.uncertainty_s);
    if (!first_ever) kind_of_frame.push_back(kind);
    recorded.resize(kind_of_frame.size(), false);
    duplicates_reported.resize(kind_of_frame.size(), 0);
    recorded_missing.resize(kind_of_frame.size(), false);
  }

  // A series of `frames` exposures at the period; the first boundary opens it and its frame (the gap since the
  // previous series) is discarded. `frames` < 0: as long as `go_on()` says so.
  awaitable<void> series(FrameKind kind, int frames, std::function<bool()> go_on,
                         std::function<bool()> stop_requested) {
    co_await boundary(FrameKind::discarded);
    program::FrameSchedule schedule(plan.period_s, clock.now_s());
    for (int taken = 0; frames < 0 || taken < frames; ++taken) {
      co_await clock.sleep_until(schedule.next_s());
      if (stop_requested() || (frames < 0 && !go_on())) {
        // The open exposure still ends with a boundary so that its file can be paired.
        co_await boundary(kind);
        co_return;
      }
      // Lateness is the firing's, not the confirmation's: a slow reply to an on-time pulse is not a stall.
      const double fired_s = clock.now_s();
      co_await boundary(kind);
      // After a stall (see FrameSchedule) the missed boundaries are not fired back to back.
      if (const auto late_s = schedule.fired(fired_s))
        event(io::EventKind::warning,
              fmt::format("frame boundary {:.1f} s late; the frame schedule restarts from it", *late_s));
    }
  }

  // Files for a frame beyond the one it was recorded with: a second file for the index (kept, not recorded
  // again) or the file of a frame already recorded missing.
  void report_extra_files(const detector::FrameRecord& r) {
    const auto k = static_cast<std::size_t>(r.frame);
    for (std::size_t i = duplicates_reported[k]; i < r.duplicates.size(); ++i)
      event(io::EventKind::warning, fmt::format("frame file {}: a second file {} for the same index kept, not recorded",
                                                name_of(r.file->path), name_of(r.duplicates[i].path)));
    duplicates_reported[k] = r.duplicates.size();
    if (recorded_missing[k] && r.file) {
      event(io::EventKind::warning,
            fmt::format("frame file {} came {:.1f} s after its deadline; its frame stays recorded missing",
                        name_of(r.file->path), r.file->arrival_s - r.deadline_s));
      recorded_missing[k] = false;
    }
  }

  static std::string name_of(const std::string& path) { return std::filesystem::path(path).filename().string(); }

  void report_orphan(const std::string& path) {
    if (!orphans_reported.insert(path).second) return;
    event(io::EventKind::warning, fmt::format("unexpected file kept as orphan: {}", path));
    emit(documents::OrphanFile{path});
  }

  detector::ExposureRecord exposure_record(const detector::FrameRecord& r, std::size_t k) {
    detector::ExposureRecord record;
    record.sequence = next_sequence++;
    record.image_key = kind_of_frame[k] == FrameKind::dark ? detector::image_dark : detector::image_data;
    record.start_s = r.start_s;
    record.stop_s = r.end_s;
    record.start_uncertainty_s = boundary_uncertainty_s[k - 1];
    record.stop_uncertainty_s = boundary_uncertainty_s[k];
    record.temperature = detector::window_temperature(stage_log.view(), r.start_s, r.end_s, record.start_uncertainty_s,
                                                      record.stop_uncertainty_s);
    record.flags = exposure_flags(r.flags);
    if (!record.temperature.covered) record.flags |= detector::exposure_flag::no_temperature;
    if (window_flags) record.flags |= window_flags(r.start_s, r.end_s);
    return record;
  }

  void warn_about_file(const detector::FrameRecord& r, const detector::ExposureRecord& record) {
    if (r.has(detector::FrameFlag::clock_skew)) {
      const double skew_s = r.file->detector_time_s.value_or(std::nan("")) - r.end_s;
      event(io::EventKind::warning,
            fmt::format("frame {} file {}: detector time stamp {:+.3f} s from its trigger at {:.3f} s "
                        "(tolerance {:g} s): clock_skew",
                        record.sequence, record.file_name, skew_s, r.end_s, plan.pairing.max_clock_skew_s));
    }
    if (r.has(detector::FrameFlag::late))
      event(io::EventKind::warning, fmt::format("frame {} file {} came {:.1f} s after its deadline: late",
                                                record.sequence, record.file_name, r.file->arrival_s - r.deadline_s));
  }

  void record_ready() {
    for (const auto& r : pairer.take_changed()) {
      const auto k = static_cast<std::size_t>(r.frame);
      if (k >= kind_of_frame.size()) continue;
      if (recorded[k]) {
        if (kind_of_frame[k] != FrameKind::discarded) report_extra_files(r);
        continue;
      }
      const bool has_file = r.file && r.file->complete;
      if (!has_file && !r.has(detector::FrameFlag::missing) && !r.has(detector::FrameFlag::truncated)) continue;
      recorded[k] = true;
      recorded_changed.notify();
      if (kind_of_frame[k] == FrameKind::discarded || r.has(detector::FrameFlag::pre_trigger)) {
        ++stats.discarded;
        continue;
      }
      auto record = exposure_record(r, k);
      if (!has_file) {
        ++stats.missing;
        event(io::EventKind::warning, fmt::format("frame {} ({:.1f}..{:.1f} s) missing: {}", record.sequence, r.start_s,
                                                  r.end_s, detector::describe_flags(r.flags)));
        emit(documents::FrameEvent{record, nullptr});
        recorded_missing[k] = !r.file;
        continue;
      }
      record.file_name = name_of(r.file->path);
      warn_about_file(r, record);
      report_extra_files(r);
      read(std::move(record), r.file->path);
    }
  }

  struct ReadResult {
    std::shared_ptr<const detector::Frame> frame;
    std::string problem;      // why the file cannot be used
    bool incomplete = false;  // caught mid-write
  };

  ReadResult read_file(const std::string& path) const {
    ReadResult result;
    try {
      result.frame = std::make_shared<detector::Frame>(detector::read_frame(path));
      if (result.frame->height != plan.height || result.frame->width != plan.width)
        result.problem = fmt::format("{}x{} pixels, the run expects {}x{}", result.frame->height, result.frame->width,
                                     plan.height, plan.width);
    } catch (const detector::FrameFileError& e) {
      result.incomplete = e.kind() == detector::FrameFileError::Kind::incomplete;
      result.problem = e.what();
    } catch (const std::exception& e) {
      result.problem = e.what();
    }
    return result;
  }

  // Reading a frame file (8 MiB at full size) happens on a reader thread; the result comes back to the loop.
  void read(detector::ExposureRecord record, std::string path) {
    ++pending_reads;
    asio::post(readers, [self = shared_from_this(), record = std::move(record), path = std::move(path)]() mutable {
      auto result = self->read_file(path);
      asio::post(self->loop,
                 [self, record = std::move(record), path = std::move(path), result = std::move(result)]() mutable {
                   if (self->closed) return;
                   --self->pending_reads;
                   self->recorded_changed.notify();
                   self->take_read(std::move(record), std::move(path), std::move(result));
                 });
    });
  }

  void take_read(detector::ExposureRecord record, std::string path, ReadResult result) {
    // A writer that stalled mid-file looks finished to the size check: read again until the frame's deadline.
    if (result.incomplete && clock.now_s() < record.stop_s + plan.pairing.file_deadline_after_boundary_s) {
      ++pending_reads;
      auto retry = std::make_shared<asio::steady_timer>(loop, clock.wall_duration(poll_interval_s()));
      retry->async_wait(
          [self = shared_from_this(), retry, record = std::move(record), path = std::move(path)](auto) mutable {
            if (self->closed) return;
            --self->pending_reads;
            self->read(std::move(record), std::move(path));
          });
      return;
    }
    if (!result.problem.empty()) {
      record.flags |= detector::exposure_flag::truncated;
      ++stats.truncated;
      emit(documents::FrameEvent{record, nullptr});
      event(io::EventKind::warning,
            fmt::format("frame {} file {} unreadable: {}", record.sequence, record.file_name, result.problem));
      return;
    }
    emit(documents::FrameEvent{record, result.frame});
    if (record.image_key == detector::image_dark) {
      ++stats.dark_frames;
      if (!darks_combined) darks_before.push_back(result.frame);
      return;
    }
    ++stats.data_frames;
    if (on_data_frame) on_data_frame(AcquiredFrame{std::move(record), result.frame, dark_median, pixel_mask});
  }

  awaitable<void> combine_darks_before() {
    if (darks_combined) co_return;
    darks_combined = true;
    if (darks_before.empty()) co_return;
    auto set = std::make_shared<analysis::DarkSet>();
    auto failure = std::make_shared<std::exception_ptr>();
    auto done = std::make_shared<bool>(false);
    asio::post(readers, [self = shared_from_this(), set, failure, done, frames = darks_before] {
      try {
        *set = combine_dark_frames(frames);
      } catch (...) {
        *failure = std::current_exception();  // rethrown on the loop: the run ends cleanly instead of hanging here
      }
      asio::post(self->loop, [self, done] {
        *done = true;
        self->recorded_changed.notify();
      });
    });
    // About a second for five full frames; the loop stays free meanwhile.
    constexpr auto kDarkCombinationLimit = std::chrono::minutes(10);
    const std::function<bool()> combined = [done] { return *done; };
    if (!co_await recorded_changed.wait_until(combined, io::RunClock::wall_clock::now() + kDarkCombinationLimit))
      throw std::runtime_error("combining the darks took more than 10 minutes");
    if (*failure) std::rethrow_exception(*failure);
    std::size_t masked = 0;
    for (auto m : set->mask) masked += m != 0;
    pixel_mask = std::make_shared<const std::vector<std::uint32_t>>(std::move(set->mask));
    dark_median = std::make_shared<const std::vector<float>>(std::move(set->median));
    emit(documents::DarkCombination{dark_median, pixel_mask, darks_before.size()});
    event(io::EventKind::info,
          fmt::format("dark median from {} frames; {} pixels masked", darks_before.size(), masked));
  }
  // The QXRD sidecar's timeStamp on the run clock. It is the detector PC's Unix time when the image was processed,
  // so it differs from the trigger t(k) by that PC's clock offset plus its readout and processing time. Both are
  // constant over a run but unknown (the PCs need not share a time server), so the offset is measured on the
  // first frame whose sidecar arrives (normally the discarded pre-trigger image) instead of assuming the run's
  // start epoch: every later frame is then checked the moment it arrives, and a time stamp that moved by more than
  // the tolerance against its trigger (a stalled detector PC, a clock step, a file from another window) is
  // flagged. A skewed first frame shifts the reference and flags the frames after it: loud, never silent.
  std::optional<double> detector_time_s(double stamp_s, std::int64_t index, const std::string& frame_path) {
    if (!detector_clock_offset_s) {
      const auto k = index - plan.pairing.first_file_index;
      const auto& records = pairer.records();
      if (k < 0 || k >= static_cast<std::int64_t>(records.size())) return std::nullopt;
      detector_clock_offset_s = stamp_s - records[static_cast<std::size_t>(k)].end_s;
      const double origin_unix_s = std::chrono::duration<double>(clock.utc_origin().time_since_epoch()).count();
      event(io::EventKind::info,
            fmt::format("detector clock: sidecar time stamps read {:+.3f} s from this computer's clock at "
                        "the trigger (from {}); later frames are checked against that to {:g} s",
                        *detector_clock_offset_s - origin_unix_s, name_of(frame_path), plan.pairing.max_clock_skew_s));
    }
    return stamp_s - *detector_clock_offset_s;
  }

  // The sidecar's timeStamp, or nullopt while there is none (no sidecar yet, or not written out yet). A sidecar is
  // a few hundred bytes, read here on the loop (the folder's listing runs on the readers; this read has not moved yet).
  std::optional<double> sidecar_time_stamp_s(const std::string& frame_path) const {
    const auto sidecar = detector::qxrd_sidecar_path(frame_path);
    try {
      if (std::filesystem::exists(sidecar)) return detector::read_qxrd_metadata(sidecar).time_stamp_s();
    } catch (const std::exception& e) {
      log->debug("sidecar {} not readable yet: {}", sidecar.string(), e.what());
    }
    return std::nullopt;
  }

  // Pairs the held files whose sidecar now has its time stamp. One whose sidecar stays empty is paired without
  // it after a grace time (the detector writes the sidecar right after the image: milliseconds of wall time,
  // stretched by the run clock's speed), or at its deadline, whichever comes first.
  void pair_awaiting_sidecar() {
    constexpr double kSidecarGraceWall_s = 1.0;
    const double grace_s = kSidecarGraceWall_s * clock.speed();
    const double now_s = clock.now_s();
    std::erase_if(awaiting_sidecar, [&](auto& held) {
      auto& [arrival, held_since_s] = held;
      const auto stamp_s = sidecar_time_stamp_s(arrival.path);
      const auto k = *arrival.index - plan.pairing.first_file_index;
      const auto& records = pairer.records();
      const bool due = k >= 0 && k < static_cast<std::int64_t>(records.size()) &&
                       now_s >= records[static_cast<std::size_t>(k)].deadline_s;
      if (!stamp_s && now_s - held_since_s < grace_s && !due) return false;
      if (stamp_s) arrival.detector_time_s = detector_time_s(*stamp_s, *arrival.index, arrival.path);
      pairer.file(arrival);
      return true;
    });
  }

  // Files until stop; each one paired as it completes. A file that cannot be taken is an event, never the end of
  // the intake.
  awaitable<void> intake(io::FolderWatcher& watcher) {
    while (auto file = co_await watcher.next()) {
      try {
        take_file(*file);
      } catch (const std::exception& e) {
        event(io::EventKind::warning,
              fmt::format("frame file {}: not taken: {}", name_of(file->path.string()), e.what()));
      }
    }
  }

  void take_file(const io::WatchedFile& file) {
    const auto parsed = detector::parse_frame_name(file.path.filename().string(), plan.pattern);
    detector::FileArrival arrival;
    arrival.path = file.path.string();
    if (parsed && !parsed->dark) arrival.index = parsed->index;
    arrival.arrival_s = file.ready_s;
    arrival.complete = file.verdict == io::FileVerdict::complete;
    // A name that is no frame of this run is an orphan for good: said at once, not at the end of the acquisition,
    // which a killed insitud never reaches. (One with a frame's index may still meet its boundary.)
    if (!arrival.index) report_orphan(arrival.path);
    if (plan.sidecar && arrival.complete && arrival.index) {
      awaiting_sidecar.emplace_back(std::move(arrival), clock.now_s());
      pair_awaiting_sidecar();
    } else {
      pairer.file(arrival);
    }
    record_ready();
  }

  bool all_recorded() const {
    return std::all_of(recorded.begin() + 1, recorded.end(), [](bool r) { return r; }) && pending_reads == 0 &&
           awaiting_sidecar.empty();
  }

  awaitable<void> dark_series(int frames, const ProgramView& program) {
    co_await trigger.set_shutter(true);
    const std::function<bool()> counted = [] { return true; };  // the count ends a dark series
    co_await series(FrameKind::dark, frames, counted, program.stop_requested);
  }

  // Darks before the first exposed segment (the data frames are corrected with them), one data series per
  // stretch the program runs in exposed segments (a pause or an unexposed segment ends one), darks after the
  // last.
  awaitable<void> take_series(const ProgramView& program) {
    if (plan.darks_before > 0 && !dark_median && !program.stop_requested()) {
      co_await dark_series(plan.darks_before, program);
      co_await trigger.set_shutter(false);
      // Each frame is recorded or given up by its deadline, so the wait is bounded by the last one's.
      const double limit_s = plan.period_s + plan.pairing.file_deadline_after_boundary_s + 60.0;
      const std::function<bool()> darks_in = [&] { return all_recorded() || program.stop_requested(); };
      co_await recorded_changed.wait_for(darks_in, clock, limit_s);
      co_await combine_darks_before();
    }
    darks_combined = true;
    for (int stretch = 0;; ++stretch) {
      const std::function<bool()> next = [&] {
        return program.stop_requested() || program.exposing() || !program.exposure_ahead();
      };
      // A heartbeat deadline: the condition wakes the wait on every program change.
      while (!co_await program.changed.wait_for(next, clock, 60.0)) {
      }
      if (program.stop_requested() || !program.exposing()) break;
      event(io::EventKind::info,
            fmt::format("exposures {}: {:g} s frames", stretch == 0 ? "start" : "resume", plan.period_s));
      co_await series(FrameKind::data, -1, program.exposing, program.stop_requested);
    }
    if (plan.darks_after > 0 && !program.stop_requested()) co_await dark_series(plan.darks_after, program);
  }

  // Deadlines pass on the run clock: frames whose file never came become missing.
  awaitable<void> wait_for_files(std::function<bool()> until) {
    while (!until()) {
      pair_awaiting_sidecar();
      pairer.advance(clock.now_s());
      record_ready();
      co_await recorded_changed.wait_for(until, clock, std::min(1.0, plan.period_s / 4));
    }
  }
};

Acquisition::Acquisition(asio::any_io_executor loop, asio::any_io_executor readers, const io::RunClock& clock,
                         trigger::Driver& trigger, const StageLog& stage_log, AcquisitionPlan plan,
                         std::function<void(const documents::Document&)> emit, std::shared_ptr<spdlog::logger> logger)
    : impl_(std::make_shared<Impl>(std::move(loop), std::move(readers), clock, trigger, stage_log, std::move(plan),
                                   std::move(emit), std::move(logger))) {}

Acquisition::~Acquisition() { impl_->closed = true; }

void Acquisition::set_frame_handler(std::function<void(AcquiredFrame)> handler) {
  impl_->on_data_frame = std::move(handler);
}

AcquisitionStats Acquisition::stats() const { return impl_->stats; }

awaitable<void> Acquisition::run(ProgramView program) {
  io::assert_in_loop();
  auto& m = *impl_;
  m.window_flags = program.window_flags;
  io::FolderWatchSettings watch;
  watch.folder = m.plan.folder;
  watch.filter = m.plan.pattern + "-*" + m.plan.extension;
  watch.poll_interval_s = m.poll_interval_s();
  if (m.plan.sidecar) watch.sidecar_suffix = ".metadata";
  io::FolderWatcher watcher(m.loop, m.readers, m.clock, watch, m.log);

  // File intake and deadlines run beside the series; both end before this frame does, whatever happens.
  bool series_over = false, intake_done = false, deadlines_done = false;
  asio::co_spawn(m.loop, m.intake(watcher), [&](std::exception_ptr) {
    intake_done = true;
    m.recorded_changed.notify();
  });
  asio::co_spawn(m.loop, m.wait_for_files([&] { return (series_over && m.all_recorded()) || intake_done; }),
                 [&](std::exception_ptr) {
                   deadlines_done = true;
                   m.recorded_changed.notify();
                 });

  std::exception_ptr failure;
  try {
    co_await m.take_series(program);
  } catch (...) {
    failure = std::current_exception();
  }
  series_over = true;
  m.recorded_changed.notify();
  // The deadlines end by the last frame's file deadline; the heartbeat only guards against a lost wake-up.
  const std::function<bool()> deadlines_over = [&] { return deadlines_done; };
  while (!co_await m.recorded_changed.wait_for(deadlines_over, m.clock, 60.0)) {
  }
  watcher.stop();
  const std::function<bool()> intake_over = [&] { return intake_done; };
  while (!co_await m.recorded_changed.wait_for(intake_over, m.clock, 60.0)) {
  }
  m.stats.orphans = m.pairer.orphans().size();
  for (const auto& orphan : m.pairer.orphans()) m.report_orphan(orphan.path);
  if (failure) std::rethrow_exception(failure);
}

}  // namespace insitu::program
