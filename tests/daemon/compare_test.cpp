// `insitu compare` on three simulated sample states: the simulator's glass rendered as an as-cast glass and as two
// rejuvenated (HPT-like) states with more static disorder in the first shells (the model's rejuvenation, relaxed
// between 450 and 650 K), each frame analysed by the real pipeline into a run file (`insitu reprocess --frames`).
// compare has to recover the imposed ΔS_eq from noisy frames through its grid, local fits and liquid shift.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <sstream>

#include "analysis/pdf/pair_entropy.hpp"
#include "analysis/pipeline/frame_pipeline.hpp"
#include "daemon/compare_command.hpp"
#include "daemon/dsc_command.hpp"
#include "daemon/reprocess_command.hpp"
#include "daemon/storage/h5.hpp"
#include "drivers/detector/frame_files.hpp"
#include "drivers/detector/sim/detector_simulator.hpp"
#include "tests/stage/sim_fixture.hpp"
#include "tests/test_data.hpp"

namespace insitu::testing {
namespace {

namespace fs = std::filesystem;
namespace h5 = storage::h5;
using ::testing::HasSubstr;

constexpr double heating_K_per_min = 10.0;
constexpr double first_K = 300.0, last_K = 820.0, spacing_K = 6.0;

detector::sim::DetectorSimConfig detector_config(std::uint64_t seed) {
  detector::sim::DetectorSimConfig c;
  c.poni_path = INSITU_SOURCE_DIR "/config/instruments/xrd1621-60keV.poni";
  c.form_factor_path = testdata::form_factor_table();
  c.binning = 8;  // 256² pixels: enough rings for S(Q) to 25 1/A, and quick
  c.seed = seed;
  // Hot pixels the analysis does not mask bias S_eq by an amount that differs between seeds and between glass and
  // liquid; the detector tests cover them. Here the states differ by their structure and their noise only.
  c.bad_pixel_fraction = 0.0;
  return c;
}

// One heating ramp of the glass with `rejuvenation_A2` extra static disorder (relaxed between 450 and 650 K) into
// frames + a dark + the temperature CSV, then through `insitu reprocess --frames` into `run`.
void simulate_state(const fs::path& dir, double rejuvenation_A2, std::uint64_t seed, const fs::path& run) {
  fs::create_directories(dir);
  detector::sim::GlassModelConfig glass;
  glass.rejuvenation_sigma2_angstrom2 = rejuvenation_A2;
  const detector::sim::GlassModel model(glass);
  const auto config = detector_config(seed);
  const auto table = analysis::FormFactorTable::load(config.form_factor_path.string());
  const detector::sim::FrameRenderer renderer(config, model, table);
  const double exposure_s = 12.0;
  detector::write_qxrd_tiff(dir / "dark.tif", renderer.render(renderer.profile_adu_per_s(model.state(first_K)),
                                                               exposure_s, true, seed * 1000));
  std::ofstream csv(dir / "temperatures.csv");
  csv << "file,T_start_K,T_end_K,time_s\n";
  int index = 0;
  for (double T = first_K; T <= last_K + 1e-9; T += spacing_K, ++index) {
    const auto name = "frame-" + std::to_string(index) + ".tif";
    const auto frame = renderer.render(renderer.profile_adu_per_s(model.state(T)), exposure_s, false,
                                       seed * 1000 + static_cast<std::uint64_t>(index) + 1);
    detector::write_qxrd_tiff(dir / name, frame);
    csv << name << "," << T - 1.0 << "," << T + 1.0 << "," << (T - first_K) / heating_K_per_min * 60.0 << "\n";
  }
  csv.close();
  std::ostringstream out, err;
  const int code = daemon::run_reprocess(
      {"--frames", dir.string(), "--poni", config.poni_path.string(), "--temperatures",
       (dir / "temperatures.csv").string(), "--composition", "Cu44Zr44Al8Hf2Co2", "--dark", (dir / "dark.tif").string(),
       "--form-factors", config.form_factor_path.string(), "-o", run.string()},
      out, err);
  ASSERT_EQ(code, 0) << err.str();
}

// S_eq (J/(mol K)) of a noise-free frame of the state at T, analysed by the pipeline with the runs' settings: the
// imposed state as this instrument and reduction render it. The pipeline does not reproduce the model's absolute
// S_eq (no container background is subtracted here, and the reduction's normalisation and Q window broaden g(r)),
// and the renderer scales each state's intensity by its own 300 K pattern (a thickness-like offset the liquid
// shift is there to remove), so ΔS_eq is compared with what the same chain gives without noise; model_s_eq is
// printed beside it.
double noise_free_s_eq(double rejuvenation_A2, double T_K) {
  auto config = detector_config(1);
  config.noise = false;
  detector::sim::GlassModelConfig glass;
  glass.rejuvenation_sigma2_angstrom2 = rejuvenation_A2;
  const detector::sim::GlassModel model(glass);
  const auto table = analysis::FormFactorTable::load(config.form_factor_path.string());
  const detector::sim::FrameRenderer renderer(config, model, table);
  const auto profile = renderer.profile_adu_per_s(model.state(T_K));
  const auto as_floats = [](const detector::Frame& f) {
    std::vector<float> v(f.height * f.width);
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(f.at(i / f.width, i % f.width));
    return v;
  };
  const auto frame = renderer.render(profile, 12.0, false, 1);
  const auto pixels = as_floats(frame), dark = as_floats(renderer.render(profile, 12.0, true, 1));
  analysis::PipelineSettings settings;
  settings.form_factor_file = config.form_factor_path.string();
  analysis::FramePipeline pipeline(renderer.geometry(), settings);
  return pipeline.analyse(analysis::ImageView<float>{pixels, frame.height, frame.width}, dark, 0, T_K)
      .s_eq_J_per_mol_K;
}

double model_s_eq(double rejuvenation_A2, double T_K) {
  detector::sim::GlassModelConfig config;
  config.rejuvenation_sigma2_angstrom2 = rejuvenation_A2;
  return analysis::gas_constant_J_per_mol_K * detector::sim::GlassModel(config).pair_entropy_k_B(T_K);
}

class CompareStates : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fresh_temp_dir("compare"));
    const auto start = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < rejuvenation_A2.size(); ++i)
      simulate_state(*dir_ / ("state" + std::to_string(i)), rejuvenation_A2[i], seed(i), run(i));
    std::cout << "simulated and analysed 3 x "
              << static_cast<int>((last_K - first_K) / spacing_K) + 1 << " frames in "
              << std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() << " s\n";
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
  }
  static std::uint64_t seed(std::size_t i) { return 11 + i; }
  static fs::path run(std::size_t i) { return *dir_ / ("run" + std::to_string(i) + ".h5"); }

  // As cast, and two rejuvenated states (the cryo-rejuvenated glass of the simulator's default, and twice that).
  static constexpr std::array<double, 3> rejuvenation_A2{0.0, 0.003, 0.006};
  static fs::path* dir_;
};
fs::path* CompareStates::dir_ = nullptr;

TEST_F(CompareStates, RecoversTheImposedEntropyDifferenceWithinItsUncertainty) {
  daemon::CompareOptions options;
  options.runs = {run(0), run(1), run(2)};
  options.output = *dir_ / "compare.h5";
  options.table_temperatures_K = {320.0, 400.0};
  std::ostringstream out, err;
  ASSERT_EQ(daemon::run_compare(options, out, err), 0) << err.str();
  std::cout << out.str() << err.str();

  const auto file = h5::open_file(options.output, h5::Access::read);
  const auto T = h5::read_1d<double>(h5::open_dataset(file, "/entry_compare/delta_entropy/temperature"));
  for (std::size_t state = 1; state < 3; ++state) {
    const auto name = "/entry_compare/delta_entropy/delta_S_eq_0" + std::to_string(state + 1);
    const auto delta = h5::read_1d<double>(h5::open_dataset(file, name));
    const auto sigma = h5::read_1d<double>(h5::open_dataset(file, name + "_errors"));
    // The states are compared as the paper does, overlapped in the liquid: the imposed ΔS_eq is the noise-free
    // difference at T minus the one in the middle of the liquid window compare chose.
    const auto group = "/entry_compare/state_0" + std::to_string(state + 1) + "/";
    const double liquid_K = 0.5 * (h5::read_1d<double>(h5::open_dataset(file, group + "liquid_window_lo")).at(0) +
                                   h5::read_1d<double>(h5::open_dataset(file, group + "liquid_window_hi")).at(0));
    const auto noise_free_delta = [&](std::size_t i, double at_K) {
      return noise_free_s_eq(rejuvenation_A2[i], at_K) - noise_free_s_eq(rejuvenation_A2[0], at_K);
    };
    const double liquid_delta = noise_free_delta(state, liquid_K);
    for (double at_K : options.table_temperatures_K) {
      const auto k = static_cast<std::size_t>(std::lower_bound(T.begin(), T.end(), at_K) - T.begin());
      ASSERT_LT(k, T.size());
      const double truth = noise_free_delta(state, T[k]) - liquid_delta;
      const double unwindowed = model_s_eq(rejuvenation_A2[state], T[k]) - model_s_eq(rejuvenation_A2[0], T[k]);
      const double z = (delta[k] - truth) / sigma[k];
      std::cout << "state " << state << " at " << T[k] << " K: dS_eq " << delta[k] << " ± " << sigma[k]
                << " J/(mol K), truth " << truth << " (z = " << z << "; the model's g(r) itself: " << unwindowed << ")\n";
      RecordProperty("dS_eq_state" + std::to_string(state) + "_" + std::to_string(static_cast<int>(T[k])) + "K",
                     std::to_string(delta[k]) + " +- " + std::to_string(sigma[k]) + " truth " + std::to_string(truth));
      EXPECT_GT(std::abs(truth), 5.0 * sigma[k]) << "the imposed difference is resolved";
      EXPECT_LE(std::abs(z), 2.0) << "within two standard errors at " << T[k] << " K";
    }
  }
  // In the liquid the states have forgotten their treatment: the shifted curves agree there.
  const auto shift_window_hi = h5::read_1d<double>(h5::open_dataset(file, "/entry_compare/state_02/liquid_window_hi"));
  EXPECT_GT(shift_window_hi.at(0), 720.0);
  EXPECT_EQ(h5::read_string(file, "/entry_compare/state_02/liquid_window_source"), "found");
  EXPECT_EQ(h5::read_string_attribute(h5::open_group(file, "/entry_compare/entropy"), "signal"), "S_eq_01");
}

TEST_F(CompareStates, RefusesAnotherCompositionUnlessForced) {
  const auto other = *dir_ / "other.h5";
  fs::copy_file(run(1), other);
  {
    auto file = h5::open_file(other, h5::Access::read_write);
    h5::remove(h5::open_group(file, "/entry/sample"), "chemical_formula");
    h5::write_string(h5::open_group(file, "/entry/sample"), "chemical_formula", "Cu50Zr50");
  }
  daemon::CompareOptions options;
  options.runs = {run(0), other};
  options.output = *dir_ / "refused.h5";
  std::ostringstream out, err;
  EXPECT_EQ(daemon::run_compare(options, out, err), 1);
  EXPECT_THAT(err.str(), HasSubstr("composition Cu50Zr50 differs from the reference's Cu44Zr44Al8Hf2Co2"));
  EXPECT_FALSE(fs::exists(options.output));
  options.force = true;
  std::ostringstream forced_out, forced_err;
  EXPECT_EQ(daemon::run_compare(options, forced_out, forced_err), 0) << forced_err.str();
  EXPECT_THAT(forced_err.str(), HasSubstr("compared because of --force"));
}

// `insitu dsc --run`: the indium calibration's heating beside the simulated run's Δφ_eq, on T and T/T_g.
TEST_F(CompareStates, DscHeatFlowIsLaidBesideTheRunsEquivalentHeatFlow) {
  daemon::DscOptions options;
  options.exports = {testdata::path("dsc/mettler_table_tgadsc_indium_10Kmin.txt")};
  options.mass_mg = 13.2;
  options.run = run(0);
  options.output = *dir_ / "dsc.h5";
  std::ostringstream out, err;
  ASSERT_EQ(daemon::run_dsc(options, out, err), 0) << err.str();
  std::cout << out.str();
  EXPECT_THAT(out.str(), HasSubstr("750 rows, columns Index [#], Ts [°C], t [s], HF [mW], Weight [mg], Tr [°C]"));
  const auto file = h5::open_file(options.output, h5::Access::read);
  const auto T = h5::read_1d<double>(h5::open_dataset(file, "/entry_dsc/overlay/temperature"));
  const auto heat_flow = h5::read_1d<double>(h5::open_dataset(file, "/entry_dsc/overlay/heat_flow_01"));
  ASSERT_EQ(T.size(), heat_flow.size());
  const auto covered = std::count_if(heat_flow.begin(), heat_flow.end(), [](double v) { return std::isfinite(v); });
  EXPECT_GT(covered, 10);  // the indium ramp (about 370-490 K) inside the run's 300-820 K
  EXPECT_LT(covered, static_cast<long>(T.size()));
  EXPECT_EQ(h5::read_string_attribute(h5::open_group(file, "/entry_dsc/overlay"), "signal"), "delta_phi");
  EXPECT_EQ(h5::read_string(file, "/entry_dsc/export_01/sign_convention"), "endotherm positive");
}

}  // namespace
}  // namespace insitu::testing
