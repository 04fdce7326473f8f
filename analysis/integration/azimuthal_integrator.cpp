#include "analysis/integration/azimuthal_integrator.hpp"

#include <algorithm>
#include <atomic>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

#include "analysis/integration/worker_pool.hpp"

namespace insitu::analysis {
namespace {

// pyFAI's calc_upper_bound: the range ends one float32 ulp above its upper limit (the largest position
// for the automatic range) so that the outermost pixel falls inside the last bin.
constexpr double upper_bound_factor = 1.0 + static_cast<double>(FLT_EPSILON);

std::pair<std::size_t, std::size_t> chunk(std::size_t n, std::size_t part, std::size_t parts) {
  return {n * part / parts, n * (part + 1) / parts};
}

// One bin's two running sums in an SSE2 register (baseline x86-64): each pixel adds to both at once.
using Pair = double __attribute__((vector_size(16)));

constexpr unsigned span_shift = 24;
constexpr std::uint32_t index_mask = (std::uint32_t{1} << span_shift) - 1;
constexpr std::size_t max_span = 255;
// Pixels checked at once for dynamic masks: a block without any takes the loop without per-pixel checks.
constexpr std::size_t block_pixels = 1024;
// Per slot: (signal, variance) sums, their interior steps, (norm, count) sums.
constexpr std::size_t accumulator_regions = 3;
// The frame is cut into this many slots per thread, each with its own accumulators, that threads claim in
// turn: the result does not depend on which thread took a slot, and a thread that starts late takes fewer.
constexpr std::size_t slots_per_thread = 4;

// Weight of a box's last bin: what remains of 1 (span 1: first is 1 and interior 0, so nothing).
inline double last_weight(std::uint32_t span, double first, double interior) {
  return 1.0 - first - (static_cast<double>(span) - 2.0) * interior;
}

// Adds a box's weights c_k times x = (s, v) to its bins as (c_k s, c_k^2 v): `first` to whole[0], the last
// weight to whole[span - 1], and `interior` to every bin between through the running sum of
// `interior_steps` (+ where the run starts, - where it ends). So every pixel costs four additions whatever
// its span, with no data-dependent branch. The steps' sum leaves rounding residues (~1e-16 relative) in bins
// no pixel reaches; harmless, as such bins have no weight (add_weighted sums the weights exactly).
inline void spread(Pair* whole, Pair* interior_steps, std::uint32_t span, double first, double interior, Pair x) {
  const double last = last_weight(span, first, interior);
  whole[0] += Pair{first, first * first} * x;
  whole[span - 1] += Pair{last, last * last} * x;
  const Pair run = Pair{interior, interior * interior} * x;
  interior_steps[1] += run;
  interior_steps[span - 1] -= run;
}

// Adds c_k x to each bin of a box one by one: with x = (Omega P, 1) the normalisation and count sums, which so
// stay exactly 0 in the bins no pixel reaches.
inline void add_weighted(Pair* whole, std::uint32_t span, double first, double interior, Pair x) {
  whole[0] += first * x;
  for (std::uint32_t k = 1; k + 1 < span; ++k) whole[k] += interior * x;
  if (span > 1) whole[span - 1] += last_weight(span, first, interior) * x;
}

}  // namespace

// Per-frame (dynamic) masks as comparisons that are false when the rule is off (NaN dummy, -inf limit),
// made on the value as float32 (as pyFAI does).
struct AzimuthalIntegrator::FrameRules {
  float dummy;
  float delta_dummy;
  float negative_limit;
};

namespace {

template <class Rules>
inline bool dynamically_masked(float value, const float* dark, std::size_t j, const Rules& rules) {
  return !std::isfinite(value) || value < rules.negative_limit || std::fabs(value - rules.dummy) <= rules.delta_dummy ||
         (dark != nullptr && !std::isfinite(dark[j]));
}

// Whether no pixel of [j0, j0 + n) is dynamically masked, four at a time (x - x != 0: not finite).
template <class T, class Rules>
bool block_is_clean(const T* raw, const float* dark, const Rules& rules, std::size_t j0, std::size_t n) {
  using Floats = float __attribute__((vector_size(16)));
  typedef T Values __attribute__((vector_size(4 * sizeof(T))));
  using Mask = std::int32_t __attribute__((vector_size(16)));
  const Floats dummy = Floats{} + rules.dummy, delta = Floats{} + rules.delta_dummy;
  const Floats limit = Floats{} + rules.negative_limit;
  Mask masked{};
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    Values values;
    std::memcpy(&values, raw + j0 + i, sizeof values);
    const Floats x = __builtin_convertvector(values, Floats);
    masked |= (x - x != 0.0f) | (x < limit) | ((x - dummy <= delta) & (dummy - x <= delta));
    if (dark != nullptr) {
      Floats d;
      std::memcpy(&d, dark + j0 + i, sizeof d);
      masked |= d - d != 0.0f;
    }
  }
  bool clean = (masked[0] | masked[1] | masked[2] | masked[3]) == 0;
  for (; i < n; ++i) clean &= !dynamically_masked(static_cast<float>(raw[j0 + i]), dark, j0 + i, rules);
  return clean;
}

// Signal and Poisson variance of pixel j (pyFAI preproc, poissonian: max(1, raw) + dark).
template <class T, bool has_dark>
inline Pair signal_and_variance(const T* raw, const float* dark, std::size_t j) {
  const double r = static_cast<double>(raw[j]);
  const double d = has_dark ? static_cast<double>(dark[j]) : 0.0;
  return Pair{r - d, std::max(1.0, r) + d};
}

}  // namespace

AzimuthalIntegrator::AzimuthalIntegrator(const Geometry& geometry, IntegrationSetup setup)
    : setup_(std::move(setup)), height_(geometry.height), width_(geometry.width) {
  if (height_ == 0 || width_ == 0)
    throw std::invalid_argument("AzimuthalIntegrator: geometry has no detector shape (height/width)");
  if (setup_.npt == 0) throw std::invalid_argument("AzimuthalIntegrator: npt must be > 0");
  if (!setup_.mask.empty() && setup_.mask.size() != height_ * width_)
    throw std::invalid_argument("AzimuthalIntegrator: mask has " + std::to_string(setup_.mask.size()) +
                                " pixels, detector has " + std::to_string(height_ * width_));
  if (setup_.q_range_inv_angstrom && !(setup_.q_range_inv_angstrom->first >= 0.0 &&
                                       setup_.q_range_inv_angstrom->second > setup_.q_range_inv_angstrom->first))
    throw std::invalid_argument("AzimuthalIntegrator: q range must satisfy 0 <= qmin < qmax");
  if (height_ * width_ > std::numeric_limits<std::int32_t>::max())
    throw std::invalid_argument("AzimuthalIntegrator: detector too large for 32-bit pixel indices");
  setup_.threads = std::max<std::size_t>(1, setup_.threads);
  pool_ = std::make_unique<WorkerPool>(setup_.threads);
  build_geometry_arrays(geometry);
}

AzimuthalIntegrator::~AzimuthalIntegrator() = default;
AzimuthalIntegrator::AzimuthalIntegrator(AzimuthalIntegrator&&) noexcept = default;
AzimuthalIntegrator& AzimuthalIntegrator::operator=(AzimuthalIntegrator&&) noexcept = default;

std::size_t AzimuthalIntegrator::threads() const { return pool_->size(); }

namespace {

// bbox: half-width of each pixel's Q box = largest |Q(corner) - Q(centre)| (pyFAI's deltaQ); corners on the
// (H+1) x (W+1) lattice.
std::vector<double> box_half_widths(const std::vector<double>& q_centre, const std::vector<double>& q_corner,
                                    std::size_t height, std::size_t width) {
  std::vector<double> half(height * width);
  const std::size_t cw = width + 1;
  for (std::size_t i = 0; i < height; ++i)
    for (std::size_t j = 0; j < width; ++j) {
      const double c = q_centre[i * width + j];
      half[i * width + j] =
          std::max({std::fabs(q_corner[i * cw + j] - c), std::fabs(q_corner[(i + 1) * cw + j] - c),
                    std::fabs(q_corner[(i + 1) * cw + j + 1] - c), std::fabs(q_corner[i * cw + j + 1] - c)});
    }
  return half;
}

// Adds the running sum of steps[0..k] to whole[k]: the interior weights that spread() left as steps.
void add_running_sums(Pair* whole, const Pair* steps, std::size_t n) {
  Pair running{0.0, 0.0};
  for (std::size_t k = 0; k < n; ++k) {
    running += steps[k];
    whole[k] += running;
  }
}

}  // namespace

void AzimuthalIntegrator::build_geometry_arrays(const Geometry& geometry) {
  const PixelGeometry pixel_geometry(geometry);
  const std::size_t n_pixels = height_ * width_;
  const std::size_t n_threads = pool_->size();
  const std::size_t npt = setup_.npt;
  const bool bbox = setup_.split == PixelSplit::bbox;
  auto masked = [&](std::size_t j) { return !setup_.mask.empty() && setup_.mask[j] != 0; };
  // Per-pixel centre Q and normalisation, and (bbox) Q on the (H+1) x (W+1) corner lattice.
  std::vector<double> q_centre(n_pixels);
  normalization_.assign(n_pixels, 1.0f);
  std::vector<double> q_corner(bbox ? (height_ + 1) * (width_ + 1) : 0);
  auto per_pixel = [&](std::size_t t) {
    const auto [row_begin, row_end] = chunk(height_, t, n_threads);
    for (std::size_t i = row_begin; i < row_end; ++i) {
      for (std::size_t j = 0; j < width_; ++j) {
        const auto [p1, p2] = pixel_geometry.pyfai_centre_offsets_m(i, j);
        const LabPosition p = pixel_geometry.lab_from_offsets(p1, p2);
        const double tth = std::atan2(std::hypot(p.t1_m, p.t2_m), p.t3_m);
        q_centre[i * width_ + j] = pixel_geometry.q_from_two_theta_inv_angstrom(tth);
        double norm = 1.0;
        if (setup_.correct_solid_angle) norm *= std::pow(pixel_geometry.cos_incidence_from_offsets(p1, p2), 3);
        if (setup_.polarization_factor) {
          const double chi = std::atan2(p.t1_m, p.t2_m);
          const double cos2 = std::cos(tth) * std::cos(tth);
          norm *= 0.5 * (1.0 + cos2 -
                         *setup_.polarization_factor * std::cos(2.0 * (chi + setup_.polarization_axis_offset_rad)) *
                             (1.0 - cos2));
        }
        normalization_[i * width_ + j] = static_cast<float>(norm);
      }
    }
    if (bbox) {
      const auto [c_begin, c_end] = chunk(height_ + 1, t, n_threads);
      for (std::size_t i = c_begin; i < c_end; ++i)
        for (std::size_t j = 0; j <= width_; ++j)
          // pyFAI keeps corner positions in float32 nm^-1; copying that keeps the boxes bit-compatible.
          q_corner[i * (width_ + 1) + j] =
              static_cast<float>(10.0 * pixel_geometry.q_inv_angstrom(static_cast<double>(i), static_cast<double>(j))) /
              10.0;
    }
  };
  pool_->run(per_pixel);

  const std::vector<double> q_half_width =
      bbox ? box_half_widths(q_centre, q_corner, height_, width_) : std::vector<double>{};
  auto box_low = [&](std::size_t j) { return std::max(0.0, q_centre[j] - q_half_width[j]); };
  auto box_high = [&](std::size_t j) { return q_centre[j] + q_half_width[j]; };

  // Range. pyFAI 0.21.3: the histogram engine takes min/max over all pixels (masked ones included);
  // the CSR builder takes min/max of the boxes of unmasked pixels only.
  if (setup_.q_range_inv_angstrom) {
    q_min_ = setup_.q_range_inv_angstrom->first;
    q_max_ = setup_.q_range_inv_angstrom->second * upper_bound_factor;  // pyFAI does this to a given range too
  } else {
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (std::size_t j = 0; j < n_pixels; ++j) {
      if (bbox) {
        if (masked(j) && !setup_.range_includes_masked) continue;
        lo = std::min(lo, box_low(j));
        hi = std::max(hi, box_high(j));
      } else {
        lo = std::min(lo, q_centre[j]);
        hi = std::max(hi, q_centre[j]);
      }
    }
    if (!(hi > lo)) throw std::invalid_argument("AzimuthalIntegrator: every pixel is masked");
    q_min_ = lo;
    q_max_ = hi * upper_bound_factor;
  }
  bin_width_ = (q_max_ - q_min_) / static_cast<double>(npt);
  q_centres_.resize(npt);
  for (std::size_t b = 0; b < npt; ++b) q_centres_[b] = q_min_ + bin_width_ * (static_cast<double>(b) + 0.5);
  sums_.assign(npt, BinSums{});
  if (bbox) {
    build_boxes(q_centre, q_half_width);
  } else {
    bin_offset_ = 1;
    accumulator_bins_ = npt + 2;
    pixel_bin_.assign(n_pixels, 0);
    for (std::size_t j = 0; j < n_pixels; ++j) {
      if (masked(j)) continue;
      const double f = std::floor((q_centre[j] - q_min_) / bin_width_);
      if (f >= 0.0 && f < static_cast<double>(npt)) pixel_bin_[j] = static_cast<std::uint32_t>(f) + 1;
    }
    nonzeros_ =
        static_cast<std::size_t>(std::count_if(pixel_bin_.begin(), pixel_bin_.end(), [](auto b) { return b > 0; }));
  }
  slots_ = n_threads == 1 ? 1 : n_threads * slots_per_thread;
  partial_.assign(slots_ * accumulator_regions * accumulator_bins_ * 2, 0.0);
  rejected_.assign(slots_, 0);
  build_static_sums();
}

// bbox: a box covering [f0, f1) in bin units gives bin b the weight overlap(b)/(f1 - f0); a box inside
// one bin gives it weight 1. With the automatic range this is pyFAI's splitBBoxCSR; with an explicit
// range the part of a box outside the range is dropped (it lands in the spare bins).
void AzimuthalIntegrator::build_boxes(const std::vector<double>& q_centre, const std::vector<double>& q_half_width) {
  const std::size_t n_pixels = height_ * width_;
  const auto npt = static_cast<double>(setup_.npt);
  auto masked = [&](std::size_t j) { return !setup_.mask.empty() && setup_.mask[j] != 0; };
  const double widest_box = *std::max_element(q_half_width.begin(), q_half_width.end()) * 2.0 / bin_width_;
  if (!(widest_box + 2.0 <= static_cast<double>(max_span)))
    throw std::invalid_argument("AzimuthalIntegrator: a pixel spans more than " + std::to_string(max_span) +
                                " bins; use fewer bins (npt)");
  bin_offset_ = static_cast<std::size_t>(widest_box) + 2;  // bins a box can span
  accumulator_bins_ = setup_.npt + 2 * bin_offset_;
  if (accumulator_bins_ > index_mask) throw std::invalid_argument("AzimuthalIntegrator: npt too large for bbox");
  boxes_.assign(n_pixels, PixelBox{0, 0.0f, 0.0f});
  nonzeros_ = 0;
  for (std::size_t j = 0; j < n_pixels; ++j) {
    if (masked(j)) continue;
    const double f0 = (std::max(0.0, q_centre[j] - q_half_width[j]) - q_min_) / bin_width_;
    const double f1 = (q_centre[j] + q_half_width[j] - q_min_) / bin_width_;
    const double b0 = std::floor(f0), b1 = std::floor(f1);
    if (b1 < 0.0 || b0 >= npt) continue;
    const auto span = static_cast<std::uint32_t>(b1 - b0) + 1;
    const auto index = static_cast<std::uint32_t>(b0 + static_cast<double>(bin_offset_));
    const double inv_width = span == 1 ? 0.0 : 1.0 / (f1 - f0);
    boxes_[j] =
        PixelBox{index | (span << span_shift), span == 1 ? 1.0f : static_cast<float>((b0 + 1.0 - f0) * inv_width),
                 span < 3 ? 0.0f : static_cast<float>(inv_width)};
    nonzeros_ += static_cast<std::size_t>(std::min(b1, npt - 1.0) - std::max(b0, 0.0)) + 1;
  }
}

void AzimuthalIntegrator::build_static_sums() {
  static_sums_.assign(accumulator_bins_ * 2, 0.0);
  Pair* sums = reinterpret_cast<Pair*>(static_sums_.data());
  const std::size_t n_pixels = height_ * width_;
  for (std::size_t j = 0; j < n_pixels; ++j) {
    const Pair norm_and_one{normalization_[j], 1.0};
    if (setup_.split == PixelSplit::none) {
      sums[pixel_bin_[j]] += norm_and_one;
      continue;
    }
    const PixelBox box = boxes_[j];
    const std::uint32_t span = box.bin_and_span >> span_shift;
    if (span == 0) continue;
    const std::uint32_t index = box.bin_and_span & index_mask;
    add_weighted(sums + index, span, box.first_weight, box.interior_weight, norm_and_one);
  }
}

// Adds pixels [j0, j0 + n) to this thread's accumulator regions. checked: the block has dynamically masked
// pixels, each is tested and those that reach a bin counted (returned).
template <class T, bool has_dark, bool with_norm, bool checked, class Pair>
std::size_t AzimuthalIntegrator::spread_block(const T* raw, const float* dark, const FrameRules& rules, std::size_t j0,
                                              std::size_t n, Pair* regions) {
  const std::size_t bins = accumulator_bins_;
  const float* norm = normalization_.data();
  std::size_t dropped = 0;
  auto masked = [&](std::size_t j, bool reaches_a_bin) {
    if constexpr (checked) {
      if (dynamically_masked(static_cast<float>(raw[j]), dark, j, rules)) {
        dropped += reaches_a_bin;
        return true;
      }
    }
    return false;
  };
  if (setup_.split == PixelSplit::none) {
    const std::uint32_t* pixel_bin = pixel_bin_.data();
    for (std::size_t j = j0; j < j0 + n; ++j) {
      if (masked(j, pixel_bin[j] != 0)) continue;
      regions[pixel_bin[j]] += signal_and_variance<T, has_dark>(raw, dark, j);
      if constexpr (with_norm) regions[2 * bins + pixel_bin[j]] += Pair{norm[j], 1.0};
    }
    return dropped;
  }
  const PixelBox* boxes = boxes_.data();
  for (std::size_t j = j0; j < j0 + n; ++j) {
    const PixelBox box = boxes[j];
    const std::uint32_t span = box.bin_and_span >> span_shift;
    if (span == 0 || masked(j, true)) continue;
    Pair* whole = regions + (box.bin_and_span & index_mask);
    spread(whole, whole + bins, span, box.first_weight, box.interior_weight,
           signal_and_variance<T, has_dark>(raw, dark, j));
    if constexpr (with_norm)
      add_weighted(whole + 2 * bins, span, box.first_weight, box.interior_weight, Pair{norm[j], 1.0});
  }
  return dropped;
}

// Adds the slot's share of the frame to its accumulators: regions (signal, variance) and their interior
// steps, with_norm also (c Omega P, c) and its steps. Returns how many pixels that reach a bin it dropped
// (dynamic masks).
template <class T, bool with_norm>
std::size_t AzimuthalIntegrator::accumulate(const T* raw, const float* dark, const FrameRules& rules,
                                            std::size_t slot) {
  const std::size_t bins = accumulator_bins_;
  Pair* regions = reinterpret_cast<Pair*>(partial_.data()) + slot * accumulator_regions * bins;
  std::fill(regions, regions + (with_norm ? 3 : 2) * bins, Pair{0.0, 0.0});
  const auto [begin, end] = chunk(height_ * width_, slot, slots_);
  std::size_t dropped = 0;
  for (std::size_t j0 = begin; j0 < end; j0 += block_pixels) {
    const std::size_t n = std::min(block_pixels, end - j0);
    const bool clean = block_is_clean(raw, dark, rules, j0, n);
    if (dark != nullptr)
      dropped += clean ? spread_block<T, true, with_norm, false>(raw, dark, rules, j0, n, regions)
                       : spread_block<T, true, with_norm, true>(raw, dark, rules, j0, n, regions);
    else
      dropped += clean ? spread_block<T, false, with_norm, false>(raw, dark, rules, j0, n, regions)
                       : spread_block<T, false, with_norm, true>(raw, dark, rules, j0, n, regions);
  }
  if (setup_.split == PixelSplit::bbox) add_running_sums(regions, regions + bins, bins);
  return dropped;
}

template <class T>
void AzimuthalIntegrator::integrate(const ImageView<T>& image, Pattern& out, std::span<const float> dark) {
  if (image.height != height_ || image.width != width_ || image.pixels.size() != height_ * width_)
    throw std::invalid_argument("AzimuthalIntegrator::integrate: image is " + std::to_string(image.height) + "x" +
                                std::to_string(image.width) + " (" + std::to_string(image.pixels.size()) +
                                " values), detector is " + std::to_string(height_) + "x" + std::to_string(width_));
  if (!dark.empty() && dark.size() != height_ * width_)
    throw std::invalid_argument("AzimuthalIntegrator::integrate: dark has " + std::to_string(dark.size()) +
                                " values, detector has " + std::to_string(height_ * width_));
  const T* raw = image.pixels.data();
  const float* dark_px = dark.empty() ? nullptr : dark.data();
  const FrameRules rules{setup_.dummy.value_or(std::numeric_limits<float>::quiet_NaN()), setup_.delta_dummy,
                         setup_.mask_negative ? 0.0f : -std::numeric_limits<float>::infinity()};
  std::atomic<std::size_t> next_slot{0};
  auto signal_only = [&](std::size_t) {
    for (std::size_t slot; (slot = next_slot.fetch_add(1, std::memory_order_relaxed)) < slots_;)
      rejected_[slot] = accumulate<T, false>(raw, dark_px, rules, slot);
  };
  pool_->run_claiming(signal_only);
  // Pixels dropped this frame also leave the normalisation: sum it again over the pixels kept.
  const bool dropped = std::any_of(rejected_.begin(), rejected_.end(), [](std::size_t n) { return n > 0; });
  auto with_norm = [&](std::size_t) {
    for (std::size_t slot; (slot = next_slot.fetch_add(1, std::memory_order_relaxed)) < slots_;)
      accumulate<T, true>(raw, dark_px, rules, slot);
  };
  next_slot = 0;
  if (dropped) pool_->run_claiming(with_norm);
  const std::size_t region = 2 * accumulator_bins_;  // doubles per region
  for (std::size_t b = 0; b < setup_.npt; ++b) {
    const std::size_t i = 2 * (b + bin_offset_);
    BinSums sum{0.0, 0.0, static_sums_[i], static_sums_[i + 1]};
    if (dropped) sum.norm = sum.count = 0.0;
    for (std::size_t slot = 0; slot < slots_; ++slot) {
      const double* regions = partial_.data() + slot * accumulator_regions * region;
      sum.signal += regions[i];
      sum.variance += regions[i + 1];
      if (dropped) sum.norm += regions[2 * region + i], sum.count += regions[2 * region + i + 1];
    }
    sums_[b] = sum;
  }
  finish(out);
}

void AzimuthalIntegrator::finish(Pattern& out) const {
  const std::size_t npt = setup_.npt;
  out.q_inv_angstrom.resize(npt);
  out.intensity.resize(npt);
  out.sigma.resize(npt);
  out.count.resize(npt);
  std::copy(q_centres_.begin(), q_centres_.end(), out.q_inv_angstrom.begin());
  const bool subtract = !background_intensity_.empty();
  for (std::size_t b = 0; b < npt; ++b) {
    const BinSums& s = sums_[b];
    out.count[b] = s.count;
    if (s.count == 0.0 || s.norm == 0.0) {
      out.intensity[b] = 0.0;
      out.sigma[b] = 0.0;
      continue;
    }
    // The background enters the signal sum scaled by this bin's normalisation, i.e. before dividing.
    const double signal = subtract ? s.signal - background_scale_ * background_intensity_[b] * s.norm : s.signal;
    out.intensity[b] = signal / s.norm;
    double variance = s.variance / (s.norm * s.norm);
    if (subtract) variance += background_scale_ * background_scale_ * background_sigma_[b] * background_sigma_[b];
    out.sigma[b] = std::sqrt(variance);
  }
}

void AzimuthalIntegrator::set_background(const Pattern& background, double scale) {
  const std::size_t npt = setup_.npt;
  if (background.intensity.size() != npt || background.q_inv_angstrom.size() != npt ||
      (!background.sigma.empty() && background.sigma.size() != npt))
    throw std::invalid_argument("set_background: background has " + std::to_string(background.intensity.size()) +
                                " points, integrator has " + std::to_string(npt));
  for (std::size_t b = 0; b < npt; ++b)
    if (std::fabs(background.q_inv_angstrom[b] - q_centres_[b]) > 1e-6 * bin_width_ * static_cast<double>(npt))
      throw std::invalid_argument("set_background: background Q grid differs at bin " + std::to_string(b) + " (" +
                                  std::to_string(background.q_inv_angstrom[b]) + " vs " +
                                  std::to_string(q_centres_[b]) + " 1/A)");
  if (!std::isfinite(scale)) throw std::invalid_argument("set_background: scale must be finite");
  background_intensity_ = background.intensity;
  background_sigma_ = background.sigma.empty() ? std::vector<double>(npt, 0.0) : background.sigma;
  background_scale_ = scale;
}

void AzimuthalIntegrator::clear_background() {
  background_intensity_.clear();
  background_sigma_.clear();
  background_scale_ = 0.0;
}

template void AzimuthalIntegrator::integrate<std::uint16_t>(const ImageView<std::uint16_t>&, Pattern&,
                                                            std::span<const float>);
template void AzimuthalIntegrator::integrate<std::uint32_t>(const ImageView<std::uint32_t>&, Pattern&,
                                                            std::span<const float>);
template void AzimuthalIntegrator::integrate<std::int32_t>(const ImageView<std::int32_t>&, Pattern&,
                                                           std::span<const float>);
template void AzimuthalIntegrator::integrate<float>(const ImageView<float>&, Pattern&, std::span<const float>);

}  // namespace insitu::analysis
