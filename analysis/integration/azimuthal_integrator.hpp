#pragma once
// 1-D azimuthal integration I(Q) matching pyFAI 0.21.3 integrate1d (integrate1d_ng) with
// ('no','histogram') or ('bbox','csr') and error_model="poisson":
//   I_b = sum_j c_bj (raw_j - dark_j) / sum_j c_bj Omega_j P_j,   sigma_b = sqrt(sum_j c_bj^2 v_j) / sum_j c_bj Omega_j P_j,
//   v_j = max(1, raw_j) + dark_j.
// Everything that depends only on the geometry (bins, pixel-splitting weights, Omega*P, and the per-bin sums
// of c_bj Omega_j P_j and c_bj over the statically unmasked pixels) is computed once in the constructor;
// integrate() is one streaming pass over the frame on a thread pool (accumulators of the signal and variance
// sums only, one set per slot of pixels that the threads claim) and allocates nothing when `out` already has
// npt-sized storage. A frame with dynamically masked pixels takes a second pass that also sums the
// normalisation of the pixels it keeps.
// The bbox weights are pyFAI's CSR matrix stored pixel-major and compressed to 12 bytes a pixel: first bin,
// bins spanned, weight of the first bin and of each interior bin (the last one is what remains of 1), so
// the frame and its weights are read sequentially, once.

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
  std::size_t nonzeros() const { return nonzeros_; }  // pixel-to-bin weights inside the range (CSR entries)
  std::size_t threads() const;

 private:
  struct BinSums {
    double signal, variance, norm, count;
  };
  // bbox: a pixel's box covers bins [bin, bin + span) of the accumulators (span 0: masked or out of range):
  // first_weight in the first, interior_weight in each bin strictly between (0 if span < 3), the rest of 1
  // in the last.
  struct PixelBox {
    std::uint32_t bin_and_span;  // accumulator index in the low 24 bits, span in the high 8
    float first_weight;
    float interior_weight;
  };
  void build_geometry_arrays(const Geometry& geometry);
  void build_boxes(const std::vector<double>& q_centre, const std::vector<double>& q_half_width);
  void build_static_sums();
  struct FrameRules;
  template <class T, bool with_norm>
  std::size_t accumulate(const T* raw, const float* dark, const FrameRules& rules, std::size_t slot);
  template <class T, bool has_dark, bool with_norm, bool checked, class Pair>
  std::size_t spread_block(const T* raw, const float* dark, const FrameRules& rules, std::size_t j0, std::size_t n,
                           Pair* regions);
  void finish(Pattern& out) const;

  IntegrationSetup setup_;
  std::size_t height_ = 0, width_ = 0;
  double q_min_ = 0.0, q_max_ = 0.0, bin_width_ = 0.0;
  std::vector<double> q_centres_;
  std::vector<float> normalization_;
  // Accumulators have bin_offset_ spare bins on each side of the npt real ones: masked pixels and the parts
  // of boxes outside the range land there and are dropped, so the per-pixel loop never tests the range.
  std::size_t bin_offset_ = 0, accumulator_bins_ = 0;
  std::vector<std::uint32_t> pixel_bin_;  // none: accumulator index of each pixel
  std::vector<PixelBox> boxes_;           // bbox
  std::size_t nonzeros_ = 0;
  std::vector<double> static_sums_;       // per accumulator bin: (sum c Omega P, sum c) of unmasked pixels
  std::size_t slots_ = 1;                 // parts of the frame with their own accumulators
  std::vector<double> partial_;           // per slot: accumulator_regions of accumulator_bins_ (x, y) sums
  std::vector<std::size_t> rejected_;     // per slot: pixels dynamically masked this frame
  std::vector<BinSums> sums_;             // npt
  std::vector<double> background_intensity_, background_sigma_;
  double background_scale_ = 0.0;
  std::unique_ptr<WorkerPool> pool_;
};

}  // namespace insitu::analysis
