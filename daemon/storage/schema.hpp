#pragma once
// The run file's names, defined once: every NeXus group path, dataset name, NX_class and unit string that a writer
// module or the reader uses. Paths of groups are relative to an NXentry (/entry for a run, /entry_reprocessed_<n>
// for a reprocessed analysis); `entry_path` joins them. No other file spells a run-file path.
//
// The layout itself, stream by stream, is described in the header of the module that writes it:
//   run_entry.hpp            /, entry, recipe, sample, instrument/temperature_controller
//   temperature_log_writer.hpp  entry/instrument/temperature_controller/sensor/value_log, entry/temperature (plot)
//   event_writer.hpp         entry/events
//   detector_layout.hpp      entry/instrument/detector, monochromator, entry/data (plot)
//   frame_analysis_writer.hpp   entry/analysis (per frame and its NXdata)
//   run_analysis_writer.hpp  entry/analysis/run, entry/analysis/run_parameters, entry/entropy (the default plot)
//
// Units: every floating-point dataset has @units, "1" for a dimensionless quantity (S(Q), g(r), tan delta, ratios);
// integer datasets are counts, indices, flags or codes (NX_INT, NX_UINT) and have @units only when they are a
// physical quantity. tests/daemon/nexus_check.py walks a run file and holds every writer to this.
#include <string>
#include <string_view>

namespace insitu::storage::schema {

// ---- NX classes ----------------------------------------------------------------------------------------------
namespace nx {
inline constexpr const char* root = "NXroot";
inline constexpr const char* entry = "NXentry";
inline constexpr const char* note = "NXnote";
inline constexpr const char* sample = "NXsample";
inline constexpr const char* log = "NXlog";
inline constexpr const char* sensor = "NXsensor";
inline constexpr const char* instrument = "NXinstrument";
inline constexpr const char* environment = "NXenvironment";
inline constexpr const char* collection = "NXcollection";
inline constexpr const char* data = "NXdata";
inline constexpr const char* detector = "NXdetector";
inline constexpr const char* monochromator = "NXmonochromator";
inline constexpr const char* process = "NXprocess";
inline constexpr const char* parameters = "NXparameters";
}  // namespace nx

// ---- units -----------------------------------------------------------------------------------------------------
namespace unit {
inline constexpr const char* second = "s";
inline constexpr const char* kelvin = "K";
inline constexpr const char* kelvin_per_second = "K/s";
inline constexpr const char* metre = "m";
inline constexpr const char* radian = "rad";
inline constexpr const char* angstrom = "angstrom";
inline constexpr const char* kev = "keV";
inline constexpr const char* counts = "counts";
inline constexpr const char* dimensionless = "1";  // a ratio or a normalised quantity: S(Q), g(r), T/T_g
inline constexpr const char* inverse_angstrom = "1/angstrom";
inline constexpr const char* inverse_angstrom_squared = "1/angstrom^2";
inline constexpr const char* inverse_cubic_angstrom = "1/angstrom^3";
inline constexpr const char* entropy = "J/(mol K)";
inline constexpr const char* entropy_per_kelvin = "J/(mol K^2)";
inline constexpr const char* heat_flow = "W/mol";
}  // namespace unit

// ---- common attribute names ------------------------------------------------------------------------------------
namespace attr {
inline constexpr const char* nx_class = "NX_class";
inline constexpr const char* units = "units";
inline constexpr const char* start = "start";  // ISO 8601 of run time 0 on a time axis
inline constexpr const char* description = "description";
inline constexpr const char* long_name = "long_name";
inline constexpr const char* default_ = "default";
inline constexpr const char* signal = "signal";
inline constexpr const char* axes = "axes";
inline constexpr const char* source = "source";
inline constexpr const char* target = "target";                  // on a linked object: its own path (NeXus links)
inline constexpr const char* interpretation = "interpretation";  // "image" on a frame stack: viewers show one frame
inline constexpr const char* auxiliary_signals = "auxiliary_signals";
}  // namespace attr

// ---- the root and its entries ------------------------------------------------------------------------------------
inline constexpr const char* entry = "/entry";          // the run (or the only entry of a --frames / -o output)
inline constexpr const char* entry_dma = "/entry_dma";  // insitu dma and the run's DMA exports (dma_entry.hpp)
inline constexpr const char* entry_dsc = "/entry_dsc";          // insitu dsc (dsc_entry.hpp)
inline constexpr const char* entry_compare = "/entry_compare";  // insitu compare (compare_entry.hpp)
inline constexpr const char* reprocessed_prefix = "entry_reprocessed_";  // /entry_reprocessed_<n>: insitu reprocess

// Joins an entry path ("/entry") and a path relative to it ("sample/temperature_log").
inline std::string entry_path(const std::string& entry, const std::string& relative) { return entry + "/" + relative; }

namespace entry_field {  // datasets directly under an NXentry
inline constexpr const char* title = "title";
inline constexpr const char* start_time = "start_time";
inline constexpr const char* program_name = "program_name";
inline constexpr const char* end_time = "end_time";      // only at finish: silx takes its presence as "complete"
inline constexpr const char* duration = "duration";      // @units=s, only at finish
inline constexpr const char* exit_status = "exit_status";  // only at finish
}  // namespace entry_field

namespace recipe {
inline constexpr const char* group = "recipe";
inline constexpr const char* checksum = "checksum";
}  // namespace recipe

namespace sample {
inline constexpr const char* group = "sample";
inline constexpr const char* name = "name";
inline constexpr const char* chemical_formula = "chemical_formula";
inline constexpr const char* description = "description";
inline constexpr const char* treatment = "treatment";
inline constexpr const char* temperature = "temperature";  // link to the frames' mean temperature
inline constexpr const char* temperature_env = "temperature_env";  // link to instrument/temperature_controller
inline constexpr const char* legacy_log = "temperature_log";  // link to the stage log, for readers of older layouts
inline constexpr const char* calibration = "sample/temperature_calibration";
inline constexpr const char* calibration_group = "temperature_calibration";
inline constexpr const char* calibration_sensor = "sensor";
inline constexpr const char* calibration_sample = "sample";
inline constexpr const char* calibration_source = "source";
// The treatment before the run (the recipe's sample.state, the paper's Table II): an NXcollection.
inline constexpr const char* state = "state";
inline constexpr const char* state_label = "label";
inline constexpr const char* deformation = "deformation";
inline constexpr const char* rotations = "rotations";
inline constexpr const char* deformation_temperature = "deformation_temperature";  // @units K, NaN when none
inline constexpr const char* storage_temperature = "storage_temperature";          // @units K
}  // namespace sample

// ---- temperature log (NXlog of the stage's NXsensor): `time` is appended last, readers trust rows < len(time) -----
namespace log {
inline constexpr const char* group = "instrument/temperature_controller/sensor/value_log";
inline constexpr const char* legacy_group = "sample/temperature_log";  // files written before NXsensor
inline constexpr const char* sensor = "sensor";
inline constexpr const char* name = "value_log";
inline constexpr const char* time = "time";
inline constexpr const char* time_uncertainty = "time_uncertainty";
inline constexpr const char* value = "value";
inline constexpr const char* setpoint = "setpoint";
inline constexpr const char* status = "status";
inline constexpr const char* error = "error";
inline constexpr const char* pump = "pump";
inline constexpr const char* plot = "temperature";  // NXdata under the entry
}  // namespace log

// ---- the run's resumptions after its process died (a row each, written before SWMR starts again) -------------------
namespace resumptions {
inline constexpr const char* group = "resumptions";
inline constexpr const char* last_record_time = "last_record_time";  // the first part's last committed record
inline constexpr const char* resume_time = "resume_time";
inline constexpr const char* segment = "segment";                    // 1-based programme segment it resumed in
}  // namespace resumptions

// ---- the stretches the stage spent off the programme (written at finish) ------------------------------------------
namespace deviations {
inline constexpr const char* group = "sample/temperature_deviations";
inline constexpr const char* start_time = "start_time";
inline constexpr const char* end_time = "end_time";
inline constexpr const char* max_deviation = "max_deviation";
}  // namespace deviations

namespace instrument {
inline constexpr const char* group = "instrument";
inline constexpr const char* controller = "temperature_controller";
inline constexpr const char* value_log = "value_log";
inline constexpr const char* monochromator = "monochromator";
inline constexpr const char* wavelength = "wavelength";
inline constexpr const char* energy = "energy";
}  // namespace instrument

// ---- events: `time` appended last -----------------------------------------------------------------------------------
namespace events {
inline constexpr const char* group = "events";
inline constexpr const char* time = "time";
inline constexpr const char* kind = "kind";
inline constexpr const char* message = "message";
}  // namespace events

// ---- detector frames: `sequence_number` appended last -------------------------------------------------------------
namespace detector {
inline constexpr const char* group = "instrument/detector";
inline constexpr const char* name = "detector";
inline constexpr const char* data = "data";
inline constexpr const char* start_time = "start_time";
inline constexpr const char* stop_time = "stop_time";
inline constexpr const char* count_time = "count_time";
inline constexpr const char* start_uncertainty = "start_uncertainty";
inline constexpr const char* stop_uncertainty = "stop_uncertainty";
inline constexpr const char* image_key = "image_key";
inline constexpr const char* flags = "flags";
inline constexpr const char* file_name = "file_name";
inline constexpr const char* pixel_mask = "pixel_mask";
inline constexpr const char* dark_median = "dark_median";
inline constexpr const char* sequence_number = "sequence_number";
inline constexpr const char* orphan_files = "orphan_files";
inline constexpr const char* frame_temperature = "frame_temperature";
inline constexpr const char* t_start = "T_start";
inline constexpr const char* t_end = "T_end";
inline constexpr const char* t_mean = "T_mean";
inline constexpr const char* t_mean_uncertainty = "T_mean_uncertainty";
inline constexpr const char* t_min = "T_min";
inline constexpr const char* t_max = "T_max";
inline constexpr const char* setpoint_mid = "setpoint_mid";
inline constexpr const char* t_sample_start = "T_sample_start";
inline constexpr const char* t_sample_end = "T_sample_end";
inline constexpr const char* t_sample_mean = "T_sample_mean";
inline constexpr const char* t_sample_mean_uncertainty = "T_sample_mean_uncertainty";
inline constexpr const char* t_sample_min = "T_sample_min";
inline constexpr const char* t_sample_max = "T_sample_max";
inline constexpr const char* geometry = "geometry";
inline constexpr const char* calibration = "calibration";
inline constexpr const char* plot = "data";  // NXdata under the entry
inline constexpr const char* frame_start_number = "frame_start_number";
inline constexpr const char* readout_time = "detector_readout_time";
inline constexpr const char* gain_setting = "gain_setting";
inline constexpr const char* saturation_value = "saturation_value";
inline constexpr const char* beam_center_x = "beam_center_x";
inline constexpr const char* beam_center_y = "beam_center_y";
}  // namespace detector

// pyFAI PONI parameter names of detector/geometry.
namespace geometry {
inline constexpr const char* distance = "distance";
inline constexpr const char* poni1 = "poni1";
inline constexpr const char* poni2 = "poni2";
inline constexpr const char* rot1 = "rot1";
inline constexpr const char* rot2 = "rot2";
inline constexpr const char* rot3 = "rot3";
inline constexpr const char* wavelength = "wavelength";
inline constexpr const char* pixel1 = "pixel1";
inline constexpr const char* pixel2 = "pixel2";
inline constexpr const char* binning = "binning";
inline constexpr const char* detector = "detector";
}  // namespace geometry

// ---- per-frame analysis (NXprocess): `sequence_number` appended last ------------------------------------------------
namespace analysis {
inline constexpr const char* group = "analysis";
inline constexpr const char* program = "program";
inline constexpr const char* version = "version";
inline constexpr const char* date = "date";
inline constexpr const char* source = "source";  // what a reprocessed analysis read
inline constexpr const char* parameters = "parameters";
inline constexpr const char* mask_pixels = "mask_pixels";  // a parameter: the static mask's masked pixels
inline constexpr const char* radial_axis = "radial_axis";
inline constexpr const char* q_reduced = "Q_reduced";
inline constexpr const char* r = "r";
inline constexpr const char* intensity = "I";
inline constexpr const char* intensity_errors = "I_errors";
inline constexpr const char* s_of_q = "S_of_Q";
inline constexpr const char* f_of_q = "F_of_Q";
inline constexpr const char* g_of_r = "G_of_r";
inline constexpr const char* pair_distribution = "g_of_r";
inline constexpr const char* rho0_fit = "rho0_fit";
inline constexpr const char* rho0_nominal = "rho0_nominal";
inline constexpr const char* s_eq = "S_eq";
inline constexpr const char* s_eq_k_B = "S_eq_k_B";
inline constexpr const char* temperature = "temperature";
inline constexpr const char* analysis_time = "analysis_time";
inline constexpr const char* sequence_number = "sequence_number";
inline constexpr const char* mask = "mask";
inline constexpr const char* integrated = "integrated";
inline constexpr const char* form_factors = "form_factors";
inline constexpr const char* background = "background";
inline constexpr const char* frame = "frame";  // NXdata axis name of the per-frame plots (-> sequence_number)
// NXdata of the per-frame curves, [frame, Q or r], under analysis (integrated: I(Q), the NXazint1d name).
inline constexpr const char* structure_factor_plot = "structure_factor";
inline constexpr const char* reduced_structure_factor_plot = "reduced_structure_factor";
inline constexpr const char* reduced_pdf_plot = "reduced_pdf";
inline constexpr const char* pair_distribution_plot = "pair_distribution";
inline constexpr const char* entropy_plot = "entropy";  // S_eq of every frame, heating and cooling
}  // namespace analysis

// ---- the default plot: <entry>/entropy, S_eq of the heating ramp up to the crystallisation onset ---------------------
namespace entropy_plot {
inline constexpr const char* name = "entropy";
inline constexpr const char* temperature = "T";
inline constexpr const char* s_eq = "S_eq";
inline constexpr const char* s_eq_smoothed = "S_eq_smoothed";
inline constexpr const char* title = "title";
}  // namespace entropy_plot

namespace form_factors {
inline constexpr const char* element = "element";
inline constexpr const char* atomic_number = "atomic_number";
inline constexpr const char* a = "a";
inline constexpr const char* b = "b";
inline constexpr const char* c = "c";
}  // namespace form_factors

namespace note {  // an NXnote holding a file verbatim
inline constexpr const char* type = "type";
inline constexpr const char* data = "data";
inline constexpr const char* file_name = "file_name";
inline constexpr const char* description = "description";
}  // namespace note

// ---- run-level analysis (NXcollection analysis/run): `temperature` rewritten last; one row per heating frame --------
namespace run {
inline constexpr const char* group = "analysis/run";
inline constexpr const char* name = "run";
inline constexpr const char* parameters = "run_parameters";  // NXparameters under analysis, written at the end
inline constexpr const char* temperature = "temperature";
inline constexpr const char* s_eq_smoothed = "S_eq_smoothed";
inline constexpr const char* ds_eq_dT = "dS_eq_dT";
inline constexpr const char* delta_phi = "delta_phi";
inline constexpr const char* t_g = "T_g";
inline constexpr const char* t_g_low = "T_g_low";
inline constexpr const char* t_g_high = "T_g_high";
inline constexpr const char* heating_rate = "heating_rate";
inline constexpr const char* feature_kind = "feature_kind";
inline constexpr const char* feature_temperature = "feature_temperature";
inline constexpr const char* feature_reduced_temperature = "feature_reduced_temperature";
inline constexpr const char* feature_value = "feature_value";
inline constexpr const char* crystallisation_onset = "crystallisation_onset";
inline constexpr const char* entropy_plot = "entropy";                  // NXdata: S_eq_smoothed(T)
inline constexpr const char* entropy_derivative_plot = "entropy_derivative";  // NXdata: dS_eq/dT(T)
inline constexpr const char* heat_flow_plot = "heat_flow";              // NXdata: delta_phi(T)
}  // namespace run

// The units of the numeric analysis parameters (parameters, run_parameters: one dataset each, a number where the
// value is one). Keys not listed are counts or text. The keys are the pipeline's settings (PipelineSettings::
// describe) and the run level's counts; a test holds every numeric key of a real run to this table.
inline const char* parameter_units(std::string_view key) {
  struct Entry {
    std::string_view key;
    const char* units;
  };
  static constexpr Entry table[] = {
      {"integration_qmin", unit::inverse_angstrom}, {"integration_qmax", unit::inverse_angstrom},
      {"polarization", unit::dimensionless},       {"qmin", unit::inverse_angstrom},
      {"qmax", unit::inverse_angstrom},             {"qmaxinst", unit::inverse_angstrom},
      {"rpoly", unit::angstrom},                    {"rmin", unit::angstrom},
      {"rstep", unit::angstrom},                    {"rmax", unit::angstrom},
      {"bgscale", unit::dimensionless},             {"rho0_fit_rmin", unit::angstrom},
      {"rho0_fit_rmax", unit::angstrom},            {"rho0_nominal", unit::inverse_cubic_angstrom},
      {"s_eq_rmax", unit::angstrom},                {"smoothing_window", unit::kelvin},
      {"heating_min_rate", "K/min"},                {"tg_fit_min", unit::kelvin},
      {"tg_fit_max", unit::kelvin},                 {"tg_fit_range_K", unit::kelvin},
      {"feature_peak_prominence", unit::heat_flow}, {"feature_curvature_prominence", "W/(mol K^2)"},
  };
  for (const auto& e : table)
    if (e.key == key) return e.units;
  return nullptr;
}

}  // namespace insitu::storage::schema
