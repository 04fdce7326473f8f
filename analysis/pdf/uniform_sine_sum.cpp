#include "analysis/pdf/uniform_sine_sum.hpp"

#include <fftw3.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <string>

namespace insitu::analysis {

namespace {

// FFTW's planner and plan destruction are not thread-safe (only fftw_execute* is); analysis workers build
// transforms concurrently. Constant-initialised, so it outlives the cached plans destroyed at exit.
constinit std::mutex fftw_planner_mutex;

struct FftwFree {
  void operator()(fftw_complex* p) const { fftw_free(p); }
};
using FftwBuffer = std::unique_ptr<fftw_complex[], FftwFree>;

FftwBuffer fftw_buffer(std::size_t n) {
  FftwBuffer b(fftw_alloc_complex(n));
  if (!b) throw std::bad_alloc();
  return b;
}

std::complex<double>* as_complex(fftw_complex* p) { return reinterpret_cast<std::complex<double>*>(p); }

// The smallest 2^a 3^b 5^c 7^d >= n: sizes FFTW transforms fastest.
std::size_t fast_fft_size(std::size_t n) {
  for (std::size_t m = std::max<std::size_t>(n, 1);; ++m) {
    std::size_t rest = m;
    for (const std::size_t p : {2u, 3u, 5u, 7u})
      while (rest % p == 0) rest /= p;
    if (rest == 1) return m;
  }
}

// e^{i a k^2 / 2}; k^2 in integers so the only rounding is in the final product.
std::complex<double> chirp(double a, std::int64_t k) {
  return std::polar(1.0, 0.5 * a * static_cast<double>(k * k));
}

}  // namespace

struct UniformSineSum::Plans {
  fftw_plan forward = nullptr;
  fftw_plan backward = nullptr;
  explicit Plans(std::size_t n) {
    // In-place plans on an fftw_malloc'd buffer: later calls execute them on other fftw_malloc'd buffers, which
    // have the same alignment (the new-array execute rule).
    auto scratch = fftw_buffer(n);
    std::lock_guard lock(fftw_planner_mutex);
    const int size = static_cast<int>(n);
    forward = fftw_plan_dft_1d(size, scratch.get(), scratch.get(), FFTW_FORWARD, FFTW_ESTIMATE);
    backward = fftw_plan_dft_1d(size, scratch.get(), scratch.get(), FFTW_BACKWARD, FFTW_ESTIMATE);
    if (!forward || !backward) throw std::runtime_error("FFTW could not plan a transform of size " + std::to_string(n));
  }
  ~Plans() {
    std::lock_guard lock(fftw_planner_mutex);
    if (forward) fftw_destroy_plan(forward);
    if (backward) fftw_destroy_plan(backward);
  }
};

std::optional<UniformGrid> as_uniform_grid(std::span<const double> x, double max_deviation) {
  if (x.size() < 2) return std::nullopt;
  const UniformGrid g{x.size(), x.front(), (x.back() - x.front()) / static_cast<double>(x.size() - 1)};
  if (!(g.step > 0.0)) return std::nullopt;
  for (std::size_t k = 0; k < x.size(); ++k)
    if (!(std::fabs(x[k] - (g.start + static_cast<double>(k) * g.step)) <= max_deviation)) return std::nullopt;
  return g;
}

// sum_k w_k e^{i q_k r_j} = e^{i q0 r_j} sum_k [w_k e^{i k dq r0}] e^{i a k j}, a = dq dr, and with
// k j = (k^2 + j^2 - (j - k)^2) / 2 the sum is a convolution with the chirp e^{-i a m^2 / 2} (Bluestein),
// done by FFTs of a size >= nq + nr - 1 so that the circular convolution does not wrap.
UniformSineSum::UniformSineSum(UniformGrid q, UniformGrid r)
    : q_(q), r_(r), fft_size_(fast_fft_size(q.size + r.size - 1)) {
  if (q.size < 1 || r.size < 1) throw std::invalid_argument("UniformSineSum: empty grid");
  const double a = q.step * r.step;
  pre_chirp_.resize(q.size);
  for (std::size_t k = 0; k < q.size; ++k)
    pre_chirp_[k] = std::polar(1.0, static_cast<double>(k) * q.step * r.start) * chirp(a, static_cast<std::int64_t>(k));
  post_chirp_.resize(r.size);
  for (std::size_t j = 0; j < r.size; ++j) {
    const double r_j = r.start + static_cast<double>(j) * r.step;
    post_chirp_[j] = std::polar(1.0, q.start * r_j) * chirp(a, static_cast<std::int64_t>(j));
  }
  plans_ = std::make_unique<Plans>(fft_size_);
  auto kernel = fftw_buffer(fft_size_);
  auto* b = as_complex(kernel.get());
  std::fill(b, b + fft_size_, std::complex<double>{});
  const auto n = static_cast<std::int64_t>(fft_size_);
  for (auto m = -static_cast<std::int64_t>(q.size) + 1; m < static_cast<std::int64_t>(r.size); ++m)
    b[static_cast<std::size_t>((m + n) % n)] = std::conj(chirp(a, m));
  fftw_execute_dft(plans_->forward, kernel.get(), kernel.get());
  kernel_spectrum_.resize(fft_size_);
  for (std::size_t i = 0; i < fft_size_; ++i) kernel_spectrum_[i] = b[i] / static_cast<double>(fft_size_);
}

UniformSineSum::~UniformSineSum() = default;

std::vector<double> UniformSineSum::operator()(std::span<const double> weights) const {
  if (weights.size() != q_.size)
    throw std::invalid_argument("UniformSineSum: " + std::to_string(weights.size()) + " weights for " +
                                std::to_string(q_.size) + " Q points");
  auto work = fftw_buffer(fft_size_);
  auto* c = as_complex(work.get());
  for (std::size_t k = 0; k < q_.size; ++k) c[k] = weights[k] * pre_chirp_[k];
  std::fill(c + q_.size, c + fft_size_, std::complex<double>{});
  fftw_execute_dft(plans_->forward, work.get(), work.get());
  for (std::size_t i = 0; i < fft_size_; ++i) c[i] *= kernel_spectrum_[i];
  fftw_execute_dft(plans_->backward, work.get(), work.get());
  std::vector<double> out(r_.size);
  for (std::size_t j = 0; j < r_.size; ++j) out[j] = (post_chirp_[j] * c[j]).imag();
  return out;
}

std::shared_ptr<const UniformSineSum> cached_uniform_sine_sum(const UniformGrid& q, const UniformGrid& r) {
  // A run uses one or two grid pairs (the frames' and, after a settings change, the new one); a few entries
  // cover reprocessing with other parameters without growing without bound.
  constexpr std::size_t capacity = 8;
  static std::mutex mutex;
  static std::vector<std::shared_ptr<const UniformSineSum>> cache;  // most recently used last
  {
    std::lock_guard lock(mutex);
    const auto hit = std::find_if(cache.begin(), cache.end(), [&](const auto& t) { return t->q() == q && t->r() == r; });
    if (hit != cache.end()) {
      std::rotate(hit, hit + 1, cache.end());
      return cache.back();
    }
  }
  auto made = std::make_shared<const UniformSineSum>(q, r);  // outside the lock: other grids stay served
  std::lock_guard lock(mutex);
  cache.push_back(made);
  if (cache.size() > capacity) cache.erase(cache.begin());
  return made;
}

}  // namespace insitu::analysis
