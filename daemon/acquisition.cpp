#include "daemon/acquisition.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <optional>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "drivers/io/folder_watcher.hpp"
#include "drivers/io/run_events.hpp"
#include "protocols/engine/frame_schedule.hpp"

namespace insitu::daemon {
namespace {

// NXdetector pixel_mask bits.
constexpr std::uint32_t kDeadPixel = 1u << 1;
constexpr std::uint32_t kOverResponding = 1u << 3;  // hot, or saturated in the darks

enum class FrameKind { discarded, dark, data };

std::vector<std::uint8_t> raw_bytes(const detector::Frame& frame) {
  return std::visit(
      [](const auto& pixels) {
        std::vector<std::uint8_t> bytes(pixels.size() * sizeof(pixels[0]));
        std::memcpy(bytes.data(), pixels.data(), bytes.size());
        return bytes;
      },
      frame.pixels);
}

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

}  // namespace

DarkSet combine_darks(const std::vector<std::shared_ptr<const detector::Frame>>& darks) {
  DarkSet set;
  if (darks.empty()) return set;
  const std::size_t n_pixels = darks.front()->height * darks.front()->width;
  set.median.resize(n_pixels);
  set.mask.assign(n_pixels, 0);
  std::vector<double> values(darks.size());
  double saturation = 0;
  std::visit([&](const auto& p) { saturation = double(std::numeric_limits<std::decay_t<decltype(p[0])>>::max()); },
             darks.front()->pixels);
  std::vector<float> spread(n_pixels);
  for (std::size_t i = 0; i < n_pixels; ++i) {
    for (std::size_t k = 0; k < darks.size(); ++k)
      values[k] = std::visit([i](const auto& p) { return double(p[i]); }, darks[k]->pixels);
    auto mid = values.begin() + static_cast<long>(values.size() / 2);
    std::nth_element(values.begin(), mid, values.end());
    set.median[i] = static_cast<float>(*mid);
    const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
    spread[i] = static_cast<float>(*hi - *lo);
    if (*hi >= 0.95 * saturation) set.mask[i] |= kOverResponding;
  }
  // Hot and dead relative to the whole detector's dark level: robust statistics over the medians.
  std::vector<float> sorted = set.median;
  std::nth_element(sorted.begin(), sorted.begin() + static_cast<long>(n_pixels / 2), sorted.end());
  const float level = sorted[n_pixels / 2];
  for (auto& v : sorted) v = std::abs(v - level);
  std::nth_element(sorted.begin(), sorted.begin() + static_cast<long>(n_pixels / 2), sorted.end());
  const float mad = std::max(1.0f, sorted[n_pixels / 2]);
  for (std::size_t i = 0; i < n_pixels; ++i) {
    if (set.median[i] > level + 6.0f * 1.4826f * mad) set.mask[i] |= kOverResponding;
    if (set.median[i] <= 0.0f || (darks.size() > 2 && spread[i] == 0.0f && set.median[i] < level / 2))
      set.mask[i] |= kDeadPixel;
  }
  return set;
}

struct Acquisition::Impl {
  asio::io_context& io;
  const io::RunClock& clock;
  trigger::Driver& trigger;
  storage::RunFile& run_file;
  const StageLog& stage_log;
  AcquisitionPlan plan;
  std::shared_ptr<spdlog::logger> log;
  Acquisition& owner;

  detector::FramePairer pairer;
  std::vector<FrameKind> kind_of_frame{FrameKind::discarded};  // by frame index k; k = 0 is pre-trigger
  std::vector<double> boundary_uncertainty_s;
  std::vector<bool> recorded;
  std::vector<std::size_t> duplicates_reported;  // by k: extra files for that index already told of
  std::vector<bool> recorded_missing;            // by k: a file arriving now comes too late to be recorded
  // Detector PC clock - run clock, fixed by the first frame whose sidecar came in (see detector_time_s).
  std::optional<double> detector_clock_offset_s;
  // Complete frame files whose sidecar is not written out yet (the watcher counts a file complete once its
  // sidecar exists, which is before the sidecar has its content), with the run time they were first held.
  std::vector<std::pair<detector::FileArrival, double>> awaiting_sidecar;
  std::uint64_t next_sequence = 0;
  std::size_t pending_reads = 0;
  asio::thread_pool readers{1};

  std::vector<std::shared_ptr<const detector::Frame>> darks_before;
  std::shared_ptr<const std::vector<float>> dark_median;
  std::shared_ptr<const std::vector<std::uint32_t>> pixel_mask;
  bool darks_combined = false;

  Impl(asio::io_context& i, const io::RunClock& c, trigger::Driver& t, storage::RunFile& f, const StageLog& s,
       AcquisitionPlan p, std::shared_ptr<spdlog::logger> l, Acquisition& o)
      : io(i), clock(c), trigger(t), run_file(f), stage_log(s), plan(std::move(p)), log(std::move(l)), owner(o),
        pairer(plan.pairing) {}

  ~Impl() { readers.join(); }

  // Folder polls and re-reads of a file found still in writing.
  double poll_interval_s() const { return std::min(0.5, plan.period_s / 8); }

  void event(const std::string& kind, const std::string& message) {
    io::log_run_event(*log, kind, message);
    run_file.append(storage::RunEvent{clock.now_s(), kind, message});
  }

  // One frame boundary; `kind` is what the frame that this boundary closes was exposed as.
  awaitable<void> boundary(FrameKind kind) {
    const auto stamp = co_await trigger.fire();
    ++owner.stats_.boundaries;
    if (stamp.uncertain) ++owner.stats_.uncertain_boundaries;  // the driver has recorded why
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
        event("warning", fmt::format("frame boundary {:.1f} s late; the frame schedule restarts from it", *late_s));
    }
  }

  // Files for a frame beyond the one it was recorded with: a second file for the index (kept, not recorded
  // again) or the file of a frame already recorded missing.
  void report_extra_files(const detector::FrameRecord& r) {
    const auto k = static_cast<std::size_t>(r.frame);
    for (std::size_t i = duplicates_reported[k]; i < r.duplicates.size(); ++i)
      event("warning", fmt::format("frame file {}: a second file {} for the same index kept, not recorded",
                                   name_of(r.file->path), name_of(r.duplicates[i].path)));
    duplicates_reported[k] = r.duplicates.size();
    if (recorded_missing[k] && r.file) {
      event("warning", fmt::format("frame file {} came {:.1f} s after its deadline; its frame stays recorded missing",
                                   name_of(r.file->path), r.file->arrival_s - r.deadline_s));
      recorded_missing[k] = false;
    }
  }

  static std::string name_of(const std::string& path) { return std::filesystem::path(path).filename().string(); }

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
      if (kind_of_frame[k] == FrameKind::discarded || r.has(detector::FrameFlag::pre_trigger)) {
        ++owner.stats_.discarded;
        continue;
      }
      detector::ExposureRecord record;
      record.sequence = next_sequence++;
      record.image_key = kind_of_frame[k] == FrameKind::dark ? detector::image_dark : detector::image_data;
      record.start_s = r.start_s;
      record.stop_s = r.end_s;
      record.start_uncertainty_s = boundary_uncertainty_s[k - 1];
      record.stop_uncertainty_s = boundary_uncertainty_s[k];
      record.temperature = detector::window_temperature(stage_log.view(), r.start_s, r.end_s,
                                                        record.start_uncertainty_s, record.stop_uncertainty_s);
      record.flags = exposure_flags(r.flags);
      if (!record.temperature.covered) record.flags |= detector::exposure_flag::no_temperature;
      if (!has_file) {
        ++owner.stats_.missing;
        event("warning", fmt::format("frame {} ({:.1f}..{:.1f} s) missing: {}", record.sequence, r.start_s, r.end_s,
                                     detector::describe_flags(r.flags)));
        run_file.append(record, {});
        recorded_missing[k] = !r.file;
        continue;
      }
      record.file_name = name_of(r.file->path);
      if (r.has(detector::FrameFlag::clock_skew)) {
        const double skew_s = r.file->detector_time_s.value_or(std::nan("")) - r.end_s;
        event("warning", fmt::format("frame {} file {}: detector time stamp {:+.3f} s from its trigger at {:.3f} s "
                                     "(tolerance {:g} s): clock_skew",
                                     record.sequence, record.file_name, skew_s, r.end_s, plan.pairing.max_clock_skew_s));
      }
      if (r.has(detector::FrameFlag::late))
        event("warning", fmt::format("frame {} file {} came {:.1f} s after its deadline: late", record.sequence,
                                     record.file_name, r.file->arrival_s - r.deadline_s));
      report_extra_files(r);
      read_and_store(std::move(record), r.file->path);
    }
  }

  // Reading a frame file (8 MiB at full size) happens on the reader thread, never on the loop.
  void read_and_store(detector::ExposureRecord record, std::string path) {
    ++pending_reads;
    asio::post(readers, [this, record = std::move(record), path = std::move(path)]() mutable {
      std::shared_ptr<const detector::Frame> frame;
      std::string problem;
      try {
        frame = std::make_shared<detector::Frame>(detector::read_frame(path));
        if (frame->height != plan.height || frame->width != plan.width)
          problem = fmt::format("{}x{} pixels, the run expects {}x{}", frame->height, frame->width, plan.height,
                                plan.width);
      } catch (const detector::FrameFileError& e) {
        // A writer that stalled mid-file looks finished to the size check: read again until the frame's deadline.
        if (e.kind() == detector::FrameFileError::Kind::incomplete &&
            clock.now_s() < record.stop_s + plan.pairing.file_deadline_after_boundary_s) {
          asio::post(io, [this, record = std::move(record), path = std::move(path)]() mutable {
            // pending_reads stays counted until the retry has been handed on.
            auto retry = std::make_shared<asio::steady_timer>(io, clock.wall_duration(poll_interval_s()));
            retry->async_wait([this, retry, record = std::move(record), path = std::move(path)](auto) mutable {
              --pending_reads;
              read_and_store(std::move(record), std::move(path));
            });
          });
          return;
        }
        problem = e.what();
      } catch (const std::exception& e) {
        problem = e.what();
      }
      if (!problem.empty()) {
        record.flags |= detector::exposure_flag::truncated;
        run_file.append(record, {});
        asio::post(io, [this, record, problem] {
          ++owner.stats_.truncated;
          event("warning", fmt::format("frame {} file {} unreadable: {}", record.sequence, record.file_name, problem));
          --pending_reads;
        });
        return;
      }
      const auto bytes = plan.store_frames ? raw_bytes(*frame) : std::vector<std::uint8_t>{};
      run_file.append(record, bytes);
      asio::post(io, [this, record = std::move(record), frame]() mutable {
        --pending_reads;
        if (record.image_key == detector::image_dark) {
          ++owner.stats_.dark_frames;
          if (!darks_combined) darks_before.push_back(frame);
          return;
        }
        ++owner.stats_.data_frames;
        if (owner.on_data_frame_)
          owner.on_data_frame_(AcquiredFrame{std::move(record), frame, dark_median, pixel_mask});
      });
    });
  }

  awaitable<void> combine_darks_before() {
    if (darks_combined) co_return;
    darks_combined = true;
    if (darks_before.empty()) co_return;
    auto set = std::make_shared<DarkSet>();
    auto done = std::make_shared<asio::steady_timer>(io, asio::steady_timer::time_point::max());
    auto failure = std::make_shared<std::exception_ptr>();
    asio::post(readers, [this, set, done, failure, frames = darks_before] {
      try {
        *set = combine_darks(frames);
      } catch (...) {
        *failure = std::current_exception();  // rethrown on the loop: the run ends cleanly instead of hanging here
      }
      asio::post(io, [done] { done->cancel(); });
    });
    boost::system::error_code ec;
    co_await done->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (*failure) std::rethrow_exception(*failure);
    std::size_t masked = 0;
    for (auto m : set->mask) masked += m != 0;
    run_file.set_dark_median(set->median);
    run_file.set_pixel_mask(set->mask);
    pixel_mask = std::make_shared<const std::vector<std::uint32_t>>(std::move(set->mask));
    dark_median = std::make_shared<const std::vector<float>>(std::move(set->median));
    event("info", fmt::format("dark median from {} frames; {} pixels masked", darks_before.size(), masked));
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
      event("info", fmt::format("detector clock: sidecar time stamps read {:+.3f} s from this computer's clock at "
                                "the trigger (from {}); later frames are checked against that to {:g} s",
                                *detector_clock_offset_s - origin_unix_s, name_of(frame_path),
                                plan.pairing.max_clock_skew_s));
    }
    return stamp_s - *detector_clock_offset_s;
  }

  // The sidecar's timeStamp, or nullopt while there is none (no sidecar yet, or not written out yet). A sidecar is
  // a few hundred bytes, read here on the loop like the folder listing.
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

  // Files until stop; each one paired as it completes.
  awaitable<void> intake(io::FolderWatcher& watcher) {
    while (auto file = co_await watcher.next()) {
      const auto name = file->path.filename().string();
      const auto parsed = detector::parse_frame_name(name, plan.pattern);
      detector::FileArrival arrival;
      arrival.path = file->path.string();
      if (parsed && !parsed->dark) arrival.index = parsed->index;
      arrival.arrival_s = file->ready_s;
      arrival.complete = file->verdict == io::FileVerdict::complete;
      if (plan.sidecar && arrival.complete && arrival.index) {
        awaiting_sidecar.emplace_back(std::move(arrival), clock.now_s());
        pair_awaiting_sidecar();
      } else {
        pairer.file(arrival);
      }
      record_ready();
    }
  }

  bool all_recorded() const {
    return std::all_of(recorded.begin() + 1, recorded.end(), [](bool r) { return r; }) && pending_reads == 0 &&
           awaiting_sidecar.empty();
  }

  awaitable<void> take_series(std::function<bool()> exposing, std::function<bool()> program_over,
                              std::function<bool()> stop_requested) {
    const std::function<bool()> never = [] { return false; };
    if (plan.darks_before > 0 && !stop_requested()) {
      co_await trigger.set_shutter(true);
      co_await series(FrameKind::dark, plan.darks_before, never, stop_requested);
      co_await trigger.set_shutter(false);
      // Data frames are corrected with these darks: wait until they are all in (or given up).
      while (!all_recorded() && !stop_requested()) co_await clock.sleep_for(std::min(1.0, plan.period_s / 4));
      co_await combine_darks_before();
    }
    darks_combined = true;

    // Wait for the first exposed segment, then expose while the program stays in exposed segments.
    while (!stop_requested() && !exposing() && !program_over()) co_await clock.sleep_for(0.5);
    if (exposing() && !stop_requested()) {
      event("info", fmt::format("exposures start: {:g} s frames", plan.period_s));
      co_await series(FrameKind::data, -1, [&] { return exposing() && !program_over(); }, stop_requested);
    }
    if (plan.darks_after > 0 && !stop_requested()) {
      co_await trigger.set_shutter(true);
      co_await series(FrameKind::dark, plan.darks_after, never, stop_requested);
    }
  }

  // Deadlines pass on the run clock: frames whose file never came become missing.
  awaitable<void> wait_for_files(std::function<bool()> until) {
    while (!until()) {
      pair_awaiting_sidecar();
      pairer.advance(clock.now_s());
      record_ready();
      co_await clock.sleep_for(std::min(1.0, plan.period_s / 4));
    }
  }
};

Acquisition::Acquisition(asio::io_context& io, const io::RunClock& clock, trigger::Driver& trigger,
                         storage::RunFile& run_file, const StageLog& stage_log, AcquisitionPlan plan,
                         std::shared_ptr<spdlog::logger> logger)
    : impl_(std::make_unique<Impl>(io, clock, trigger, run_file, stage_log, std::move(plan), std::move(logger), *this)) {}

Acquisition::~Acquisition() = default;

awaitable<void> Acquisition::run(std::function<bool()> exposing, std::function<bool()> program_over,
                                 std::function<bool()> stop_requested) {
  auto& m = *impl_;
  io::FolderWatchSettings watch;
  watch.folder = m.plan.folder;
  watch.filter = m.plan.pattern + "-*" + m.plan.extension;
  watch.poll_interval_s = m.poll_interval_s();
  if (m.plan.sidecar) watch.sidecar_suffix = ".metadata";
  io::FolderWatcher watcher(m.io.get_executor(), m.clock, watch, m.log);

  // File intake and deadlines run beside the series; both end before this frame does, whatever happens.
  bool series_over = false, intake_done = false, deadlines_done = false;
  asio::co_spawn(m.io, m.intake(watcher), [&](std::exception_ptr) { intake_done = true; });
  asio::co_spawn(
      m.io, m.wait_for_files([&] { return (series_over && m.all_recorded()) || intake_done; }),
      [&](std::exception_ptr) { deadlines_done = true; });

  std::exception_ptr failure;
  try {
    co_await m.take_series(exposing, program_over, stop_requested);
  } catch (...) {
    failure = std::current_exception();
  }
  series_over = true;
  while (!deadlines_done) co_await m.clock.sleep_for(0.5);
  watcher.stop();
  while (!intake_done) co_await m.clock.sleep_for(0.05);
  stats_.orphans = m.pairer.orphans().size();
  for (const auto& orphan : m.pairer.orphans()) {
    m.event("warning", fmt::format("unexpected file kept as orphan: {}", orphan.path));
    m.run_file.append_orphan_file(orphan.path);
  }
  if (failure) std::rethrow_exception(failure);
}

}  // namespace insitu::daemon
