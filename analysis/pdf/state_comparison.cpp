#include "analysis/pdf/state_comparison.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace insitu::analysis {
namespace {

constexpr double nan = std::numeric_limits<double>::quiet_NaN();

double median(std::vector<double> v) {
  const auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  if (v.size() % 2 == 1) return *mid;
  return 0.5 * (*mid + *std::max_element(v.begin(), mid));
}

struct Line {
  double intercept_at_mean = 0.0, slope = 0.0, mean_T = 0.0, sxx = 0.0;
  std::size_t n = 0;
  double at(double T) const { return intercept_at_mean + slope * (T - mean_T); }
  // Standard error of at(T) for independent points of standard deviation `scatter`.
  double sigma_at(double T, double scatter) const {
    return scatter * std::sqrt(1.0 / static_cast<double>(n) + (T - mean_T) * (T - mean_T) / sxx);
  }
};

Line fit_line(std::span<const double> T, std::span<const double> y, double lo_K, double hi_K) {
  Line line;
  double sum_T = 0.0, sum_y = 0.0;
  for (std::size_t i = 0; i < T.size(); ++i)
    if (T[i] >= lo_K && T[i] <= hi_K && std::isfinite(y[i])) sum_T += T[i], sum_y += y[i], ++line.n;
  if (line.n < 3) return line;
  line.mean_T = sum_T / static_cast<double>(line.n);
  line.intercept_at_mean = sum_y / static_cast<double>(line.n);
  double sxy = 0.0;
  for (std::size_t i = 0; i < T.size(); ++i)
    if (T[i] >= lo_K && T[i] <= hi_K && std::isfinite(y[i])) {
      const double d = T[i] - line.mean_T;
      line.sxx += d * d;
      sxy += d * (y[i] - line.intercept_at_mean);
    }
  line.slope = line.sxx > 0.0 ? sxy / line.sxx : 0.0;
  if (line.sxx <= 0.0) line.n = 0;  // all at one temperature: no line
  return line;
}

void check_sizes(std::span<const double> T, std::span<const double> y, const char* what) {
  if (T.size() != y.size())
    throw std::invalid_argument(std::string(what) + ": " + std::to_string(T.size()) + " temperatures, " +
                                std::to_string(y.size()) + " values");
}

}  // namespace

double frame_scatter(std::span<const double> T, std::span<const double> y) {
  check_sizes(T, y, "frame_scatter");
  if (y.size() < 5) return nan;
  std::vector<double> second;
  for (std::size_t i = 1; i + 1 < y.size(); ++i) {
    const double h0 = T[i] - T[i - 1], h1 = T[i + 1] - T[i];
    if (!(h0 > 0.0 && h1 > 0.0)) continue;
    // y[i-1] and y[i+1] interpolated to y[i]'s temperature: exact for a line, also on a non-uniform grid.
    const double w = h0 / (h0 + h1);
    const double residual = y[i] - ((1.0 - w) * y[i - 1] + w * y[i + 1]);
    // Var(residual) = sigma^2 (1 + (1-w)^2 + w^2); scale each to sigma before the median.
    second.push_back(std::abs(residual) / std::sqrt(1.0 + (1.0 - w) * (1.0 - w) + w * w));
  }
  if (second.size() < 3) return nan;
  return 1.4826 * median(std::move(second));
}

LocalValue local_linear_value(std::span<const double> T, std::span<const double> y, double at_K,
                              double half_window_K, double scatter) {
  check_sizes(T, y, "local_linear_value");
  LocalValue out{nan, nan, 0};
  if (T.empty() || at_K < T.front() || at_K > T.back()) return out;
  const Line line = fit_line(T, y, at_K - half_window_K, at_K + half_window_K);
  out.points = line.n;
  if (line.n < 3) return out;
  out.value = line.at(at_K);
  out.sigma = line.sigma_at(at_K, scatter);
  return out;
}

double crystallisation_onset_K(std::span<const double> T, std::span<const double> s, double t_g_K,
                               double end_margin_K) {
  check_sizes(T, s, "crystallisation_onset_K");
  std::size_t peak = T.size();
  for (std::size_t i = 0; i < T.size(); ++i)
    if (T[i] > t_g_K && std::isfinite(s[i]) && (peak == T.size() || s[i] > s[peak])) peak = i;
  if (peak == T.size() || T[peak] > T.back() - end_margin_K) return nan;
  return T[peak];
}

LiquidShift liquid_shift(std::span<const double> ref_T, std::span<const double> ref_y, double ref_scatter,
                         std::span<const double> run_T, std::span<const double> run_y, double run_scatter,
                         double lo_K, double hi_K) {
  check_sizes(ref_T, ref_y, "liquid_shift (reference)");
  check_sizes(run_T, run_y, "liquid_shift (run)");
  const Line ref = fit_line(ref_T, ref_y, lo_K, hi_K), run = fit_line(run_T, run_y, lo_K, hi_K);
  const auto window = std::to_string(lo_K) + "-" + std::to_string(hi_K) + " K";
  if (ref.n < 3) throw std::invalid_argument("the reference has " + std::to_string(ref.n) + " frames in " + window);
  if (run.n < 3) throw std::invalid_argument("the run has " + std::to_string(run.n) + " frames in " + window);
  const double middle_K = 0.5 * (lo_K + hi_K);
  LiquidShift out;
  out.constant = ref.at(middle_K) - run.at(middle_K);
  out.sigma = std::hypot(ref.sigma_at(middle_K, ref_scatter), run.sigma_at(middle_K, run_scatter));
  out.window_lo_K = lo_K;
  out.window_hi_K = hi_K;
  out.reference_points = ref.n;
  out.run_points = run.n;
  return out;
}

double interpolate(std::span<const double> x, std::span<const double> y, double at) {
  if (x.empty() || x.size() != y.size() || at < x.front() || at > x.back()) return nan;
  const auto it = std::lower_bound(x.begin(), x.end(), at);
  const auto i = static_cast<std::size_t>(it - x.begin());
  if (i == 0) return y.front();
  const double w = (at - x[i - 1]) / (x[i] - x[i - 1]);
  return (1.0 - w) * y[i - 1] + w * y[i];
}

}  // namespace insitu::analysis
