// Analytic checks of the pyFAI geometry conventions.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "analysis/integration/geometry.hpp"

namespace insitu::analysis {
namespace {

constexpr double pi = std::numbers::pi;

Geometry flat(double rot1 = 0, double rot2 = 0, double rot3 = 0) {
  Geometry g;
  g.distance_m = 0.3;
  g.pixel1_m = g.pixel2_m = 200e-6;
  g.poni1_m = 1024 * 200e-6;  // PONI on the corner shared by pixels 1023 and 1024: coordinate 1024
  g.poni2_m = 1000 * 200e-6;
  g.rot1_rad = rot1;
  g.rot2_rad = rot2;
  g.rot3_rad = rot3;
  g.wavelength_m = 0.2e-10;
  g.height = g.width = 2048;
  return g;
}

TEST(Geometry, PixelAtThePoniHasZeroTwoTheta) {
  const PixelGeometry pg(flat());
  EXPECT_NEAR(pg.two_theta_rad(1024.0, 1000.0), 0.0, 1e-15);
  EXPECT_NEAR(pg.q_inv_angstrom(1024.0, 1000.0), 0.0, 1e-12);
  EXPECT_DOUBLE_EQ(pg.solid_angle(1024.0, 1000.0), 1.0);
}

TEST(Geometry, UntiltedTwoThetaIsAtanOfRadiusOverDistance) {
  const PixelGeometry pg(flat());
  // 500 pixels along axis 2 and 300 along axis 1 from the PONI.
  const double r = std::hypot(500 * 200e-6, 300 * 200e-6);
  const double tth = std::atan(r / 0.3);
  EXPECT_NEAR(pg.two_theta_rad(1324.0, 1500.0), tth, 1e-14);
  EXPECT_NEAR(pg.q_inv_angstrom(1324.0, 1500.0), 4 * pi / 0.2 * std::sin(tth / 2), 1e-12);
  // chi = atan2(axis-1 offset, axis-2 offset) with no rotation.
  EXPECT_NEAR(pg.chi_rad(1324.0, 1500.0), std::atan2(300.0, 500.0), 1e-14);
  EXPECT_NEAR(pg.chi_rad(1024.0, 900.0), pi, 1e-14);
  EXPECT_NEAR(pg.solid_angle(1324.0, 1500.0), std::pow(0.3 / std::hypot(0.3, r), 3), 1e-15);
}

TEST(Geometry, Rot1AndRot2TiltTheDirectBeamAwayFromThePoni) {
  // At the PONI, t = R (0, 0, L): R1 gives (t1, t2, t3) = (0, L sin rot1, L cos rot1), R2 gives
  // (-L sin rot2, 0, L cos rot2).
  EXPECT_NEAR(PixelGeometry(flat(0.1)).two_theta_rad(1024.0, 1000.0), 0.1, 1e-14);
  EXPECT_NEAR(PixelGeometry(flat(0.1)).chi_rad(1024.0, 1000.0), 0.0, 1e-14);
  EXPECT_NEAR(PixelGeometry(flat(0, -0.07)).two_theta_rad(1024.0, 1000.0), 0.07, 1e-14);
  EXPECT_NEAR(PixelGeometry(flat(0, 0.07)).chi_rad(1024.0, 1000.0), -pi / 2, 1e-14);
  // The incidence angle (solid angle) ignores the rotations: it is measured from the PONI.
  EXPECT_DOUBLE_EQ(PixelGeometry(flat(0.1, 0.2)).solid_angle(1024.0, 1000.0), 1.0);
}

TEST(Geometry, Rot3RotatesChiButNotTwoTheta) {
  const PixelGeometry plain(flat(0.02, 0.01, 0.0));
  const PixelGeometry turned(flat(0.02, 0.01, 0.3));
  EXPECT_NEAR(turned.two_theta_rad(300.0, 1700.0), plain.two_theta_rad(300.0, 1700.0), 1e-14);
  // R3 is right-handed about the beam: t1' = c t1 - s t2, t2' = s t1 + c t2, so chi' = atan2(t1', t2').
  const LabPosition p = plain.lab(300.0, 1700.0);
  const double c = std::cos(0.3), s = std::sin(0.3);
  EXPECT_NEAR(turned.chi_rad(300.0, 1700.0), std::atan2(c * p.t1_m - s * p.t2_m, s * p.t1_m + c * p.t2_m), 1e-14);
}

TEST(Geometry, PolarizationLimits) {
  const PixelGeometry pg(flat());
  const double tth = pg.two_theta_rad(1024.0, 1800.0);  // on the +axis-2 direction: chi = 0
  const double c2 = std::cos(tth) * std::cos(tth);
  EXPECT_NEAR(pg.polarization(1024.0, 1800.0, 0.0), 0.5 * (1 + c2), 1e-15);
  EXPECT_NEAR(pg.polarization(1024.0, 1800.0, 1.0), c2, 1e-15);  // horizontal polarisation, in plane
  const double tth_v = pg.two_theta_rad(1824.0, 1000.0);          // chi = 90 deg: perpendicular
  EXPECT_NEAR(pg.polarization(1824.0, 1000.0, 1.0), 1.0, 1e-15);
  EXPECT_GT(tth_v, 0.4);
  // axis offset of 90 deg swaps the two.
  EXPECT_NEAR(pg.polarization(1024.0, 1800.0, 1.0, pi / 2), 1.0, 1e-15);
  EXPECT_DOUBLE_EQ(pg.polarization(1024.0, 1000.0, 0.99), 1.0);
}

TEST(Geometry, RejectsNonPhysicalParameters) {
  Geometry g = flat();
  g.distance_m = 0.0;
  EXPECT_THROW(PixelGeometry{g}, std::invalid_argument);
  g = flat();
  g.wavelength_m = -1.0;
  EXPECT_THROW(PixelGeometry{g}, std::invalid_argument);
}

}  // namespace
}  // namespace insitu::analysis

namespace insitu::analysis {
namespace {

TEST(Geometry, MatchesPyFaiForATiltedDetector) {
  // pyFAI 0.21.3 twoThetaArray, chiArray, polarization(0.99) (float32), solidAngleArray and qArray/10 at
  // pixel (299, 1699) of this geometry. pyFAI rounds pixel positions to float32 (~10 nm), hence the 1e-7
  // tolerance for the exact double geometry, and bit-level agreement via pyfai_centre_offsets_m.
  const PixelGeometry pg(flat(0.02, 0.01, 0.3));
  EXPECT_NEAR(pg.two_theta_rad(299.5, 1699.5), 0.612386578277673, 1e-7);
  EXPECT_NEAR(pg.chi_rad(299.5, 1699.5), -1.0921814242487693, 1e-7);
  EXPECT_NEAR(pg.polarization(299.5, 1699.5, 0.99), 0.92896444, 1e-7);
  EXPECT_NEAR(pg.solid_angle(299.5, 1699.5), 0.5722799987364205, 1e-7);
  EXPECT_NEAR(pg.q_inv_angstrom(299.5, 1699.5), 18.939479383568457, 2e-6);

  const auto [p1, p2] = pg.pyfai_centre_offsets_m(299, 1699);
  const LabPosition t = pg.lab_from_offsets(p1, p2);
  const double tth = std::atan2(std::hypot(t.t1_m, t.t2_m), t.t3_m);
  EXPECT_NEAR(tth, 0.612386578277673, 1e-14);
  EXPECT_NEAR(pg.q_from_two_theta_inv_angstrom(tth), 18.939479383568457, 1e-12);
  EXPECT_NEAR(std::pow(pg.cos_incidence_from_offsets(p1, p2), 3), 0.5722799987364205, 1e-15);
}

}  // namespace
}  // namespace insitu::analysis
