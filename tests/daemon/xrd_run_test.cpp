// The paper's whole experiment against the simulators: stage, delay generator, detector and rheometer behind
// their real wire protocols and files, small (512²) frames, every frame analysed to S_eq while the run goes.
#include <cmath>
#include <fstream>
#include <map>
#include <regex>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "daemon/run_command.hpp"
#include "drivers/detector/exposure.hpp"
#include "tests/daemon/run_file_reader.hpp"
#include "tests/daemon/simulated_run.hpp"
#include "tests/sanitized_speed.hpp"
#include "tests/stage/sim_fixture.hpp"

namespace insitu::testing {
namespace {

namespace h5 = storage::h5;

struct Truth {
  double mean_T_K, s_eq_k_B;
  bool dark;
  double start_s, stop_s;  // the window as the simulated detector saw its trigger pulses
  double glass_transition_K;
};

std::map<std::string, Truth> read_truth(const std::filesystem::path& folder) {
  std::map<std::string, Truth> truth;
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    if (!entry.path().filename().string().ends_with("-truth.jsonl")) continue;
    std::ifstream in(entry.path());
    for (std::string line; std::getline(in, line);) {
      const auto j = nlohmann::json::parse(line);
      truth[j.at("file")] = {j.at("mean_T_K"), j.at("S_eq_k_B"), j.at("dark"),
                             j.at("start_s"), j.at("stop_s"), j.at("T_g_K")};
    }
  }
  return truth;
}

double correlation(const std::vector<double>& a, const std::vector<double>& b) {
  const auto n = static_cast<double>(a.size());
  double ma = 0, mb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) ma += a[i] / n, mb += b[i] / n;
  double sab = 0, saa = 0, sbb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) * (a[i] - ma);
    sbb += (b[i] - mb) * (b[i] - mb);
  }
  return sab / std::sqrt(saa * sbb);
}

constexpr double kCryoSpeed = paced_speed(100.0);

TEST(CryoExperiment, FramesTemperaturesAndEntropyMatchTheSimulatorsTruth) {
  const auto dir = fresh_temp_dir("xrd");
  // The cryogenic recipe as it is, but binned 4x4 so the test renders and analyses 512² frames.
  std::ifstream in(INSITU_SOURCE_DIR "/config/recipes/cryo-heating.yaml");
  std::string text((std::istreambuf_iterator<char>(in)), {});
  text = std::regex_replace(text, std::regex("binning: 1\\}"), "binning: 4}");
  text = std::regex_replace(text, std::regex("\\.\\./instruments/"), INSITU_SOURCE_DIR "/config/instruments/");
  std::ofstream(dir / "cryo-binned.yaml") << text;

  auto options = simulated_run_options(dir / "cryo-binned.yaml", dir / "runs", kCryoSpeed);
  ASSERT_EQ(daemon::run_recipe(options), 0);

  const auto run_file = only_run_file(dir / "runs");
  const auto truth = read_truth(run_file.parent_path() / "detector-sim");
  const auto f = h5::open_file(run_file, h5::Access::read);
  const auto detector = h5::open_group(f, "/entry/instrument/detector");
  const auto names = h5::read_strings(h5::open_dataset(detector, "file_name"));
  const auto keys = h5::read_1d<std::int32_t>(h5::open_dataset(detector, "image_key"));
  const auto flags = h5::read_1d<std::uint32_t>(h5::open_dataset(detector, "flags"));
  const auto sequence = h5::read_1d<std::uint64_t>(h5::open_dataset(detector, "sequence_number"));
  const auto t_mean = h5::read_1d<double>(h5::open_dataset(detector, "frame_temperature/T_mean"));
  ASSERT_EQ(names.size(), sequence.size());

  // 390 heating + 57 cooling frames (the boundary between the two exposed segments adds one) and 5 + 5 darks; a
  // stall of the machine that made a boundary over half a period late restarts the schedule and costs a frame.
  std::size_t darks = 0;
  for (auto k : keys) darks += k == 2;
  const auto restarts = static_cast<std::size_t>(
      RunRecord::read(run_file).count_events("warning", "the frame schedule restarts"));
  EXPECT_EQ(darks, 10u);
  EXPECT_GE(names.size() - darks + restarts, 445u);
  EXPECT_LE(names.size() - darks, 450u);
  EXPECT_LE(restarts, 20u) << "frame boundaries over half a period late";
  RecordProperty("schedule_restarts", std::to_string(restarts));

  const auto t_mean_uncertainty =
      h5::read_1d<double>(h5::open_dataset(detector, "frame_temperature/T_mean_uncertainty"));
  const auto t_start = h5::read_1d<double>(h5::open_dataset(detector, "frame_temperature/T_start"));
  const auto t_end = h5::read_1d<double>(h5::open_dataset(detector, "frame_temperature/T_end"));
  const auto start_s = h5::read_1d<double>(h5::open_dataset(detector, "start_time"));
  const auto stop_s = h5::read_1d<double>(h5::open_dataset(detector, "stop_time"));
  const auto start_uncertainty_s = h5::read_1d<double>(h5::open_dataset(detector, "start_uncertainty"));
  const auto stop_uncertainty_s = h5::read_1d<double>(h5::open_dataset(detector, "stop_uncertainty"));

  // Each frame's T_mean holds to the bound the run declares from its time stamps (which grows with the clock
  // speed and the machine's load), plus the controller's 0.1 K display resolution and the simulated sensor noise.
  // The bound presumes the window the run recorded is the one the detector integrated, but the simulated delay
  // generator is a thread of this process that reads *TRG whenever it is scheduled (real hardware takes the bytes
  // as they arrive): allow it 2 ms of wall time (0.2 s of run time at 100x) and count, not compare, the frames
  // whose windows a longer stall has moved.
  constexpr double resolution_and_noise_K = 0.1, period_s = 12.0;  // the recipe's exposures.period_s
  const double simulator_slack_s = 2e-3 * options.speed;
  double max_dT = 0, max_excess_K = -1, max_bound_K = 0;
  std::size_t missing = 0, simulator_lagged = 0, misplaced = 0;
  std::string worst;
  std::map<std::uint64_t, std::string> file_of;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i].empty()) {
      ++missing;
      continue;
    }
    ASSERT_TRUE(truth.contains(names[i])) << names[i];
    const auto& sim = truth.at(names[i]);
    EXPECT_EQ(sim.dark, keys[i] == 2) << names[i];
    file_of[sequence[i]] = names[i];
    if (keys[i] != 0) continue;
    const double start_gap_s = std::abs(start_s[i] - sim.start_s), stop_gap_s = std::abs(stop_s[i] - sim.stop_s);
    if (start_gap_s > start_uncertainty_s[i] + simulator_slack_s ||
        stop_gap_s > stop_uncertainty_s[i] + simulator_slack_s) {
      ++simulator_lagged;
      // Half a period off with both triggers confirmed: the file was paired with another window.
      const bool confirmed = (flags[i] & detector::exposure_flag::trigger_uncertain) == 0;
      if (confirmed && std::max(start_gap_s, stop_gap_s) > period_s / 2) {
        ++misplaced;
        ADD_FAILURE() << names[i] << " recorded at " << start_s[i] << ".." << stop_s[i] << " s, exposed at "
                      << sim.start_s << ".." << sim.stop_s << " s";
      }
      continue;
    }
    const double dT = std::abs(t_mean[i] - sim.mean_T_K);
    max_dT = std::max(max_dT, dT);
    max_bound_K = std::max(max_bound_K, t_mean_uncertainty[i]);
    const double rate_K_per_s = std::abs(t_end[i] - t_start[i]) / (stop_s[i] - start_s[i]);
    const double excess_K = dT - t_mean_uncertainty[i] - resolution_and_noise_K - rate_K_per_s * simulator_slack_s;
    if (excess_K > max_excess_K) {
      max_excess_K = excess_K;
      worst = fmt::format("{} ({:.1f}..{:.1f} s): off by {:.3f} K, declared {:.3f} K", names[i], start_s[i], stop_s[i],
                          dT, t_mean_uncertainty[i]);
    }
  }
  EXPECT_EQ(missing, 0u) << "frames without a file";
  // A few per cent on a quiet machine, more under load; a stamping fault would move (nearly) every window.
  EXPECT_LE(simulator_lagged, names.size() / 5) << "frames whose recorded window is not the simulator's";
  RecordProperty("frames_with_lagging_simulator", std::to_string(simulator_lagged));
  EXPECT_EQ(misplaced, 0u) << "frames paired with a window they were not exposed in";
  EXPECT_LE(max_excess_K, 0.0) << "frame T_mean against the simulated stage's true mean over the window: " << worst;
  RecordProperty("max_frame_T_mean_error_K", std::to_string(max_dT));
  RecordProperty("max_frame_T_mean_uncertainty_K", std::to_string(max_bound_K));

  const auto analysis = h5::open_group(f, "/entry/analysis");
  const auto analysed = h5::read_1d<std::uint64_t>(h5::open_dataset(analysis, "sequence_number"));
  const auto s_eq = h5::read_1d<double>(h5::open_dataset(analysis, "S_eq_k_B"));
  std::vector<double> measured, expected;
  for (std::size_t j = 0; j < analysed.size(); ++j) {
    measured.push_back(s_eq[j]);
    expected.push_back(truth.at(file_of.at(analysed[j])).s_eq_k_B);
  }
  EXPECT_EQ(analysed.size(), names.size() - darks);
  const double r = correlation(measured, expected);
  EXPECT_GE(r, 0.99) << "S_eq(T) against the simulated glass";
  RecordProperty("s_eq_correlation", std::to_string(r));

  // The simulated glass transition (the kink of the model's S_eq) lies inside the fit's 95 % interval, and the
  // estimate within 3 K of it. The photon noise is the default seed's, so this run is one draw: across noise seeds
  // the hinge scatters by about 2 K (1 sigma), and 13 of 15 seeds landed within 3 K (docs/analysis.md §4.1,
  // bench/tg.sh); with this seed the estimate has stayed within 1.5 K of the truth in every run measured.
  const double true_tg_K = truth.begin()->second.glass_transition_K;
  const double tg_K = h5::read_1d<double>(h5::open_dataset(analysis, "run/T_g")).at(0);
  const double tg_low_K = h5::read_1d<double>(h5::open_dataset(analysis, "run/T_g_low")).at(0);
  const double tg_high_K = h5::read_1d<double>(h5::open_dataset(analysis, "run/T_g_high")).at(0);
  EXPECT_LE(tg_low_K, true_tg_K);
  EXPECT_GE(tg_high_K, true_tg_K);
  EXPECT_NEAR(tg_K, true_tg_K, 3.0) << "the simulated glass transition";
  RecordProperty("glass_transition_K", std::to_string(tg_K));
  EXPECT_EQ(h5::read_string_attribute(h5::open_group(f, "/entry"), "default"), "entropy");
  EXPECT_TRUE(h5::exists(f, "/entry_dma"));
  if (!HasFailure()) std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace insitu::testing
