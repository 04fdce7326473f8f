#include "analysis/integration/geometry.hpp"

#include <cmath>
#include <numbers>
#include <stdexcept>

namespace insitu::analysis {

PixelGeometry::PixelGeometry(const Geometry& geometry) : geometry_(geometry) {
  if (!(geometry.distance_m > 0.0)) throw std::invalid_argument("geometry: distance must be > 0 m");
  if (!(geometry.pixel1_m > 0.0) || !(geometry.pixel2_m > 0.0))
    throw std::invalid_argument("geometry: pixel sizes must be > 0 m");
  if (!(geometry.wavelength_m > 0.0)) throw std::invalid_argument("geometry: wavelength must be > 0 m");
  const double c1 = std::cos(geometry.rot1_rad), s1 = std::sin(geometry.rot1_rad);
  const double c2 = std::cos(geometry.rot2_rad), s2 = std::sin(geometry.rot2_rad);
  const double c3 = std::cos(geometry.rot3_rad), s3 = std::sin(geometry.rot3_rad);
  // pyFAI geometry.rotation_matrix: R1, R2 left-handed, R3 right-handed, applied R3 . R2 . R1.
  const std::array<double, 9> r1{1, 0, 0, 0, c1, s1, 0, -s1, c1};
  const std::array<double, 9> r2{c2, 0, -s2, 0, 1, 0, s2, 0, c2};
  const std::array<double, 9> r3{c3, -s3, 0, s3, c3, 0, 0, 0, 1};
  auto mul = [](const std::array<double, 9>& a, const std::array<double, 9>& b) {
    std::array<double, 9> m{};
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j)
        for (int k = 0; k < 3; ++k) m[i * 3 + j] += a[i * 3 + k] * b[k * 3 + j];
    return m;
  };
  rotation_ = mul(mul(r3, r2), r1);
  four_pi_over_lambda_inv_angstrom_ = 4.0 * std::numbers::pi / (geometry.wavelength_m * 1e10);
}

LabPosition PixelGeometry::lab(double y_px, double x_px) const {
  return lab_from_offsets(y_px * geometry_.pixel1_m - geometry_.poni1_m, x_px * geometry_.pixel2_m - geometry_.poni2_m);
}

std::array<double, 2> PixelGeometry::pyfai_centre_offsets_m(std::size_t row, std::size_t column) const {
  // detector.calc_cartesian_positions: float32(pixel) * (float32(index) + 0.5f), then minus float32(poni).
  const float p1 = static_cast<float>(geometry_.pixel1_m) * (static_cast<float>(row) + 0.5f);
  const float p2 = static_cast<float>(geometry_.pixel2_m) * (static_cast<float>(column) + 0.5f);
  return {static_cast<double>(p1 - static_cast<float>(geometry_.poni1_m)),
          static_cast<double>(p2 - static_cast<float>(geometry_.poni2_m))};
}

LabPosition PixelGeometry::lab_from_offsets(double p1, double p2) const {
  const double p3 = geometry_.distance_m;
  const auto& m = rotation_;
  return {m[0] * p1 + m[1] * p2 + m[2] * p3, m[3] * p1 + m[4] * p2 + m[5] * p3,
          m[6] * p1 + m[7] * p2 + m[8] * p3};
}

double PixelGeometry::two_theta_rad(double y_px, double x_px) const {
  const LabPosition t = lab(y_px, x_px);
  return std::atan2(std::sqrt(t.t1_m * t.t1_m + t.t2_m * t.t2_m), t.t3_m);
}

double PixelGeometry::chi_rad(double y_px, double x_px) const {
  const LabPosition t = lab(y_px, x_px);
  return std::atan2(t.t1_m, t.t2_m);
}

double PixelGeometry::q_from_two_theta_inv_angstrom(double two_theta_rad) const {
  return four_pi_over_lambda_inv_angstrom_ * std::sin(0.5 * two_theta_rad);
}

double PixelGeometry::q_inv_angstrom(double y_px, double x_px) const {
  return q_from_two_theta_inv_angstrom(two_theta_rad(y_px, x_px));
}

double PixelGeometry::cos_incidence(double y_px, double x_px) const {
  return cos_incidence_from_offsets(y_px * geometry_.pixel1_m - geometry_.poni1_m,
                                    x_px * geometry_.pixel2_m - geometry_.poni2_m);
}

double PixelGeometry::cos_incidence_from_offsets(double p1, double p2) const {
  const double d = geometry_.distance_m;
  return d / std::sqrt(d * d + p1 * p1 + p2 * p2);
}

double PixelGeometry::solid_angle(double y_px, double x_px) const {
  const double c = cos_incidence(y_px, x_px);
  return c * c * c;
}

double PixelGeometry::polarization(double y_px, double x_px, double factor, double axis_offset_rad) const {
  const LabPosition t = lab(y_px, x_px);
  const double tth = std::atan2(std::sqrt(t.t1_m * t.t1_m + t.t2_m * t.t2_m), t.t3_m);
  const double chi = std::atan2(t.t1_m, t.t2_m);
  const double cos2 = std::cos(tth) * std::cos(tth);
  return 0.5 * (1.0 + cos2 - factor * std::cos(2.0 * (chi + axis_offset_rad)) * (1.0 - cos2));
}

}  // namespace insitu::analysis
