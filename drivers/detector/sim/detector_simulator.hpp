#pragma once
// Simulated Perkin Elmer XRD1621 in frame-wise external trigger mode (research/trigger.md §2, §6): pulse k closes
// the exposure [t(k-1), t(k)] and the detector computer writes that image as a QXRD-style TIFF + `.metadata`
// sidecar; the image read out at the first pulse after arming holds pre-trigger signal. Each image shows the
// glass of GlassModel at the true mean stage temperature of its window, placed on the detector through a PONI
// geometry, with a smooth background, dark offset and current, noise, bad pixels and saturation. A ground truth
// (JSON lines) is written beside the frames.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/integration/geometry.hpp"
#include "analysis/pdf/form_factors.hpp"
#include "drivers/detector/frame_files.hpp"
#include "drivers/detector/sim/glass_model.hpp"

namespace insitu::detector::sim {

struct DetectorSimConfig {
  std::filesystem::path poni_path;          // e.g. config/instruments/xrd1621-60keV.poni
  std::filesystem::path form_factor_path;   // f0_WaasKirf.dat
  // 2048 / binning pixels a side, pixel size * binning (same Q range). A binned pixel is the average of the
  // binning x binning pixels it covers, as the detector's binned readout delivers it: the same ADU scale, with
  // the photons of all of them (1/binning^2 the variance).
  std::size_t binning = 1;
  double polarization_factor = 0.99;
  double signal_adu_per_s = 1500.0;   // strongest point of the 300 K sample profile, per unit solid angle
  double background_adu_per_s = 60.0;  // smooth background (air, container) at Q -> 0
  double dark_offset_adu = 1000.0;     // per sub-frame
  double dark_current_adu_per_s = 2.0;
  double read_noise_adu = 4.0;         // per sub-frame
  double adu_per_photon = 1.0;         // Poisson variance of the signal in ADU^2 per ADU
  int subframes = 1;                   // > 1: the detector software sums sub-frames into uint32
  double bad_pixel_fraction = 2e-4;    // half hot (saturated), half dead (0)
  bool noise = true;
  std::uint64_t seed = 1;
  std::size_t profile_points = 2048;   // 1-D I(Q) grid the pixels interpolate in
};

// Geometry-dependent work done once (per-pixel profile index, interpolation weight, solid angle x polarisation,
// bad-pixel map); a frame is then one 1-D profile plus one pass over the pixels. Const methods are thread-safe.
class FrameRenderer {
 public:
  FrameRenderer(const DetectorSimConfig& config, const GlassModel& model, const analysis::FormFactorTable& table);

  const analysis::Geometry& geometry() const { return geometry_; }
  std::size_t height() const { return geometry_.height; }
  std::size_t width() const { return geometry_.width; }
  const std::vector<double>& profile_q_inv_angstrom() const { return q_; }
  // Expected ADU per second per unit (relative) solid angle x polarisation: sample (coherent with S(Q) >= 0
  // + Compton) at a fixed scale set from the 300 K glass, plus the smooth background.
  std::vector<double> profile_adu_per_s(const GlassState& state) const;
  // One image of `exposure_s` in total (split into config.subframes), uint16 or uint32 (subframes > 1).
  // `dark`: shutter closed. `frame_seed` picks the noise realisation (deterministic).
  Frame render(const std::vector<double>& profile_adu_per_s, double exposure_s, bool dark,
               std::uint64_t frame_seed) const;
  // 0 = good, 1 = hot, 2 = dead (row-major).
  const std::vector<std::uint8_t>& bad_pixels() const { return bad_; }

 private:
  template <class T>
  std::vector<T> render_pixels(const std::vector<double>& profile, double exposure_s, bool dark,
                               std::uint64_t frame_seed) const;

  DetectorSimConfig config_;
  const GlassModel& model_;
  analysis::Geometry geometry_;
  std::vector<double> q_;
  analysis::FormFactorAverages averages_;
  double sample_scale_ = 0.0;
  std::vector<std::uint32_t> bin_;
  std::vector<float> frac_;
  std::vector<float> gain_;
  std::vector<std::uint8_t> bad_;
  std::vector<float> normal_table_;
};

enum class FileFault {
  missing,    // the image is never written
  delayed,    // written `value` seconds after its readout (advance_to / flush)
  truncated,  // the TIFF is cut to half its size and no sidecar follows
  duplicate,  // a second copy arrives as QXRD's uniquified <pattern>-<index>-00001.tif
  clock_skew, // the sidecar timeStamp is off by `value` seconds
  orphan,     // beside image k an unexpected file appears: <pattern>-<index>-test-shot.tif (no sidecar)
};
std::string_view to_string(FileFault fault);

struct SimFrameTruth {
  std::int64_t frame = 0;        // k: 0 is the pre-trigger image
  std::int64_t file_index = 0;
  std::filesystem::path path;    // "" if missing
  double start_s = 0.0, stop_s = 0.0;
  double mean_T_K = 0.0;
  double S_eq_k_B = 0.0;         // of the true g(r) at mean_T_K (dark frames too: the sample is there)
  bool dark = false;
  bool pre_trigger = false;
  std::vector<std::string> faults;
};

class DetectorSimulator {
 public:
  // Mean true sample temperature over [t0, t1] run seconds (e.g. TemperatureHistory::mean_K).
  using MeanTemperature = std::function<double(double, double)>;

  // Files go to `output_dir` as <pattern>-<index:05>.tif, indices from first_file_index; the truth goes to
  // <pattern>-truth.jsonl and <pattern>-truth-gr.jsonl there. `epoch_unix_s` maps run time 0 to the sidecar
  // timeStamp (the detector PC clock).
  DetectorSimulator(DetectorSimConfig config, std::filesystem::path output_dir, std::string pattern,
                    MeanTemperature mean_temperature, double epoch_unix_s = 1.7e9, std::int64_t first_file_index = 1);
  ~DetectorSimulator();

  // Starts frame-wise acquisition at run_s: the next pulse reads out the pre-trigger image.
  void arm(double run_s);
  void set_shutter_open(bool open) { shutter_open_ = open; }
  // Fault for frame k (k = 0 is the pre-trigger image); `value` is the delay or the skew in seconds.
  void inject_fault(std::int64_t frame, FileFault fault, double value = 0.0);
  // A trigger edge: closes the current exposure, renders it and writes it (unless delayed or missing).
  void on_pulse(double edge_s);
  // Writes delayed files that are due by run_s.
  void advance_to(double run_s);
  void flush();

  std::int64_t frames_read_out() const { return next_frame_; }
  const std::vector<SimFrameTruth>& truth() const { return truth_; }
  const FrameRenderer& renderer() const { return *renderer_; }
  const GlassModel& model() const { return model_; }
  std::filesystem::path frame_path(std::int64_t file_index, bool uniquified = false) const;
  // The unexpected file an `orphan` fault drops beside image `file_index`.
  std::filesystem::path orphan_path(std::int64_t file_index) const;

 private:
  struct Pending {
    double due_s;
    std::int64_t frame;
    Frame image;
    QxrdMetadata metadata;
  };
  void write(const Pending& pending);

  DetectorSimConfig config_;
  std::filesystem::path output_dir_;
  std::string pattern_;
  MeanTemperature mean_temperature_;
  double hottest_K_ = 0.0;  // the sample's thermal history, for irreversible crystallisation
  double epoch_unix_s_;
  std::int64_t first_file_index_;
  GlassModel model_;
  analysis::FormFactorTable table_;
  std::unique_ptr<FrameRenderer> renderer_;
  bool armed_ = false;
  bool shutter_open_ = true;
  double window_start_s_ = 0.0;
  std::int64_t next_frame_ = 0;
  std::multimap<std::int64_t, std::pair<FileFault, double>> faults_;
  std::vector<Pending> pending_;
  std::vector<SimFrameTruth> truth_;
  std::ofstream truth_file_;
  std::ofstream gr_file_;
};

}  // namespace insitu::detector::sim
