#include "daemon/storage/run_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <future>
#include <map>
#include <span>
#include <stdexcept>
#include <vector>

#include "daemon/storage/file_lock.hpp"
#include "daemon/storage/h5.hpp"
#include "daemon/storage/killed_file.hpp"
#include "daemon/storage/schema.hpp"

namespace insitu::storage {
namespace {

namespace s = schema;

constexpr std::size_t max_queued = 1 << 20;  // records; beyond this the writer is hopelessly behind
constexpr std::size_t max_queued_frame_bytes = std::size_t{1} << 30;  // 128 frames of 2048^2 uint16: ~25 min at 12 s
constexpr auto sync_interval = std::chrono::seconds(1);

// Disk space held beside the run file from its creation and given back when the run ends: on a full disk the
// records stop, but the end of the run (end_time, exit_status, the closing metadata) must still fit.
constexpr off_t kEndReserveBytes = 1 << 20;

std::filesystem::path reserve_end_space(const std::filesystem::path& file) {
  const auto reserve = file.parent_path() / ("." + file.filename().string() + ".end-reserve");
  const int fd = ::open(reserve.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return {};
  const bool held = ::posix_fallocate(fd, 0, kEndReserveBytes) == 0;
  ::close(fd);
  std::error_code ignored;
  if (!held) std::filesystem::remove(reserve, ignored);
  return held ? reserve : std::filesystem::path();
}

bool grow_reserve(const std::filesystem::path& reserve, std::uint64_t extra_bytes) {
  if (reserve.empty()) return false;
  const int fd = ::open(reserve.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st {};
  const bool grown = ::fstat(fd, &st) == 0 &&
                     ::posix_fallocate(fd, st.st_size, static_cast<off_t>(extra_bytes)) == 0;
  ::close(fd);
  return grown;
}

void release(const std::filesystem::path& reserve) {
  std::error_code ignored;
  if (!reserve.empty()) std::filesystem::remove(reserve, ignored);
}

}  // namespace

// HDF5 state of the writer thread.
struct RunFile::Writer {
  std::optional<WriterMark> mark;  // first: released last, once the file has closed
  std::optional<TemperatureLogWriter> log;
  std::optional<EventWriter> events;
  std::optional<DetectorWriter> detector;
  std::optional<AnalysisWriter> analysis;
  // Declared last so it is released first: the file then really closes with its last dataset.
  // After a failed write (disk full), closing datasets before the file leaves HDF5 1.10.8 with a
  // half-closed file that segfaults in H5_term_library at exit; this order does not.
  h5::Handle file;
  std::vector<TemperatureSample> pending_samples;
  std::vector<RunEvent> pending_events;
  std::optional<analysis::RunAnalysis> pending_update;  // only the latest of a batch is written
  std::map<std::string, std::string> run_parameters;   // of the last update: recorded at finish (creates objects)
  std::optional<std::size_t> mask_pixels;  // of the last analysis mask written: replaces parameters/mask_pixels
  double last_flush_s = 0.0;
  std::chrono::steady_clock::time_point last_sync{};

  // Power-loss safety at most once per wall second: fsync costs milliseconds, and at 600x the
  // run-time flush interval can pass many times a second.
  void sync_if_due() {
    const auto now = std::chrono::steady_clock::now();
    if (now - last_sync < sync_interval) return;
    h5::sync_to_disk(file);
    last_sync = now;
  }

  void build(const std::filesystem::path& path, const RunMetadata& m, const RunFileLayout& layout) {
    file = h5::create_file(path);
    mark.emplace(path);
    const h5::Handle entry = write_run_entry(file, path, m);
    h5::set_attribute(entry, s::attr::default_, s::log::plot);
    log.emplace(file, s::entry, m.start_time_iso);
    events.emplace(file, s::entry, m.start_time_iso);
    if (layout.detector) {
      detector.emplace(file, s::entry, *layout.detector, m.start_time_iso);
      if (layout.detector->store_frames) h5::set_attribute(entry, s::attr::default_, s::detector::plot);
    }
    if (layout.analysis)  // sets /entry@default to its S_eq(T) plot
      analysis.emplace(file, s::entry, *layout.analysis,
                       ProcessInfo{.program = m.program_name, .version = m.program_version, .date_iso = m.start_time_iso});
    // The layout is complete: SWMR forbids creating objects from here on.
    h5::start_swmr(file);
  }

  // A killed run's file, taken up again; returns what its committed records hold.
  ResumedRecords reopen(const std::filesystem::path& path, const std::optional<ResumptionRow>& resumption,
                        const RunFileLayout& layout) {
    recover_killed_file(path);
    file = h5::open_file_for_swmr(path);
    mark.emplace(path);
    log.emplace(TemperatureLogWriter::reopen(file, s::entry));
    events.emplace(EventWriter::reopen(file, s::entry));
    if (layout.detector) detector.emplace(DetectorWriter::reopen(file, s::entry, *layout.detector));
    if (layout.analysis) analysis.emplace(AnalysisWriter::reopen(file, s::entry, *layout.analysis));
    const h5::Handle entry = h5::open_group(file, s::entry);
    ResumedRecords records = read_resumed_records(entry);
    if (resumption) add_resumption(entry, records.last_committed_s, resumption->resume_time_s, resumption->segment);
    h5::start_swmr(file);
    return records;
  }

  static void add_resumption(const h5::Handle& entry, double last_s, double resume_s, std::size_t segment) {
    namespace r = s::resumptions;
    if (!h5::exists(entry, r::group)) {
      const h5::Handle group = h5::create_group(entry, r::group, s::nx::collection);
      h5::set_attribute(group, s::attr::description,
                        "the run's process died and the run was taken up again: one row per resumption");
      for (const auto& [name, units] : {std::pair{r::last_record_time, s::unit::second},
                                        std::pair{r::resume_time, s::unit::second}}) {
        const auto d = h5::create_extendable(group, name, {.type = h5::Dtype{}, .tail_shape = {}, .chunk_rows = 64});
        h5::set_attribute(d, s::attr::units, units);
      }
      h5::create_extendable(group, r::segment,
                            {.type = h5::dtype_of<std::int64_t>(), .tail_shape = {}, .chunk_rows = 64});
    }
    const h5::Handle group = h5::open_group(entry, r::group);
    const std::vector<double> last{last_s}, resumed{resume_s};
    const std::vector<std::int64_t> seg{static_cast<std::int64_t>(segment)};
    h5::append<double>(h5::open_dataset(group, r::last_record_time), last);
    h5::append<double>(h5::open_dataset(group, r::resume_time), resumed);
    h5::append<std::int64_t>(h5::open_dataset(group, r::segment), seg);
  }

  // Returns the number of records made visible.
  std::size_t commit_samples() {
    const std::size_t n = pending_samples.size();
    if (n == 0) return 0;
    log->append(pending_samples);
    pending_samples.clear();
    sync_if_due();
    return n;
  }

  std::size_t commit_events() {
    const std::size_t n = pending_events.size();
    if (n == 0) return 0;
    events->append(pending_events);
    pending_events.clear();
    sync_if_due();
    return n;
  }

  // parameters/mask_pixels (the last analysis mask's count) and run_parameters (the last update's): objects created
  // at the end because their keys are only known then.
  void write_final_parameters(const h5::Handle& f) {
    const h5::Handle process = h5::open_group(f, s::entry_path(s::entry, s::analysis::group));
    if (mask_pixels) {
      const std::map<std::string, std::string> count{{s::analysis::mask_pixels, std::to_string(*mask_pixels)}};
      write_parameters(process, s::analysis::parameters, count);
      if (!run_parameters.empty()) run_parameters[s::analysis::mask_pixels] = count.at(s::analysis::mask_pixels);
    }
    if (!run_parameters.empty()) write_parameters(process, s::run::parameters, run_parameters);
  }

  // Ends SWMR by closing, throwing on failure (unlike the destructors).
  void close_swmr() {
    file.close();  // deferred by HDF5 until the last dataset closes; see the member order above
    log->close();
    events->close();
    if (detector) detector->close();
    if (analysis) analysis->close();
  }

  // In regular mode: the end of the run, then what creates objects, each part on its own so one failure does not
  // cost the others; exit_status names the first thing lost (`lost` holds the run's earlier losses, if any).
  void finalize(const std::filesystem::path& path, const RunMetadata& m, std::chrono::milliseconds deadline,
                double end_time_s, const std::string& exit_status,
                const std::vector<std::function<void(const h5::Handle&)>>& writers, std::vector<std::string>& lost) {
    ReopenedFile reopened = reopen_for_writing(path, deadline);
    const h5::Handle& f = reopened.file();
    const h5::Handle entry = h5::open_group(f, s::entry);
    const auto status = [&] { return lost.empty() ? exit_status : exit_status + "; run file incomplete: " + lost.front(); };
    write_end_of_run(entry, m.start_time_iso, end_time_s, status());
    const std::size_t lost_before = lost.size();
    const auto part = [&](const std::string& what, const auto& write) {
      try {
        write();
      } catch (const std::exception& e) {
        lost.push_back(what + ": " + e.what());
      }
    };
    if (analysis) part("analysis parameters", [&] { write_final_parameters(f); });
    for (const auto& writer : writers) part("end-of-run writer", [&] { writer(f); });
    if (lost.size() > lost_before) {  // the status written above must not claim what is missing
      h5::remove(entry, s::entry_field::exit_status);
      h5::write_string(entry, s::entry_field::exit_status, status());
    }
    reopened.close();
  }
};

RunFile::RunFile(std::filesystem::path file, RunMetadata metadata, RunFileOptions options, RunFileLayout layout)
    : path_(std::move(file)),
      metadata_(std::move(metadata)),
      options_(options),
      layout_(std::move(layout)),
      writer_(std::make_unique<Writer>()) {}

std::unique_ptr<RunFile> RunFile::create(const std::filesystem::path& file, const RunMetadata& metadata,
                                         RunFileOptions options, RunFileLayout layout) {
  if (!std::isfinite(options.flush_interval_s) || options.flush_interval_s < 0)
    throw std::runtime_error("RunFile " + file.string() + ": flush_interval_s must be finite and >= 0");
  if (!std::isfinite(options.finish_deadline_s) || options.finish_deadline_s < 0)
    throw std::runtime_error("RunFile " + file.string() + ": finish_deadline_s must be finite and >= 0");
  if (!(metadata.clock_speed > 0))
    throw std::runtime_error("RunFile " + file.string() + ": clock_speed must be > 0");
  parse_iso8601_utc(metadata.start_time_iso);  // fail before the run, not at finish()

  std::unique_ptr<RunFile> run(new RunFile(file, metadata, options, std::move(layout)));
  run->end_reserve_ = reserve_end_space(file);
  return start_writer(std::move(run), [](RunFile& raw) {
    try {
      raw.writer_->build(raw.path_, raw.metadata_, raw.layout_);
      if (raw.writer_->detector) raw.frame_filter_ = raw.writer_->detector->filter();
    } catch (...) {
      const bool created = static_cast<bool>(raw.writer_->file);
      std::error_code ignored;
      if (created) std::filesystem::remove(raw.path_, ignored);  // ours, and not a usable run file
      throw;
    }
  });
}

namespace {

// The layout must say what the file has: a detector group the layout lacks would be left torn, one it has that the
// file lacks cannot be created under SWMR.
void check_layout_matches(const std::filesystem::path& file, const RunFileLayout& layout, bool resuming) {
  const h5::Handle readable = h5::open_file(file, h5::Access::swmr_read);
  const h5::Handle entry = h5::open_group(readable, s::entry);
  const auto check = [&](const char* group, bool in_layout, const char* what) {
    const bool in_file = h5::exists(entry, group);
    if (in_file != in_layout && (resuming || in_layout))
      throw std::runtime_error(file.string() + ": the run file " + (in_file ? "has" : "has no") + " " + what +
                               " and the resumed run " + (in_layout ? "has one" : "none"));
  };
  check(s::detector::group, layout.detector.has_value(), "detector");
  check(s::analysis::group, layout.analysis.has_value(), "analysis");
}

}  // namespace

std::unique_ptr<RunFile> RunFile::reopen(const std::filesystem::path& file, const RunMetadata& metadata,
                                         std::optional<ResumptionRow> resumption, RunFileOptions options,
                                         RunFileLayout layout) {
  check_layout_matches(file, layout, resumption.has_value());
  std::unique_ptr<RunFile> run(new RunFile(file, metadata, options, std::move(layout)));
  run->end_reserve_ = reserve_end_space(file);
  return start_writer(std::move(run), [resumption](RunFile& raw) {
    raw.resumed_ = raw.writer_->reopen(raw.path_, resumption, raw.layout_);
    raw.last_time_s_ = raw.resumed_.last_committed_s;
    if (raw.writer_->detector) raw.frame_filter_ = raw.writer_->detector->filter();
  });
}

// The file is built (or taken up) on the writer thread too, so HDF5 is only ever touched by that thread. The thread
// owns the promise: the caller may return while set_value() is still unwinding.
std::unique_ptr<RunFile> RunFile::start_writer(std::unique_ptr<RunFile> run, std::function<void(RunFile&)> build) {
  std::promise<void> built;
  auto ready = built.get_future();
  run->thread_ = std::thread([raw = run.get(), built = std::move(built), build = std::move(build)]() mutable {
    try {
      build(*raw);
    } catch (...) {
      raw->writer_.reset();
      built.set_exception(std::current_exception());
      return;
    }
    built.set_value();
    raw->run_writer();
  });
  try {
    ready.get();
  } catch (...) {
    run->thread_.join();
    run->finishing_ = true;  // nothing to finish: the destructor must not enqueue
    release(run->end_reserve_);
    throw;
  }
  return run;
}

RunFile::~RunFile() {
  double end_s = 0;
  {
    std::lock_guard lock(mutex_);
    end_s = last_time_s_;
  }
  finish(end_s, "aborted");
}

void RunFile::enqueue(Item item) {
  {
    std::lock_guard lock(mutex_);
    const auto* frame = std::get_if<Frame>(&item);
    const std::size_t bytes = frame ? frame->pixels.size() : 0;
    if (finishing_ || error_ || queue_.size() >= max_queued || queued_bytes_ + bytes > max_queued_frame_bytes) {
      ++stats_.dropped;
      if (!finishing_ && !error_)
        error_ = "run file writer queue overflow (" + std::to_string(queue_.size()) + " records, " +
                 std::to_string(queued_bytes_ >> 20) + " MiB of frames)";
      return;
    }
    if (const auto* sample = std::get_if<TemperatureSample>(&item)) last_time_s_ = std::max(last_time_s_, sample->time_s);
    if (const auto* event = std::get_if<RunEvent>(&item)) last_time_s_ = std::max(last_time_s_, event->time_s);
    if (frame) last_time_s_ = std::max(last_time_s_, frame->record.stop_s);
    queued_bytes_ += bytes;
    queue_.push_back(std::move(item));
  }
  wake_.notify_one();
}

void RunFile::append(const TemperatureSample& sample) { enqueue(sample); }
void RunFile::append(const RunEvent& event) { enqueue(event); }

void RunFile::append(const detector::ExposureRecord& record, std::span<const std::uint8_t> raw_pixels) {
  if (!layout_.detector) throw std::logic_error("RunFile " + path_.string() + ": exposure record without a detector layout");
  check_frame_bytes(*layout_.detector, raw_pixels);
  enqueue(Frame{record, std::vector<std::uint8_t>(raw_pixels.begin(), raw_pixels.end())});
}

void RunFile::set_pixel_mask(std::vector<std::uint32_t> mask) {
  if (!layout_.detector) throw std::logic_error("RunFile " + path_.string() + ": pixel mask without a detector layout");
  if (mask.size() != layout_.detector->height * layout_.detector->width)
    throw std::invalid_argument("pixel mask of " + std::to_string(mask.size()) + " values does not match the detector");
  enqueue(PixelMask{std::move(mask)});
}

void RunFile::set_dark_median(std::vector<float> dark) {
  if (!layout_.detector) throw std::logic_error("RunFile " + path_.string() + ": dark median without a detector layout");
  if (dark.size() != layout_.detector->height * layout_.detector->width)
    throw std::invalid_argument("dark median of " + std::to_string(dark.size()) + " values does not match the detector");
  enqueue(DarkMedian{std::move(dark)});
}

void RunFile::set_analysis_mask(std::vector<std::uint8_t> mask) {
  if (!layout_.analysis || layout_.analysis->mask_height == 0)
    throw std::logic_error("RunFile " + path_.string() + ": analysis mask without a mask in the analysis layout");
  if (mask.size() != layout_.analysis->mask_height * layout_.analysis->mask_width)
    throw std::invalid_argument("analysis mask of " + std::to_string(mask.size()) +
                                " values does not match the detector");
  enqueue(AnalysisMask{std::move(mask)});
}

void RunFile::append_orphan_file(std::string path) {
  if (!layout_.detector) throw std::logic_error("RunFile " + path_.string() + ": orphan file without a detector layout");
  enqueue(OrphanFile{std::move(path)});
}

void RunFile::append(const analysis::FrameAnalysis& frame) {
  if (!layout_.analysis) throw std::logic_error("RunFile " + path_.string() + ": frame analysis without an analysis layout");
  check_frame_analysis(*layout_.analysis, frame);
  enqueue(frame);
}

void RunFile::update(const analysis::RunAnalysis& run) {
  if (!layout_.analysis) throw std::logic_error("RunFile " + path_.string() + ": run analysis without an analysis layout");
  enqueue(align_run_analysis(run));  // throws std::invalid_argument here, not on the writer thread
}

void RunFile::at_finish(std::function<void(const h5::Handle& file)> writer) {
  std::lock_guard lock(mutex_);
  if (finishing_) throw std::logic_error("RunFile " + path_.string() + ": at_finish after finish()");
  finish_writers_.push_back(std::move(writer));
}

bool RunFile::reserve_for_finish(std::uint64_t bytes) {
  std::lock_guard lock(mutex_);
  return !finishing_ && grow_reserve(end_reserve_, bytes);
}

std::optional<h5::Filter> RunFile::frame_filter() const { return frame_filter_; }

bool RunFile::finish(double end_time_s, const std::string& exit_status) {
  {
    std::lock_guard lock(mutex_);
    if (finishing_) return !error_;
    finishing_ = true;
    queue_.push_back(Finish{end_time_s, exit_status});
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mutex_);
  return !error_;
}

std::optional<std::string> RunFile::error() const {
  std::lock_guard lock(mutex_);
  return error_;
}

RunFileStats RunFile::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

const std::filesystem::path& RunFile::path() const { return path_; }

void RunFile::fail(const std::string& message) {
  std::lock_guard lock(mutex_);
  if (!error_) error_ = message;
}

void RunFile::write(Item& item) {
  Writer& w = *writer_;
  const auto count = [&](auto&& bump) {
    std::lock_guard lock(mutex_);
    bump(stats_);
  };
  if (auto* sample = std::get_if<TemperatureSample>(&item)) {
    w.pending_samples.push_back(*sample);
    if (sample->time_s >= w.last_flush_s + options_.flush_interval_s) {
      const double newest_s = sample->time_s;
      const std::size_t n = w.commit_samples();
      count([&](RunFileStats& s) {
        s.samples_committed += n;
        ++s.sample_flushes;
      });
      w.last_flush_s = newest_s;
    }
  } else if (auto* event = std::get_if<RunEvent>(&item)) {
    w.pending_events.push_back(std::move(*event));
  } else if (auto* frame = std::get_if<Frame>(&item)) {
    w.detector->append(frame->record, frame->pixels);
    count([](RunFileStats& s) { ++s.frames_committed; });
  } else if (auto* mask = std::get_if<PixelMask>(&item)) {
    w.detector->write_pixel_mask(mask->mask);
  } else if (auto* analysis_mask = std::get_if<AnalysisMask>(&item)) {
    w.analysis->write_mask(analysis_mask->mask);
    w.mask_pixels = static_cast<std::size_t>(
        std::count_if(analysis_mask->mask.begin(), analysis_mask->mask.end(), [](auto m) { return m != 0; }));
  } else if (auto* dark = std::get_if<DarkMedian>(&item)) {
    w.detector->write_dark_median(dark->dark);
  } else if (auto* orphan = std::get_if<OrphanFile>(&item)) {
    w.detector->append_orphan_file(orphan->path);
  } else if (auto* analysed = std::get_if<analysis::FrameAnalysis>(&item)) {
    w.analysis->append(*analysed);
    count([](RunFileStats& s) { ++s.analysis_rows_committed; });
  } else {
    w.pending_update = std::get<analysis::RunAnalysis>(std::move(item));
  }
}

// Pending events (with the temperatures that led up to them: a fault, a segment change) and the latest run-level
// update; with `all`, the pending temperatures too.
void RunFile::commit(bool all) {
  Writer& w = *writer_;
  std::size_t samples = 0, events = 0;
  if (all || !w.pending_events.empty()) {
    const double newest_s = w.pending_samples.empty() ? w.last_flush_s : w.pending_samples.back().time_s;
    samples = w.commit_samples();
    events = w.commit_events();
    w.last_flush_s = newest_s;
  }
  const bool updated = w.pending_update.has_value();
  if (updated) {
    w.analysis->update(*w.pending_update);
    w.run_parameters = std::move(w.pending_update->parameters);
    w.pending_update.reset();
  }
  std::lock_guard lock(mutex_);
  stats_.samples_committed += samples;
  stats_.sample_flushes += samples > 0;
  stats_.events_committed += events;
  stats_.analysis_updates += updated;
}

// Commits what is pending, ends SWMR, reopens and writes the end (Writer::finalize); every loss goes to error().
void RunFile::end_run(const Finish& finish) {
  release(end_reserve_);
  Writer& w = *writer_;
  std::vector<std::string> lost;
  if (auto earlier = error()) lost.push_back(*earlier);  // records were dropped: the file must say so
  try {
    commit(true);
  } catch (const std::exception& e) {
    lost.push_back(e.what());
  }
  std::vector<std::function<void(const h5::Handle&)>> writers;
  {
    std::lock_guard lock(mutex_);
    writers.swap(finish_writers_);
  }
  try {
    w.close_swmr();
    const auto deadline = std::chrono::milliseconds(static_cast<long>(options_.finish_deadline_s * 1000));
    w.finalize(path_, metadata_, deadline, finish.end_time_s, finish.exit_status, writers, lost);
  } catch (const std::exception& e) {
    lost.push_back("the end of the run (end_time, exit_status" + std::string(writers.empty() ? "" : ", at_finish") +
                   ") was not written: " + e.what());
  }
  for (const auto& why : lost) fail(why);
  writer_.reset();  // closes whatever finalize() could not
}

void RunFile::run_writer() {
  Writer& w = *writer_;
  bool failed = false;
  // Records lost to a failure are counted with the refused ones.
  const auto fail_and_drop = [&](const std::exception& e) {
    fail(e.what());
    failed = true;
    std::lock_guard lock(mutex_);
    stats_.dropped += w.pending_samples.size() + w.pending_events.size() + (w.pending_update ? 1 : 0);
    w.pending_samples.clear();
    w.pending_events.clear();
    w.pending_update.reset();
  };
  for (;;) {
    std::deque<Item> batch;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return !queue_.empty(); });
      batch.swap(queue_);
      queued_bytes_ = 0;
    }
    for (auto& item : batch) {
      if (auto* finish = std::get_if<Finish>(&item)) return end_run(*finish);
      if (failed) {
        std::lock_guard lock(mutex_);
        ++stats_.dropped;
        continue;
      }
      try {
        write(item);
      } catch (const std::exception& e) {
        fail_and_drop(e);
      }
    }
    if (failed) continue;
    try {
      commit(false);
    } catch (const std::exception& e) {
      fail_and_drop(e);
    }
  }
}

}  // namespace insitu::storage
