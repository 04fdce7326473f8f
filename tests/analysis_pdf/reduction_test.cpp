#include "analysis/pdf/reduction.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <numbers>
#include <sstream>

#include "analysis/pdf/pair_entropy.hpp"
#include "tests/test_data.hpp"

namespace insitu::analysis {
namespace {

const FormFactorTable& table() {
  static const FormFactorTable t = FormFactorTable::load(testdata::form_factor_table());
  return t;
}

std::string read_text(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw std::runtime_error("cannot open " + path);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Real Ni powder data (PDFstream, BSD-3): I(Q) integrated by pyFAI, lambda = 0.1671 A.
const std::string nickel_chi = testdata::path("pdfstream_Ni/Ni_chi_file.chi");
constexpr double nickel_wavelength_angstrom = 0.1671;

// One reduction, as both implementations are asked for it. `data` holds Q, or 2theta when wavelength > 0.
struct Case {
  std::string data;
  Composition composition;
  double qmaxinst, qmax, rpoly, rmax;
  double wavelength = 0.0;
  std::string background;
  double bgscale = 1.0;
};

Case nickel(double qmaxinst, double qmax, double rpoly, double rmax) {
  return {nickel_chi, {{"Ni", 1}}, qmaxinst, qmax, rpoly, rmax, 0.0, "", 1.0};
}

ReducedPdf reduce_case(const Case& c) {
  auto to_q = [&](XyData d) {
    if (c.wavelength > 0.0) d.x = twotheta_to_q(d.x, c.wavelength);
    return d;
  };
  const auto sample = to_q(parse_xy(read_text(c.data), c.data));
  std::optional<XyData> background;
  if (!c.background.empty()) background = to_q(parse_xy(read_text(c.background), c.background));
  ReductionParams p;
  p.qmaxinst_inv_angstrom = c.qmaxinst;
  p.qmax_inv_angstrom = c.qmax;
  p.rpoly_angstrom = c.rpoly;
  p.rmax_angstrom = c.rmax;
  p.bgscale = c.bgscale;
  p.composition = c.composition;
  return reduce(sample.x, sample.y, background, p, table());
}

struct NumpyReduction {
  double intensity_scale = 0.0;
  int polynomial_degree = -1;
  XyData g;
};

// The same reduction by pdf_reference.py, an independent numpy implementation.
NumpyReduction numpy_reduction(const Case& c) {
  std::ostringstream command;
  command << "/usr/bin/python3 " INSITU_SOURCE_DIR "/tests/analysis_pdf/pdf_reference.py '" << c.data << "' ";
  for (std::size_t i = 0; i < c.composition.size(); ++i)
    command << (i ? "," : "") << c.composition[i].first << ":" << c.composition[i].second;
  command.precision(17);
  command << " " << c.qmaxinst << " " << c.qmax << " " << c.rpoly << " " << c.rmax;
  if (c.wavelength > 0.0) command << " " << c.wavelength;
  if (!c.background.empty()) command << " '" << c.background << "' " << c.bgscale;
  FILE* pipe = ::popen(command.str().c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("cannot run " + command.str());
  std::string output;
  char buffer[4096];
  while (std::fgets(buffer, sizeof buffer, pipe)) output += buffer;
  if (::pclose(pipe) != 0) throw std::runtime_error(command.str() + " failed (needs python3-numpy, python3-periodictable)");
  NumpyReduction out;
  if (std::sscanf(output.c_str(), "# A=%lf degree=%d", &out.intensity_scale, &out.polynomial_degree) != 2)
    throw std::runtime_error("pdf_reference.py: no '# A= degree=' header in:\n" + output.substr(0, 200));
  out.g = parse_xy(output, "pdf_reference.py");
  return out;
}

void expect_same_reduction(const Case& c) {
  const auto ours = reduce_case(c);
  const auto ref = numpy_reduction(c);
  EXPECT_EQ(ours.polynomial_degree, ref.polynomial_degree);
  EXPECT_NEAR(ours.intensity_scale, ref.intensity_scale, 1e-9 * ref.intensity_scale);
  ASSERT_EQ(ours.r.size(), ref.g.x.size());
  double g_max = 0.0, worst = 0.0;
  for (double g : ref.g.y) g_max = std::max(g_max, std::fabs(g));
  for (std::size_t i = 0; i < ours.r.size(); ++i) {
    ASSERT_NEAR(ours.r[i], ref.g.x[i], 1e-9);
    worst = std::max(worst, std::fabs(ours.g[i] - ref.g.y[i]));
  }
  std::cout << "[pdf] max |G - G_numpy| = " << worst << " of max |G| " << g_max << ", A = " << ours.intensity_scale
            << ", degree " << ours.polynomial_degree << "\n";
  EXPECT_GT(g_max, 1.0);  // a real PDF, not an empty transform
  EXPECT_LE(worst, 1e-8 * g_max);
}

TEST(PdfReduction, NickelMatchesNumpyReference) {
  // Parameters of the dataset's own pdfgetx3 configuration (Ni_cfg_file.cfg upstream).
  expect_same_reduction(nickel(25.0, 24.0, 2.0, 30.0));
}

// A scratch folder with the Ni data converted to 2theta and a smooth background added at bgscale.
class PdfReductionTwoTheta : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("insitu-pdf-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    const auto ni = parse_xy(read_text(nickel_chi), nickel_chi);
    std::ofstream sample(sample_path()), background(background_path());
    sample.precision(17);
    background.precision(17);
    for (std::size_t i = 0; i < ni.x.size(); ++i) {
      const double twotheta = 2.0 * std::asin(ni.x[i] * nickel_wavelength_angstrom / (4.0 * std::numbers::pi)) *
                              180.0 / std::numbers::pi;
      const double bg = 40.0 + 25.0 * std::exp(-std::pow((twotheta - 4.0) / 2.5, 2));  // a kapton-like hump
      sample << twotheta << " " << ni.y[i] + bgscale * bg << "\n";
      background << twotheta << " " << bg << "\n";
    }
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string sample_path() const { return (dir_ / "sample.chi").string(); }
  std::string background_path() const { return (dir_ / "background.chi").string(); }

  static constexpr double bgscale = 0.8;
  std::filesystem::path dir_;
};

TEST_F(PdfReductionTwoTheta, TwoElementsAndBackgroundMatchNumpyReference) {
  expect_same_reduction({sample_path(), {{"Ni", 19}, {"Cu", 1}}, 22.0, 21.0, 0.9, 20.0, nickel_wavelength_angstrom,
                         background_path(), bgscale});
}

TEST_F(PdfReductionTwoTheta, BackgroundSubtractionRecoversTheNickelPdf) {
  const auto plain = reduce_case(nickel(22.0, 21.0, 0.9, 20.0));
  const auto with_bg = reduce_case({sample_path(), {{"Ni", 1}}, 22.0, 21.0, 0.9, 20.0, nickel_wavelength_angstrom,
                                    background_path(), bgscale});
  ASSERT_EQ(plain.g.size(), with_bg.g.size());
  for (std::size_t i = 0; i < plain.g.size(); ++i) EXPECT_NEAR(with_bg.g[i], plain.g[i], 1e-6) << "r=" << plain.r[i];
}

// g(r) of an fcc powder: neighbour shells (Gaussian, sigma 0.08 A) with their coordination numbers, damped towards
// 1 by a finite crystallite.
std::vector<double> fcc_pair_correlation(double a, const std::vector<double>& r) {
  const double rho0 = 4.0 / (a * a * a), sigma = 0.08;
  std::vector<double> g(r.size(), 0.0);
  const int n = static_cast<int>(r.back() / (a / 2.0)) + 1;
  for (int i = -n; i <= n; ++i)
    for (int j = -n; j <= n; ++j)
      for (int k = -n; k <= n; ++k) {
        const double d = a / 2.0 * std::sqrt(double(i * i + j * j + k * k));
        if ((i + j + k) % 2 != 0 || d == 0.0 || d > r.back()) continue;
        const auto lo = std::lower_bound(r.begin(), r.end(), d - 5.0 * sigma) - r.begin();
        for (auto m = static_cast<std::size_t>(lo); m < r.size() && r[m] < d + 5.0 * sigma; ++m)
          g[m] += std::exp(-0.5 * std::pow((r[m] - d) / sigma, 2)) / (std::sqrt(2.0 * std::numbers::pi) * sigma);
      }
  for (std::size_t m = 0; m < r.size(); ++m) {
    const double crystal = r[m] > 0.0 ? g[m] / (4.0 * std::numbers::pi * r[m] * r[m] * rho0) : 0.0;
    g[m] = 1.0 + std::exp(-std::pow(r[m] / 25.0, 2)) * (crystal - 1.0);
  }
  return g;
}

TEST(PdfReduction, NickelDensityFromAbsoluteSlope) {
  // fcc Ni (a = 3.524 A, rho0 = 4 / a^3 = 0.0914 A^-3) forward-modelled to an absolute I(Q) = A (<f^2> + <f>^2 (S - 1)
  // + I_inc), then reduced. Fitted on 1-2 A: above rpoly = 0.9 A and below the first shell (2.49 A), against the
  // polynomial-filtered line; the bare -4 pi rho0 r line reads low there.
  const double a = 3.524, rho0 = 4.0 / (a * a * a);
  const auto r_fine = r_grid(0.0, 0.005, 50.0);
  std::vector<double> q;
  for (double x = 0.3; x <= 25.0; x += 0.01) q.push_back(x);
  const auto s = structure_factor_from_g(r_fine, fcc_pair_correlation(a, r_fine), rho0, q);
  const auto avg = form_factor_averages(table(), {{"Ni", 1}}, q);
  const auto coherent = coherent_intensity(s, avg);
  std::vector<double> intensity(q.size());
  for (std::size_t i = 0; i < q.size(); ++i) intensity[i] = 25.0 * (coherent[i] + avg.incoherent[i]);
  ReductionParams p;
  p.qmaxinst_inv_angstrom = 25.0;
  p.qmax_inv_angstrom = 24.0;
  p.composition = {{"Ni", 1}};
  const auto pdf = reduce(q, intensity, std::nullopt, p, table());
  const auto density = fit_number_density_filtered(pdf, 1.0, 2.0);
  const double bare = fit_number_density(pdf.r, pdf.g, 1.0, 2.0).rho0_per_cubic_angstrom;
  std::cout << "[pdf] fcc Ni: A = " << pdf.intensity_scale << " (true 25), filtered rho0(1-2 A) = "
            << density.rho0_per_cubic_angstrom << ", bare line " << bare << " (true " << rho0 << ")\n";
  EXPECT_NEAR(pdf.intensity_scale, 25.0, 0.05 * 25.0);
  EXPECT_NEAR(density.rho0_per_cubic_angstrom, rho0, 0.1 * rho0);
  EXPECT_LT(bare, density.rho0_per_cubic_angstrom);
  const auto first_shell = std::max_element(pdf.g.begin(), pdf.g.begin() + 300) - pdf.g.begin();
  EXPECT_NEAR(pdf.r[static_cast<std::size_t>(first_shell)], a / std::sqrt(2.0), 0.02);
}

TEST(PdfReduction, ParsesChiHeadersAndRejectsDisorder) {
  const auto d = parse_xy("title line\n2-Theta Angle (Degrees)\n\n       3\n 0.1 5\n 0.2  6 7\n# c\n0.3 8\n", "x.chi");
  ASSERT_EQ(d.x.size(), 3u);
  EXPECT_DOUBLE_EQ(d.y[1], 6.0);
  try {
    parse_xy("0.1 1\n0.3 2\n0.2 3\n", "bad.chi");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.chi:3"), std::string::npos) << e.what();
  }
}

TEST(PdfReduction, SineTransformOfKnownFunction) {
  // F(Q) = Q exp(-Q^2 s^2 / 2) on [0, inf) transforms to (2/pi) * sqrt(pi/2) r / s^3 exp(-r^2 / (2 s^2)).
  const double s = 0.5;
  std::vector<double> q, f;
  for (double x = 0.0; x <= 20.0; x += 0.005) {
    q.push_back(x);
    f.push_back(x * std::exp(-x * x * s * s / 2));
  }
  const auto r = r_grid(0.0, 0.1, 3.0);
  const auto g = sine_transform(q, f, 0.0, 20.0, r);
  for (std::size_t i = 0; i < r.size(); ++i) {
    const double exact = 2.0 / std::numbers::pi * std::sqrt(std::numbers::pi / 2) * r[i] / (s * s * s) *
                         std::exp(-r[i] * r[i] / (2 * s * s));
    EXPECT_NEAR(g[i], exact, 1e-6) << "r=" << r[i];
  }
}

}  // namespace
}  // namespace insitu::analysis
