#include "daemon/storage/run_file.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <future>
#include <map>
#include <span>
#include <stdexcept>
#include <vector>

#include "daemon/storage/h5.hpp"
#include "drivers/io/clock.hpp"

namespace insitu::storage {
namespace {

constexpr std::size_t kind_length = 16;      // bytes of a fixed-length event kind
constexpr std::size_t message_length = 256;  // bytes of a fixed-length event message
constexpr std::size_t max_queued = 1 << 20;  // records; beyond this the writer is hopelessly behind
constexpr std::size_t max_queued_frame_bytes = std::size_t{1} << 30;  // 128 frames of 2048^2 uint16: ~25 min at 12 s
constexpr hsize_t log_chunk_rows = 4096;     // 32 KiB of doubles: ~7 min at 10 Hz per chunk
constexpr auto sync_interval = std::chrono::seconds(1);

constexpr const char* status_description =
    "Linkam T95 SB1 byte, by value: 0x01 stopped, 0x10 heating, 0x20 cooling, 0x30 holding at limit, "
    "0x40 holding the limit time, 0x50 holding the current temperature";
constexpr const char* error_description =
    "Linkam T95 EB1 bitmask, 0x80 always set: 0x01 cooling rate too fast, 0x02 open circuit, "
    "0x04 power surge, 0x08 no exit above 300 C, 0x20 link error";
constexpr const char* pump_description =
    "Linkam T95 PB1 (LNP pump), 0x80 always set: speed = PB1 & 0x1F (0..30), 0x40 automatic mode";

std::string sha256_hex(const std::string& text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("sha256 of the recipe text failed (OpenSSL EVP_Digest)");
  std::string hex;
  char byte[3];
  for (unsigned int i = 0; i < length; ++i) {
    std::snprintf(byte, sizeof byte, "%02x", digest[i]);
    hex += byte;
  }
  return hex;
}

// Parses "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+00:00)", the form RunClock::iso8601_at produces.
std::chrono::system_clock::time_point parse_iso8601_utc(const std::string& text) {
  std::tm tm{};
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec, &consumed) != 6)
    throw std::runtime_error("start_time_iso '" + text + "': expected YYYY-MM-DDTHH:MM:SS[.fff]Z");
  std::size_t at = static_cast<std::size_t>(consumed);
  double fraction_s = 0;
  if (at < text.size() && text[at] == '.') {
    double scale = 0.1;
    for (++at; at < text.size() && std::isdigit(static_cast<unsigned char>(text[at])); ++at, scale /= 10)
      fraction_s += (text[at] - '0') * scale;
  }
  const std::string zone = text.substr(at);
  if (zone != "Z" && zone != "+00:00")
    throw std::runtime_error("start_time_iso '" + text + "': at character " + std::to_string(at + 1) +
                             ": expected UTC ('Z' or '+00:00')");
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  const std::time_t whole = timegm(&tm);
  return std::chrono::system_clock::from_time_t(whole) +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::duration<double>(fraction_s));
}

}  // namespace

// HDF5 state of the writer thread.
struct RunFile::Writer {
  h5::Handle log_time, log_time_uncertainty, log_value, log_setpoint, log_status, log_error, log_pump;
  h5::Handle event_time, event_kind, event_message;
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
    using h5::set_attribute;
    using h5::write_string;
    file = h5::create_file(path);
    h5::Handle root = h5::open_group(file, "/");
    set_attribute(root, "NX_class", "NXroot");
    set_attribute(root, "default", "entry");
    set_attribute(root, "creator", m.program_name + " " + m.program_version);
    set_attribute(root, "file_name", path.filename().string());
    set_attribute(root, "file_time", io::iso8601_utc(std::chrono::system_clock::now()));
    set_attribute(root, "HDF5_Version", h5::library_version());

    h5::Handle entry = h5::create_group(file, "entry", "NXentry");
    set_attribute(entry, "default", "temperature");
    write_string(entry, "title", m.recipe_name + " on " + m.sample_name);
    write_string(entry, "start_time", m.start_time_iso);
    set_attribute(write_string(entry, "program_name", m.program_name), "version", m.program_version);

    h5::Handle recipe = h5::create_group(entry, "recipe", "NXnote");
    write_string(recipe, "type", "application/yaml");
    write_string(recipe, "data", m.recipe_text);
    write_string(recipe, "checksum", sha256_hex(m.recipe_text));
    write_string(recipe, "algorithm", "sha256");
    write_string(recipe, "file_name", m.recipe_path);
    write_string(recipe, "description", m.recipe_name);

    h5::Handle sample = h5::create_group(entry, "sample", "NXsample");
    write_string(sample, "name", m.sample_name);
    write_string(sample, "chemical_formula", m.sample_composition);
    write_string(sample, "description", m.sample_description);
    write_string(sample, "treatment", m.sample_treatment);

    h5::Handle log = h5::create_group(sample, "temperature_log", "NXlog");
    const auto column = [&](const std::string& name, h5::Dtype type) {
      return h5::create_extendable(log, name, {.type = type, .tail_shape = {}, .chunk_rows = log_chunk_rows});
    };
    log_time = column("time", h5::dtype_of<double>());
    set_attribute(log_time, "units", "s");
    set_attribute(log_time, "start", m.start_time_iso);
    log_time_uncertainty = column("time_uncertainty", h5::dtype_of<double>());
    set_attribute(log_time_uncertainty, "units", "s");
    set_attribute(log_time_uncertainty, "description", "half the request-reply exchange the reading came from");
    log_value = column("value", h5::dtype_of<double>());
    set_attribute(log_value, "units", "K");
    log_setpoint = column("setpoint", h5::dtype_of<double>());
    set_attribute(log_setpoint, "units", "K");
    log_status = column("status", h5::dtype_of<std::uint8_t>());
    set_attribute(log_status, "description", status_description);
    log_error = column("error", h5::dtype_of<std::uint8_t>());
    set_attribute(log_error, "description", error_description);
    log_pump = column("pump", h5::dtype_of<std::uint8_t>());
    set_attribute(log_pump, "description", pump_description);

    h5::Handle instrument = h5::create_group(entry, "instrument", "NXinstrument");
    h5::Handle controller = h5::create_group(instrument, "temperature_controller", "NXenvironment");
    write_string(controller, "name", m.stage_model);
    write_string(controller, "model", m.stage_model);
    write_string(controller, "connection", m.stage_connection);
    h5::write_scalar(controller, "clock_speed", m.clock_speed);
    h5::write_scalar(controller, "simulated", std::int64_t{m.simulated ? 1 : 0});
    h5::soft_link(controller, "/entry/sample/temperature_log", "value_log");

    h5::Handle events = h5::create_group(entry, "events", "NXcollection");
    event_time = h5::create_extendable(events, "time", {.type = h5::dtype_of<double>(), .tail_shape = {}, .chunk_rows = 256});
    set_attribute(event_time, "units", "s");
    set_attribute(event_time, "start", m.start_time_iso);
    event_kind = h5::create_extendable(events, "kind", {.type = h5::Dtype::fixed_string(kind_length), .tail_shape = {}, .chunk_rows = 256});
    event_message =
        h5::create_extendable(events, "message", {.type = h5::Dtype::fixed_string(message_length), .tail_shape = {}, .chunk_rows = 256});

    // What silx/h5web plot by default: T(t) through the @default chain.
    h5::Handle plot = h5::create_group(entry, "temperature", "NXdata");
    set_attribute(plot, "signal", "value");
    set_attribute(plot, "axes", "time");
    h5::soft_link(plot, "/entry/sample/temperature_log/time", "time");
    h5::soft_link(plot, "/entry/sample/temperature_log/value", "value");

    if (layout.detector) {
      detector.emplace(file, *layout.detector, m.start_time_iso);
      if (layout.detector->store_frames) set_attribute(entry, "default", "data");
    }
    if (layout.analysis)  // sets /entry@default to its S_eq(T) plot
      analysis.emplace(file, "/entry", *layout.analysis,
                       ProcessInfo{.program = m.program_name, .version = m.program_version, .date_iso = m.start_time_iso});

    // The layout is complete: SWMR forbids creating objects from here on.
    h5::start_swmr(file);
  }

  // Returns the number of records made visible. `time` goes last: readers trust rows < len(time).
  std::size_t commit_samples() {
    const std::size_t n = pending_samples.size();
    if (n == 0) return 0;
    std::vector<double> time(n), time_uncertainty(n), value(n), setpoint(n);
    std::vector<std::uint8_t> status(n), error(n), pump(n);
    for (std::size_t i = 0; i < n; ++i) {
      const auto& s = pending_samples[i];
      time[i] = s.time_s;
      time_uncertainty[i] = s.time_uncertainty_s;
      value[i] = s.value_K;
      setpoint[i] = s.setpoint_K;
      status[i] = s.status;
      error[i] = s.error;
      pump[i] = s.pump;
    }
    h5::append<double>(log_time_uncertainty, time_uncertainty);
    h5::append<double>(log_value, value);
    h5::append<double>(log_setpoint, setpoint);
    h5::append<std::uint8_t>(log_status, status);
    h5::append<std::uint8_t>(log_error, error);
    h5::append<std::uint8_t>(log_pump, pump);
    for (const auto* d : {&log_time_uncertainty, &log_value, &log_setpoint, &log_status, &log_error, &log_pump})
      h5::flush(*d);
    h5::append<double>(log_time, time);
    h5::flush(log_time);
    pending_samples.clear();
    sync_if_due();
    return n;
  }

  std::size_t commit_events() {
    const std::size_t n = pending_events.size();
    if (n == 0) return 0;
    std::vector<double> time(n);
    std::vector<std::string> kind(n), message(n);
    for (std::size_t i = 0; i < n; ++i) {
      time[i] = pending_events[i].time_s;
      kind[i] = pending_events[i].kind;
      message[i] = pending_events[i].message;
    }
    h5::append_strings(event_kind, kind);
    h5::append_strings(event_message, message);
    h5::flush(event_kind);
    h5::flush(event_message);
    h5::append<double>(event_time, time);
    h5::flush(event_time);
    pending_events.clear();
    sync_if_due();
    return n;
  }

  // Ends SWMR by closing (throwing on failure, unlike the destructors), then records the end.
  void finalize(const std::filesystem::path& path, const RunMetadata& m, double end_time_s,
                const std::string& exit_status, const std::vector<std::function<void(const h5::Handle&)>>& writers) {
    file.close();  // deferred by HDF5 until the last dataset closes; see the member order above
    for (auto* d : {&log_time, &log_time_uncertainty, &log_value, &log_setpoint, &log_status, &log_error, &log_pump,
                    &event_time, &event_kind, &event_message})
      d->close();
    if (detector) detector->close();
    if (analysis) analysis->close();
    h5::Handle reopened = h5::open_file(path, h5::Access::read_write);
    h5::Handle entry = h5::open_group(reopened, "entry");
    const auto end = parse_iso8601_utc(m.start_time_iso) +
                     std::chrono::duration_cast<std::chrono::system_clock::duration>(
                         std::chrono::duration<double>(end_time_s));
    h5::write_string(entry, "end_time", io::iso8601_utc(end));
    h5::write_scalar(entry, "duration", end_time_s, "s");
    h5::write_string(entry, "exit_status", exit_status);
    if (analysis && mask_pixels) {
      const std::map<std::string, std::string> count{{"mask_pixels", std::to_string(*mask_pixels)}};
      write_parameters(h5::open_group(reopened, "/entry/analysis"), "parameters", count);
      if (!run_parameters.empty()) run_parameters["mask_pixels"] = count.at("mask_pixels");
    }
    if (analysis && !run_parameters.empty())
      write_parameters(h5::open_group(reopened, "/entry/analysis"), "run_parameters", run_parameters);
    for (const auto& writer : writers) writer(reopened);
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
  if (!(metadata.clock_speed > 0))
    throw std::runtime_error("RunFile " + file.string() + ": clock_speed must be > 0");
  parse_iso8601_utc(metadata.start_time_iso);  // fail before the run, not at finish()

  std::unique_ptr<RunFile> run(new RunFile(file, metadata, options, std::move(layout)));
  // The layout is built on the writer thread too, so HDF5 is only ever touched by that thread.
  // The thread owns the promise: create() may return while set_value() is still unwinding.
  std::promise<void> built;
  auto ready = built.get_future();
  run->thread_ = std::thread([raw = run.get(), built = std::move(built)]() mutable {
    try {
      raw->writer_->build(raw->path_, raw->metadata_, raw->layout_);
      if (raw->writer_->detector) raw->frame_filter_ = raw->writer_->detector->filter();
    } catch (...) {
      const bool created = static_cast<bool>(raw->writer_->file);
      raw->writer_.reset();
      std::error_code ignored;
      if (created) std::filesystem::remove(raw->path_, ignored);  // ours, and not a usable run file
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
  check_run_analysis(run);
  enqueue(run);
}

void RunFile::at_finish(std::function<void(const h5::Handle& file)> writer) {
  std::lock_guard lock(mutex_);
  if (finishing_) throw std::logic_error("RunFile " + path_.string() + ": at_finish after finish()");
  finish_writers_.push_back(std::move(writer));
}

std::optional<h5::Filter> RunFile::frame_filter() const { return frame_filter_; }

void RunFile::finish(double end_time_s, const std::string& exit_status) {
  {
    std::lock_guard lock(mutex_);
    if (finishing_) return;
    finishing_ = true;
    queue_.push_back(Finish{end_time_s, exit_status});
  }
  wake_.notify_one();
  thread_.join();
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
  const auto count = [&](auto&& bump) {
    std::lock_guard lock(mutex_);
    bump(stats_);
  };
  const auto commit_samples = [&] {
    if (w.pending_samples.empty()) return;
    const double newest_s = w.pending_samples.back().time_s;
    const std::size_t n = w.commit_samples();
    count([&](RunFileStats& s) {
      s.samples_committed += n;
      ++s.sample_flushes;
    });
    w.last_flush_s = newest_s;
  };
  const auto commit_events = [&] {
    const std::size_t n = w.commit_events();
    count([&](RunFileStats& s) { s.events_committed += n; });
  };
  const auto commit_update = [&] {
    if (!w.pending_update) return;
    w.analysis->update(*w.pending_update);
    w.run_parameters = std::move(w.pending_update->parameters);
    w.pending_update.reset();
    count([](RunFileStats& s) { ++s.analysis_updates; });
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
      if (auto* finish = std::get_if<Finish>(&item)) {
        try {
          if (!failed) {
            commit_samples();
            commit_events();
            commit_update();
          }
        } catch (const std::exception& e) {
          fail_and_drop(e);
        }
        std::vector<std::function<void(const h5::Handle&)>> writers;
        {
          std::lock_guard lock(mutex_);
          writers.swap(finish_writers_);
        }
        try {
          w.finalize(path_, metadata_, finish->end_time_s, finish->exit_status, writers);
        } catch (const std::exception& e) {
          fail(e.what());
        }
        writer_.reset();  // closes whatever finalize() could not
        return;
      }
      if (failed) {
        count([](RunFileStats& s) { ++s.dropped; });
        continue;
      }
      try {
        if (auto* sample = std::get_if<TemperatureSample>(&item)) {
          w.pending_samples.push_back(*sample);
          if (sample->time_s >= w.last_flush_s + options_.flush_interval_s) commit_samples();
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
      } catch (const std::exception& e) {
        fail_and_drop(e);
      }
    }
    try {
      // An event (a fault, a segment change) also commits the temperatures that led up to it.
      if (!failed && !w.pending_events.empty()) {
        commit_samples();
        commit_events();
      }
      if (!failed) commit_update();
    } catch (const std::exception& e) {
      fail_and_drop(e);
    }
  }
}

}  // namespace insitu::storage
