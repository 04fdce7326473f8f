#pragma once
// PDFgetX3-style ad hoc reduction I(Q) -> S(Q), F(Q), G(r) with an absolute scale (docs/analysis.md §2).
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "analysis/pdf/form_factors.hpp"

namespace insitu::analysis {

// Two numeric columns (x, y) from a .chi/.xy text; lines that are not all-numeric with >= 2 columns are headers.
struct XyData {
  std::vector<double> x;
  std::vector<double> y;
};
XyData parse_xy(std::string_view text, std::string_view source_name);

// Q = 4 pi sin((2theta - 2theta0)/2) / lambda.
std::vector<double> twotheta_to_q(std::span<const double> twotheta_deg, double wavelength_angstrom,
                                  double twothetazero_deg = 0.0);

// rmin, rmin + rstep, ... up to rmax inclusive (to rounding).
std::vector<double> r_grid(double rmin_angstrom, double rstep_angstrom, double rmax_angstrom);

// G(r) = (2/pi) * integral_{qmin}^{qmax} F(Q) sin(Q r) dQ by the trapezoid rule on the (possibly non-uniform) Q grid.
// When the Q points used and r are uniform grids (the integrator's bins, r_grid), the same trapezoid sum by a
// chirp-z transform (analysis/pdf/uniform_sine_sum.hpp, ~0.2 ms for 3000 x 2001); otherwise sine_transform_direct.
std::vector<double> sine_transform(std::span<const double> q_inv_angstrom, std::span<const double> f_of_q,
                                   double qmin_inv_angstrom, double qmax_inv_angstrom,
                                   std::span<const double> r_angstrom);
// The same sum term by term: N_Q * N_r sines (about 6 M for 3000 x 2001, ~50 ms); any grids.
std::vector<double> sine_transform_direct(std::span<const double> q_inv_angstrom, std::span<const double> f_of_q,
                                          double qmin_inv_angstrom, double qmax_inv_angstrom,
                                          std::span<const double> r_angstrom);

struct ReductionParams {
  double qmin_inv_angstrom = 0.0;       // lower limit of the sine transform
  double qmax_inv_angstrom = 0.0;       // upper limit of the sine transform
  double qmaxinst_inv_angstrom = 0.0;   // data used for the polynomial and the scale stop here
  double rpoly_angstrom = 0.9;          // polynomial degree = floor(rpoly * qmaxinst / pi)
  double rmin_angstrom = 0.0;
  double rstep_angstrom = 0.01;
  double rmax_angstrom = 30.0;
  double bgscale = 1.0;
  Composition composition;
  // Absolute scale: I = A (<f^2> + I_inc) [+ B] fitted on Q >= scale_fit_qmin_fraction * qmaxinst (docs/analysis.md).
  double scale_fit_qmin_fraction = 1.0 / 3.0;
  bool scale_fit_flat_background = false;
};

struct ReducedPdf {
  std::vector<double> q;   // inverse angstrom, 0 < Q <= qmaxinst
  std::vector<double> s;   // S(Q)
  std::vector<double> f;   // F(Q) = Q [S(Q) - 1], inverse angstrom
  std::vector<double> r;   // angstrom
  std::vector<double> g;   // G(r), inverse square angstrom, absolute scale
  double intensity_scale = 0.0;       // A in I = A (<f^2> + I_inc) + B
  double flat_background = 0.0;       // B (0 unless scale_fit_flat_background)
  int polynomial_degree = 0;
  double qmin_inv_angstrom = 0.0;     // the transform and polynomial limits used, for polynomial_filtered_line
  double qmax_inv_angstrom = 0.0;
  double qmaxinst_inv_angstrom = 0.0;
};

// `background` is on its own Q grid and is linearly interpolated onto `q`; it must cover the used Q range.
ReducedPdf reduce(std::span<const double> q_inv_angstrom, std::span<const double> intensity,
                  const std::optional<XyData>& background_vs_q, const ReductionParams& params,
                  const FormFactorTable& form_factors);

// What the reduction makes of the ideal low-r line G = -4 pi r (unit density) for 0 <= r < r_cut: its F(Q),
// minus the same polynomial fit the reduction subtracts, transformed back on pdf.r. The polynomial bends G below
// about 2 rpoly; fitting rho0 * this response instead of -4 pi rho0 r removes that bias (docs/analysis.md §2.4).
std::vector<double> polynomial_filtered_line(const ReducedPdf& pdf, double r_cut_angstrom);

struct FilteredDensityFit {
  double rho0_per_cubic_angstrom = 0.0;
  double rms_residual = 0.0;
  std::size_t points = 0;
};
// Least squares of G(r) = rho0 * polynomial_filtered_line(pdf, r_hi)(r) on r_lo <= r <= r_hi, where r_hi is the
// onset of the first coordination shell (g = 0 below it).
FilteredDensityFit fit_number_density_filtered(const ReducedPdf& pdf, double r_lo_angstrom, double r_hi_angstrom);

}  // namespace insitu::analysis
