#include "analysis/integration/azimuthal_integrator.hpp"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "analysis/integration/worker_pool.hpp"

namespace insitu::analysis {
namespace {

// pyFAI's calc_upper_bound: the range ends one float32 ulp above its upper limit (the largest position
// for the automatic range) so that the outermost pixel falls inside the last bin.
constexpr double upper_bound_factor = 1.0 + static_cast<double>(FLT_EPSILON);

std::pair<std::size_t, std::size_t> chunk(std::size_t n, std::size_t part, std::size_t parts) {
  return {n * part / parts, n * (part + 1) / parts};
}

struct FrameRules {
  bool check_dummy;
  float dummy;
  float delta_dummy;
  bool mask_negative;
};

// Signal and Poisson variance of pixel j, or false if the pixel is dynamically masked this frame.
template <class T>
inline bool sample(const T* raw, const float* dark, std::size_t j, const FrameRules& rules, double& signal,
                   double& variance) {
  const T value = raw[j];
  if constexpr (std::is_floating_point_v<T>) {
    if (!std::isfinite(value)) return false;
  }
  if (rules.check_dummy) {
    const float v = static_cast<float>(value);
    if (rules.delta_dummy == 0.0f ? v == rules.dummy : std::fabs(v - rules.dummy) <= rules.delta_dummy)
      return false;
  }
  const double r = static_cast<double>(value);
  if (rules.mask_negative && r < 0.0) return false;
  double d = 0.0;
  if (dark != nullptr) {
    d = dark[j];
    if (!std::isfinite(d)) return false;
  }
  signal = r - d;
  variance = std::max(1.0, r) + d;  // pyFAI preproc, poissonian: max(1, raw) + dark
  return true;
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
  if (setup_.q_range_inv_angstrom &&
      !(setup_.q_range_inv_angstrom->first >= 0.0 &&
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

std::size_t AzimuthalIntegrator::nonzeros() const {
  if (setup_.split == PixelSplit::bbox) return weight_.size();
  return static_cast<std::size_t>(std::count_if(pixel_bin_.begin(), pixel_bin_.end(), [](auto b) { return b >= 0; }));
}

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

// Pixel ranges [split[t], split[t+1]) with about the same number of weights per thread; `weight_start` has one
// entry per pixel plus the end.
std::vector<std::size_t> balanced_split(const std::vector<std::uint32_t>& weight_start, std::size_t n_threads) {
  std::vector<std::size_t> split(n_threads + 1, 0);
  const std::uint32_t total = weight_start.back();
  for (std::size_t t = 1; t < n_threads; ++t) {
    const auto target = static_cast<std::uint32_t>(std::uint64_t(total) * t / n_threads);
    split[t] = static_cast<std::size_t>(std::lower_bound(weight_start.begin(), weight_start.end() - 1, target) -
                                        weight_start.begin());
  }
  split[n_threads] = weight_start.size() - 1;
  return split;
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
          norm *= 0.5 * (1.0 + cos2 - *setup_.polarization_factor *
                                          std::cos(2.0 * (chi + setup_.polarization_axis_offset_rad)) * (1.0 - cos2));
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
  split_.resize(n_threads + 1);
  partial_.assign(n_threads * npt, BinSums{});

  if (!bbox) {
    pixel_bin_.assign(n_pixels, -1);
    for (std::size_t j = 0; j < n_pixels; ++j) {
      if (masked(j)) continue;
      const double f = std::floor((q_centre[j] - q_min_) / bin_width_);
      if (f >= 0.0 && f < static_cast<double>(npt)) pixel_bin_[j] = static_cast<std::int32_t>(f);
    }
    for (std::size_t t = 0; t <= n_threads; ++t) split_[t] = n_pixels * t / n_threads;
    return;
  }

  // bbox: a box covering [f0, f1) in bin units gives bin b the weight overlap(b)/(f1 - f0); a box inside
  // one bin gives it weight 1. With the automatic range this is pyFAI's splitBBoxCSR; with an explicit
  // range the part of a box outside the range is dropped.
  weight_start_.assign(n_pixels + 1, 0);
  first_bin_.assign(n_pixels, 0);
  weight_.clear();
  weight_.reserve(n_pixels * 4);
  for (std::size_t j = 0; j < n_pixels; ++j) {
    weight_start_[j] = static_cast<std::uint32_t>(weight_.size());
    if (masked(j)) continue;
    const double f0 = (box_low(j) - q_min_) / bin_width_;
    const double f1 = (box_high(j) - q_min_) / bin_width_;
    const double b0 = std::floor(f0), b1 = std::floor(f1);
    if (b1 < 0.0 || b0 >= static_cast<double>(npt)) continue;
    if (b0 == b1) {
      first_bin_[j] = static_cast<std::uint32_t>(b0);
      weight_.push_back(1.0f);
      continue;
    }
    const double inv_width = 1.0 / (f1 - f0);
    const auto first = static_cast<std::size_t>(std::max(b0, 0.0));
    const auto last = static_cast<std::size_t>(std::min(b1, static_cast<double>(npt - 1)));
    first_bin_[j] = static_cast<std::uint32_t>(first);
    for (std::size_t bin = first; bin <= last; ++bin) {
      const double overlap = std::min(f1, static_cast<double>(bin + 1)) - std::max(f0, static_cast<double>(bin));
      weight_.push_back(static_cast<float>(std::max(overlap, 0.0) * inv_width));
    }
    if (weight_.size() > std::numeric_limits<std::uint32_t>::max())
      throw std::invalid_argument("AzimuthalIntegrator: more than 2^32 pixel-splitting weights");
  }
  weight_start_[n_pixels] = static_cast<std::uint32_t>(weight_.size());
  weight_.shrink_to_fit();
  split_ = balanced_split(weight_start_, n_threads);
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
  const float* norm = normalization_.data();
  const FrameRules rules{setup_.dummy.has_value(), setup_.dummy.value_or(0.0f), setup_.delta_dummy,
                         setup_.mask_negative};
  const std::size_t npt = setup_.npt;

  const bool bbox = setup_.split == PixelSplit::bbox;
  auto task = [&](std::size_t t) {
    BinSums* acc = partial_.data() + t * npt;
    std::fill(acc, acc + npt, BinSums{});
    double s, v;
    if (!bbox) {
      const std::int32_t* bins = pixel_bin_.data();
      for (std::size_t j = split_[t]; j < split_[t + 1]; ++j) {
        const std::int32_t b = bins[j];
        if (b < 0 || !sample(raw, dark_px, j, rules, s, v)) continue;
        BinSums& a = acc[b];
        a.signal += s;
        a.variance += v;
        a.norm += norm[j];
        a.count += 1.0;
      }
      return;
    }
    const std::uint32_t* start = weight_start_.data();
    for (std::size_t j = split_[t]; j < split_[t + 1]; ++j) {
      const std::uint32_t k0 = start[j], k1 = start[j + 1];
      if (k0 == k1 || !sample(raw, dark_px, j, rules, s, v)) continue;
      BinSums* a = acc + first_bin_[j];
      const double n = norm[j];
      for (std::uint32_t k = k0; k < k1; ++k, ++a) {
        const double w = weight_[k];
        a->signal += w * s;
        a->variance += w * w * v;
        a->norm += w * n;
        a->count += w;
      }
    }
  };
  pool_->run(task);
  std::copy(partial_.begin(), partial_.begin() + static_cast<std::ptrdiff_t>(npt), sums_.begin());
  for (std::size_t t = 1; t < pool_->size(); ++t)
    for (std::size_t b = 0; b < npt; ++b) {
      const BinSums& p = partial_[t * npt + b];
      sums_[b].signal += p.signal;
      sums_[b].variance += p.variance;
      sums_[b].norm += p.norm;
      sums_[b].count += p.count;
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
      throw std::invalid_argument("set_background: background Q grid differs at bin " + std::to_string(b) +
                                  " (" + std::to_string(background.q_inv_angstrom[b]) + " vs " +
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
