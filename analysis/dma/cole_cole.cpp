#include "analysis/dma/cole_cole.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <numeric>
#include <stdexcept>

#include <Eigen/Dense>
#include <unsupported/Eigen/NonLinearOptimization>
#include <unsupported/Eigen/NumericalDiff>

namespace insitu::dma {
namespace {

constexpr double min_shape_a = 0.05;

double shape_from_u(double u) { return min_shape_a + (1.0 - min_shape_a) / (1.0 + std::exp(-u)); }
double u_from_shape(double a) {
  const double s = std::clamp((a - min_shape_a) / (1.0 - min_shape_a), 1e-6, 1.0 - 1e-6);
  return std::log(s / (1.0 - s));
}

// Cole–Cole loss L(z) normalised to 1 at the peak (z = 0).
double unit_peak(double z, double a) {
  z = std::clamp(z, -700.0, 700.0);
  const double c = std::cos(a * std::numbers::pi / 2);
  return (2.0 + 2.0 * c) / (2.0 * std::cosh(z) + 2.0 * c);
}

struct Points {
  std::vector<double> T;
  std::vector<double> y;
};

Points select(const Curve& curve, double lo_K, double hi_K) {
  if (curve.temperature_K.size() != curve.tan_delta.size())
    throw std::invalid_argument("curve: temperature and tan delta differ in length");
  std::vector<std::size_t> idx;
  for (std::size_t i = 0; i < curve.temperature_K.size(); ++i) {
    const double T = curve.temperature_K[i];
    if (T >= lo_K && T <= hi_K && std::isfinite(curve.tan_delta[i])) idx.push_back(i);
  }
  std::stable_sort(idx.begin(), idx.end(),
                   [&](std::size_t a, std::size_t b) { return curve.temperature_K[a] < curve.temperature_K[b]; });
  Points p;
  for (auto i : idx) {
    p.T.push_back(curve.temperature_K[i]);
    p.y.push_back(curve.tan_delta[i]);
  }
  return p;
}

std::vector<double> smooth(const std::vector<double>& y, std::size_t points) {
  const std::size_t half = points / 2;
  std::vector<double> out(y.size());
  for (std::size_t i = 0; i < y.size(); ++i) {
    const std::size_t lo = i >= half ? i - half : 0;
    const std::size_t hi = std::min(y.size() - 1, i + half);
    double sum = 0.0;
    for (std::size_t k = lo; k <= hi; ++k) sum += y[k];
    out[i] = sum / static_cast<double>(hi - lo + 1);
  }
  return out;
}

struct Model {
  const Points* pts;
  bool fit_shape;
  double fixed_a;
  double T_mid, T_span, T_hi;
  double exp_scale_K;

  std::size_t n_params() const { return 5 + (fit_shape ? 1 : 0) + (exp_scale_K > 0 ? 1 : 0); }

  double eval(const Eigen::VectorXd& p, double T) const {
    std::size_t k = 0;
    const double A = p[k++];
    const double Tp = p[k++];
    const double q = std::exp(p[k++]);
    const double a = fit_shape ? shape_from_u(p[k++]) : fixed_a;
    const double b0 = p[k++];
    const double b1 = p[k++];
    double y = A * unit_peak(q * (1.0 / T - 1.0 / Tp), a) + b0 + b1 * (T - T_mid) / T_span;
    if (exp_scale_K > 0) y += p[k++] * std::exp((T - T_hi) / exp_scale_K);
    return y;
  }
};

// Functor in the shape Eigen's NumericalDiff / LevenbergMarquardt expect.
struct Residuals {
  using Scalar = double;
  using InputType = Eigen::VectorXd;
  using ValueType = Eigen::VectorXd;
  using JacobianType = Eigen::MatrixXd;
  enum { InputsAtCompileTime = Eigen::Dynamic, ValuesAtCompileTime = Eigen::Dynamic };

  Model model;
  int inputs() const { return static_cast<int>(model.n_params()); }
  int values() const { return static_cast<int>(model.pts->T.size()); }
  int operator()(const Eigen::VectorXd& p, Eigen::VectorXd& r) const {
    for (std::size_t i = 0; i < model.pts->T.size(); ++i)
      r[static_cast<Eigen::Index>(i)] = model.eval(p, model.pts->T[i]) - model.pts->y[i];
    return 0;
  }
};

}  // namespace

std::optional<double> find_peak(const Curve& curve, double lo_K, double hi_K, std::size_t smoothing_points) {
  const Points p = select(curve, lo_K, hi_K);
  if (p.T.size() < 3) return std::nullopt;
  const auto ys = smooth(p.y, smoothing_points);
  const auto it = std::max_element(ys.begin(), ys.end());
  const auto i = static_cast<std::size_t>(it - ys.begin());
  if (i == 0 || i + 1 == ys.size()) return std::nullopt;
  return p.T[i];
}

std::vector<double> find_peaks(const Curve& curve, double min_prominence, std::size_t smoothing_points) {
  const Points p = select(curve, -std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity());
  const auto y = smooth(p.y, smoothing_points);
  std::vector<double> peaks;
  for (std::size_t i = 1; i + 1 < y.size(); ++i) {
    if (!(y[i] > y[i - 1] && y[i] >= y[i + 1])) continue;
    double left_min = y[i];
    for (std::size_t k = i; k-- > 0 && y[k] <= y[i];) left_min = std::min(left_min, y[k]);
    double right_min = y[i];
    for (std::size_t k = i + 1; k < y.size() && y[k] <= y[i]; ++k) right_min = std::min(right_min, y[k]);
    if (y[i] - std::max(left_min, right_min) >= min_prominence) peaks.push_back(p.T[i]);
  }
  return peaks;
}

ColeColeFit fit_cole_cole(const Curve& curve, double lo_K, double hi_K, const FitOptions& options) {
  const Points pts = select(curve, lo_K, hi_K);
  Model model{&pts, options.fit_shape, options.initial_shape_a, 0.5 * (lo_K + hi_K), std::max(hi_K - lo_K, 1.0),
              hi_K, options.exp_background_scale_K};
  const std::size_t n = pts.T.size();
  if (n < model.n_params() + 3)
    throw std::invalid_argument("Cole-Cole fit at " + std::to_string(curve.frequency_Hz) + " Hz: only " +
                                std::to_string(n) + " points in [" + std::to_string(lo_K) + ", " +
                                std::to_string(hi_K) + "] K");

  // Initial guess from the smoothed data: peak position, height over a line through the window ends,
  // and q from the half-height width in 1/T (cosh z_half = 2 + cos(aπ/2)).
  const auto ys = smooth(pts.y, options.smoothing_points);
  const std::size_t edge = std::max<std::size_t>(1, n / 10);
  const double y_lo = std::accumulate(ys.begin(), ys.begin() + static_cast<std::ptrdiff_t>(edge), 0.0) / edge;
  const double y_hi = std::accumulate(ys.end() - static_cast<std::ptrdiff_t>(edge), ys.end(), 0.0) / edge;
  const double T_lo = pts.T[edge / 2], T_hi = pts.T[n - 1 - edge / 2];
  auto base = [&](double T) { return y_lo + (y_hi - y_lo) * (T - T_lo) / std::max(T_hi - T_lo, 1e-9); };
  std::size_t ipk = 0;
  for (std::size_t i = 1; i < n; ++i)
    if (ys[i] - base(pts.T[i]) > ys[ipk] - base(pts.T[ipk])) ipk = i;
  const double A0 = ys[ipk] - base(pts.T[ipk]);
  if (!(A0 > 0))
    throw std::invalid_argument("Cole-Cole fit at " + std::to_string(curve.frequency_Hz) + " Hz: no peak above the baseline");
  std::optional<double> left, right;
  for (std::size_t i = ipk; i-- > 0;)
    if (ys[i] - base(pts.T[i]) < 0.5 * A0) {
      left = 1.0 / pts.T[i] - 1.0 / pts.T[ipk];
      break;
    }
  for (std::size_t i = ipk + 1; i < n; ++i)
    if (ys[i] - base(pts.T[i]) < 0.5 * A0) {
      right = 1.0 / pts.T[ipk] - 1.0 / pts.T[i];
      break;
    }
  double half_inv = left && right ? 0.5 * (*left + *right) : left ? *left : right ? *right
                                                                           : 0.25 * (1.0 / lo_K - 1.0 / hi_K);
  half_inv = std::max(half_inv, 1e-7);
  const double z_half = std::acosh(2.0 + std::cos(options.initial_shape_a * std::numbers::pi / 2));
  const double q0 = z_half / half_inv;

  Eigen::VectorXd p(static_cast<Eigen::Index>(model.n_params()));
  Eigen::Index k = 0;
  p[k++] = A0;
  p[k++] = pts.T[ipk];
  p[k++] = std::log(q0);
  if (options.fit_shape) p[k++] = u_from_shape(options.initial_shape_a);
  p[k++] = base(model.T_mid);
  p[k++] = (y_hi - y_lo) * model.T_span / std::max(T_hi - T_lo, 1e-9);
  if (options.exp_background_scale_K > 0) p[k++] = 0.0;

  Residuals residuals{model};
  Eigen::NumericalDiff<Residuals> numdiff(residuals);
  Eigen::LevenbergMarquardt<Eigen::NumericalDiff<Residuals>> lm(numdiff);
  lm.parameters.maxfev = 4000;
  const auto status = lm.minimize(p);
  if (status == Eigen::LevenbergMarquardtSpace::ImproperInputParameters ||
      status == Eigen::LevenbergMarquardtSpace::TooManyFunctionEvaluation || !p.allFinite())
    throw std::runtime_error("Cole-Cole fit at " + std::to_string(curve.frequency_Hz) +
                             " Hz did not converge (Eigen LM status " + std::to_string(static_cast<int>(status)) + ")");

  Eigen::VectorXd r(static_cast<Eigen::Index>(n));
  residuals(p, r);
  Eigen::MatrixXd J(static_cast<Eigen::Index>(n), p.size());
  numdiff.df(p, J);
  const double dof = static_cast<double>(n) - static_cast<double>(p.size());
  const double s2 = r.squaredNorm() / dof;
  const Eigen::MatrixXd JtJ = J.transpose() * J;
  Eigen::FullPivLU<Eigen::MatrixXd> lu(JtJ);
  double sigma_Tp = std::numeric_limits<double>::quiet_NaN();
  if (lu.isInvertible()) sigma_Tp = std::sqrt(s2 * lu.inverse()(1, 1));

  ColeColeFit fit;
  fit.frequency_Hz = curve.frequency_Hz;
  fit.amplitude = p[0];
  fit.peak_K = p[1];
  fit.peak_sigma_K = sigma_Tp;
  fit.width_q_K = std::exp(p[2]);
  fit.shape_a = options.fit_shape ? shape_from_u(p[3]) : options.initial_shape_a;
  fit.window_lo_K = lo_K;
  fit.window_hi_K = hi_K;
  fit.points = n;
  fit.rms_residual = std::sqrt(r.squaredNorm() / static_cast<double>(n));
  if (fit.peak_K < pts.T.front() || fit.peak_K > pts.T.back() || fit.amplitude <= 0)
    throw std::runtime_error("Cole-Cole fit at " + std::to_string(curve.frequency_Hz) + " Hz: peak at " +
                             std::to_string(fit.peak_K) + " K lies outside its window or has no height");
  return fit;
}

std::vector<ColeColeFit> fit_transition(const std::vector<Curve>& curves, const TransitionSpec& spec) {
  std::vector<ColeColeFit> fits;
  for (const auto& c : curves) {
    const auto peak = find_peak(c, spec.search_lo_K, spec.search_hi_K, spec.fit.smoothing_points);
    if (!peak) continue;
    const double lo = *peak - spec.below_K;
    const double hi = std::min(*peak + spec.above_K, spec.upper_limit_K);
    fits.push_back(fit_cole_cole(c, lo, hi, spec.fit));
  }
  return fits;
}

}  // namespace insitu::dma
