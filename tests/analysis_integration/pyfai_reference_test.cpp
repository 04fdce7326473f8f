// Golden comparison with Debian's pyFAI 0.21.3. pyfai_reference.py makes a CeO2-like image on a Pilatus-like
// detector (rings at the CeO2 d-spacings, module gaps and dead pixels < 0) and integrates it at test time:
// q_A^-1, mask = img < 0, solid angle on, error_model="poisson", methods ('no','histogram') and ('bbox','csr'),
// with the automatic range and npt=1000, or radial_range=(1,5), npt=100 and polarization_factor=0.9.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "analysis/integration/azimuthal_integrator.hpp"
#include "tests/analysis_integration/tiff_image.hpp"

namespace insitu::analysis {
namespace {

struct XyColumns {
  std::vector<double> q, intensity, sigma, count;
};

XyColumns read_xy(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path.string() + ": cannot open");
  XyColumns xy;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream is(line);
    double q, i, s, c;
    if (!(is >> q >> i >> s)) throw std::runtime_error(path.string() + ": bad line '" + line + "'");
    xy.q.push_back(q);
    xy.intensity.push_back(i);
    xy.sigma.push_back(s);
    if (!(is >> c)) throw std::runtime_error(path.string() + ": no count column");
    xy.count.push_back(c);
  }
  return xy;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

struct Deviation {
  std::vector<double> intensity, sigma;  // relative, bins with >= 10 pixels
  double max_q_abs = 0.0;
};

// Per-bin relative deviations of our pattern from pyFAI's, whose pixel counts must agree to 1e-6.
Deviation deviation(const Pattern& p, const XyColumns& ref, const char* label, bool skip_edge_bins) {
  EXPECT_EQ(ref.q.size(), p.q_inv_angstrom.size());
  Deviation dev;
  for (std::size_t b = 0; b < std::min(ref.q.size(), p.q_inv_angstrom.size()); ++b) {
    dev.max_q_abs = std::max(dev.max_q_abs, std::fabs(p.q_inv_angstrom[b] - ref.q[b]));
    if (skip_edge_bins && (b == 0 || b + 1 == ref.q.size())) continue;
    // Bins of fewer than 10 pixels (at the beam centre) are left out: there pyFAI's bbox keeps the part of the
    // centre pixel's box below Q = 0 in bin 0 while we drop it before weighting, so bins 0 and 1 differ by design.
    if (p.count[b] < 10.0) continue;
    EXPECT_NEAR(p.count[b], ref.count[b], 1e-6 * ref.count[b]) << "bin " << b;
    dev.intensity.push_back(std::fabs(p.intensity[b] / ref.intensity[b] - 1.0));
    dev.sigma.push_back(std::fabs(p.sigma[b] / ref.sigma[b] - 1.0));
  }
  std::cout << label << ": " << dev.intensity.size() << " bins with >= 10 px; |dI/I| median "
            << percentile(dev.intensity, 0.5) << " p99 " << percentile(dev.intensity, 0.99) << " max "
            << percentile(dev.intensity, 1.0) << "; |dsigma/sigma| median " << percentile(dev.sigma, 0.5) << " max "
            << percentile(dev.sigma, 1.0) << "; max |dq| " << dev.max_q_abs << " 1/A\n";
  return dev;
}

struct Options {
  std::size_t npt = 1000;
  bool skip_edge_bins = false;
  std::optional<std::pair<double, double>> q_range;
  std::optional<double> polarization;
};

// The image, its PONI and pyFAI's integration, made in a scratch folder by pyfai_reference.py.
struct Reference {
  testing::FloatImage image;
  Geometry geometry;
  XyColumns xy;
};

Reference make_reference(const char* split, const Options& options) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("insitu-pyfai-" + std::to_string(::getpid()) + "-" + split);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::ostringstream command;
  command << "/usr/bin/python3 " INSITU_SOURCE_DIR "/tests/analysis_integration/pyfai_reference.py '" << dir.string()
          << "' " << split << " " << options.npt;
  if (options.q_range) command << " " << options.q_range->first << " " << options.q_range->second;
  if (options.polarization) command << " " << *options.polarization;
  if (std::system(command.str().c_str()) != 0)
    throw std::runtime_error(command.str() + " failed (needs python3-pyfai and python3-fabio)");
  Reference ref{testing::read_tiff(dir / "ceo2.tif"), read_poni(dir / "ceo2.poni"), read_xy(dir / "reference.xy")};
  std::filesystem::remove_all(dir);
  return ref;
}

Deviation compare(PixelSplit split, const char* label, Options options = {}) {
  const Reference ref = make_reference(split == PixelSplit::none ? "no" : "bbox", options);
  EXPECT_EQ(ref.geometry.height, ref.image.height);  // shape from the PONI's Detector_config max_shape
  EXPECT_EQ(ref.geometry.width, ref.image.width);

  IntegrationSetup setup;
  setup.npt = options.npt;
  setup.q_range_inv_angstrom = options.q_range;
  setup.polarization_factor = options.polarization;
  setup.correct_solid_angle = true;
  setup.split = split;
  setup.mask.resize(ref.image.pixels.size());
  for (std::size_t j = 0; j < ref.image.pixels.size(); ++j) setup.mask[j] = ref.image.pixels[j] < 0.0f ? 1 : 0;
  AzimuthalIntegrator integrator(ref.geometry, setup);
  const Pattern p = integrator.integrate(ImageView<float>{ref.image.pixels, ref.image.height, ref.image.width});
  return deviation(p, ref.xy, label, options.skip_edge_bins);
}

TEST(PyFaiReference, NoSplitHistogramMatchesWithinPointOnePercent) {
  const Deviation dev = compare(PixelSplit::none, "no/histogram");
  EXPECT_GT(dev.intensity.size(), 900u);
  EXPECT_LT(dev.max_q_abs, 1e-6);
  EXPECT_LE(percentile(dev.intensity, 1.0), 1e-6);  // same bins, same pixels, same weights (requirement: 1e-3)
  EXPECT_LE(percentile(dev.sigma, 1.0), 1e-6);
}

TEST(PyFaiReference, BboxCsrMatchesWithinPointOnePercent) {
  const Deviation dev = compare(PixelSplit::bbox, "bbox/csr");
  EXPECT_GT(dev.intensity.size(), 900u);
  EXPECT_LT(dev.max_q_abs, 1e-6);
  EXPECT_LE(percentile(dev.intensity, 1.0), 1e-6);  // same bins, same pixels, same weights (requirement: 1e-3)
  EXPECT_LE(percentile(dev.sigma, 1.0), 1e-6);
}

// With an explicit range pyFAI 0.21.3 truncates bin positions toward zero, so its first bin also takes
// pixels up to one bin below qmin (and bbox edge boxes get weights > 1). We keep only what lies inside
// the range, so the two edge bins differ by design; every other bin must match.

TEST(PyFaiReference, ExplicitRangeWithPolarizationNoSplit) {
  const Deviation dev = compare(PixelSplit::none, "no/histogram range 1-5 pol 0.9", {100, true, std::pair{1.0, 5.0}, 0.9});
  EXPECT_EQ(dev.intensity.size(), 98u);
  EXPECT_LT(dev.max_q_abs, 1e-6);
  EXPECT_LE(percentile(dev.intensity, 1.0), 1e-6);
  EXPECT_LE(percentile(dev.sigma, 1.0), 1e-6);
}

TEST(PyFaiReference, ExplicitRangeWithPolarizationBbox) {
  const Deviation dev = compare(PixelSplit::bbox, "bbox/csr range 1-5 pol 0.9", {100, true, std::pair{1.0, 5.0}, 0.9});
  EXPECT_EQ(dev.intensity.size(), 98u);
  EXPECT_LT(dev.max_q_abs, 1e-6);
  EXPECT_LE(percentile(dev.intensity, 1.0), 1e-6);
  EXPECT_LE(percentile(dev.sigma, 1.0), 1e-6);
}

}  // namespace
}  // namespace insitu::analysis
