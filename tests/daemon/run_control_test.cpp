// The run's control through the whole daemon path (`run_recipe --simulate`): a pause in the middle of the
// exposures and a resume, exposed segments that are not contiguous, and the analysis on two workers. Each
// checks the frames the run file holds against the program's events, never against timings: the machine may
// be loaded.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <fstream>
#include <sstream>
#include <thread>

#include "daemon/run_command.hpp"
#include "daemon/summary.hpp"
#include "drivers/detector/exposure.hpp"
#include "tests/daemon/run_file_reader.hpp"
#include "tests/daemon/simulated_run.hpp"
#include "tests/sanitized_speed.hpp"
#include "tests/stage/sim_fixture.hpp"

namespace insitu::testing {
namespace {

namespace h5 = storage::h5;

std::filesystem::path recipe(const std::filesystem::path& dir, const std::string& program, const std::string& during,
                             const std::string& darks) {
  return short_detector_recipe(dir, "control", program, during, darks);
}

struct Frames {
  std::vector<double> start_s, stop_s;
  std::vector<std::int32_t> image_key;
  std::vector<std::uint32_t> flags;

  static Frames read(const std::filesystem::path& file) {
    Frames f;
    const auto det = h5::open_group(h5::open_file(file, h5::Access::read), "/entry/instrument/detector");
    f.start_s = h5::read_1d<double>(h5::open_dataset(det, "start_time"));
    f.stop_s = h5::read_1d<double>(h5::open_dataset(det, "stop_time"));
    f.image_key = h5::read_1d<std::int32_t>(h5::open_dataset(det, "image_key"));
    f.flags = h5::read_1d<std::uint32_t>(h5::open_dataset(det, "flags"));
    return f;
  }
  // Data frames read from their files (a missing or unreadable one has nothing to analyse).
  long data_read() const {
    long n = 0;
    for (std::size_t i = 0; i < image_key.size(); ++i)
      n += image_key[i] == detector::image_data &&
           !(flags[i] & (detector::exposure_flag::missing | detector::exposure_flag::truncated));
    return n;
  }
  // Data frames starting in [from_s, to_s).
  int data_starting_in(double from_s, double to_s) const {
    int n = 0;
    for (std::size_t i = 0; i < start_s.size(); ++i)
      n += image_key[i] == detector::image_data && start_s[i] >= from_s && start_s[i] < to_s;
    return n;
  }
};

// Sends each signal to this process after its delay (wall time, counted from the previous one), as an operator's
// `kill -USR1` would; the host's signal set takes it on whatever thread it lands.
class DelayedSignals {
 public:
  explicit DelayedSignals(std::vector<std::pair<int, std::chrono::milliseconds>> plan)
      : thread_([plan = std::move(plan), this] {
          for (const auto& [signal, after] : plan) {
            std::this_thread::sleep_for(after);
            if (stop_) return;
            ::kill(::getpid(), signal);
          }
        }) {}
  ~DelayedSignals() {
    stop_ = true;
    thread_.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// A pause during the exposed ramp ends the series; the resume starts the next one, and the darks still come
// after the last data frame. Before the run was an object, no data frame came after a resume.
TEST(RunControl, PauseDuringExposuresResumesFramesAndKeepsTheDarksLast) {
  const auto dir = fresh_temp_dir("run-pause");
  // 2 darks (18 s with the discarded gap), then 180 s of ramp: at 20x about 10 s of wall time.
  auto options = simulated_run_options(
      recipe(dir, "  - ramp: {to_K: 330, rate_K_per_min: 10}\n", "[1]", "{before: 2, after: 2}"), dir / "runs", 20.0);
  int exit_code = -1;
  {
    // Paused about 60 s into the ramp for about 40 s of run time.
    DelayedSignals signals({{SIGUSR1, std::chrono::milliseconds(4000)}, {SIGUSR2, std::chrono::milliseconds(2000)}});
    exit_code = daemon::run_recipe(options);
  }
  ASSERT_EQ(exit_code, 0);
  const auto file = only_run_file(dir / "runs");
  const auto record = RunRecord::read(file);
  ASSERT_EQ(record.count_events("state", "paused at"), 1);
  ASSERT_EQ(record.count_events("state", "resumed"), 1);
  EXPECT_EQ(record.count_events("info", "exposures resume"), 1);
  double pause_s = NAN, resume_s = NAN;
  for (std::size_t i = 0; i < record.event_kind.size(); ++i) {
    if (record.event_message[i].rfind("paused at", 0) == 0) pause_s = record.event_time_s[i];
    if (record.event_message[i] == "resumed") resume_s = record.event_time_s[i];
  }
  const auto frames = Frames::read(file);
  EXPECT_GE(frames.data_starting_in(0, pause_s), 2);
  EXPECT_EQ(frames.data_starting_in(pause_s, resume_s), 0) << "no frame starts while paused";
  EXPECT_GE(frames.data_starting_in(resume_s, 1e9), 5) << "frames go on after the resume";
  // The darks after: the last two records, after every data frame.
  ASSERT_GE(frames.image_key.size(), 4u);
  const auto n = frames.image_key.size();
  EXPECT_EQ(frames.image_key[n - 1], detector::image_dark);
  EXPECT_EQ(frames.image_key[n - 2], detector::image_dark);
  EXPECT_EQ(frames.image_key[0], detector::image_dark);
  EXPECT_EQ(frames.image_key[1], detector::image_dark);
}

// `during: [1, 3]` exposes the first and the third segment, not the hold between them: one series each.
TEST(RunControl, NonContiguousExposedSegmentsEachGetTheirSeries) {
  const auto dir = fresh_temp_dir("run-during");
  const std::string program =
      "  - ramp: {to_K: 310, rate_K_per_min: 10}\n"
      "  - hold: {temperature_K: 310, duration_s: 60}\n"
      "  - ramp: {to_K: 320, rate_K_per_min: 10}\n";
  auto options = simulated_run_options(recipe(dir, program, "[1, 3]", "{before: 0, after: 1}"), dir / "runs", 20.0);
  ASSERT_EQ(daemon::run_recipe(options), 0);
  const auto file = only_run_file(dir / "runs");
  const auto record = RunRecord::read(file);
  double second_s = NAN, third_s = NAN;
  for (std::size_t i = 0; i < record.event_kind.size(); ++i) {
    if (record.event_message[i].rfind("segment 2/3", 0) == 0) second_s = record.event_time_s[i];
    if (record.event_message[i].rfind("segment 3/3", 0) == 0) third_s = record.event_time_s[i];
  }
  ASSERT_TRUE(std::isfinite(second_s) && std::isfinite(third_s));
  const auto frames = Frames::read(file);
  EXPECT_GE(frames.data_starting_in(0, second_s), 5);
  EXPECT_EQ(frames.data_starting_in(second_s + 6.0, third_s), 0) << "the hold is not exposed";
  EXPECT_GE(frames.data_starting_in(third_s, 1e9), 5) << "the third segment is";
  EXPECT_EQ(record.count_events("info", "exposures start"), 1);
  EXPECT_EQ(record.count_events("info", "exposures resume"), 1);
  EXPECT_EQ(frames.image_key.back(), detector::image_dark);
}

// The cryogenic recipe's detector and analysis sections on a 40 K ramp around room temperature, 512² frames.
std::filesystem::path analysed_recipe(const std::filesystem::path& dir) {
  std::ifstream in(INSITU_SOURCE_DIR "/config/recipes/cryo-heating.yaml");
  std::string text((std::istreambuf_iterator<char>(in)), {});
  text.resize(text.find("\ndma:") + 1);
  const auto program = text.find("program:\n"), program_end = text.find("safe_state:");
  text.replace(program, program_end - program, "program:\n  - ramp: {to_K: 340, rate_K_per_min: 20}\n");
  const auto replace = [&](const std::string& from, const std::string& to) {
    ASSERT_NE(text.find(from), std::string::npos) << from;
    text.replace(text.find(from), from.size(), to);
  };
  replace("binning: 1}", "binning: 4}");
  replace("../instruments/xrd1621-60keV.poni", INSITU_SOURCE_DIR "/config/instruments/xrd1621-60keV.poni");
  replace("during: [2, 3]", "during: [1]");
  replace("darks: {before: 5, after: 5}", "darks: {before: 2, after: 0}");
  replace("store_frames: true", "store_frames: false");
  const auto path = dir / "analysed.yaml";
  std::ofstream(path) << text;
  return path;
}

// Two workers finish frames in any order; the run applies their results in frame order, so the file's rows and
// the run-level analysis are those of one worker.
TEST(RunControl, TwoAnalysisWorkersKeepTheFrameOrder) {
  const auto dir = fresh_temp_dir("run-workers");
  auto options = simulated_run_options(analysed_recipe(dir), dir / "runs", 20.0);
  options.analysis_workers = 2;
  ASSERT_EQ(daemon::run_recipe(options), 0);
  const auto f = h5::open_file(only_run_file(dir / "runs"), h5::Access::read);
  const auto sequence = h5::read_1d<std::uint64_t>(h5::open_dataset(f, "/entry/analysis/sequence_number"));
  const auto frames = Frames::read(only_run_file(dir / "runs"));
  const auto data = frames.data_read();
  ASSERT_GE(data, 8);
  EXPECT_EQ(static_cast<long>(sequence.size()), data) << "every data frame read is analysed";
  EXPECT_TRUE(std::is_sorted(sequence.begin(), sequence.end())) << "rows in frame order";
  EXPECT_EQ(std::adjacent_find(sequence.begin(), sequence.end()), sequence.end()) << "each frame once";
  const auto run_temperature = h5::read_1d<double>(h5::open_dataset(f, "/entry/analysis/run/temperature"));
  // The run level keeps the heating part: every frame but those before the stage picked up the rate.
  EXPECT_GE(run_temperature.size() + 2, sequence.size()) << "the run-level analysis holds the frames";
}

// The recipe's DSC folder at the end of the run: the readable export into /entry_dsc, the malformed one logged with
// its file and line, the run itself unharmed.
TEST(RunControl, TheRecipesDscExportsJoinTheRunFileAtItsEnd) {
  const auto dir = fresh_temp_dir("run-dsc");
  std::filesystem::create_directories(dir / "dsc");
  std::filesystem::copy_file(INSITU_SOURCE_DIR "/tests/data/dsc/mettler_table_tgadsc_indium_10Kmin.txt",
                             dir / "dsc" / "indium.txt");
  std::ofstream(dir / "dsc" / "truncated.txt") << "Index Ts t HF\n[#] [oops\n";
  const auto recipe = analysed_recipe(dir);
  std::ofstream(recipe, std::ios::app) << "dsc:\n  folder: dsc\n  mass_mg: 5.0\n";
  ASSERT_EQ(daemon::run_recipe(simulated_run_options(recipe, dir / "runs", 20.0)), 0);
  const auto file = only_run_file(dir / "runs");
  const auto f = h5::open_file(file, h5::Access::read);
  const auto heat_flow = h5::open_dataset(f, "/entry_dsc/export_01/data/heat_flow");
  EXPECT_EQ(h5::read_string_attribute(heat_flow, "units"), "W/g");
  EXPECT_GT(h5::read_1d<double>(heat_flow).size(), 700u);
  std::ifstream log(file.parent_path() / "run.log");
  const std::string text((std::istreambuf_iterator<char>(log)), {});
  EXPECT_NE(text.find("DSC export not taken: " + (dir / "dsc" / "truncated.txt").string() + ":"), std::string::npos)
      << text;
}

// A controller power-cycled mid-ramp (the link drops for 30 s of run time, the controller comes back stopped)
// under `insitu run` against a stage on a pty: the run goes on from the stage's temperature. Off the programme
// (the outage) for longer than the recipe allows, it ends completed_with_deviations, exit code 4, with the stretch
// in the file and in the summary; within the allowance it is completed. Either way the fault is in the record and
// the last reading was taken after the stop.
struct PowerCycledRun {
  int exit_code = -1;
  std::filesystem::path file;
};

PowerCycledRun run_with_power_cycle(StageFixture& fx, const std::string& name, double allowance_s) {
  const auto recipe_path = fx.dir / (name + ".yaml");
  std::ofstream(recipe_path) << "insitu_recipe: 1\nname: " << name
                             << "\nsample: {name: pc, composition: Cu50Zr50}\n"
                                "stage: {model: THMS600, follow_tolerance_K: 1.0, follow_allowance_s: "
                             << allowance_s
                             << "}\nprogram:\n  - ramp: {to_K: 330, rate_K_per_min: 10}\n"
                                "safe_state: stop\noutput: {directory: runs}\n";
  auto options = simulated_run_options(recipe_path, fx.dir / (name + "-out"), fx.clock.speed());
  options.simulate = false;
  options.linkam_url = fx.stage.url();
  std::atomic<bool> over{false};
  std::thread cycler([&] {
    while (!over && fx.stage.with_model([](auto& m) { return m.temperature_K(); }) < 305.0)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (!over) fx.stage.power_cycle(30.0);
  });
  PowerCycledRun run;
  run.exit_code = daemon::run_recipe(options);
  over = true;
  cycler.join();
  run.file = only_run_file(fx.dir / (name + "-out"));
  return run;
}

void expect_fault_and_confirmed_stop(const std::filesystem::path& file) {
  const auto r = RunRecord::read(file);
  EXPECT_EQ(r.count_events("fault", "came back stopped"), 1);
  EXPECT_EQ(r.count_events("state", "program continues from"), 1);
  EXPECT_EQ(r.count_events("state", "safe state: stop); the controller reads stopped"), 1);
  const storage::RunFileReader reader(file);
  const auto log = reader.temperature_log();
  ASSERT_FALSE(log.status.empty());
  EXPECT_EQ(log.status.back(), 0x01);  // the last reading shows the controller stopped
  // `E` goes out after "program completed"; the last reading comes after it.
  const auto completed = std::find(r.event_message.begin(), r.event_message.end(), "program completed");
  ASSERT_NE(completed, r.event_message.end());
  EXPECT_GT(log.time_s.back(), r.event_time_s[static_cast<std::size_t>(completed - r.event_message.begin())]);
  for (std::size_t i = 1; i < log.value_K.size(); ++i)
    EXPECT_LT(std::abs(log.value_K[i] - log.value_K[i - 1]), 1.0) << "step at " << log.time_s[i] << " s";
}

TEST(RunControl, APowerCycleLongerThanTheAllowanceEndsCompletedWithDeviations) {
  StageFixture fx("powercycle-deviation", paced_speed(100.0));
  const auto run = run_with_power_cycle(fx, "deviating", 10.0);
  EXPECT_EQ(run.exit_code, daemon::run_completed_with_deviations);
  EXPECT_EQ(RunRecord::read(run.file).exit_status, "completed_with_deviations");
  EXPECT_EQ(RunRecord::read(run.file).count_events("warning", "deviation: the stage was off the programme"), 1);
  const auto deviations = storage::RunFileReader(run.file).temperature_deviations();
  ASSERT_EQ(deviations.rows(), 1u);
  EXPECT_GE(deviations.end_s[0] - deviations.start_s[0], 25.0);
  EXPECT_GT(deviations.max_deviation_K[0], 1.0);
  expect_fault_and_confirmed_stop(run.file);
  std::ostringstream out, err;
  EXPECT_EQ(daemon::print_summary(run.file, out, err), 0) << err.str();
  EXPECT_NE(out.str().find("status     completed_with_deviations"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("deviations 1 stretch(es) off the programme"), std::string::npos) << out.str();
}

TEST(RunControl, APowerCycleWithinTheAllowanceEndsCompleted) {
  StageFixture fx("powercycle-completed", paced_speed(100.0));
  const auto run = run_with_power_cycle(fx, "within", 300.0);
  EXPECT_EQ(run.exit_code, daemon::run_completed);
  EXPECT_EQ(RunRecord::read(run.file).exit_status, "completed");
  EXPECT_EQ(storage::RunFileReader(run.file).temperature_deviations().rows(), 0u);
  expect_fault_and_confirmed_stop(run.file);
}

}  // namespace
}  // namespace insitu::testing
