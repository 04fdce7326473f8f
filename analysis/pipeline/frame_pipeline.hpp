#pragma once
// The inline analysis of one detector frame (I(Q) -> S(Q), F(Q), G(r) -> rho0 -> g(r) -> S_eq) and of the run
// (S_eq(T) -> smoothed S_eq, dS_eq/dT, beta_h, Delta phi_eq, T_g, features). Pure: no Asio, HDF5 or logging.
// docs/pipeline.md explains the choices (density fit, heating-part selection, T_g fit range).
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "analysis/integration/azimuthal_integrator.hpp"
#include "analysis/pdf/form_factors.hpp"
#include "analysis/pdf/reduction.hpp"
#include "analysis/pipeline/results.hpp"

namespace insitu::analysis {

// "Cu44Zr44Al8Hf2Co2" -> {{"Cu",44},{"Zr",44},...}; a missing amount is 1, decimals are allowed ("Fe0.5Ni0.5").
// Throws std::invalid_argument naming the character offset of the problem.
Composition parse_composition(const std::string& formula);

// Every analysis parameter. Defaults follow the paper (Spieckermann et al.) and docs/analysis.md.
struct PipelineSettings {
  // Integration (pyFAI-equivalent).
  std::size_t npt = 3000;
  std::optional<double> integration_qmin_inv_angstrom;  // unset: the detector's automatic range
  std::optional<double> integration_qmax_inv_angstrom;
  std::optional<double> polarization_factor = 0.99;  // unset: no polarisation correction
  PixelSplit split = PixelSplit::bbox;
  std::vector<std::uint8_t> mask;  // static mask (height*width, non-zero = masked); not a text setting
  std::size_t integration_threads = 1;  // per pipeline; the pool runs several pipelines side by side

  // Reduction (PDFgetX3-style, docs/analysis.md §2).
  double qmin_inv_angstrom = 0.8;
  double qmax_inv_angstrom = 22.0;
  double qmaxinst_inv_angstrom = 23.0;
  double rpoly_angstrom = 0.9;
  double rmin_angstrom = 0.0;
  double rstep_angstrom = 0.01;
  double rmax_angstrom = 20.0;
  double bgscale = 1.0;
  std::string composition = "Cu44Zr44Al8Hf2Co2";
  std::string form_factor_file;  // DABAX f0_WaasKirf.dat; required
  std::string background_file;   // .xy/.chi I(Q) of the empty container; "" = none (or set_background_frame)
  // background_file's content, read once (not a text setting): when set, the pipeline parses it instead of
  // opening background_file, so a run and its reprocessing use the same bytes (the run file keeps a copy).
  std::string background_text;

  // Density and S_eq (docs/analysis.md §2.2, §3).
  enum class DensityFit { line, filtered };
  DensityFit rho0_fit = DensityFit::filtered;
  double rho0_fit_rmin_angstrom = 0.0;  // the paper's 0-2 A
  double rho0_fit_rmax_angstrom = 2.0;
  double rho0_nominal_per_cubic_angstrom = 0.0538345;  // 5.38345e28 m^-3
  enum class Density { nominal, fit };
  Density s_eq_density = Density::nominal;
  double s_eq_rmax_angstrom = 10.0;

  // Run level (docs/analysis.md §4).
  double smoothing_window_K = 30.0;
  int smoothing_order = 2;
  double heating_min_rate_K_per_min = 1.0;  // consecutive frames faster than this belong to a heating ramp
  double tg_fit_min_K = 600.0;              // hinge fit range: glass + supercooled liquid, below crystallisation
  double tg_fit_max_K = 750.0;  // replaced by the crystallisation onset when S_eq shows one (see compute())
  double feature_peak_prominence_W_per_mol = 0.05;
  double feature_curvature_prominence_W_per_mol_K2 = 1e-3;

  // Every text setting as key -> value, for the run record (the mask as its masked-pixel count).
  std::map<std::string, std::string> describe() const;
  // `--set key=value`: throws std::invalid_argument for an unknown key (listing the known ones) or a bad value.
  void apply(const std::string& key, const std::string& value);
  // "key=value" form of apply().
  void apply(const std::string& assignment);
  // Throws std::invalid_argument if the combination is inconsistent (qmin >= qmax, qmax > qmaxinst, ...).
  void validate() const;
};

// Wall time of each stage of the last analyse() call, seconds.
struct StageTimes {
  double integrate_s = 0, reduce_s = 0, s_eq_s = 0;
};

class FramePipeline {
 public:
  // Precomputes the integrator (geometry.height/width must be set), form factors and reduction settings.
  FramePipeline(const Geometry& geometry, PipelineSettings settings);
  FramePipeline(const Geometry& geometry, PipelineSettings settings, FormFactorTable form_factors);

  // Empty-container frame, integrated by this pipeline's integrator and subtracted (times bgscale) from every
  // later I(Q); replaces background_file. `dark` is empty or height*width.
  template <class T>
  void set_background_frame(const ImageView<T>& frame, std::span<const float> dark = {});

  // Not safe to call concurrently on one pipeline (the integrator owns scratch buffers): one per worker.
  // `dark` is subtracted pixel by pixel inside the integration (the frame is never modified).
  template <class T>
  FrameAnalysis analyse(const ImageView<T>& frame, std::span<const float> dark, std::uint64_t sequence,
                        double temperature_K);

  AnalysisAxes axes() const;  // valid after the first analyse()
  const PipelineSettings& settings() const { return settings_; }
  const StageTimes& last_stage_times() const { return times_; }
  std::size_t height() const { return integrator_.height(); }
  std::size_t width() const { return integrator_.width(); }

 private:
  FrameAnalysis finish(Pattern& pattern, std::uint64_t sequence, double temperature_K, double t0);
  double fit_density(const ReducedPdf& pdf);

  PipelineSettings settings_;
  FormFactorTable form_factors_;
  ReductionParams reduction_;
  AzimuthalIntegrator integrator_;
  std::optional<XyData> background_;
  Pattern pattern_;  // reused per frame
  // Bins that hold pixels by geometry and static mask (a frame of ones), within (0, qmaxinst]: the reduction's Q
  // grid, fixed for the run. A bin emptied only by a frame's dynamic mask is interpolated from its neighbours.
  std::vector<std::size_t> reduced_bins_;
  StageTimes times_;
  // The filtered-line response depends only on the reduced Q grid, the polynomial degree and the r grid, which are
  // fixed for a run: computed once and reused, so the filtered rho0 costs a dot product per frame, not a transform.
  std::vector<double> response_q_, response_;
  int response_degree_ = -1;
  AnalysisAxes axes_;
};

// One data frame's contribution to the run (darks are not added).
struct RunPoint {
  double time_s = 0;  // run time of the frame's mid-exposure
  double temperature_K = 0;
  double s_eq_J_per_mol_K = 0;
};

// Accumulates S_eq per data frame and computes the run-level analysis. Thread-safe (add from worker callbacks,
// compute from anywhere). compute() costs O(N * window) + O(N^2) for the hinge: ~ms for a 400-frame ramp.
class RunAnalyser {
 public:
  explicit RunAnalyser(PipelineSettings settings);
  void add(const RunPoint& point);
  std::size_t size() const;
  // Heating part: the longest time-ordered run of consecutive frames heating faster than heating_min_rate_K_per_min.
  // Too few points for a step leave its outputs empty / NaN rather than throwing (the run goes on).
  RunAnalysis compute() const;

 private:
  PipelineSettings settings_;
  mutable std::mutex mutex_;
  std::vector<RunPoint> points_;
};

}  // namespace insitu::analysis
