#pragma once
// 1-D azimuthal integration I(Q) matching pyFAI 0.21.3 integrate1d (integrate1d_ng) with
// ('no','histogram') or ('bbox','csr') and error_model="poisson":
//   I_b = sum_j c_bj (raw_j - dark_j) / sum_j c_bj Omega_j P_j,   sigma_b = sqrt(sum_j c_bj^2 v_j) / sum_j c_bj Omega_j P_j,
//   v_j = max(1, raw_j) + dark_j.
// Everything that depends only on the geometry (bins, pixel-splitting weights, Omega*P) is computed once in
// the constructor; integrate() is one streaming pass over the frame on a thread pool (per-thread bin
// accumulators) and allocates nothing when `out` already has npt-sized storage. The bbox weights are
// pyFAI's CSR matrix stored pixel-major (CSC): each pixel's weights go to consecutive bins, so the frame
// is read sequentially instead of gathered ring by ring.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "analysis/integration/geometry.hpp"

namespace insitu::analysis {

class WorkerPool;

enum class PixelSplit {
  none,  // pyFAI ('no','histogram'): each pixel goes whole to the bin of its centre
  bbox,  // pyFAI ('bbox','csr'): the pixel's [q - dq, q + dq] box is spread over bins by overlap
};

struct IntegrationSetup {
  std::size_t npt = 1000;
  // Bin edges span [qmin, qmax * (1 + 2^-23)] as in pyFAI; unset = pyFAI's automatic range (see q_range()).
  // Pixels (or parts of bbox boxes) outside the range are dropped. pyFAI 0.21.3 instead truncates toward
  // zero, so its first bin also collects up to one bin width below qmin: only the two edge bins differ.
  std::optional<std::pair<double, double>> q_range_inv_angstrom;
  // (Ih - Iv)/(Ih + Iv); unset = no polarisation correction (pyFAI polarization_factor=None).
  std::optional<double> polarization_factor = 0.99;
  double polarization_axis_offset_rad = 0.0;
  bool correct_solid_angle = true;
  PixelSplit split = PixelSplit::bbox;
  std::vector<std::uint8_t> mask;  // static mask, height*width, non-zero = masked; empty = none
  // Automatic bbox range over every pixel, masked ones included (pyFAI's CSR builder skips them): the Q grid then
  // does not move when the static mask grows, e.g. by the bad pixels a run finds in its darks.
  bool range_includes_masked = false;
  // Per-frame (dynamic) masks: pixels equal to dummy (within delta_dummy), negative pixels (detector gaps
  // flagged -1/-2), and non-finite values never contribute.
  std::optional<float> dummy;
  float delta_dummy = 0.0f;
  bool mask_negative = false;
  std::size_t threads = 2;
};

template <class T>
struct ImageView {
  std::span<const T> pixels;  // row-major, height*width
  std::size_t height = 0;
  std::size_t width = 0;
};

struct Pattern {
  std::vector<double> q_inv_angstrom;  // bin centres
  std::vector<double> intensity;       // 0 in empty bins (pyFAI's default "empty")
  std::vector<double> sigma;
  std::vector<double> count;  // sum of pixel weights (= pixels for PixelSplit::none)
};

class AzimuthalIntegrator {
 public:
  // geometry.height/width must be set (the detector shape).
  AzimuthalIntegrator(const Geometry& geometry, IntegrationSetup setup);
  ~AzimuthalIntegrator();
  AzimuthalIntegrator(AzimuthalIntegrator&&) noexcept;
  AzimuthalIntegrator& operator=(AzimuthalIntegrator&&) noexcept;

  // Integrates one frame into `out` (resized only if needed). `dark` is empty or height*width.
  // Not safe to call concurrently on one integrator (it owns the scratch buffers and the pool).
  template <class T>
  void integrate(const ImageView<T>& image, Pattern& out, std::span<const float> dark = {});
  template <class T>
  Pattern integrate(const ImageView<T>& image, std::span<const float> dark = {}) {
    Pattern out;
    integrate(image, out, dark);
    return out;
  }

  // Subtracts scale * background from every later pattern (intensity), adding scale^2 sigma_bg^2 to
  // sigma^2. The background must be on this integrator's Q grid (e.g. integrated by it).
  void set_background(const Pattern& background, double scale);
  void clear_background();

  std::size_t height() const { return height_; }
  std::size_t width() const { return width_; }
  std::size_t npt() const { return q_centres_.size(); }
  std::pair<double, double> q_range() const { return {q_min_, q_max_}; }
  const std::vector<double>& q_inv_angstrom() const { return q_centres_; }
  // Per-pixel normalisation Omega_j * P_j (1 where a correction is off).
  std::span<const float> normalization() const { return normalization_; }
  std::size_t nonzeros() const;  // pixel-to-bin weights stored (CSR entries, or binned pixels)
  std::size_t threads() const;

 private:
  struct BinSums {
    double signal, variance, norm, count;
  };
  void build_geometry_arrays(const Geometry& geometry);
  void finish(Pattern& out) const;

  IntegrationSetup setup_;
  std::size_t height_ = 0, width_ = 0;
  double q_min_ = 0.0, q_max_ = 0.0, bin_width_ = 0.0;
  std::vector<double> q_centres_;
  std::vector<float> normalization_;
  std::vector<std::int32_t> pixel_bin_;  // none: bin of each pixel, -1 = masked or out of range
  std::vector<std::uint32_t> weight_start_;  // bbox: per pixel, offset into weight_ (height*width + 1)
  std::vector<std::uint32_t> first_bin_;     // bbox: per pixel, bin of its first weight
  std::vector<float> weight_;                // bbox: fraction of the pixel in consecutive bins
  std::vector<std::size_t> split_;           // work partition: threads + 1 pixel boundaries
  std::vector<BinSums> partial_;             // per-thread accumulators, threads * npt
  std::vector<BinSums> sums_;             // npt
  std::vector<double> background_intensity_, background_sigma_;
  double background_scale_ = 0.0;
  std::unique_ptr<WorkerPool> pool_;
};

}  // namespace insitu::analysis
