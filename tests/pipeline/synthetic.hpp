#pragma once
// A small synthetic detector and a glass-like sample with a known g(r), shared by the pipeline tests.
#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>
#include <vector>

#include "analysis/integration/geometry.hpp"
#include "analysis/pdf/form_factors.hpp"
#include "analysis/pdf/pair_entropy.hpp"
#include "analysis/pdf/reduction.hpp"
#include "analysis/pipeline/frame_pipeline.hpp"
#include "tests/test_data.hpp"

namespace insitu::analysis::test {

inline std::string form_factor_file() { return testdata::form_factor_table(); }

// 640 x 640 pixels of 0.15 mm, 70 mm away, 60 keV, the PONI near a corner (like an off-centre flat panel), so
// full arcs reach Q ~ 27 1/A and the corner ~ 31 1/A.
inline Geometry small_detector() {
  Geometry g;
  g.distance_m = 0.07;
  g.poni1_m = 0.002;
  g.poni2_m = 0.0025;
  g.wavelength_m = 0.2066e-10;
  g.pixel1_m = g.pixel2_m = 1.5e-4;
  g.height = g.width = 640;
  return g;
}

inline std::string small_detector_poni() {
  return "PixelSize1: 1.5e-4\nPixelSize2: 1.5e-4\nDistance: 0.07\nPoni1: 0.002\nPoni2: 0.0025\nRot1: 0\nRot2: 0\n"
         "Rot3: 0\nWavelength: 2.066e-11\n";
}

// Hard core at 2.4 A, then a damped oscillation: the same model as the pdf library's tests. `width` scales the
// oscillation amplitude (a stand-in for temperature: more disorder, larger S_eq).
inline double glass_g(double r, double amplitude = 1.8) {
  const double pi = std::numbers::pi;
  const double cut = 1.0 / (1.0 + std::exp(-(r - 2.4) / 0.07));
  const double shell = 1.0 + amplitude * std::exp(-(r - 2.75) / 1.6) * std::cos(2.0 * pi * (r - 2.75) / 2.45);
  return std::max(0.0, cut * shell);
}

inline PipelineSettings test_settings() {
  PipelineSettings s;
  s.form_factor_file = form_factor_file();
  s.npt = 1000;
  s.split = PixelSplit::none;  // the frame is painted at pixel centres: whole pixels reproduce it exactly
  s.integration_qmin_inv_angstrom = 0.5;  // a beamstop's worth: the few pixels nearest the beam stay out
  s.integration_qmax_inv_angstrom = 24.0;
  s.qmaxinst_inv_angstrom = 24.0;
  s.qmax_inv_angstrom = 23.0;
  s.qmin_inv_angstrom = 0.8;
  s.rmax_angstrom = 12.0;
  return s;
}

// Per-atom intensity A (I_coh + I_inc) of the model glass on a fine Q grid (linear interpolation between points).
struct IntensityModel {
  std::vector<double> q, intensity;
  double operator()(double qv) const {
    if (qv <= q.front()) return intensity.front();
    if (qv >= q.back()) return intensity.back();
    const auto it = std::upper_bound(q.begin(), q.end(), qv);
    const std::size_t i = static_cast<std::size_t>(it - q.begin());
    const double w = (qv - q[i - 1]) / (q[i] - q[i - 1]);
    return (1 - w) * intensity[i - 1] + w * intensity[i];
  }
};

inline IntensityModel model_intensity(const FormFactorTable& table, double scale, double amplitude = 1.8) {
  const auto r = r_grid(0.0, 0.01, 30.0);
  std::vector<double> g(r.size());
  for (std::size_t i = 0; i < r.size(); ++i) g[i] = glass_g(r[i], amplitude);
  IntensityModel m;
  for (double x = 0.2; x <= 32.0; x += 0.01) m.q.push_back(x);
  const auto s = structure_factor_from_g(r, g, paper_nominal_rho0_per_cubic_angstrom, m.q);
  const auto avg = form_factor_averages(table, parse_composition("Cu44Zr44Al8Hf2Co2"), m.q);
  const auto coherent = coherent_intensity(s, avg);
  m.intensity.resize(m.q.size());
  for (std::size_t i = 0; i < m.q.size(); ++i) m.intensity[i] = scale * (coherent[i] + avg.incoherent[i]);
  return m;
}

// raw = I(q(pixel centre)) * solid angle * polarisation + offset: what the integrator divides back out.
inline std::vector<float> render(const Geometry& geometry, const IntensityModel& model, double polarization,
                                 float offset) {
  const PixelGeometry pg(geometry);
  std::vector<float> frame(geometry.height * geometry.width);
  for (std::size_t row = 0; row < geometry.height; ++row)
    for (std::size_t col = 0; col < geometry.width; ++col) {
      const double y = static_cast<double>(row) + 0.5, x = static_cast<double>(col) + 0.5;
      frame[row * geometry.width + col] = static_cast<float>(
          model(pg.q_inv_angstrom(y, x)) * pg.solid_angle(y, x) * pg.polarization(y, x, polarization) + offset);
    }
  return frame;
}

inline double true_s_eq_k_B(double r_max, double amplitude = 1.8) {
  const auto r = r_grid(0.0, 0.01, r_max);
  std::vector<double> g(r.size());
  for (std::size_t i = 0; i < r.size(); ++i) g[i] = glass_g(r[i], amplitude);
  return pair_entropy(r, g, paper_nominal_rho0_per_cubic_angstrom, r_max).per_atom_k_B;
}

}  // namespace insitu::analysis::test
