#pragma once
// Deterministic records shared by the storage tests and the crash-writer helper, so a reader can
// check every row it finds against what the writer must have written.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>
#include <filesystem>
#include <string>
#include <thread>
#include <unistd.h>

#include "daemon/storage/h5.hpp"
#include "daemon/storage/run_file.hpp"

namespace insitu::storage::testing {

inline TemperatureSample sample_at(std::size_t i) {
  return {.time_s = 0.01 * static_cast<double>(i),
          .time_uncertainty_s = 0.001 * static_cast<double>(i % 5),
          .value_K = 93.15 + 0.001 * static_cast<double>(i),
          .setpoint_K = 93.15 + 0.0011 * static_cast<double>(i),
          .status = static_cast<std::uint8_t>(i % 256),
          .error = static_cast<std::uint8_t>((7 * i) % 256),
          .pump = static_cast<std::uint8_t>((13 * i) % 256)};
}

inline RunEvent event_at(std::size_t k) {
  return {.time_s = 0.5 * static_cast<double>(k), .kind = k % 2 ? "segment" : "info",
          .message = "event " + std::to_string(k)};
}

// The axes of a tiny analysis layout (2 Q points, 1 reduced Q, 1 r) and a frame analysed on them.
inline AnalysisLayout tiny_analysis_layout() {
  AnalysisLayout layout;
  layout.axes = {{1.0, 2.0}, {1.0}, {0.5}};
  return layout;
}

inline analysis::FrameAnalysis tiny_frame_analysis(std::uint64_t sequence, double temperature_K) {
  analysis::FrameAnalysis f;
  f.sequence = sequence, f.temperature_K = temperature_K, f.s_eq_J_per_mol_K = 0.01 * temperature_K;
  f.intensity = f.intensity_sigma = {1.0, 2.0};
  f.structure_factor = f.reduced_structure_factor = {1.0};
  f.reduced_pdf = f.pair_distribution = {0.5};
  return f;
}

inline RunMetadata test_metadata() {
  RunMetadata m;
  m.program_version = "0.1.0-test";
  m.recipe_name = "ramp";
  m.recipe_path = "recipes/ramp.yaml";
  m.recipe_text = "segments:\n  - ramp: {to_K: 873.15, rate_K_per_min: 10}\n";
  m.sample_name = "CeO2 standard";
  m.sample_composition = "CeO2";
  m.sample_treatment = "as received";
  m.sample_description = "NIST SRM 674b in a 1 mm capillary";
  m.start_time_iso = "2026-11-24T18:00:00.000Z";
  m.clock_speed = 600.0;
  m.simulated = true;
  m.stage_model = "Linkam THMS600 / T95";
  m.stage_connection = "sim://linkam";
  return m;
}

// A fresh directory per test under the system temp dir, removed afterwards.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& name)
      : path_(std::filesystem::temp_directory_path() / ("insitu_storage_" + name + "_" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Rows committed to /entry/sample/temperature_log (len(time), read first: it is the commit marker),
// after checking every committed row of every column against sample_at(); throws on a mismatch.
inline std::size_t check_temperature_log(const h5::Handle& file) {
  const h5::Handle log = h5::open_group(file, "/entry/sample/temperature_log");
  const auto time = h5::read_1d<double>(h5::open_dataset(log, "time"));
  const auto time_uncertainty = h5::read_1d<double>(h5::open_dataset(log, "time_uncertainty"));
  const auto value = h5::read_1d<double>(h5::open_dataset(log, "value"));
  const auto setpoint = h5::read_1d<double>(h5::open_dataset(log, "setpoint"));
  const auto status = h5::read_1d<std::uint8_t>(h5::open_dataset(log, "status"));
  const auto error = h5::read_1d<std::uint8_t>(h5::open_dataset(log, "error"));
  const auto pump = h5::read_1d<std::uint8_t>(h5::open_dataset(log, "pump"));
  const std::size_t n = time.size();
  if (time_uncertainty.size() < n || value.size() < n || setpoint.size() < n || status.size() < n || error.size() < n ||
      pump.size() < n)
    throw std::runtime_error("a column is shorter than time (" + std::to_string(n) + " rows)");
  for (std::size_t i = 0; i < n; ++i) {
    const auto s = sample_at(i);
    if (time[i] != s.time_s || time_uncertainty[i] != s.time_uncertainty_s || value[i] != s.value_K ||
        setpoint[i] != s.setpoint_K || status[i] != s.status || error[i] != s.error || pump[i] != s.pump)
      throw std::runtime_error("row " + std::to_string(i) + " differs from what was appended");
  }
  return n;
}

template <class Predicate>
bool wait_until(Predicate done, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

}  // namespace insitu::storage::testing

// ---- detector and analysis records ------------------------------------------------------------
#include <cstring>
#include <vector>

#include "analysis/pipeline/results.hpp"
#include "drivers/detector/exposure.hpp"

namespace insitu::storage::testing {

constexpr std::size_t frame_height = 48, frame_width = 64;

inline DetectorLayout small_detector(std::optional<h5::Filter> filter = std::nullopt) {
  DetectorLayout d;
  d.height = frame_height;
  d.width = frame_width;
  d.filter = filter;
  d.distance_m = 0.2;
  d.settings_key = "gain=0.25pF binning=1x1";
  return d;
}

inline detector::ExposureRecord exposure_at(std::size_t k) {
  detector::ExposureRecord r;
  r.sequence = k;
  r.image_key = k < 2 ? detector::image_dark : detector::image_data;
  r.start_s = 12.0 * static_cast<double>(k);
  r.stop_s = r.start_s + 11.5;
  r.start_uncertainty_s = 0.001 * static_cast<double>(k + 1);
  r.stop_uncertainty_s = 0.002 * static_cast<double>(k + 1);
  r.temperature = {.start_K = 93.15 + 2.0 * static_cast<double>(k),
                   .end_K = 95.05 + 2.0 * static_cast<double>(k),
                   .mean_K = 94.1 + 2.0 * static_cast<double>(k),
                   .min_K = 93.15 + 2.0 * static_cast<double>(k),
                   .max_K = 95.05 + 2.0 * static_cast<double>(k),
                   .setpoint_mid_K = 94.0 + 2.0 * static_cast<double>(k),
                   .covered = true};
  r.flags = static_cast<std::uint32_t>(k % 3 == 2 ? detector::exposure_flag::late : 0);
  r.file_name = "frame_" + std::to_string(k) + ".tif";
  return r;
}

// Frame k as native uint16 pixels: a pattern every row/column of which depends on k.
inline std::vector<std::uint16_t> pixels_at(std::size_t k, std::size_t n = frame_height * frame_width) {
  std::vector<std::uint16_t> p(n);
  for (std::size_t i = 0; i < n; ++i) p[i] = static_cast<std::uint16_t>((k * 7919 + i * 31 + (i / 64) * 3) % 4096);
  return p;
}

inline std::vector<std::uint8_t> as_bytes(const std::vector<std::uint16_t>& p) {
  std::vector<std::uint8_t> bytes(p.size() * 2);
  std::memcpy(bytes.data(), p.data(), bytes.size());
  return bytes;
}

inline analysis::AnalysisAxes small_axes() {
  analysis::AnalysisAxes a;
  for (int i = 0; i < 40; ++i) a.q_inv_angstrom.push_back(0.5 + 0.05 * i);
  for (int i = 0; i < 30; ++i) a.q_reduced_inv_angstrom.push_back(1.0 + 0.1 * i);
  for (int i = 0; i < 20; ++i) a.r_angstrom.push_back(0.5 + 0.25 * i);
  return a;
}

inline analysis::FrameAnalysis analysis_at(std::size_t k) {
  const auto axes = small_axes();
  const double s = static_cast<double>(k);
  analysis::FrameAnalysis f;
  f.sequence = k;
  f.temperature_K = 94.1 + 2.0 * s;
  for (double q : axes.q_inv_angstrom) {
    f.intensity.push_back(1000 * q + s);
    f.intensity_sigma.push_back(std::sqrt(1000 * q + s));
  }
  for (double q : axes.q_reduced_inv_angstrom) {
    f.structure_factor.push_back(1.0 + 0.01 * s / q);
    f.reduced_structure_factor.push_back(0.01 * s);
  }
  for (double r : axes.r_angstrom) {
    f.reduced_pdf.push_back(r - s);
    f.pair_distribution.push_back(r * 0.1 + s);
  }
  f.rho0_fit_per_cubic_angstrom = 0.07 + 1e-4 * s;
  f.rho0_nominal_per_cubic_angstrom = 0.0725;
  f.s_eq_k_B = -3.0 + 0.01 * s;
  f.s_eq_J_per_mol_K = 8.314462618 * f.s_eq_k_B;
  f.analysis_time_s = 0.25;
  return f;
}

// A run file with the small detector and an analysis on the small axes.
inline RunFileLayout frames_and_analysis_layout() {
  return {.detector = small_detector(), .analysis = AnalysisLayout{.axes = small_axes(), .parameters = {}}};
}

// A run-level result of `n` rows whose values depend on `seed`.
inline analysis::RunAnalysis run_analysis(std::size_t n, double seed) {
  analysis::RunAnalysis r;
  for (std::size_t i = 0; i < n; ++i) {
    const double x = static_cast<double>(i);
    r.temperature_K.push_back(100 + 10 * x + seed);
    r.s_eq_J_per_mol_K.push_back(-24.5 + x * seed);
    r.s_eq_smoothed_J_per_mol_K.push_back(-25 + x * seed);
    r.ds_eq_dT_J_per_mol_K2.push_back(0.01 * x + seed);
    r.delta_phi_W_per_mol.push_back(1e-3 * x * seed);
  }
  r.heating_rate_K_per_s = 10.0 / 60.0;
  r.glass_transition_K = 300 + seed;
  r.glass_transition_low_K = 295 + seed;
  r.glass_transition_high_K = 305 + seed;
  for (std::size_t i = 0; i < static_cast<std::size_t>(seed); ++i)
    r.features.push_back({i % 2 ? "slope change" : "peak", 250.0 + 10 * static_cast<double>(i),
                          (250.0 + 10 * static_cast<double>(i)) / (300 + seed), 0.5 * static_cast<double>(i)});
  r.parameters = {{"smoothing_window_K", std::to_string(seed)}};
  return r;
}

// Frames committed under /entry/instrument/detector (len(sequence_number), read first), after checking every
// committed frame's pixels and record columns against pixels_at()/exposure_at(); throws on a mismatch.
// Frames listed in `missing` must read as zeros.
inline std::size_t check_frames(const h5::Handle& file, const std::vector<std::size_t>& missing = {}) {
  const h5::Handle det = h5::open_group(file, "/entry/instrument/detector");
  const auto sequence = h5::read_1d<std::uint64_t>(h5::open_dataset(det, "sequence_number"));
  const auto data = h5::read_1d<std::uint16_t>(h5::open_dataset(det, "data"));
  const auto mean = h5::read_1d<double>(h5::open_dataset(det, "frame_temperature/T_mean"));
  const auto start = h5::read_1d<double>(h5::open_dataset(det, "start_time"));
  const auto key = h5::read_1d<std::int32_t>(h5::open_dataset(det, "image_key"));
  const auto names = h5::read_strings(h5::open_dataset(det, "file_name"));
  const std::size_t n = sequence.size(), pixels = frame_height * frame_width;
  if (data.size() < n * pixels || mean.size() < n || start.size() < n || key.size() < n || names.size() < n)
    throw std::runtime_error("a frame column is shorter than sequence_number (" + std::to_string(n) + ")");
  for (std::size_t k = 0; k < n; ++k) {
    const auto r = exposure_at(k);
    const bool is_missing = std::find(missing.begin(), missing.end(), k) != missing.end();
    const auto expected = is_missing ? std::vector<std::uint16_t>(pixels, 0) : pixels_at(k);
    if (sequence[k] != k || mean[k] != r.temperature.mean_K || start[k] != r.start_s || key[k] != r.image_key ||
        names[k] != r.file_name || !std::equal(expected.begin(), expected.end(), data.begin() + k * pixels))
      throw std::runtime_error("frame " + std::to_string(k) + " differs from what was appended");
  }
  return n;
}

}  // namespace insitu::storage::testing
