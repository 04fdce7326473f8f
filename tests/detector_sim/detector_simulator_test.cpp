#include "drivers/detector/sim/detector_simulator.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <numeric>
#include <sstream>

#include "analysis/integration/azimuthal_integrator.hpp"
#include "drivers/detector/frame_files.hpp"
#include "drivers/detector/frame_pairing.hpp"
#include "tests/test_data.hpp"

namespace fs = std::filesystem;
using namespace insitu;
using namespace insitu::detector::sim;
using insitu::detector::Frame;

namespace {

DetectorSimConfig small_config(std::size_t binning = 16) {
  DetectorSimConfig c;
  c.poni_path = INSITU_SOURCE_DIR "/config/instruments/xrd1621-60keV.poni";
  c.form_factor_path = testdata::form_factor_table();
  c.binning = binning;
  return c;
}

class DetectorSim : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("insitu-detsim-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

// 10 K/min from 300 K.
double ramp_mean_K(double t0, double t1) { return 300.0 + (0.5 * (t0 + t1)) * 10.0 / 60.0; }

}  // namespace

TEST_F(DetectorSim, PoniReachesQ25InTheCorners) {
  const auto g = analysis::read_poni(small_config().poni_path);
  EXPECT_EQ(g.height, 2048u);
  const analysis::PixelGeometry p(g);
  EXPECT_NEAR(p.q_inv_angstrom(0.5, 2047.5), 25.0, 0.3);
}

TEST_F(DetectorSim, NoiselessFrameIntegratesBackToTheModelProfile) {
  auto config = small_config(4);  // 512^2
  config.noise = false;
  config.bad_pixel_fraction = 0.0;
  config.subframes = 3;  // uint32: no rounding limit at this signal
  config.signal_adu_per_s = 1e4;  // 1.2e5 ADU at the peak: below 3 x 65535
  const GlassModel model;
  const auto table = analysis::FormFactorTable::load(config.form_factor_path.string());
  const FrameRenderer renderer(config, model, table);
  const auto profile = renderer.profile_adu_per_s(model.state(500.0));
  const Frame frame = renderer.render(profile, 12.0, false, 1);
  const Frame dark = renderer.render(profile, 12.0, true, 2);
  ASSERT_EQ(frame.pixel_type(), detector::PixelType::uint32);

  analysis::IntegrationSetup setup;
  setup.npt = 300;
  setup.split = analysis::PixelSplit::none;
  setup.q_range_inv_angstrom = std::make_pair(1.0, 20.0);
  analysis::AzimuthalIntegrator integrator(renderer.geometry(), setup);
  const auto& pixels = std::get<std::vector<std::uint32_t>>(frame.pixels);
  const auto& dark_pixels = std::get<std::vector<std::uint32_t>>(dark.pixels);
  std::vector<float> dark_f(dark_pixels.begin(), dark_pixels.end());
  const auto pattern = integrator.integrate(
      analysis::ImageView<std::uint32_t>{pixels, frame.height, frame.width}, dark_f);

  // Model at the bin centres (linear interpolation of the renderer's grid).
  const auto& q = renderer.profile_q_inv_angstrom();
  std::vector<double> x, y;
  for (std::size_t b = 0; b < pattern.q_inv_angstrom.size(); ++b) {
    if (pattern.count[b] < 4) continue;
    const double u = (pattern.q_inv_angstrom[b] - q.front()) / (q[1] - q[0]);
    const auto i = static_cast<std::size_t>(u);
    x.push_back(profile[i] + (u - i) * (profile[i + 1] - profile[i]));
    y.push_back(pattern.intensity[b]);
  }
  ASSERT_GT(x.size(), 250u);
  const double n = static_cast<double>(x.size());
  const double mx = std::accumulate(x.begin(), x.end(), 0.0) / n, my = std::accumulate(y.begin(), y.end(), 0.0) / n;
  double sxy = 0, sxx = 0, syy = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  EXPECT_GT(sxy / std::sqrt(sxx * syy), 0.999);
  EXPECT_NEAR(sxy / sxx, 12.0, 0.12);  // scale = exposure: the integrator undoes solid angle and polarisation
}

TEST_F(DetectorSim, DarkFramesHoldOffsetAndDarkCurrentOnly) {
  auto config = small_config(4);
  const GlassModel model;
  const auto table = analysis::FormFactorTable::load(config.form_factor_path.string());
  const FrameRenderer renderer(config, model, table);
  const auto profile = renderer.profile_adu_per_s(model.state(300.0));
  const Frame dark = renderer.render(profile, 12.0, true, 5);
  const Frame light = renderer.render(profile, 12.0, false, 5);
  ASSERT_EQ(dark.pixel_type(), detector::PixelType::uint16);
  const auto& d = std::get<std::vector<std::uint16_t>>(dark.pixels);
  double sum = 0, sum2 = 0;
  std::size_t good = 0;
  for (std::size_t i = 0; i < d.size(); ++i) {
    if (renderer.bad_pixels()[i] != 0) continue;
    sum += d[i];
    sum2 += double(d[i]) * d[i];
    ++good;
  }
  const double mean = sum / good, var = sum2 / good - mean * mean;
  EXPECT_NEAR(mean, 1000.0 + 2.0 * 12.0, 0.5);
  // Read noise 4 ADU and the dark current's shot noise, averaged over the 4x4 binned pixels, plus rounding.
  EXPECT_NEAR(var, (16.0 + 24.0) / 16.0 + 1.0 / 12.0, 0.3);
  EXPECT_GT(light.sum(), 1.2 * dark.sum());
  // Deterministic: the same seed gives the same frame.
  EXPECT_EQ(std::get<std::vector<std::uint16_t>>(renderer.render(profile, 12.0, true, 5).pixels), d);
}

TEST_F(DetectorSim, SubframesSumToUint32AndSaturateFromTheHotPixels) {
  auto config = small_config();
  config.subframes = 3;
  config.bad_pixel_fraction = 0.01;
  const GlassModel model;
  const auto table = analysis::FormFactorTable::load(config.form_factor_path.string());
  const FrameRenderer renderer(config, model, table);
  const Frame f = renderer.render(renderer.profile_adu_per_s(model.state(300.0)), 12.0, false, 1);
  const auto& p = std::get<std::vector<std::uint32_t>>(f.pixels);
  std::size_t hot = 0, dead = 0;
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (renderer.bad_pixels()[i] == 1) { EXPECT_EQ(p[i], 3u * 65535u); ++hot; }
    if (renderer.bad_pixels()[i] == 2) { EXPECT_EQ(p[i], 0u); ++dead; }
  }
  EXPECT_GT(hot, 0u);
  EXPECT_GT(dead, 0u);
  EXPECT_GT(*std::max_element(p.begin(), p.end()), 65535u);
}

TEST_F(DetectorSim, PulsesWriteFramesTruthAndFaults) {
  DetectorSimulator sim(small_config(), dir_, "ramp", ramp_mean_K, 1.7e9, 1);
  sim.inject_fault(2, FileFault::missing);
  sim.inject_fault(3, FileFault::truncated);
  sim.inject_fault(4, FileFault::duplicate);
  sim.inject_fault(5, FileFault::clock_skew, 7.5);
  sim.inject_fault(6, FileFault::delayed, 30.0);
  sim.inject_fault(1, FileFault::orphan);
  sim.on_pulse(0.0);  // before arming: ignored
  sim.arm(1.0);
  for (int k = 0; k <= 7; ++k) {
    if (k == 7) sim.set_shutter_open(false);
    sim.on_pulse(5.0 + 12.0 * k);
  }
  ASSERT_EQ(sim.frames_read_out(), 8);
  EXPECT_TRUE(fs::exists(sim.frame_path(1)));  // pre-trigger image
  EXPECT_TRUE(sim.truth()[0].pre_trigger);
  EXPECT_FALSE(fs::exists(sim.frame_path(3)));  // missing
  EXPECT_TRUE(fs::exists(sim.orphan_path(2)));  // beside image 2, which is written as usual
  EXPECT_TRUE(fs::exists(detector::qxrd_sidecar_path(sim.frame_path(2))));
  EXPECT_FALSE(detector::parse_frame_name(sim.orphan_path(2).filename().string(), "ramp"));
  EXPECT_THROW(detector::read_tiff(sim.frame_path(4)), detector::FrameFileError);
  EXPECT_FALSE(fs::exists(detector::qxrd_sidecar_path(sim.frame_path(4))));
  EXPECT_TRUE(fs::exists(sim.frame_path(5, true)));
  EXPECT_NEAR(*detector::read_qxrd_metadata(detector::qxrd_sidecar_path(sim.frame_path(6))).time_stamp_s(),
              1.7e9 + 65.0 + 7.5, 1e-3);
  EXPECT_FALSE(fs::exists(sim.frame_path(7)));  // delayed by 30 s past its 77 s readout
  sim.advance_to(107.0);
  EXPECT_TRUE(fs::exists(sim.frame_path(7)));
  EXPECT_TRUE(sim.truth()[7].dark);

  const auto frame = detector::read_tiff(sim.frame_path(2));
  const auto md = detector::read_qxrd_metadata(detector::qxrd_sidecar_path(sim.frame_path(2)));
  EXPECT_DOUBLE_EQ(*md.exposure_time_s(), 12.0);
  EXPECT_DOUBLE_EQ(*md.image_number(), 2.0);
  EXPECT_EQ(frame.height, 128u);

  // Truth lines: one per read-out, windows and temperatures as the stage gave them.
  std::ifstream truth(dir_ / "ramp-truth.jsonl");
  std::string line;
  int lines = 0;
  while (std::getline(truth, line)) ++lines;
  EXPECT_EQ(lines, 8);
  EXPECT_DOUBLE_EQ(sim.truth()[1].start_s, 5.0);
  EXPECT_DOUBLE_EQ(sim.truth()[1].mean_T_K, ramp_mean_K(5.0, 17.0));
  EXPECT_NEAR(sim.truth()[1].S_eq_k_B, sim.model().pair_entropy_k_B(ramp_mean_K(5.0, 17.0)), 1e-12);
  EXPECT_TRUE(fs::exists(dir_ / "ramp-truth-gr.jsonl"));

  // fabio reads the same arrays.
  std::string command =
      "/usr/bin/python3 -c 'import sys, logging, fabio\nlogging.getLogger(\"fabio\").setLevel(logging.ERROR)\n"
      "for p in sys.argv[1:]:\n    d = fabio.open(p).data\n"
      "    print(d.shape[0], d.shape[1], repr(float(d.astype(\"float64\").sum())))'";
  const std::vector<fs::path> files{sim.frame_path(1), sim.frame_path(2), sim.frame_path(8)};
  for (const auto& f : files) command += " '" + f.string() + "'";
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buffer[256];
  while (std::fgets(buffer, sizeof buffer, pipe)) output += buffer;
  ASSERT_EQ(::pclose(pipe), 0) << "needs python3-fabio\n" << output;
  std::istringstream in(output);
  for (const auto& f : files) {
    std::size_t rows = 0, cols = 0;
    double sum = 0;
    ASSERT_TRUE(in >> rows >> cols >> sum) << output;
    const auto ours = detector::read_tiff(f);
    EXPECT_EQ(rows, ours.height);
    EXPECT_EQ(cols, ours.width);
    EXPECT_DOUBLE_EQ(sum, ours.sum());
  }
}
