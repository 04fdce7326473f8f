#include "daemon/reprocess_output.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iomanip>
#include <ostream>
#include <stdexcept>

#include <fmt/format.h>

#include "daemon/storage/killed_file.hpp"
#include "daemon/storage/run_entry.hpp"
#include "daemon/storage/run_file_reader.hpp"
#include "daemon/storage/schema.hpp"
#include "drivers/io/clock.hpp"

namespace insitu::daemon {
namespace {

namespace fs = std::filesystem;
namespace h5 = storage::h5;
namespace s = storage::schema;

std::string now_iso() { return io::iso8601_utc(std::chrono::system_clock::now()); }

storage::RunMetadata output_metadata(const std::string& what, const std::string& composition) {
  storage::RunMetadata m;
  m.program_version = INSITU_VERSION;
  m.recipe_name = what;
  m.sample_name = composition;
  m.sample_composition = composition;
  m.start_time_iso = now_iso();
  return m;
}

storage::PixelType stored_type(detector::PixelType type) {
  switch (type) {
    case detector::PixelType::uint16: return storage::PixelType::u16;
    case detector::PixelType::uint32: return storage::PixelType::u32;
    case detector::PixelType::int32: return storage::PixelType::i32;
    case detector::PixelType::float32: return storage::PixelType::f32;
  }
  throw std::invalid_argument("frame of an unknown pixel type");
}

std::span<const std::uint8_t> bytes_of(const detector::Frame& frame) {
  return std::visit(
      [](const auto& p) {
        return std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(p.data()),
                                             p.size() * sizeof(p[0]));
      },
      frame.pixels);
}

storage::ProcessInfo reprocess_process(const std::string& source) {
  return {.program = "insitu reprocess", .version = INSITU_VERSION, .date_iso = now_iso(), .source = source};
}

}  // namespace

FramesOutput::FramesOutput(const ReprocessOptions& o, const ReprocessInputs& in, const detector::Frame& first)
    : path_(o.output) {
  const auto& g = in.geometry;
  layout_.height = first.height, layout_.width = first.width;
  layout_.pixel_type = stored_type(first.pixel_type());
  layout_.filter = h5::Filter::shuffle_deflate;  // readable without plugins; up to the frames' size again
  layout_.x_pixel_size_m = g.pixel2_m, layout_.y_pixel_size_m = g.pixel1_m, layout_.distance_m = g.distance_m;
  layout_.description = "frames of `insitu reprocess --frames`, as read";
  const auto poni = analysis::read_poni(o.poni);
  layout_.calibration = storage::DetectorLayout::Calibration{
      g, poni.height != 0 ? static_cast<int>(poni.height / g.height) : 1, read_text(o.poni),
      fs::absolute(o.poni).string()};
  const auto meta = output_metadata("insitu reprocess --frames " + o.frames_dir.string(), in.settings.composition);
  start_time_iso_ = meta.start_time_iso;
  file_ = h5::create_file(path_);
  storage::write_run_entry(file_, path_, meta, {.recipe = false, .stage = false});
  detector_.emplace(file_, s::entry, layout_, start_time_iso_);
}

FramesOutput::~FramesOutput() {
  if (kept_) return;
  detector_.reset();
  file_ = h5::Handle();
  std::error_code ignored;  // nothing to report from a destructor; the run's own error is on its way
  fs::remove(path_, ignored);
}

void FramesOutput::write_dark(const std::vector<float>& dark) { detector_->write_dark_median(dark); }

void FramesOutput::append(const detector::Frame& frame, const fs::path& file, std::uint64_t sequence,
                          const FrameTemperature& row, double time_s) {
  if (frame.height != layout_.height || frame.width != layout_.width)
    throw std::runtime_error(fmt::format("{}: frame is {}x{}, the first was {}x{}", file.string(), frame.height,
                                         frame.width, layout_.height, layout_.width));
  if (stored_type(frame.pixel_type()) != layout_.pixel_type)
    throw std::runtime_error(fmt::format("{}: frame pixels are {}, not the first frame's", file.string(),
                                         detector::to_string(frame.pixel_type())));
  detector::ExposureRecord record;
  record.sequence = sequence;
  record.start_s = record.stop_s = time_s;  // the CSV gives one time per frame: mid-exposure, as the analysis uses
  record.file_name = file.string();
  auto& t = record.temperature;
  t.start_K = row.T_start_K, t.end_K = row.T_end_K;
  t.mean_K = 0.5 * (row.T_start_K + row.T_end_K);
  t.min_K = std::min(row.T_start_K, row.T_end_K), t.max_K = std::max(row.T_start_K, row.T_end_K);
  t.mean_uncertainty_K = t.setpoint_mid_K = std::nan("");  // not known from a CSV
  detector_->append(record, bytes_of(frame));
}

void FramesOutput::finish(const storage::AnalysisLayout& layout, const std::vector<analysis::FrameAnalysis>& frames,
                          const analysis::RunAnalysis& run) {
  detector_->close();
  storage::write_analysis(file_, s::entry, layout, reprocess_process(path_.string()), frames, run);
  detector_.reset();
  file_.close();
  kept_ = true;
}

std::string write_reprocessed(const ReprocessOptions& o, const storage::AnalysisLayout& layout,
                              const std::vector<analysis::FrameAnalysis>& frames, const analysis::RunAnalysis& run) {
  const auto process = reprocess_process(o.run_file.string());
  if (!o.output.empty()) {
    h5::Handle file = h5::create_file(o.output);
    const auto meta = output_metadata("insitu reprocess " + o.run_file.string(), layout.parameters.count("composition")
                                                                                    ? layout.parameters.at("composition")
                                                                                    : std::string());
    storage::write_run_entry(file, o.output, meta, {.recipe = false, .stage = false});
    storage::write_analysis(file, s::entry, layout, process, frames, run);
    return o.output.string() + ":" + s::entry;
  }
  std::string entry;
  {
    const storage::RunFileReader reader(o.run_file);
    entry = reader.next_reprocessed_entry();
  }
  if (storage::recover_killed_file(o.run_file) == storage::Recovery::recovered)
    fmt::print(stderr, "{}: left by a killed run; its HDF5 status flags cleared as `insitu recover` does\n",
               o.run_file.string());
  h5::Handle file = h5::open_file(o.run_file, h5::Access::read_write);
  const h5::Handle group = h5::create_group(file, entry, s::nx::entry);
  h5::write_string(group, s::entry_field::title, "insitu reprocess of " + std::string(s::entry));
  h5::write_string(group, s::entry_field::start_time, process.date_iso);
  h5::set_attribute(h5::write_string(group, s::entry_field::program_name, "insitu"), "version", process.version);
  storage::write_analysis(file, entry, layout, process, frames, run);
  return o.run_file.string() + ":" + entry;
}

void summarise(std::ostream& out, const std::vector<analysis::FrameAnalysis>& frames, const analysis::RunAnalysis& run,
               const std::string& where) {
  out << "frames analysed: " << frames.size() << "\n";
  if (!frames.empty()) {
    const auto [lo, hi] = std::minmax_element(frames.begin(), frames.end(), [](const auto& a, const auto& b) {
      return a.temperature_K < b.temperature_K;
    });
    out << std::fixed << std::setprecision(1) << "T range: " << lo->temperature_K << " - " << hi->temperature_K
        << " K; heating part " << run.temperature_K.size() << " frames at " << run.heating_rate_K_per_s * 60.0
        << " K/min\n";
  }
  if (std::isfinite(run.glass_transition_K))
    out << std::fixed << std::setprecision(1) << "T_g = " << run.glass_transition_K << " +/- "
        << (run.glass_transition_high_K - run.glass_transition_low_K) / (2 * 1.959964) << " K (95 % interval "
        << run.glass_transition_low_K << " - " << run.glass_transition_high_K << " K)\n";
  else
    out << "T_g: not determined ("
        << (run.parameters.count("tg_status") ? run.parameters.at("tg_status") : "no heating part") << ")\n";
  out << "written: " << where << "\n";
}

}  // namespace insitu::daemon
