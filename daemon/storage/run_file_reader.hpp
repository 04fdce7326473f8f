#pragma once
// The one reader of run files: `insitu summary`, `insitu reprocess` and the tests read through it.
//
// It reads what insitu writes (schema.hpp), in the current layout and the ones before it (the stage log under
// NXsample, analysis parameters as strings): live runs (also while they are written), runs left by `kill -9`,
// reprocessed entries, `--frames` / `-o` outputs and `insitu dma` files. It trusts what the writers commit: rows
// below the length of each stream's commit marker (the logs' `time`, the frames' and analyses' `sequence_number`,
// the run level's `temperature`), and it takes missing optional groups and empty or partial run-level arrays as
// "not there" (NaN, empty) rather than as errors.
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "analysis/integration/geometry.hpp"
#include "analysis/pdf/form_factors.hpp"
#include "daemon/storage/h5.hpp"
#include "daemon/storage/run_entry.hpp"
#include "daemon/storage/schema.hpp"

namespace insitu::storage {

// A file insitu did not write, or cannot be read as one: not HDF5, truncated, another program's HDF5. The message
// is one line naming the file and why.
class NotARunFile : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct TemperatureLog {
  std::vector<double> time_s, time_uncertainty_s, value_K, setpoint_K;
  std::vector<std::uint8_t> status, error, pump;
  std::size_t rows() const { return time_s.size(); }
};

// The stretches the stage spent off the programme (empty when none, or in a file written before they were kept).
struct TemperatureDeviations {
  std::vector<double> start_s, end_s, max_deviation_K;
  std::size_t rows() const { return start_s.size(); }
};

struct EventLog {
  std::vector<double> time_s;
  std::vector<std::string> kind, message;
  std::size_t rows() const { return time_s.size(); }
  int count(const std::string& kind, const std::string& fragment = "") const;
};

// The detector's per-frame records (rows below len(sequence_number)).
struct FrameRecords {
  std::size_t height = 0, width = 0;  // of data; 0 when the frames are not stored
  std::vector<std::uint64_t> sequence;
  std::vector<double> start_s, stop_s;
  std::vector<double> t_mean_K;  // the sample's scale when the run had a sample calibration, else the sensor's
  std::vector<std::int32_t> image_key;
  std::vector<std::uint32_t> flags;
  std::size_t rows() const { return sequence.size(); }
};

// analysis/run: one row per heating frame; scalars NaN when absent or empty.
struct RunLevelAnalysis {
  std::vector<double> temperature_K, s_eq_smoothed_J_per_mol_K, ds_eq_dT_J_per_mol_K2, delta_phi_W_per_mol;
  double t_g_K, t_g_low_K, t_g_high_K, heating_rate_K_per_s;
  std::vector<std::string> feature_kind;
  std::vector<double> feature_temperature_K;
};

// One analysis NXprocess (rows below len(sequence_number)).
struct AnalysisRecord {
  std::string entry;  // "/entry" or "/entry_reprocessed_<n>"
  std::string program, source;
  std::map<std::string, std::string> parameters, run_parameters;
  std::vector<std::uint64_t> sequence;
  std::vector<double> temperature_K, s_eq_J_per_mol_K;
  RunLevelAnalysis run;
};

// entry/sample: what the recipe said about the sample.
struct SampleRecord {
  std::string name, chemical_formula, treatment, description;
  std::optional<SampleStateRecord> state;  // entry/sample/state, when the recipe had sample.state
};

// One frame's reduced pair distribution function G(r) (analysis/r, analysis/G_of_r).
struct StoredPdf {
  std::vector<double> r_angstrom, g_per_angstrom2;
};

// One frame's integrated intensity I(Q) and its Poisson sigma (analysis/radial_axis, analysis/I, analysis/I_errors).
struct StoredIntensity {
  std::vector<double> q_inv_angstrom, intensity, sigma;
};

// One frame's I(Q), S(Q) and G(r) on their axes (analysis/radial_axis, Q_reduced, r).
struct StoredCurves {
  std::vector<double> q_inv_angstrom, intensity, q_reduced_inv_angstrom, s_of_q, r_angstrom, g_per_angstrom2;
};

// An NXdata group as a plot: its axis and its signal with the auxiliary signals, by name.
struct StoredPlot {
  std::string axis, axis_units;
  std::vector<double> x;
  std::vector<std::pair<std::string, std::vector<double>>> signals;
  std::string signal_units;
};

struct StoredFormFactors {
  std::vector<std::pair<std::string, analysis::WaasKirfCoefficients>> coefficients;
  std::string source;
};

struct StoredSampleCalibration {
  std::vector<double> sensor_K, sample_K;
  std::string source;
};

// An analysis parameter dataset as the text the analysis described it with: strings as they are, numbers in the
// shortest form that reads back to the same value (as PipelineSettings::describe formats them), arrays
// space-separated.
std::string parameter_text(const h5::Handle& file, const std::string& path);

class RunFileReader {
 public:
  // Read-only, or as an SWMR reader when the file is being written or was left open by a crash. NotARunFile for
  // anything insitu did not write.
  explicit RunFileReader(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return path_; }
  const h5::Handle& file() const { return file_; }
  bool opened_as_swmr_reader() const { return swmr_; }
  bool has_run_entry() const;  // /entry (a run, or a reprocess output)
  bool has_dma_entry() const;  // /entry_dma

  // A string dataset relative to `entry`; nullopt when absent.
  std::optional<std::string> text(const std::string& relative, const std::string& entry = schema::entry) const;
  bool has_temperature_log() const;
  TemperatureLog temperature_log() const;  // empty without one
  EventLog events() const;                 // empty without one
  TemperatureDeviations temperature_deviations() const;
  std::optional<FrameRecords> frames() const;  // nullopt without a detector
  std::vector<float> frame_pixels(std::size_t row) const;
  std::vector<float> dark_median() const;  // the newest dark, H*W; empty when none
  std::optional<StoredSampleCalibration> sample_calibration() const;
  SampleRecord sample() const;  // empty strings where the run file has none

  // G(r) of the analysis row `row` (the row of AnalysisRecord::sequence); throws h5::Error past the rows.
  StoredPdf reduced_pdf(std::size_t row, const std::string& entry = schema::entry) const;
  // I(Q) of the analysis row `row`; throws h5::Error past the rows.
  StoredIntensity intensity(std::size_t row, const std::string& entry = schema::entry) const;
  // I(Q), S(Q), G(r) of the analysis row `row`; throws h5::Error past the rows.
  StoredCurves frame_curves(std::size_t row, const std::string& entry = schema::entry) const;
  // The NXdata group at `path` (@signal, @auxiliary_signals, the first of @axes); nullopt when there is none there.
  std::optional<StoredPlot> nxdata(const std::string& path) const;
  // The links in the group at `path`, sorted; empty when there is no such group.
  std::vector<std::string> members(const std::string& path) const;
  // A 1-D (or scalar) numeric dataset at `path`; empty when absent.
  std::vector<double> numbers(const std::string& path) const;

  // Entries holding an analysis: /entry first, then /entry_reprocessed_<n> in order.
  std::vector<std::string> analysis_entries() const;
  std::optional<AnalysisRecord> analysis(const std::string& entry = schema::entry) const;
  std::string next_reprocessed_entry() const;  // the first free /entry_reprocessed_<n>

  // What reprocessing reads back (detector_layout.hpp, analysis_layout.hpp).
  std::optional<analysis::Geometry> geometry() const;
  std::map<std::string, std::string> parameters(const std::string& entry = schema::entry) const;
  std::optional<StoredFormFactors> form_factors(const std::string& entry = schema::entry) const;
  std::optional<std::string> background_text(const std::string& entry = schema::entry) const;
  std::optional<std::vector<std::uint8_t>> analysis_mask(const std::string& entry = schema::entry) const;

 private:
  // The stage's NXlog: the NXsensor's value_log, or sample/temperature_log in files written before it.
  std::optional<std::string> temperature_log_group() const;

  std::filesystem::path path_;
  h5::Handle file_;
  bool swmr_ = false;
};

}  // namespace insitu::storage
