#include "analysis/pdf/run_analysis.hpp"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace insitu::analysis {

namespace {

void check_series(std::span<const double> t, std::span<const double> y, const char* what) {
  if (t.size() != y.size())
    throw std::invalid_argument(std::string(what) + ": array sizes differ (" + std::to_string(t.size()) + " vs " +
                                std::to_string(y.size()) + ")");
  for (std::size_t i = 1; i < t.size(); ++i)
    if (!(t[i] > t[i - 1]))
      throw std::invalid_argument(std::string(what) + ": temperature must increase strictly (index " +
                                  std::to_string(i) + ")");
}

// Quantile of chi^2 with one degree of freedom: z^2 with erf(z / sqrt 2) = confidence, by bisection.
double chi2_1_quantile(double confidence) {
  if (!(confidence > 0.0 && confidence < 1.0)) throw std::invalid_argument("confidence must lie in (0, 1)");
  double lo = 0.0, hi = 40.0;
  for (int i = 0; i < 200; ++i) {
    const double mid = 0.5 * (lo + hi);
    (std::erf(mid / std::sqrt(2.0)) < confidence ? lo : hi) = mid;
  }
  const double z = 0.5 * (lo + hi);
  return z * z;
}

struct HingeSolution {
  double rss = std::numeric_limits<double>::infinity();
  double c = 0, s1 = 0, s2 = 0;
};

HingeSolution solve_hinge(std::span<const double> t, std::span<const double> y, double tb) {
  Eigen::Matrix3d ata = Eigen::Matrix3d::Zero();
  Eigen::Vector3d aty = Eigen::Vector3d::Zero();
  for (std::size_t i = 0; i < t.size(); ++i) {
    const Eigen::Vector3d row(1.0, std::min(t[i] - tb, 0.0), std::max(t[i] - tb, 0.0));
    ata += row * row.transpose();
    aty += row * y[i];
  }
  HingeSolution out;
  const Eigen::Vector3d x = ata.ldlt().solve(aty);
  out.c = x(0);
  out.s1 = x(1);
  out.s2 = x(2);
  double rss = 0.0;
  for (std::size_t i = 0; i < t.size(); ++i) {
    const double model = out.c + out.s1 * std::min(t[i] - tb, 0.0) + out.s2 * std::max(t[i] - tb, 0.0);
    rss += (y[i] - model) * (y[i] - model);
  }
  out.rss = rss;
  return out;
}

// Prominence of a local maximum at i: height above the higher of the two lowest points reached before the
// series rises above y[i] on either side (or ends).
double prominence(std::span<const double> y, std::size_t i) {
  double left_min = y[i];
  for (std::size_t j = i; j-- > 0;) {
    if (y[j] > y[i]) break;
    left_min = std::min(left_min, y[j]);
  }
  double right_min = y[i];
  for (std::size_t j = i + 1; j < y.size(); ++j) {
    if (y[j] > y[i]) break;
    right_min = std::min(right_min, y[j]);
  }
  return y[i] - std::max(left_min, right_min);
}

std::vector<std::size_t> local_maxima(std::span<const double> y) {
  std::vector<std::size_t> out;
  for (std::size_t i = 1; i + 1 < y.size(); ++i)
    if (y[i] > y[i - 1] && y[i] >= y[i + 1]) out.push_back(i);
  return out;
}

}  // namespace

SmoothedSeries local_polynomial_smooth(std::span<const double> t, std::span<const double> y, double window_K,
                                       int order) {
  check_series(t, y, "local_polynomial_smooth");
  if (order < 1) throw std::invalid_argument("local_polynomial_smooth: order must be >= 1 for a derivative");
  if (!(window_K > 0.0)) throw std::invalid_argument("local_polynomial_smooth: window must be positive");
  const auto n_coef = static_cast<Eigen::Index>(order + 1);
  SmoothedSeries out;
  out.value.resize(t.size());
  out.derivative.resize(t.size());
  std::size_t lo = 0, hi = 0;  // window [lo, hi) slides monotonically: O(N * window) overall
  for (std::size_t i = 0; i < t.size(); ++i) {
    while (t[i] - t[lo] > 0.5 * window_K) ++lo;
    while (hi < t.size() && t[hi] - t[i] <= 0.5 * window_K) ++hi;
    const auto m = static_cast<Eigen::Index>(hi - lo);
    if (m < n_coef + 1)
      throw std::invalid_argument("local_polynomial_smooth: only " + std::to_string(m) + " points within " +
                                  std::to_string(window_K) + " K of T = " + std::to_string(t[i]) + " K");
    // Scaling (T - T_i) by the half window keeps the normal equations well conditioned.
    const double half = 0.5 * window_K;
    Eigen::MatrixXd a(m, n_coef);
    Eigen::VectorXd b(m);
    for (Eigen::Index k = 0; k < m; ++k) {
      const std::size_t j = lo + static_cast<std::size_t>(k);
      const double x = (t[j] - t[i]) / half;
      double p = 1.0;
      for (Eigen::Index c = 0; c < n_coef; ++c, p *= x) a(k, c) = p;
      b(k) = y[j];
    }
    const Eigen::VectorXd coef = a.colPivHouseholderQr().solve(b);
    out.value[i] = coef(0);
    out.derivative[i] = coef(1) / half;
  }
  return out;
}

double heating_rate_K_per_s(std::span<const double> time_s, std::span<const double> temperature_K) {
  if (time_s.size() != temperature_K.size() || time_s.size() < 2)
    throw std::invalid_argument("heating_rate_K_per_s: need >= 2 (t, T) pairs of equal length");
  double mt = 0, mT = 0;
  for (std::size_t i = 0; i < time_s.size(); ++i) {
    mt += time_s[i];
    mT += temperature_K[i];
  }
  mt /= static_cast<double>(time_s.size());
  mT /= static_cast<double>(time_s.size());
  double stt = 0, stT = 0;
  for (std::size_t i = 0; i < time_s.size(); ++i) {
    stt += (time_s[i] - mt) * (time_s[i] - mt);
    stT += (time_s[i] - mt) * (temperature_K[i] - mT);
  }
  if (!(stt > 0.0)) throw std::invalid_argument("heating_rate_K_per_s: all times are equal");
  return stT / stt;
}

std::vector<double> equivalent_heat_flow(std::span<const double> t, std::span<const double> dS_dT, double beta_h) {
  if (t.size() != dS_dT.size()) throw std::invalid_argument("equivalent_heat_flow: array sizes differ");
  std::vector<double> out(t.size());
  for (std::size_t i = 0; i < t.size(); ++i) out[i] = t[i] * dS_dT[i] * beta_h;
  return out;
}

HingeFit fit_hinge(std::span<const double> t, std::span<const double> y, double confidence) {
  check_series(t, y, "fit_hinge");
  const std::size_t n = t.size();
  constexpr std::size_t min_side = 3;
  if (n < 2 * min_side + 1) throw std::invalid_argument("fit_hinge: need at least 7 points");
  // Candidate breaks lie between t[min_side - 1] and t[n - min_side] so that each segment has >= min_side points.
  const double t_lo = t[min_side - 1], t_hi = t[n - min_side];
  auto rss_at = [&](double tb) { return solve_hinge(t, y, tb).rss; };

  // Coarse scan on the data points, then golden section inside the best neighbouring intervals.
  std::size_t best = min_side - 1;
  double best_rss = rss_at(t[best]);
  for (std::size_t i = min_side; i <= n - min_side; ++i) {
    const double rss = rss_at(t[i]);
    if (rss < best_rss) {
      best = i;
      best_rss = rss;
    }
  }
  double a = t[best > min_side - 1 ? best - 1 : best];
  double b = t[best < n - min_side ? best + 1 : best];
  const double phi = (std::sqrt(5.0) - 1.0) / 2.0;
  double x1 = b - phi * (b - a), x2 = a + phi * (b - a);
  double f1 = rss_at(x1), f2 = rss_at(x2);
  for (int it = 0; it < 80 && b - a > 1e-9 * (t_hi - t_lo); ++it) {
    if (f1 < f2) {
      b = x2; x2 = x1; f2 = f1; x1 = b - phi * (b - a); f1 = rss_at(x1);
    } else {
      a = x1; x1 = x2; f1 = f2; x2 = a + phi * (b - a); f2 = rss_at(x2);
    }
  }
  double tb = 0.5 * (a + b);
  if (best_rss < rss_at(tb)) tb = t[best];
  const HingeSolution sol = solve_hinge(t, y, tb);

  HingeFit out;
  out.T_break_K = tb;
  out.value_at_break = sol.c;
  out.slope_below = sol.s1;
  out.slope_above = sol.s2;
  out.residual_rms = std::sqrt(sol.rss / static_cast<double>(n));

  // Profile likelihood: walk out from tb until n ln(RSS/RSS_min) exceeds the chi^2_1 quantile, then bisect.
  const double limit = chi2_1_quantile(confidence);
  const double rss_min = std::max(sol.rss, std::numeric_limits<double>::min());
  auto excess = [&](double x) { return static_cast<double>(n) * std::log(rss_at(x) / rss_min) - limit; };
  auto edge = [&](double direction) {
    const double bound = direction < 0 ? t_lo : t_hi;
    const double step = (t_hi - t_lo) / 2000.0;
    double inside = tb;
    for (double x = tb + direction * step; direction < 0 ? x >= bound : x <= bound; x += direction * step) {
      if (excess(x) > 0.0) {
        double outside = x;
        for (int it = 0; it < 50; ++it) {
          const double mid = 0.5 * (inside + outside);
          (excess(mid) > 0.0 ? outside : inside) = mid;
        }
        return 0.5 * (inside + outside);
      }
      inside = x;
    }
    return bound;  // the data do not exclude breaks up to the admissible edge
  };
  out.ci_low_K = edge(-1.0);
  out.ci_high_K = edge(+1.0);
  return out;
}

std::vector<bool> isolated_outliers(std::span<const double> y, double threshold_sigma) {
  if (!(threshold_sigma > 0.0)) throw std::invalid_argument("isolated_outliers: threshold must be positive");
  const std::size_t n = y.size();
  std::vector<bool> out(n, false);
  if (n < 5) return out;
  // Robust spread of the frame-to-frame differences about their median (the local trend), over the 50 differences
  // around each point: the noise of S_eq changes between glass, liquid and crystal.
  constexpr std::size_t half_window = 25;
  std::vector<double> diff(n - 1);
  for (std::size_t i = 0; i + 1 < n; ++i) diff[i] = y[i + 1] - y[i];
  auto median = [](std::vector<double> v) {
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
    return v[v.size() / 2];
  };
  for (std::size_t i = 1; i + 1 < n; ++i) {
    const std::size_t lo = i > half_window ? i - half_window : 0, hi = std::min(diff.size(), i + half_window);
    std::vector<double> local(diff.begin() + static_cast<std::ptrdiff_t>(lo),
                              diff.begin() + static_cast<std::ptrdiff_t>(hi));
    const double trend = median(local);
    for (double& d : local) d = std::abs(d - trend);
    const double limit = threshold_sigma * 1.4826 * median(local);
    const double left = y[i] - y[i - 1], right = y[i] - y[i + 1];
    // limit 0 (noise-free stretch): nothing to judge against
    out[i] = limit > 0.0 && left * right > 0.0 && std::min(std::abs(left), std::abs(right)) > limit;
  }
  return out;
}

HingeFit fit_hinge_robust(std::span<const double> t, std::span<const double> y, double threshold_sigma,
                          double confidence) {
  if (!(threshold_sigma > 0.0)) throw std::invalid_argument("fit_hinge_robust: threshold must be positive");
  std::vector<double> tk(t.begin(), t.end()), yk(y.begin(), y.end());
  HingeFit fit = fit_hinge(tk, yk, confidence);
  // Gross outliers are rare frames; when more than a tenth of the points look like outliers the misfit is the
  // model's (curvature, no noise), so the last fit is kept rather than trimming the data to suit it.
  const std::size_t max_outliers = t.size() / 10;
  for (;;) {
    std::vector<double> residual(tk.size());
    for (std::size_t i = 0; i < tk.size(); ++i)
      residual[i] = yk[i] - (fit.value_at_break + fit.slope_below * std::min(tk[i] - fit.T_break_K, 0.0) +
                             fit.slope_above * std::max(tk[i] - fit.T_break_K, 0.0));
    std::vector<double> magnitude(residual.size());
    std::transform(residual.begin(), residual.end(), magnitude.begin(), [](double r) { return std::abs(r); });
    std::nth_element(magnitude.begin(), magnitude.begin() + static_cast<std::ptrdiff_t>(magnitude.size() / 2),
                     magnitude.end());
    const double limit = threshold_sigma * 1.4826 * magnitude[magnitude.size() / 2];
    std::vector<double> t_kept, y_kept;
    for (std::size_t i = 0; i < tk.size(); ++i)
      if (std::abs(residual[i]) <= limit) {
        t_kept.push_back(tk[i]);
        y_kept.push_back(yk[i]);
      }
    if (t_kept.size() == tk.size() || t.size() - t_kept.size() > max_outliers) break;
    tk = std::move(t_kept);
    yk = std::move(y_kept);
    fit = fit_hinge(tk, yk, confidence);
  }
  fit.outliers = t.size() - tk.size();
  return fit;
}

std::vector<HeatFlowFeature> heat_flow_features(std::span<const double> t, std::span<const double> phi, double T_g_K,
                                                double min_peak_prominence, double min_curvature_prominence_per_K2,
                                                double window_K) {
  check_series(t, phi, "heat_flow_features");
  if (!(T_g_K > 0.0)) throw std::invalid_argument("heat_flow_features: T_g must be positive");
  std::vector<HeatFlowFeature> out;
  for (const std::size_t i : local_maxima(phi)) {
    const double p = prominence(phi, i);
    if (p >= min_peak_prominence)
      out.push_back({HeatFlowFeature::Kind::peak, t[i], t[i] / T_g_K, phi[i], p});
  }
  // A slope change is a kink: a local maximum of |d2 phi/dT2|, from two passes of the local polynomial fit.
  const auto slope = local_polynomial_smooth(t, phi, window_K, 2).derivative;
  const auto curvature = local_polynomial_smooth(t, slope, window_K, 2).derivative;
  std::vector<double> abs_curvature(curvature.size());
  std::transform(curvature.begin(), curvature.end(), abs_curvature.begin(), [](double c) { return std::abs(c); });
  for (const std::size_t i : local_maxima(abs_curvature)) {
    const double p = prominence(abs_curvature, i);
    if (p >= min_curvature_prominence_per_K2)
      out.push_back({HeatFlowFeature::Kind::slope_change, t[i], t[i] / T_g_K, phi[i], p});
  }
  std::sort(out.begin(), out.end(), [](const auto& l, const auto& r) { return l.T_K < r.T_K; });
  return out;
}

}  // namespace insitu::analysis
