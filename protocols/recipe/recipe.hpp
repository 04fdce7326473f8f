#pragma once
// Recipe v1: the YAML description of one in-situ temperature programme (see config/README.md).
// Parsing and planning are pure apart from two things: load_recipe() reads the file, and parse_recipe()
// checks that the files a recipe names (geometry, mask, background) exist; it never reads them.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "protocols/recipe/sample_calibration.hpp"

namespace insitu::recipe {

struct Stabilise {
  double tolerance_K;
  double dwell_s;
  double timeout_s;
};

struct Hold {
  double temperature_K;
  double approach_rate_K_per_min;
  std::optional<double> duration_s;
  std::optional<Stabilise> until_stable;
};

struct Ramp {
  double to_K;
  double rate_K_per_min;
};

struct Segment {
  // "1 hold 93.15 K", "2 ramp to 873.15 K"; inside repeats the path of positions plus the
  // pass, e.g. "3.2 ramp to 400 K (pass 2/3)", so every expanded segment has a unique label.
  std::string label;
  std::variant<Hold, Ramp> action;
  int line;  // 1-based source line of the segment in the recipe
  // Frames are taken during this segment: the top-level program item it came from is in exposures.during.
  bool exposed = false;
};

enum class SafeState { stop, hold };
// What insitud does with the run when it finds it was interrupted (its process killed, the machine rebooted):
// resume the programme from the stage's temperature, hold the stage for an operator, or close the run.
enum class OnInterruption { abort, resume, hold };
std::string_view to_string(OnInterruption);
enum class LnpPump { automatic, manual };

struct StageSpec {
  std::string model;
  double min_K;  // model range, narrowed by the recipe's min_K/max_K
  double max_K;
  double max_rate_K_per_min;
  double poll_interval_s;
  std::optional<std::string> connection;
  // The LN2 pump's mode, set at the start and after every reconnect; manual runs at pump_speed (0..30).
  LnpPump pump = LnpPump::automatic;
  int pump_speed = 0;
  // The stage is off the programme when more than follow_tolerance_K from the setpoint; off it for longer than
  // follow_allowance_s, the run ends completed_with_deviations.
  double follow_tolerance_K = 2.0;
  double follow_allowance_s = 60.0;
  // Sensor -> sample mapping for frame temperatures and the analysis; nullopt: the sensor reading is taken as
  // the sample's. The program, limits and stage log stay in sensor terms.
  std::optional<SampleCalibration> sample_calibration = std::nullopt;
};

// The sample's state before the run, as the paper's Table II records it (compare labels runs with it).
enum class Deformation { none, hpt };  // as cast, or high-pressure torsion
struct SampleState {
  std::string label;  // as given, or made from the fields: "as cast", "HPT (300 K) + stored (77 K)"
  Deformation deformation = Deformation::none;
  int rotations = 0;                                // HPT revolutions
  std::optional<double> deformation_temperature_K;  // with a deformation only
  double storage_temperature_K = 0.0;               // between treatment and run
};

struct Sample {
  std::string name, composition, treatment, description;
  std::optional<SampleState> state;  // `sample.state`; nullopt when the recipe does not say
};
std::string_view to_string(Deformation deformation);

// The delay generator that triggers the detector (BNC 575 class, frame-wise external trigger).
enum class Polarity { normal, inverted };
struct TriggerSpec {
  std::string connection;  // as written; valid for io::parse_connection_url
  char channel = 'A';      // output channel A..H wired to the detector's trigger input
  double pulse_width_s = 1.0e-4;
  Polarity polarity = Polarity::normal;
  double latency_s = 0.0;               // measured instrument latency added to each trigger time stamp
  std::optional<char> shutter_channel;  // A..H, drives the shutter; needed for darks
};

enum class FrameFormat { tiff, edf };
// Where and how the detector computer writes frames: <folder>/<pattern>-<index:05>.<tif|edf>.
struct FrameSpec {
  std::string folder;
  std::string pattern = "frame";
  long long first_index = 1;
  FrameFormat format = FrameFormat::tiff;
  bool sidecar = false;  // a file is complete once its QXRD .metadata sidecar exists
  double deadline_margin_s = 10.0;
  double readout_s = 0.1332;  // XRD1621 frame readout (also the row skew), the shortest frame time
};

// The settings a dark set is keyed by: a dark is only subtracted from frames taken with the same ones.
struct DetectorSettings {
  int subframes = 1;  // frames summed by the detector software per exposure (uint32 when > 1)
  double gain_pF = 0.5;
  int timing_mode = 0;  // XRD1621 timing 0..7
  int binning = 1;      // 1, 2 or 4
};

struct DetectorSpec {
  TriggerSpec trigger;
  FrameSpec frames;
  std::optional<std::string> geometry;  // PONI file, resolved against the recipe's directory
  DetectorSettings settings;
  bool store_frames = true;         // raw frames go into the run file
  std::optional<std::string> mask;  // static mask (TIFF/EDF, non-zero = masked), resolved likewise

  // XRD1621: 2048 x 2048 pixels of 200 um, fewer when binned.
  int height_px() const { return 2048 / settings.binning; }
  int width_px() const { return 2048 / settings.binning; }
  int bytes_per_pixel() const { return settings.subframes > 1 ? 4 : 2; }
  std::uint64_t bytes_per_frame() const {
    return static_cast<std::uint64_t>(height_px()) * static_cast<std::uint64_t>(width_px()) *
           static_cast<std::uint64_t>(bytes_per_pixel());
  }
};

struct ExposureSpec {
  double period_s = 0.0;  // frame period = exposure time (frame-wise trigger)
  // 1-based top-level program items exposed, ascending (all of them for `during: all`).
  std::vector<int> during_items;
  int darks_before = 0;  // shutter-closed frames before the first and after the last exposed segment
  int darks_after = 0;
};

enum class PixelSplitting { none, bbox };
enum class DensityChoice { nominal, fit };

struct AnalysisSpec {
  bool enabled = true;
  struct Integration {
    int npt = 3000;
    PixelSplitting split = PixelSplitting::bbox;
    std::optional<double> polarization = 0.99;                      // nullopt: no polarisation correction
    std::optional<std::pair<double, double>> q_range_inv_angstrom;  // nullopt: the detector's full range
  } integration;
  struct Reduction {
    double qmin_inv_angstrom = 0.0, qmax_inv_angstrom = 0.0, qmaxinst_inv_angstrom = 0.0;
    double rpoly_angstrom = 0.9;
    double r_min_angstrom = 0.0, r_step_angstrom = 0.01, r_max_angstrom = 30.0;
    std::optional<std::string> background;  // I(Q) .xy/.chi file, resolved against the recipe's directory
    double bgscale = 1.0;
  } reduction;
  struct Density {
    std::pair<double, double> fit_range_angstrom{0.0, 2.0};  // G(r) = -4 pi rho0 r fitted here
    std::optional<double> nominal_per_cubic_m;
    DensityChoice use = DensityChoice::fit;  // which rho0 S_eq uses
  } density;
  struct Entropy {
    double r_max_angstrom = 10.0;
  } entropy;
  struct Run {
    double smoothing_window_K = 20.0;
    std::optional<double> expected_tg_K;
  } run;
};

enum class DmaGeometry { three_point_bending, torsion };
struct DmaSpec {
  std::string folder;                                       // TRIOS exports to watch during the run
  DmaGeometry geometry = DmaGeometry::three_point_bending;  // decides E' or G' when an export does not say
};

// DSC exports of the same sample, measured apart: read when the run ends and laid beside its Δφ_eq (paper Fig. 4).
struct DscSpec {
  std::string folder;             // resolved against the recipe's directory
  std::optional<double> mass_mg;  // for exports in mW whose header gives no mass
};

// A condition that suspends the run: tripped, it pauses it (no exposures, the stage holding its temperature) or
// aborts it; cleared, a paused run resumes after settle_s or waits for an operator (config/README.md, suspenders).
enum class SuspenderKind { stage_off_programme, dewar_empty, controller_error, frames_missing, tango };
enum class SuspenderTrip { pause, abort };
enum class SuspenderClear { resume, wait_for_operator };
// What a Tango attribute that cannot be read counts as: its condition holding (trip) or no news (ignore).
enum class ReadFailure { trip, ignore };
struct Suspender {
  SuspenderKind kind = SuspenderKind::stage_off_programme;
  int line = 0;                   // 1-based source line of the entry
  double for_s = 0.0;             // the condition holds this long before it trips
  double band_K = 0.0;            // stage_off_programme: |T - setpoint| beyond this
  int count = 0;                  // frames_missing: frames in a row missing, late or unreadable
  std::string attribute;          // tango: [tango://host:port/]domain/family/member/attribute[#dbase=no]
  std::optional<double> below, above;  // tango: the condition (exactly one)
  double poll_s = 1.0;            // tango: run time between reads
  double timeout_s = 3.0;         // tango: wall time a read may take
  ReadFailure on_read_failure = ReadFailure::trip;
  SuspenderTrip on_trip = SuspenderTrip::pause;
  SuspenderClear on_clear = SuspenderClear::resume;
  double settle_s = 0.0;  // run time the condition stays clear before the run resumes
};
std::string_view to_string(SuspenderKind kind);
// "stage_off_programme (band 5 K for 60 s)": how events name a suspender.
std::string describe(const Suspender& suspender);

struct Recipe {
  std::string source_path;
  std::string text;  // verbatim, so a run can archive exactly what it executed
  std::string name;
  Sample sample;
  StageSpec stage;
  std::vector<Segment> program;  // repeats expanded
  SafeState safe_state;
  OnInterruption on_interruption = OnInterruption::abort;
  std::string output_directory;
  // Optional sections: a recipe without them runs the stage only.
  std::optional<DetectorSpec> detector;
  std::optional<ExposureSpec> exposures;
  std::optional<AnalysisSpec> analysis;
  std::optional<DmaSpec> dma;
  std::optional<DscSpec> dsc;
  std::vector<Suspender> suspenders;  // in the recipe's order
};

// what() is "FILE:LINE:COLUMN: reason" (1-based); several errors are joined one per line.
class RecipeError : public std::runtime_error {
  using runtime_error::runtime_error;
};

// Relative file names in the recipe (geometry, mask, background) are resolved against base_directory,
// by default the directory of source_name.
Recipe parse_recipe(std::string_view yaml_text, const std::string& source_name,
                    std::optional<std::filesystem::path> base_directory = std::nullopt);
Recipe load_recipe(const std::filesystem::path& path);

struct Element {
  std::string symbol;
  double amount;
};
// "Cu44Zr44Al8Hf2Co2" -> {Cu 44, Zr 44, Al 8, Hf 2, Co 2}; amounts as written (an omitted amount is 1).
// Throws std::invalid_argument naming the byte offset and the reason.
std::vector<Element> parse_composition(std::string_view formula);

// Duration estimate (see config/README.md): ramps at their rate, cooling capped by the LN2 limit
// max_cooling_rate_K_per_min(T); holds approach at their rate, then last duration_s or the dwell.
// Frames: floor(duration / period) per exposed segment, plus the darks.
struct PlannedSegment {
  std::string label;
  double start_K, end_K, duration_s;  // duration_s is +inf for a cooling target at or below the LN2 floor
  std::string description;
  double frames = 0.0;  // data frames expected: a whole number, +inf when the segment is unbounded
};
struct FrameBudget {
  double data_frames;  // sum over the exposed segments (+inf if one is unbounded)
  int dark_frames;
  std::uint64_t bytes_per_frame;  // raw, as the detector writes it
  double total_frames() const { return data_frames + dark_frames; }
  double total_bytes() const { return total_frames() * static_cast<double>(bytes_per_frame); }
};
struct Plan {
  std::vector<PlannedSegment> segments;
  double total_s;
  std::optional<FrameBudget> frames;  // when the recipe has exposures
};
Plan estimate_plan(const Recipe&, double initial_K = 295.0);
std::string format_plan(const Recipe&, const Plan&);

// LN2 cooling capacity of the THMS600 + LNP: 60*((T - 83)/190)^1.5 K/min, 0 at and below 83 K.
double max_cooling_rate_K_per_min(double temperature_K);
// Time to change temperature from from_K to to_K at rate_K_per_min, cooling capped as above.
double transition_time_s(double from_K, double to_K, double rate_K_per_min);

}  // namespace insitu::recipe
