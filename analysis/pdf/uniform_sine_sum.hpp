#pragma once
// sum_k w_k sin(q_k r_j) on two uniform grids by Bluestein's chirp-z transform through FFTW: the same sum as
// the direct one (to rounding), in O((nq + nr) log) instead of nq * nr sines (docs/analysis.md §2).
#include <cstddef>
#include <complex>
#include <memory>
#include <optional>
#include <span>
#include <vector>

namespace insitu::analysis {

// x_k = start + k * step, k < size.
struct UniformGrid {
  std::size_t size = 0;
  double start = 0.0;
  double step = 0.0;
  bool operator==(const UniformGrid&) const = default;
};

// The uniform grid through x's end points when every x_k lies within max_deviation of it; nullopt otherwise
// (fewer than 2 points, or a non-uniform grid).
std::optional<UniformGrid> as_uniform_grid(std::span<const double> x, double max_deviation);

class UniformSineSum {
 public:
  UniformSineSum(UniformGrid q, UniformGrid r);
  ~UniformSineSum();
  UniformSineSum(const UniformSineSum&) = delete;
  UniformSineSum& operator=(const UniformSineSum&) = delete;

  // out_j = sum_k weights_k sin(q_k r_j). Thread-safe: each call works in its own buffer.
  std::vector<double> operator()(std::span<const double> weights) const;

  const UniformGrid& q() const { return q_; }
  const UniformGrid& r() const { return r_; }

 private:
  struct Plans;
  UniformGrid q_, r_;
  std::size_t fft_size_ = 0;
  std::vector<std::complex<double>> pre_chirp_;      // e^{i (k dq r0 + a k^2 / 2)}, a = dq dr
  std::vector<std::complex<double>> kernel_spectrum_;  // FFT of e^{-i a m^2 / 2}, divided by the FFT size
  std::vector<std::complex<double>> post_chirp_;     // e^{i (q0 r_j + a j^2 / 2)}
  std::unique_ptr<Plans> plans_;
};

// The transform for these grids from a small process-wide cache (building one plans FFTs and computes the
// kernel spectrum, ~1 ms). Thread-safe.
std::shared_ptr<const UniformSineSum> cached_uniform_sine_sum(const UniformGrid& q, const UniformGrid& r);

}  // namespace insitu::analysis
