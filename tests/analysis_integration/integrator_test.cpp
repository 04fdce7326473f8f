// Behaviour of the integrator on small synthetic detectors (fast; the pyFAI golden test is separate).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

#include "analysis/integration/azimuthal_integrator.hpp"
#include "tests/analysis_integration/allocation_counter.hpp"

namespace insitu::analysis {
namespace {

constexpr std::size_t rows = 60, cols = 70;

Geometry small_detector() {
  Geometry g;
  g.distance_m = 0.05;
  g.pixel1_m = g.pixel2_m = 1e-3;
  g.poni1_m = 20.3e-3;
  g.poni2_m = 31.7e-3;
  g.rot1_rad = 0.03;
  g.rot2_rad = -0.02;
  g.wavelength_m = 0.5e-10;
  g.height = rows;
  g.width = cols;
  return g;
}

IntegrationSetup setup_for(PixelSplit split, std::size_t threads = 2) {
  IntegrationSetup s;
  s.npt = 50;
  s.split = split;
  s.threads = threads;
  return s;
}

std::vector<float> ramp_image(float offset = 100.0f) {
  std::vector<float> img(rows * cols);
  for (std::size_t j = 0; j < img.size(); ++j) img[j] = offset + static_cast<float>((j * 7919) % 113);
  return img;
}

ImageView<float> view(const std::vector<float>& img) { return {img, rows, cols}; }

class BothSplits : public ::testing::TestWithParam<PixelSplit> {};

TEST_P(BothSplits, CorrectedImageOfConstantIntensityGivesThatConstant) {
  // raw_j = 250 * Omega_j * P_j: every bin's weighted mean is exactly 250.
  AzimuthalIntegrator ai(small_detector(), setup_for(GetParam()));
  std::vector<float> img(rows * cols);
  for (std::size_t j = 0; j < img.size(); ++j) img[j] = 250.0f * ai.normalization()[j];
  EXPECT_LT(ai.normalization()[0], 0.9f);  // corrections are really on
  const Pattern p = ai.integrate(view(img));
  std::size_t filled = 0;
  for (std::size_t b = 0; b < p.intensity.size(); ++b) {
    if (p.count[b] == 0.0) continue;
    ++filled;
    EXPECT_NEAR(p.intensity[b], 250.0, 250.0 * 2e-7) << "bin " << b;
  }
  EXPECT_GE(filled, 45u);
}

TEST_P(BothSplits, EveryUnmaskedPixelIsCountedOnce) {
  IntegrationSetup s = setup_for(GetParam());
  s.mask.assign(rows * cols, 0);
  for (std::size_t j = 0; j < s.mask.size(); j += 5) s.mask[j] = 1;
  AzimuthalIntegrator ai(small_detector(), s);
  const Pattern p = ai.integrate(view(ramp_image()));
  const double total = std::accumulate(p.count.begin(), p.count.end(), 0.0);
  EXPECT_NEAR(total, static_cast<double>(rows * cols - rows * cols / 5), 1e-6);
}

TEST_P(BothSplits, PoissonSigmaOfAFlatUncorrectedImage) {
  IntegrationSetup s = setup_for(GetParam());
  s.correct_solid_angle = false;
  s.polarization_factor.reset();
  AzimuthalIntegrator ai(small_detector(), s);
  const std::vector<float> img(rows * cols, 400.0f);
  const Pattern p = ai.integrate(view(img));
  for (std::size_t b = 0; b < p.intensity.size(); ++b) {
    if (p.count[b] == 0.0) continue;
    EXPECT_NEAR(p.intensity[b], 400.0, 1e-9);
    if (GetParam() == PixelSplit::none) {  // n pixels of variance 400: sigma = sqrt(400 n) / n
      EXPECT_NEAR(p.sigma[b], std::sqrt(400.0 / p.count[b]), 1e-9);
    } else {  // sum c^2 <= sum c: splitting can only lower the (correlated) sigma
      EXPECT_LE(p.sigma[b], std::sqrt(400.0 / p.count[b]) * (1 + 1e-12));
    }
  }
}

TEST_P(BothSplits, DarkIsSubtractedAndAddsToTheVariance) {
  AzimuthalIntegrator ai(small_detector(), setup_for(GetParam()));
  const std::vector<float> signal = ramp_image();
  const std::vector<float> dark(rows * cols, 30.0f);
  std::vector<float> raw(rows * cols);
  for (std::size_t j = 0; j < raw.size(); ++j) raw[j] = signal[j] + dark[j];
  const Pattern clean = ai.integrate(view(signal));
  const Pattern with_dark = ai.integrate(view(raw), dark);
  for (std::size_t b = 0; b < clean.intensity.size(); ++b) {
    EXPECT_NEAR(with_dark.intensity[b], clean.intensity[b], 1e-9 * std::fabs(clean.intensity[b]) + 1e-12);
    if (clean.count[b] > 0.0) {
      EXPECT_GT(with_dark.sigma[b], clean.sigma[b]);  // v = raw + dark
    }
  }
}

// A block of pixels holding a dynamically masked pixel takes the checked path: the dark still applies there.
TEST_P(BothSplits, DarkIsSubtractedNextToDynamicallyMaskedPixels) {
  IntegrationSetup dynamic_setup = setup_for(GetParam());
  dynamic_setup.mask_negative = true;
  IntegrationSetup static_setup = setup_for(GetParam());
  static_setup.mask.assign(rows * cols, 0);
  const std::vector<float> signal = ramp_image();
  const std::vector<float> dark(rows * cols, 30.0f);
  std::vector<float> raw(rows * cols);
  for (std::size_t j = 0; j < raw.size(); ++j) raw[j] = signal[j] + dark[j];
  const std::size_t gap = 17 * cols + 23;
  raw[gap] = -1.0f;
  static_setup.mask[gap] = 1;
  static_setup.q_range_inv_angstrom = dynamic_setup.q_range_inv_angstrom = std::pair{0.5, 8.0};
  const Pattern a = AzimuthalIntegrator(small_detector(), dynamic_setup).integrate(view(raw), dark);
  const Pattern b = AzimuthalIntegrator(small_detector(), static_setup).integrate(view(signal));
  for (std::size_t i = 0; i < a.intensity.size(); ++i) {
    EXPECT_NEAR(a.intensity[i], b.intensity[i], 1e-9 * std::fabs(b.intensity[i])) << "bin " << i;
    EXPECT_NEAR(a.count[i], b.count[i], 1e-9);
  }
}

TEST_P(BothSplits, BackgroundPatternIsSubtractedWithScale) {
  AzimuthalIntegrator ai(small_detector(), setup_for(GetParam()));
  const std::vector<float> sample = ramp_image(500.0f);
  const std::vector<float> empty_cell = ramp_image(50.0f);
  const Pattern bg = ai.integrate(view(empty_cell));
  const Pattern plain = ai.integrate(view(sample));
  ai.set_background(bg, 0.8);
  const Pattern sub = ai.integrate(view(sample));
  for (std::size_t b = 0; b < plain.intensity.size(); ++b) {
    if (plain.count[b] == 0.0) continue;
    EXPECT_NEAR(sub.intensity[b], plain.intensity[b] - 0.8 * bg.intensity[b], 1e-9 * plain.intensity[b]);
    EXPECT_NEAR(sub.sigma[b], std::hypot(plain.sigma[b], 0.8 * bg.sigma[b]), 1e-12 * plain.intensity[b]);
  }
  ai.clear_background();
  EXPECT_EQ(ai.integrate(view(sample)).intensity, plain.intensity);
  Pattern wrong = bg;
  wrong.q_inv_angstrom[3] += 0.1;
  EXPECT_THROW(ai.set_background(wrong, 1.0), std::invalid_argument);
}

TEST_P(BothSplits, ThreadCountDoesNotChangeTheResult) {
  AzimuthalIntegrator one(small_detector(), setup_for(GetParam(), 1));
  AzimuthalIntegrator three(small_detector(), setup_for(GetParam(), 3));
  EXPECT_EQ(three.threads(), 3u);
  const std::vector<float> img = ramp_image();
  const Pattern a = one.integrate(view(img));
  const Pattern b = three.integrate(view(img));
  for (std::size_t i = 0; i < a.intensity.size(); ++i) {
    EXPECT_NEAR(a.intensity[i], b.intensity[i], 1e-12 * std::fabs(a.intensity[i]));
    EXPECT_NEAR(a.sigma[i], b.sigma[i], 1e-12 * std::fabs(a.sigma[i]));
    EXPECT_NEAR(a.count[i], b.count[i], 1e-9);
  }
}

TEST_P(BothSplits, IntegerFramesGiveTheSameResultAsFloat) {
  AzimuthalIntegrator ai(small_detector(), setup_for(GetParam()));
  const std::vector<float> img = ramp_image();
  std::vector<std::uint16_t> u16(img.begin(), img.end());
  std::vector<std::uint32_t> u32(img.begin(), img.end());
  std::vector<std::int32_t> i32(img.begin(), img.end());
  const Pattern f = ai.integrate(view(img));
  EXPECT_EQ(ai.integrate(ImageView<std::uint16_t>{u16, rows, cols}).intensity, f.intensity);
  EXPECT_EQ(ai.integrate(ImageView<std::uint32_t>{u32, rows, cols}).intensity, f.intensity);
  EXPECT_EQ(ai.integrate(ImageView<std::int32_t>{i32, rows, cols}).sigma, f.sigma);
}

TEST_P(BothSplits, DynamicMasksDropDummyNegativeAndNonFinitePixels) {
  IntegrationSetup s = setup_for(GetParam());
  s.dummy = -7.0f;
  s.mask_negative = true;
  std::vector<float> img = ramp_image();
  IntegrationSetup static_setup = setup_for(GetParam());
  static_setup.mask.assign(rows * cols, 0);
  for (std::size_t j = 0; j < img.size(); j += 11) {
    img[j] = (j % 3 == 0) ? -7.0f : (j % 3 == 1) ? -1.0f : std::numeric_limits<float>::quiet_NaN();
    static_setup.mask[j] = 1;
  }
  // Same as masking those pixels statically (the range is kept: no static mask at the outermost pixels).
  static_setup.q_range_inv_angstrom = s.q_range_inv_angstrom = std::pair{0.5, 8.0};
  AzimuthalIntegrator dynamic(small_detector(), s);
  AzimuthalIntegrator fixed(small_detector(), static_setup);
  const Pattern a = dynamic.integrate(view(img));
  const Pattern b = fixed.integrate(view(img));
  for (std::size_t i = 0; i < a.intensity.size(); ++i) {
    EXPECT_TRUE(std::isfinite(a.intensity[i]));
    EXPECT_NEAR(a.intensity[i], b.intensity[i], 1e-9 * std::fabs(b.intensity[i]));
    EXPECT_NEAR(a.count[i], b.count[i], 1e-9);
  }
}

INSTANTIATE_TEST_SUITE_P(Integrator, BothSplits, ::testing::Values(PixelSplit::none, PixelSplit::bbox),
                         [](const auto& param_info) { return param_info.param == PixelSplit::none ? "none" : "bbox"; });

TEST(Integrator, ExplicitRangeSetsBinCentresAndDropsOutsidePixels) {
  IntegrationSetup s = setup_for(PixelSplit::none);
  s.npt = 10;
  s.q_range_inv_angstrom = std::pair{2.0, 4.0};
  AzimuthalIntegrator ai(small_detector(), s);
  const Pattern p = ai.integrate(view(ramp_image()));
  for (std::size_t b = 0; b < 10; ++b) EXPECT_NEAR(p.q_inv_angstrom[b], 2.1 + 0.2 * static_cast<double>(b), 1e-6);
  EXPECT_DOUBLE_EQ(ai.q_range().second, 4.0 * (1.0 + 1.1920928955078125e-07));
  const PixelGeometry pg(small_detector());
  double inside = 0;
  for (std::size_t i = 0; i < rows; ++i)
    for (std::size_t j = 0; j < cols; ++j) {
      const double q = pg.q_inv_angstrom(static_cast<double>(i) + 0.5, static_cast<double>(j) + 0.5);
      inside += (q >= 2.0 && q < 4.0) ? 1 : 0;
    }
  EXPECT_GT(inside, 100);
  EXPECT_DOUBLE_EQ(std::accumulate(p.count.begin(), p.count.end(), 0.0), inside);
}

// Bins beyond the outermost pixel get no weight at all: count exactly 0, so they read as empty (the pipeline
// interpolates across such bins), also on a frame with dynamically masked pixels.
TEST_P(BothSplits, BinsNoPixelReachesAreExactlyEmpty) {
  const double detector_q_max = AzimuthalIntegrator(small_detector(), setup_for(GetParam())).q_range().second;
  IntegrationSetup s = setup_for(GetParam());
  s.q_range_inv_angstrom = std::pair{0.0, 1.5 * detector_q_max};
  s.mask_negative = true;
  AzimuthalIntegrator ai(small_detector(), s);
  std::vector<float> img = ramp_image();
  for (const bool with_masked_pixel : {false, true}) {
    if (with_masked_pixel) img[5 * cols + 5] = -2.0f;
    const Pattern p = ai.integrate(view(img));
    std::size_t empty = 0;
    for (std::size_t b = 0; b < p.count.size(); ++b) {
      if (p.q_inv_angstrom[b] <= 1.05 * detector_q_max) continue;
      ++empty;
      EXPECT_EQ(p.count[b], 0.0) << "bin " << b;
      EXPECT_EQ(p.intensity[b], 0.0) << "bin " << b;
      EXPECT_EQ(p.sigma[b], 0.0) << "bin " << b;
    }
    EXPECT_GE(empty, 10u);
  }
}

TEST(Integrator, AutomaticRangeCoversAllPixelsLikePyFai) {
  AzimuthalIntegrator ai(small_detector(), setup_for(PixelSplit::none));
  const PixelGeometry pg(small_detector());
  double lo = 1e9, hi = 0;
  for (std::size_t i = 0; i < rows; ++i)
    for (std::size_t j = 0; j < cols; ++j) {
      const auto [p1, p2] = pg.pyfai_centre_offsets_m(i, j);
      const LabPosition t = pg.lab_from_offsets(p1, p2);
      const double q = pg.q_from_two_theta_inv_angstrom(std::atan2(std::hypot(t.t1_m, t.t2_m), t.t3_m));
      lo = std::min(lo, q);
      hi = std::max(hi, q);
    }
  EXPECT_DOUBLE_EQ(ai.q_range().first, lo);
  EXPECT_DOUBLE_EQ(ai.q_range().second, hi * (1.0 + 1.1920928955078125e-07));
}

// A hot pixel (a dark's bad pixel) moves I(Q) by its excess; masked statically, the frame with it integrates
// exactly like the frame without it.
TEST_P(BothSplits, MaskedHotPixelNoLongerChangesTheIntensity) {
  const auto clean = ramp_image();
  auto hot = clean;
  const std::size_t pixel = 23 * cols + 41;
  hot[pixel] = 65535.0f;
  AzimuthalIntegrator open(small_detector(), setup_for(GetParam()));
  EXPECT_NE(open.integrate(view(hot)).intensity, open.integrate(view(clean)).intensity);

  IntegrationSetup masked_setup = setup_for(GetParam());
  masked_setup.mask.assign(rows * cols, 0);
  masked_setup.mask[pixel] = 1;
  AzimuthalIntegrator masked(small_detector(), masked_setup);
  const Pattern with_hot = masked.integrate(view(hot)), without = masked.integrate(view(clean));
  EXPECT_EQ(with_hot.intensity, without.intensity);
  EXPECT_EQ(with_hot.sigma, without.sigma);
}

// pyFAI's bbox range skips masked pixels, so masking the outermost pixel narrows the grid; with
// range_includes_masked (the pipeline's choice) the grid stays that of the unmasked detector.
TEST(Integrator, RangeIncludingMaskedPixelsKeepsTheGrid) {
  IntegrationSetup s = setup_for(PixelSplit::bbox);
  AzimuthalIntegrator open(small_detector(), s);
  // The pixel holding the top of the range: a corner of the detector for this geometry.
  std::size_t outermost = 0;
  double q_max = 0;
  for (const std::size_t corner : {std::size_t{0}, cols - 1, (rows - 1) * cols, rows * cols - 1}) {
    s.mask.assign(rows * cols, 0);
    s.mask[corner] = 1;
    const AzimuthalIntegrator narrowed(small_detector(), s);
    if (narrowed.q_range().second < open.q_range().second) outermost = corner, q_max = narrowed.q_range().second;
  }
  ASSERT_GT(q_max, 0.0) << "masking one corner narrows pyFAI's range";
  s.mask.assign(rows * cols, 0);
  s.mask[outermost] = 1;
  s.range_includes_masked = true;
  const AzimuthalIntegrator kept(small_detector(), s);
  EXPECT_EQ(kept.q_range(), open.q_range());
  EXPECT_EQ(kept.q_inv_angstrom(), open.q_inv_angstrom());
}

TEST(Integrator, RejectsMismatchedShapes) {
  Geometry no_shape = small_detector();
  no_shape.height = 0;
  EXPECT_THROW(AzimuthalIntegrator(no_shape, setup_for(PixelSplit::none)), std::invalid_argument);
  IntegrationSetup bad_mask = setup_for(PixelSplit::none);
  bad_mask.mask.assign(10, 0);
  EXPECT_THROW(AzimuthalIntegrator(small_detector(), bad_mask), std::invalid_argument);
  AzimuthalIntegrator ai(small_detector(), setup_for(PixelSplit::bbox));
  const std::vector<float> img(rows * cols, 1.0f);
  EXPECT_THROW(ai.integrate(ImageView<float>{img, cols, rows}), std::invalid_argument);
  const std::vector<float> short_dark(10, 0.0f);
  EXPECT_THROW(ai.integrate(view(img), short_dark), std::invalid_argument);
}

}  // namespace
}  // namespace insitu::analysis

namespace insitu::analysis {
namespace {

TEST(Integrator, PerFramePathDoesNotAllocate) {
  for (PixelSplit split : {PixelSplit::none, PixelSplit::bbox}) {
    AzimuthalIntegrator ai(small_detector(), setup_for(split, 2));
    const std::vector<float> img = ramp_image();
    const std::vector<float> dark(rows * cols, 1.0f);
    Pattern out;
    ai.integrate(view(img), out, dark);  // sizes `out`
    const double* storage = out.intensity.data();
    const std::size_t before = testing::allocation_count();
    for (int i = 0; i < 5; ++i) ai.integrate(view(img), out, dark);
    EXPECT_EQ(testing::allocation_count(), before);
    EXPECT_EQ(out.intensity.data(), storage);
  }
}

}  // namespace
}  // namespace insitu::analysis
