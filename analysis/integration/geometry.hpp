#pragma once
// PONI geometry (pyFAI convention) and the per-pixel quantities derived from it.
// Detector coordinates are in pixel units along axis 1 (slow, rows, y) and axis 2 (fast, columns, x);
// the centre of pixel (row i, column j) is at (i + 0.5, j + 0.5), the pixel's corners at integer coordinates.

#include <array>
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

namespace insitu::analysis {

struct Geometry {
  double distance_m = 0.0;  // sample to PONI along the detector normal
  double poni1_m = 0.0;     // PONI along axis 1 (slow, y), from the detector origin
  double poni2_m = 0.0;     // PONI along axis 2 (fast, x)
  double rot1_rad = 0.0;
  double rot2_rad = 0.0;
  double rot3_rad = 0.0;
  double wavelength_m = 0.0;
  double pixel1_m = 0.0;
  double pixel2_m = 0.0;
  std::size_t height = 0;  // detector rows; 0 when the PONI does not name a detector with a known shape
  std::size_t width = 0;   // detector columns
  std::string detector;    // detector name as written in the PONI ("" if none)
};

// Parses PONI text (versions 1 and 2). `name` is used in error messages ("name:line: why").
Geometry parse_poni(std::string_view text, const std::string& name);
Geometry read_poni(const std::filesystem::path& path);

struct LabPosition {
  double t1_m, t2_m, t3_m;  // sample frame: t3 along the beam, t1/t2 follow detector axes 1/2 before rotation
};

// Evaluates per-point quantities; holds the rotation matrix so repeated calls are cheap. Pure, thread-safe.
class PixelGeometry {
 public:
  explicit PixelGeometry(const Geometry& geometry);

  LabPosition lab(double y_px, double x_px) const;
  // Same, from the in-plane offsets of the point from the PONI along axes 1 and 2.
  LabPosition lab_from_offsets(double p1_m, double p2_m) const;
  // Offsets of the centre of pixel (row, column) from the PONI rounded as pyFAI 0.21.3 computes them
  // (float32 positions). The rounding (~10 nm) is physically irrelevant but decides which bin a pixel
  // near a bin edge falls into, so the no-split histogram only matches pyFAI bin by bin with it.
  std::array<double, 2> pyfai_centre_offsets_m(std::size_t row, std::size_t column) const;
  double two_theta_rad(double y_px, double x_px) const;
  double chi_rad(double y_px, double x_px) const;  // atan2(t1, t2), in (-pi, pi]
  double q_inv_angstrom(double y_px, double x_px) const;
  double q_from_two_theta_inv_angstrom(double two_theta_rad) const;
  // Cosine of the incidence angle on the (unrotated) detector plane; 1 at the PONI.
  double cos_incidence(double y_px, double x_px) const;
  double cos_incidence_from_offsets(double p1_m, double p2_m) const;
  // pyFAI's relative solid angle: cos^3(incidence), 1 at the PONI (absolute = pixel1*pixel2/dist^2 times this).
  double solid_angle(double y_px, double x_px) const;
  // pyFAI's polarisation: P = 1/2 [1 + cos^2 2th - f cos(2(chi + offset)) (1 - cos^2 2th)].
  double polarization(double y_px, double x_px, double factor, double axis_offset_rad = 0.0) const;

 private:
  Geometry geometry_;
  std::array<double, 9> rotation_{};  // row-major R3 * R2 * R1
  double four_pi_over_lambda_inv_angstrom_ = 0.0;
};

}  // namespace insitu::analysis
