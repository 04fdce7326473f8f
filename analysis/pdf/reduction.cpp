#include "analysis/pdf/reduction.hpp"

#include "analysis/pdf/uniform_sine_sum.hpp"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <numbers>
#include <sstream>
#include <stdexcept>
#include <string>

namespace insitu::analysis {

namespace {

bool parse_numbers(const std::string& line, std::vector<double>& out) {
  out.clear();
  std::istringstream ls(line);
  std::string tok;
  while (ls >> tok) {
    char* end = nullptr;
    const double v = std::strtod(tok.c_str(), &end);
    if (end == tok.c_str() || *end != '\0') return false;
    out.push_back(v);
  }
  return out.size() >= 2;
}

// Legendre P_0..P_n at x in [-1, 1] by the three-term recurrence; an orthogonal basis keeps the
// degree-7..10 fit well conditioned where monomials are numerically singular.
void legendre(double x, int n, std::vector<double>& p) {
  p.assign(static_cast<std::size_t>(n) + 1, 0.0);
  p[0] = 1.0;
  if (n >= 1) p[1] = x;
  for (int k = 2; k <= n; ++k)
    p[static_cast<std::size_t>(k)] =
        ((2.0 * k - 1.0) * x * p[static_cast<std::size_t>(k - 1)] - (k - 1.0) * p[static_cast<std::size_t>(k - 2)]) / k;
}

// y minus its least-squares fit by Q * sum_k c_k P_k(2Q/qmaxinst - 1), k = 0..degree.
Eigen::VectorXd remove_polynomial(const std::vector<double>& q, const Eigen::VectorXd& y, int degree, double qmaxinst) {
  const auto m = static_cast<Eigen::Index>(q.size());
  const auto n_basis = static_cast<Eigen::Index>(degree + 1);
  Eigen::MatrixXd basis(m, n_basis);
  std::vector<double> pk;
  for (Eigen::Index i = 0; i < m; ++i) {
    const double qi = q[static_cast<std::size_t>(i)];
    legendre(2.0 * qi / qmaxinst - 1.0, degree, pk);
    for (Eigen::Index k = 0; k < n_basis; ++k) basis(i, k) = qi * pk[static_cast<std::size_t>(k)];
  }
  return y - basis * basis.colPivHouseholderQr().solve(y);
}

double interpolate(const XyData& d, double x, std::size_t& hint) {
  if (x < d.x.front() || x > d.x.back())
    throw std::out_of_range("background does not cover Q = " + std::to_string(x) + " (range " +
                            std::to_string(d.x.front()) + ".." + std::to_string(d.x.back()) + ")");
  while (hint + 1 < d.x.size() && d.x[hint + 1] < x) ++hint;
  if (hint + 1 >= d.x.size()) return d.y.back();
  const double x0 = d.x[hint], x1 = d.x[hint + 1];
  const double t = x1 > x0 ? (x - x0) / (x1 - x0) : 0.0;
  return d.y[hint] + t * (d.y[hint + 1] - d.y[hint]);
}

// The Q points in [qmin, qmax] and their weights (2/pi) F(Q) h, h the trapezoid rule's: G(r) = sum w sin(Q r).
struct TransformWeights {
  std::vector<double> q;
  std::vector<double> weight;
};

TransformWeights transform_weights(std::span<const double> q, std::span<const double> f, double qmin, double qmax) {
  if (q.size() != f.size()) throw std::invalid_argument("sine_transform: Q and F sizes differ");
  TransformWeights t;
  std::vector<double> f_used;
  for (std::size_t i = 0; i < q.size(); ++i)
    if (q[i] >= qmin && q[i] <= qmax) {
      t.q.push_back(q[i]);
      f_used.push_back(f[i]);
    }
  if (t.q.size() < 2) throw std::invalid_argument("sine_transform: fewer than 2 points in [qmin, qmax]");
  t.weight.assign(t.q.size(), 0.0);
  for (std::size_t i = 0; i + 1 < t.q.size(); ++i) {
    const double h = 0.5 * (t.q[i + 1] - t.q[i]);
    t.weight[i] += h;
    t.weight[i + 1] += h;
  }
  for (std::size_t i = 0; i < t.q.size(); ++i) t.weight[i] *= f_used[i] * (2.0 / std::numbers::pi);
  return t;
}

// N_Q * N_r sines: the reference, and the way for a non-uniform grid.
std::vector<double> direct_sine_sum(const TransformWeights& t, std::span<const double> r) {
  std::vector<double> g(r.size());
  for (std::size_t j = 0; j < r.size(); ++j) {
    double sum = 0.0;
    for (std::size_t i = 0; i < t.q.size(); ++i) sum += t.weight[i] * std::sin(t.q[i] * r[j]);
    g[j] = sum;
  }
  return g;
}

}  // namespace

XyData parse_xy(std::string_view text, std::string_view source_name) {
  XyData out;
  std::istringstream in{std::string(text)};
  std::string line;
  std::vector<double> v;
  std::size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') continue;
    if (!parse_numbers(line, v)) continue;
    if (!std::isfinite(v[0]) || !std::isfinite(v[1]))
      throw std::runtime_error(std::string(source_name) + ":" + std::to_string(line_no) + ": non-finite value");
    if (!out.x.empty() && !(v[0] > out.x.back()))
      throw std::runtime_error(std::string(source_name) + ":" + std::to_string(line_no) +
                               ": x must increase strictly, got " + std::to_string(v[0]) + " after " +
                               std::to_string(out.x.back()));
    out.x.push_back(v[0]);
    out.y.push_back(v[1]);
  }
  if (out.x.size() < 2) throw std::runtime_error(std::string(source_name) + ": fewer than 2 data rows");
  return out;
}

std::vector<double> twotheta_to_q(std::span<const double> twotheta_deg, double wavelength_angstrom,
                                  double twothetazero_deg) {
  if (!(wavelength_angstrom > 0.0)) throw std::invalid_argument("wavelength must be positive");
  std::vector<double> q(twotheta_deg.size());
  const double deg = std::numbers::pi / 180.0;
  for (std::size_t i = 0; i < q.size(); ++i)
    q[i] = 4.0 * std::numbers::pi * std::sin(0.5 * (twotheta_deg[i] - twothetazero_deg) * deg) / wavelength_angstrom;
  return q;
}

std::vector<double> r_grid(double rmin_angstrom, double rstep_angstrom, double rmax_angstrom) {
  if (!(rstep_angstrom > 0.0) || rmax_angstrom < rmin_angstrom)
    throw std::invalid_argument("r grid needs rstep > 0 and rmax >= rmin");
  const auto n = static_cast<std::size_t>(std::floor((rmax_angstrom - rmin_angstrom) / rstep_angstrom + 1e-9)) + 1;
  std::vector<double> r(n);
  for (std::size_t i = 0; i < n; ++i) r[i] = rmin_angstrom + static_cast<double>(i) * rstep_angstrom;
  return r;
}

std::vector<double> sine_transform(std::span<const double> q_inv_angstrom, std::span<const double> f_of_q,
                                   double qmin_inv_angstrom, double qmax_inv_angstrom,
                                   std::span<const double> r_angstrom) {
  const auto t = transform_weights(q_inv_angstrom, f_of_q, qmin_inv_angstrom, qmax_inv_angstrom);
  // Grids count as uniform when treating them so moves no phase Q r by more than 1e-9 rad: the chirp-z sum
  // then equals the direct one to ~1e-9 of sum |w|, far below the 1e-6 the results are compared at.
  constexpr double max_phase_error_rad = 1e-9;
  const double q_abs_max = std::max(std::fabs(t.q.front()), std::fabs(t.q.back()));
  double r_abs_max = 0.0;
  for (const double r : r_angstrom) r_abs_max = std::max(r_abs_max, std::fabs(r));
  const auto q_grid = as_uniform_grid(t.q, max_phase_error_rad / std::max(r_abs_max, 1e-300));
  const auto r_grid_uniform = as_uniform_grid(r_angstrom, max_phase_error_rad / std::max(q_abs_max, 1e-300));
  if (!q_grid || !r_grid_uniform) return direct_sine_sum(t, r_angstrom);
  return (*cached_uniform_sine_sum(*q_grid, *r_grid_uniform))(t.weight);
}

std::vector<double> sine_transform_direct(std::span<const double> q_inv_angstrom, std::span<const double> f_of_q,
                                          double qmin_inv_angstrom, double qmax_inv_angstrom,
                                          std::span<const double> r_angstrom) {
  return direct_sine_sum(transform_weights(q_inv_angstrom, f_of_q, qmin_inv_angstrom, qmax_inv_angstrom),
                         r_angstrom);
}

ReducedPdf reduce(std::span<const double> q_inv_angstrom, std::span<const double> intensity,
                  const std::optional<XyData>& background_vs_q, const ReductionParams& p,
                  const FormFactorTable& form_factors) {
  if (q_inv_angstrom.size() != intensity.size()) throw std::invalid_argument("reduce: Q and I sizes differ");
  if (!(p.qmaxinst_inv_angstrom > 0.0) || !(p.qmax_inv_angstrom > p.qmin_inv_angstrom))
    throw std::invalid_argument("reduce: need qmaxinst > 0 and qmax > qmin");
  if (!(p.rpoly_angstrom > 0.0)) throw std::invalid_argument("reduce: rpoly must be positive");

  ReducedPdf out;
  std::vector<double> net;
  std::size_t hint = 0;
  for (std::size_t i = 0; i < q_inv_angstrom.size(); ++i) {
    const double q = q_inv_angstrom[i];
    if (!(q > 0.0) || q > p.qmaxinst_inv_angstrom) continue;
    double value = intensity[i];
    if (background_vs_q) value -= p.bgscale * interpolate(*background_vs_q, q, hint);
    out.q.push_back(q);
    net.push_back(value);
  }
  out.polynomial_degree = static_cast<int>(std::floor(p.rpoly_angstrom * p.qmaxinst_inv_angstrom / std::numbers::pi));
  const auto n_basis = static_cast<Eigen::Index>(out.polynomial_degree + 1);
  if (out.q.size() < static_cast<std::size_t>(n_basis) + 8)
    throw std::invalid_argument("reduce: too few points below qmaxinst (" + std::to_string(out.q.size()) + ")");

  const auto avg = form_factor_averages(form_factors, p.composition, out.q);

  // Absolute scale: at high Q the per-atom intensity tends to <f^2> + I_inc (S -> 1), so A is the ratio of the
  // measured to that level. An optional flat term B takes up what neither models (multiple or air scattering).
  {
    const double q_lo = p.scale_fit_qmin_fraction * p.qmaxinst_inv_angstrom;
    double s11 = 0, s12 = 0, s22 = 0, t1 = 0, t2 = 0;
    std::size_t n = 0;
    for (std::size_t i = 0; i < out.q.size(); ++i) {
      if (out.q[i] < q_lo) continue;
      const double x = avg.f2_mean[i] + avg.incoherent[i];
      s11 += x * x;
      s12 += x;
      s22 += 1.0;
      t1 += x * net[i];
      t2 += net[i];
      ++n;
    }
    if (n < 3 || !(s11 > 0.0)) throw std::invalid_argument("reduce: too few points above the scale-fit Q limit");
    if (p.scale_fit_flat_background) {
      const double det = s11 * s22 - s12 * s12;
      out.intensity_scale = (t1 * s22 - s12 * t2) / det;
      out.flat_background = (s11 * t2 - s12 * t1) / det;
    } else {
      out.intensity_scale = t1 / s11;
    }
    if (!(out.intensity_scale > 0.0))
      throw std::runtime_error("reduce: intensity scale fit gave A = " + std::to_string(out.intensity_scale) +
                               " <= 0; is the background over-subtracted?");
  }

  // F_m = Q I / (A <f>^2); everything slowly varying (the <f^2>, Compton and B terms, absorption) is removed
  // by a polynomial through the origin, Q * sum_k c_k P_k(x), x = 2Q/qmaxinst - 1.
  const auto m = static_cast<Eigen::Index>(out.q.size());
  Eigen::VectorXd fm(m);
  for (Eigen::Index i = 0; i < m; ++i) {
    const auto ui = static_cast<std::size_t>(i);
    fm(i) = out.q[ui] * net[ui] / (out.intensity_scale * avg.f_mean[ui] * avg.f_mean[ui]);
  }
  const Eigen::VectorXd f = remove_polynomial(out.q, fm, out.polynomial_degree, p.qmaxinst_inv_angstrom);
  out.qmin_inv_angstrom = p.qmin_inv_angstrom;
  out.qmax_inv_angstrom = p.qmax_inv_angstrom;
  out.qmaxinst_inv_angstrom = p.qmaxinst_inv_angstrom;

  out.f.assign(f.data(), f.data() + m);
  out.s.resize(out.q.size());
  for (std::size_t i = 0; i < out.q.size(); ++i) out.s[i] = 1.0 + out.f[i] / out.q[i];
  out.r = r_grid(p.rmin_angstrom, p.rstep_angstrom, p.rmax_angstrom);
  out.g = sine_transform(out.q, out.f, p.qmin_inv_angstrom, p.qmax_inv_angstrom, out.r);
  return out;
}

std::vector<double> polynomial_filtered_line(const ReducedPdf& pdf, double r_cut) {
  if (!(r_cut > 0.0)) throw std::invalid_argument("polynomial_filtered_line: r_cut must be positive");
  // F(Q) = integral_0^{r_cut} (-4 pi r) sin(Q r) dr, the inverse of G = (2/pi) integral F sin(Qr) dQ.
  Eigen::VectorXd f_line(static_cast<Eigen::Index>(pdf.q.size()));
  for (std::size_t i = 0; i < pdf.q.size(); ++i) {
    const double q = pdf.q[i];
    f_line(static_cast<Eigen::Index>(i)) =
        -4.0 * std::numbers::pi * (std::sin(q * r_cut) - q * r_cut * std::cos(q * r_cut)) / (q * q);
  }
  const Eigen::VectorXd filtered = remove_polynomial(pdf.q, f_line, pdf.polynomial_degree, pdf.qmaxinst_inv_angstrom);
  const std::vector<double> f(filtered.data(), filtered.data() + filtered.size());
  return sine_transform(pdf.q, f, pdf.qmin_inv_angstrom, pdf.qmax_inv_angstrom, pdf.r);
}

FilteredDensityFit fit_number_density_filtered(const ReducedPdf& pdf, double r_lo, double r_hi) {
  const auto response = polynomial_filtered_line(pdf, r_hi);
  double kk = 0.0, kg = 0.0;
  FilteredDensityFit out;
  for (std::size_t i = 0; i < pdf.r.size(); ++i)
    if (pdf.r[i] >= r_lo && pdf.r[i] <= r_hi) {
      kk += response[i] * response[i];
      kg += response[i] * pdf.g[i];
      ++out.points;
    }
  if (out.points < 2 || !(kk > 0.0))
    throw std::invalid_argument("fit_number_density_filtered: fewer than 2 usable points in [" + std::to_string(r_lo) +
                                ", " + std::to_string(r_hi) + "]");
  out.rho0_per_cubic_angstrom = kg / kk;
  double ss = 0.0;
  for (std::size_t i = 0; i < pdf.r.size(); ++i)
    if (pdf.r[i] >= r_lo && pdf.r[i] <= r_hi) ss += std::pow(pdf.g[i] - out.rho0_per_cubic_angstrom * response[i], 2);
  out.rms_residual = std::sqrt(ss / static_cast<double>(out.points));
  return out;
}

}  // namespace insitu::analysis
