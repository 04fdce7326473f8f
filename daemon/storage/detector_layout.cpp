#include "daemon/storage/detector_layout.hpp"

#include "daemon/storage/schema.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <utility>
#include <vector>

namespace insitu::storage {
namespace {

namespace s = schema;

constexpr std::size_t file_name_length = 256;
constexpr std::size_t path_length = 1024;
constexpr hsize_t record_chunk_rows = 1024;  // 8 KiB of doubles: ~3.4 h of 12 s frames per chunk

constexpr const char* flags_description =
    "bitmask (drivers/detector/exposure.hpp): 0x01 missing (no file before the deadline), 0x02 trigger_uncertain "
    "(a boundary trigger was not confirmed), 0x04 clock_skew (detector time stamp disagrees with the trigger), "
    "0x08 late (file after its deadline), 0x10 duplicate, 0x20 truncated, 0x40 no_temperature (the stage log does "
    "not cover the window), 0x80 suspended (exposed while a recipe suspender's condition held)";

h5::Dtype pixel_dtype(PixelType type) {
  switch (type) {
    case PixelType::u16: return h5::dtype_of<std::uint16_t>();
    case PixelType::u32: return h5::dtype_of<std::uint32_t>();
    case PixelType::i32: return h5::dtype_of<std::int32_t>();
    case PixelType::f32: return h5::dtype_of<float>();
  }
  throw std::invalid_argument("detector layout: unknown pixel type");
}

const char* pixel_type_name(PixelType type) {
  switch (type) {
    case PixelType::u16: return "uint16";
    case PixelType::u32: return "uint32";
    case PixelType::i32: return "int32";
    case PixelType::f32: return "float32";
  }
  return "?";
}

void write_sample_calibration(const h5::Handle& sample, const recipe::SampleCalibration& c) {
  const h5::Handle cal = h5::create_group(sample, s::sample::calibration_group, s::nx::collection);
  std::vector<double> sensor_K, sample_K;
  for (const auto& p : c.points()) {
    sensor_K.push_back(p.sensor_K);
    sample_K.push_back(p.sample_K);
  }
  for (const auto& [name, values] :
       {std::pair{s::sample::calibration_sensor, &sensor_K}, std::pair{s::sample::calibration_sample, &sample_K}}) {
    const h5::Handle d = h5::create_fixed(cal, name, {.type = h5::dtype_of<double>(), .shape = {values->size()}});
    h5::write<double>(d, *values);
    h5::set_attribute(d, s::attr::units, s::unit::kelvin);
  }
  h5::write_string(cal, s::sample::calibration_source, c.source());
  h5::write_string(cal, s::note::description,
                   "stage sensor reading -> sample temperature: piecewise linear through the points, the end "
                   "segments extended beyond them; the stage log, setpoints and limits stay in sensor terms");
}

// Where the direct beam meets the detector plane, in metres from the first pixel's corner along x (poni2's
// direction) and y (poni1's): pyFAI's PONI -> Fit2D conversion (pyFAI.io.integration_config / geometry.getFit2D).
std::pair<double, double> direct_beam_m(const analysis::Geometry& g) {
  const double cos_tilt = std::cos(g.rot1_rad) * std::cos(g.rot2_rad);
  const double sin_tilt = std::sqrt(std::max(0.0, 1.0 - cos_tilt * cos_tilt));
  if (sin_tilt == 0.0) return {g.poni2_m, g.poni1_m};
  const double tan_tilt = sin_tilt / cos_tilt;
  const double cos_tpr = std::clamp(-std::cos(g.rot2_rad) * std::sin(g.rot1_rad) / sin_tilt, -1.0, 1.0);
  const double sin_tpr = std::sin(g.rot2_rad) / sin_tilt;
  return {g.poni2_m + g.distance_m * tan_tilt * cos_tpr, g.poni1_m + g.distance_m * tan_tilt * sin_tpr};
}

}  // namespace

// NXdetector has no field for a pyFAI PONI (its NXtransformations chain could encode one, but no reader would
// rebuild pyFAI's rotation order from it): the six parameters go into an NXcollection under pyFAI's own names.
void write_calibration(const h5::Handle& instrument, const h5::Handle& det, const DetectorLayout::Calibration& c) {
  const auto& g = c.geometry;
  if (!(g.distance_m > 0 && g.wavelength_m > 0 && g.pixel1_m > 0 && g.pixel2_m > 0))
    throw std::invalid_argument("detector calibration: distance, wavelength and pixel sizes must be positive");
  namespace gm = s::geometry;
  const h5::Handle geometry = h5::create_group(det, s::detector::geometry, s::nx::collection);
  h5::set_attribute(geometry, s::attr::description,
                    "pyFAI PONI geometry of the stored frames (pixel size includes the binning); "
                    "calibration holds the PONI file as calibrated");
  h5::write_scalar(geometry, gm::distance, g.distance_m, s::unit::metre);
  h5::write_scalar(geometry, gm::poni1, g.poni1_m, s::unit::metre);
  h5::write_scalar(geometry, gm::poni2, g.poni2_m, s::unit::metre);
  h5::write_scalar(geometry, gm::rot1, g.rot1_rad, s::unit::radian);
  h5::write_scalar(geometry, gm::rot2, g.rot2_rad, s::unit::radian);
  h5::write_scalar(geometry, gm::rot3, g.rot3_rad, s::unit::radian);
  h5::write_scalar(geometry, gm::wavelength, g.wavelength_m, s::unit::metre);
  h5::write_scalar(geometry, gm::pixel1, g.pixel1_m, s::unit::metre);
  h5::write_scalar(geometry, gm::pixel2, g.pixel2_m, s::unit::metre);
  h5::write_scalar(geometry, gm::binning, std::int64_t{c.binning});
  h5::write_string(geometry, gm::detector, g.detector);

  const h5::Handle note = h5::create_group(det, s::detector::calibration, s::nx::note);
  h5::write_string(note, s::note::type, "text/plain");
  h5::write_string(note, s::note::description, "pyFAI PONI file, verbatim");
  h5::write_string(note, s::note::file_name, c.poni_file_name);
  h5::write_string(note, s::note::data, c.poni_text);

  const auto [beam_x_m, beam_y_m] = direct_beam_m(g);
  h5::write_scalar(det, s::detector::beam_center_x, beam_x_m, s::unit::metre);
  h5::write_scalar(det, s::detector::beam_center_y, beam_y_m, s::unit::metre);

  constexpr double h_c_keV_angstrom = 12.398419843320026;  // CODATA 2018 h c
  const double wavelength_angstrom = g.wavelength_m * 1e10;
  const h5::Handle mono = h5::create_group(instrument, s::instrument::monochromator, s::nx::monochromator);
  h5::write_scalar(mono, s::instrument::wavelength, wavelength_angstrom, s::unit::angstrom);
  h5::write_scalar(mono, s::instrument::energy, h_c_keV_angstrom / wavelength_angstrom, s::unit::kev);
}

h5::Filter resolve_frame_filter(const DetectorLayout& layout) {
  if (!layout.filter)
    return h5::filter_available(h5::Filter::bitshuffle_lz4) ? h5::Filter::bitshuffle_lz4 : h5::Filter::shuffle_deflate;
  if (!h5::filter_available(*layout.filter))
    throw std::runtime_error("detector frames: compression filter " + h5::filter_name(*layout.filter) +
                             " cannot encode on this machine (for bitshuffle+lz4 install the bitshuffle package)");
  return *layout.filter;
}

std::size_t bytes_per_frame(const DetectorLayout& layout) {
  return layout.height * layout.width * (layout.pixel_type == PixelType::u16 ? 2 : 4);  // the others are 4 bytes
}

void check_frame_bytes(const DetectorLayout& layout, std::span<const std::uint8_t> raw_pixels) {
  if (!raw_pixels.empty() && raw_pixels.size() != bytes_per_frame(layout))
    throw std::invalid_argument("detector frame of " + std::to_string(raw_pixels.size()) + " bytes; the layout (" +
                                std::to_string(layout.height) + "x" + std::to_string(layout.width) +
                                " " + pixel_type_name(layout.pixel_type) + ") needs " +
                                std::to_string(bytes_per_frame(layout)));
}

DetectorWriter::DetectorWriter(const h5::Handle& file, const std::string& entry_path, const DetectorLayout& layout,
                               const std::string& start_time_iso)
    : layout_(layout), filter_(resolve_frame_filter(layout)) {
  namespace d = s::detector;
  using h5::set_attribute;
  if (layout.height == 0 || layout.width == 0) throw std::invalid_argument("detector layout: empty frame shape");
  const hsize_t h = layout.height, w = layout.width;
  const h5::Handle instrument = h5::open_group(file, s::entry_path(entry_path, s::instrument::group));
  const h5::Handle det = h5::create_group(instrument, d::name, s::nx::detector);
  h5::write_string(det, "description", layout.description);
  h5::write_string(det, "settings_key", layout.settings_key);
  h5::write_scalar(det, "x_pixel_size", layout.x_pixel_size_m, s::unit::metre);
  h5::write_scalar(det, "y_pixel_size", layout.y_pixel_size_m, s::unit::metre);
  h5::write_scalar(det, "distance", layout.distance_m, s::unit::metre);
  h5::write_string(det, "compression", h5::filter_name(filter_));
  h5::write_scalar(det, "frames_stored", std::int64_t{layout.store_frames ? 1 : 0});
  h5::write_string(det, d::gain_setting, layout.gain_setting);
  h5::write_scalar(det, d::readout_time, layout.readout_time_s, s::unit::second);
  h5::write_scalar(det, d::saturation_value, layout.saturation_value, s::unit::counts);
  h5::write_scalar(det, d::frame_start_number, layout.frame_start_number);
  if (layout.calibration) write_calibration(instrument, det, *layout.calibration);

  if (layout.store_frames) {
    data_ = h5::create_extendable(det, d::data, {.type = pixel_dtype(layout.pixel_type), .tail_shape = {h, w},
                                                .chunk_rows = 1, .filter = filter_});
    set_attribute(data_, s::attr::units, s::unit::counts);
    set_attribute(data_, s::attr::interpretation, "image");
  }
  const auto column = [&](const h5::Handle& parent, const std::string& name, h5::Dtype type, const char* units) {
    h5::Handle c = h5::create_extendable(parent, name, {.type = type, .tail_shape = {}, .chunk_rows = record_chunk_rows});
    if (units[0] != '\0') set_attribute(c, s::attr::units, units);
    return c;
  };
  const auto f64 = h5::dtype_of<double>();
  const char* sec = s::unit::second;
  const char* kel = s::unit::kelvin;
  start_time_ = column(det, d::start_time, f64, sec);
  set_attribute(start_time_, s::attr::start, start_time_iso);
  stop_time_ = column(det, d::stop_time, f64, sec);
  set_attribute(stop_time_, s::attr::start, start_time_iso);
  count_time_ = column(det, d::count_time, f64, sec);
  start_uncertainty_ = column(det, d::start_uncertainty, f64, sec);
  stop_uncertainty_ = column(det, d::stop_uncertainty, f64, sec);
  image_key_ = column(det, d::image_key, h5::dtype_of<std::int32_t>(), "");
  set_attribute(image_key_, s::attr::description, "0 data, 2 dark (NXdetector convention)");
  flags_ = column(det, d::flags, h5::dtype_of<std::uint32_t>(), "");
  set_attribute(flags_, s::attr::description, flags_description);
  file_name_ = column(det, d::file_name, h5::Dtype::fixed_string(file_name_length), "");

  const h5::Handle temps = h5::create_group(det, d::frame_temperature, s::nx::collection);
  t_start_ = column(temps, d::t_start, f64, kel);
  t_end_ = column(temps, d::t_end, f64, kel);
  t_mean_ = column(temps, d::t_mean, f64, kel);
  set_attribute(t_mean_, s::attr::long_name, "T (K)");
  set_attribute(t_mean_, s::attr::description, "time-weighted mean stage temperature over the exposure");
  t_mean_uncertainty_ = column(temps, d::t_mean_uncertainty, f64, kel);
  set_attribute(t_mean_uncertainty_, s::attr::description,
                "bound on the error of T_mean from the trigger and reading time stamps (the controller's 0.1 K "
                "resolution and sensor noise come on top)");
  t_min_ = column(temps, d::t_min, f64, kel);
  t_max_ = column(temps, d::t_max, f64, kel);
  setpoint_mid_ = column(temps, d::setpoint_mid, f64, kel);

  pixel_mask_ = h5::create_fixed(det, d::pixel_mask, {.type = h5::dtype_of<std::uint32_t>(), .shape = {h, w},
                                                      .filter = filter_});
  set_attribute(pixel_mask_, s::attr::description,
                "NeXus pixel_mask bits; 0 = good pixel; written once the darks are in");
  dark_median_ = h5::create_fixed(det, d::dark_median, {.type = h5::dtype_of<float>(), .shape = {h, w},
                                                        .filter = filter_, .fill = 0.0});
  set_attribute(dark_median_, s::attr::units, s::unit::counts);
  set_attribute(dark_median_, s::attr::description, "per-pixel median of the dark frames; never subtracted from data");
  sequence_number_ = column(det, d::sequence_number, h5::dtype_of<std::uint64_t>(), "");
  set_attribute(sequence_number_, s::attr::description, "written last for each frame: rows below its length are complete");
  set_attribute(sequence_number_, s::attr::long_name, "frame");
  // Rare (a test shot, a file from another run): a small chunk, not one sized for a frame record per row.
  orphan_files_ = h5::create_extendable(det, d::orphan_files, {.type = h5::Dtype::fixed_string(path_length),
                                                               .tail_shape = {}, .chunk_rows = 16});
  set_attribute(orphan_files_, s::attr::description,
                "files in the frame folder that matched the frame pattern but belong to no frame: kept where they "
                "are, never recorded as frames");

  const std::string temps_path = s::entry_path(entry_path, d::group) + "/" + d::frame_temperature + "/";
  std::string frame_temperature = temps_path + d::t_mean;
  const h5::Handle sample = h5::open_group(file, s::entry_path(entry_path, s::sample::group));
  if (const auto& c = layout.sample_calibration) {
    const auto sample_column = [&](const std::string& name, const std::string& description) {
      h5::Handle col = column(temps, name, f64, kel);
      set_attribute(col, s::attr::description, description);
      return col;
    };
    const std::string mapped = " mapped to the sample by " + s::entry_path(entry_path, s::sample::calibration);
    t_sample_start_ = sample_column(d::t_sample_start, std::string(d::t_start) + mapped);
    t_sample_end_ = sample_column(d::t_sample_end, std::string(d::t_end) + mapped);
    t_sample_mean_ = sample_column(d::t_sample_mean, std::string(d::t_mean) + mapped);
    set_attribute(t_sample_mean_, s::attr::long_name, "T (K)");
    t_sample_mean_uncertainty_ = sample_column(
        d::t_sample_mean_uncertainty,
        "T_mean_uncertainty through the calibration's local slope, plus the error of mapping the mean when a "
        "calibration point lies inside the window");
    t_sample_min_ = sample_column(d::t_sample_min, std::string(d::t_min) + mapped);
    t_sample_max_ = sample_column(d::t_sample_max, std::string(d::t_max) + mapped);
    frame_temperature = temps_path + d::t_sample_mean;
    write_sample_calibration(sample, *c);
  }
  h5::soft_link(sample, frame_temperature, s::sample::temperature);

  if (layout.store_frames) {
    const h5::Handle plot = h5::create_group(h5::open_group(file, entry_path), d::plot, s::nx::data);
    set_attribute(plot, s::attr::signal, d::data);
    // The frame number is the stack's axis (monotonic, as viewers need); the temperature rides along it.
    set_attribute(plot, s::attr::axes, std::vector<std::string>{s::analysis::frame, ".", "."});
    set_attribute(plot, std::string(s::analysis::frame) + "_indices", std::int64_t{0});
    set_attribute(plot, "temperature_indices", std::int64_t{0});
    h5::soft_link(plot, s::entry_path(entry_path, d::group) + "/" + d::data, d::data);
    h5::soft_link(plot, s::entry_path(entry_path, d::group) + "/" + d::sequence_number, s::analysis::frame);
    h5::soft_link(plot, frame_temperature, s::sample::temperature);
  }
}

DetectorWriter DetectorWriter::reopen(const h5::Handle& file, const std::string& entry_path,
                                      const DetectorLayout& layout) {
  namespace d = s::detector;
  const h5::Handle det = h5::open_group(file, s::entry_path(entry_path, d::group));
  DetectorWriter w(layout, resolve_frame_filter(layout));
  w.sequence_number_ = h5::open_dataset(det, d::sequence_number);
  w.frames_ = h5::rows(w.sequence_number_);
  const auto cut = [&](const std::string& path) {
    h5::Handle column = h5::open_dataset(det, path);
    if (h5::rows(column) != w.frames_) h5::resize_rows(column, w.frames_);
    return column;
  };
  if (layout.store_frames) {
    w.data_ = cut(d::data);
    const auto shape = h5::shape(w.data_);
    if (shape.size() != 3 || shape[1] != layout.height || shape[2] != layout.width)
      throw std::runtime_error(h5::object_path(w.data_) + ": frames are not " + std::to_string(layout.height) + "x" +
                               std::to_string(layout.width) + " as the recipe's detector");
  }
  for (auto [handle, name] : {std::pair{&w.start_time_, d::start_time}, {&w.stop_time_, d::stop_time},
                              {&w.count_time_, d::count_time}, {&w.start_uncertainty_, d::start_uncertainty},
                              {&w.stop_uncertainty_, d::stop_uncertainty}, {&w.image_key_, d::image_key},
                              {&w.flags_, d::flags}, {&w.file_name_, d::file_name}})
    *handle = cut(name);
  const std::string temps = std::string(d::frame_temperature) + "/";
  for (auto [handle, name] : {std::pair{&w.t_start_, d::t_start}, {&w.t_end_, d::t_end}, {&w.t_mean_, d::t_mean},
                              {&w.t_mean_uncertainty_, d::t_mean_uncertainty}, {&w.t_min_, d::t_min},
                              {&w.t_max_, d::t_max}, {&w.setpoint_mid_, d::setpoint_mid}})
    *handle = cut(temps + name);
  if (layout.sample_calibration)
    for (auto [handle, name] :
         {std::pair{&w.t_sample_start_, d::t_sample_start}, {&w.t_sample_end_, d::t_sample_end},
          {&w.t_sample_mean_, d::t_sample_mean}, {&w.t_sample_mean_uncertainty_, d::t_sample_mean_uncertainty},
          {&w.t_sample_min_, d::t_sample_min}, {&w.t_sample_max_, d::t_sample_max}})
      *handle = cut(temps + name);
  w.pixel_mask_ = h5::open_dataset(det, d::pixel_mask);
  w.dark_median_ = h5::open_dataset(det, d::dark_median);
  w.orphan_files_ = h5::open_dataset(det, d::orphan_files);
  return w;
}

detector::WindowTemperature sample_scale(const recipe::SampleCalibration& c,
                                         const detector::WindowTemperature& sensor) {
  detector::WindowTemperature t = sensor;
  t.start_K = c.sample_K(sensor.start_K);
  t.end_K = c.sample_K(sensor.end_K);
  t.mean_K = c.sample_K(sensor.mean_K);
  t.mean_uncertainty_K = c.mean_uncertainty_K(sensor.mean_K, sensor.mean_uncertainty_K, sensor.min_K, sensor.max_K);
  t.min_K = c.sample_K(sensor.min_K);
  t.max_K = c.sample_K(sensor.max_K);
  return t;
}

void DetectorWriter::append(const detector::ExposureRecord& r, std::span<const std::uint8_t> raw_pixels) {
  check_frame_bytes(layout_, raw_pixels);
  if (data_) {
    if (raw_pixels.empty())
      h5::resize_rows(data_, frames_ + 1);  // unwritten: reads as 0 and keeps rows aligned with the records
    else
      h5::append_rows(data_, raw_pixels.data(), 1, pixel_dtype(layout_.pixel_type));
    h5::flush(data_);
  }
  const auto put = [](const h5::Handle& d, double v) {
    h5::append<double>(d, std::span<const double>(&v, 1));
    h5::flush(d);
  };
  put(start_time_, r.start_s);
  put(stop_time_, r.stop_s);
  put(count_time_, r.stop_s - r.start_s);
  put(start_uncertainty_, r.start_uncertainty_s);
  put(stop_uncertainty_, r.stop_uncertainty_s);
  const std::int32_t key = r.image_key;
  h5::append<std::int32_t>(image_key_, std::span<const std::int32_t>(&key, 1));
  h5::flush(image_key_);
  h5::append<std::uint32_t>(flags_, std::span<const std::uint32_t>(&r.flags, 1));
  h5::flush(flags_);
  h5::append_strings(file_name_, std::span<const std::string>(&r.file_name, 1));
  h5::flush(file_name_);
  put(t_start_, r.temperature.start_K);
  put(t_end_, r.temperature.end_K);
  put(t_mean_, r.temperature.mean_K);
  put(t_mean_uncertainty_, r.temperature.mean_uncertainty_K);
  put(t_min_, r.temperature.min_K);
  put(t_max_, r.temperature.max_K);
  put(setpoint_mid_, r.temperature.setpoint_mid_K);
  if (layout_.sample_calibration) {
    const auto t = sample_scale(*layout_.sample_calibration, r.temperature);
    put(t_sample_start_, t.start_K);
    put(t_sample_end_, t.end_K);
    put(t_sample_mean_, t.mean_K);
    put(t_sample_mean_uncertainty_, t.mean_uncertainty_K);
    put(t_sample_min_, t.min_K);
    put(t_sample_max_, t.max_K);
  }
  h5::append<std::uint64_t>(sequence_number_, std::span<const std::uint64_t>(&r.sequence, 1));
  h5::flush(sequence_number_);
  ++frames_;
}

void DetectorWriter::write_pixel_mask(std::span<const std::uint32_t> mask) {
  if (mask.size() != layout_.height * layout_.width)
    throw std::invalid_argument("pixel mask of " + std::to_string(mask.size()) + " values for a " +
                                std::to_string(layout_.height) + "x" + std::to_string(layout_.width) + " detector");
  h5::write<std::uint32_t>(pixel_mask_, mask, layout_.height);
  h5::flush(pixel_mask_);
}

void DetectorWriter::write_dark_median(std::span<const float> dark) {
  if (dark.size() != layout_.height * layout_.width)
    throw std::invalid_argument("dark median of " + std::to_string(dark.size()) + " values for a " +
                                std::to_string(layout_.height) + "x" + std::to_string(layout_.width) + " detector");
  h5::write<float>(dark_median_, dark, layout_.height);
  h5::flush(dark_median_);
}

void DetectorWriter::append_orphan_file(const std::string& path) {
  h5::append_strings(orphan_files_, std::span<const std::string>(&path, 1));
  h5::flush(orphan_files_);
}

void DetectorWriter::close() {
  for (auto* d : {&data_, &start_time_, &stop_time_, &count_time_, &start_uncertainty_, &stop_uncertainty_, &image_key_,
                  &flags_, &file_name_, &t_start_, &t_end_, &t_mean_, &t_mean_uncertainty_, &t_min_, &t_max_,
                  &setpoint_mid_, &pixel_mask_, &dark_median_, &sequence_number_, &orphan_files_, &t_sample_start_,
                  &t_sample_end_, &t_sample_mean_, &t_sample_mean_uncertainty_, &t_sample_min_, &t_sample_max_})
    d->close();
}

}  // namespace insitu::storage
