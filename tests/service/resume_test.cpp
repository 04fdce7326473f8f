// insitud killed (SIGKILL) in the middle of a simulated run with a detector and inline analysis, then started again:
// the recipe's on_interruption: resume takes the run up in the same run file, and the file afterwards holds every
// frame committed before the kill, frame numbers strictly increasing, and an analysis row for every data frame.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "daemon/storage/run_file_reader.hpp"
#include "tests/service/service_fixture.hpp"

namespace insitu::service {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using insitu::testing::run_insitu;

// The night recipe with its frames stored, an inline analysis, the simulated DHR-3's exports and `on_interruption`
// (resume or abort).
void write_resumable_recipe(const std::filesystem::path& file, const std::string& on_interruption = "resume") {
  testing::write_recipe(file, "resumed", "as cast", 400);
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  std::string recipe = text.str();
  recipe.replace(recipe.find("store_frames: false"), 19, "store_frames: true");
  recipe += "on_interruption: " + on_interruption + R"(
analysis:
  enabled: true
  integration: {npt: 500, split: bbox, polarization: 0.99, q_range_inv_angstrom: [0.5, 25.0]}
  reduction: {qmin: 0.8, qmax: 24.0, qmaxinst: 25.0, rpoly: 0.9, r_min: 0.0, r_step: 0.01, r_max: 20.0,
              background: null, bgscale: 1.0}
  density: {fit_range_angstrom: [0.0, 2.0], nominal_per_cubic_m: 5.38345e28, use: nominal}
  entropy: {r_max_angstrom: 10.0}
  run: {smoothing_window_K: 20, expected_tg_K: null}
dma: {folder: /data/dhr3/exports, geometry: torsion}
)";
  std::ofstream(file) << recipe;
}

TEST(ServiceResume, ARunWithFramesAndAnalysisKilledMidRunResumesAndCompletesLosingNothing) {
  testing::ServiceFixture s;
  write_resumable_recipe(s.dir / "resumed.yaml");
  auto service = s.start_service();
  ASSERT_TRUE(s.wait_until_idle());
  ASSERT_EQ(run_insitu({"submit", "--state-dir", s.state.string(), (s.dir / "resumed.yaml").string()}, s.dir).code, 0);
  const auto running = s.wait_for(
      "status", [](const json& j) { return j["run"].is_object() && j["run"].value("frames", 0) >= 4; }, 60s);
  ASSERT_TRUE(running.is_object() && running["run"].is_object()) << running.dump();
  service->kill(SIGKILL);
  service->wait();
  std::filesystem::path path;  // the one run's file (the API is down with insitud)
  for (const auto& entry : std::filesystem::directory_iterator(s.state / "data")) path = entry.path() / "run.h5";
  ASSERT_TRUE(std::filesystem::exists(path)) << path;
  std::vector<std::uint64_t> before_kill;
  {
    const storage::RunFileReader killed(path);
    ASSERT_TRUE(killed.frames());
    before_kill = killed.frames()->sequence;
  }
  ASSERT_GE(before_kill.size(), 2u);

  service = s.start_service();
  const auto history = s.wait_for(
      "history", [](const json& h) { return h["runs"].size() == 1 && h["runs"][0]["ended"].is_string(); }, 120s);
  ASSERT_TRUE(history.is_object()) << history.dump();
  const auto state = history["runs"][0]["state"].get<std::string>();
  EXPECT_TRUE(state == "completed" || state == "completed_with_deviations") << history["runs"][0].dump();
  service->kill(SIGTERM);
  EXPECT_EQ(service->wait(), 0);

  const storage::RunFileReader file(path);
  EXPECT_GE(file.numbers("/entry/resumptions/resume_time").size(), 1u);
  const auto frames = file.frames();
  ASSERT_TRUE(frames);
  const auto& sequence = frames->sequence;
  ASSERT_GT(sequence.size(), before_kill.size());
  EXPECT_TRUE(std::equal(before_kill.begin(), before_kill.end(), sequence.begin())) << "every frame before the kill";
  for (std::size_t i = 1; i < sequence.size(); ++i) EXPECT_LT(sequence[i - 1], sequence[i]) << "row " << i;
  for (std::size_t i = 1; i < sequence.size(); ++i) EXPECT_LE(frames->start_s[i - 1], frames->start_s[i]) << i;
  std::vector<std::uint64_t> data_frames;
  for (std::size_t i = 0; i < sequence.size(); ++i)
    if (frames->image_key[i] == 0 && !(frames->flags[i] & 1u)) data_frames.push_back(sequence[i]);
  const auto analysis = file.analysis();
  ASSERT_TRUE(analysis);
  EXPECT_EQ(analysis->sequence, data_frames);
  // The first part held its DMA exports in memory only: the resumed part takes them up again (the fault night found
  // a resumed run that watched no DMA folder at all).
  EXPECT_TRUE(file.has_dma_entry());
  EXPECT_EQ(file.text("export_01/sha256", storage::schema::entry_dma).value_or("").size(), 64u);
}

// With on_interruption: abort the file is closed as interrupted, its detector and analysis datasets cut to the rows
// the kill left whole (one length each table), as a resume cuts them.
TEST(ServiceResume, ARunWithFramesAndAnalysisKilledUnderAbortIsClosedWithNoTornRows) {
  testing::ServiceFixture s;
  write_resumable_recipe(s.dir / "aborted.yaml", "abort");
  auto service = s.start_service();
  ASSERT_TRUE(s.wait_until_idle());
  ASSERT_EQ(run_insitu({"submit", "--state-dir", s.state.string(), (s.dir / "aborted.yaml").string()}, s.dir).code, 0);
  const auto running = s.wait_for(
      "status", [](const json& j) { return j["run"].is_object() && j["run"].value("frames", 0) >= 4; }, 60s);
  ASSERT_TRUE(running.is_object() && running["run"].is_object()) << running.dump();
  service->kill(SIGKILL);
  service->wait();

  service = s.start_service();
  const auto history = s.wait_for(
      "history", [](const json& h) { return h["runs"].size() == 1 && h["runs"][0]["state"] == "interrupted"; }, 60s);
  ASSERT_TRUE(history.is_object()) << history.dump();
  ASSERT_TRUE(s.wait_until_idle());
  service->kill(SIGTERM);
  EXPECT_EQ(service->wait(), 0);

  const storage::RunFileReader file(s.state / "data" / history["runs"][0]["run_file"].get<std::string>());
  EXPECT_EQ(file.text("exit_status").value_or(""), "interrupted");
  const std::string detector = "/entry/instrument/detector/";
  const auto frames = file.numbers(detector + "sequence_number").size();
  EXPECT_GE(frames, 4u);
  for (const auto* name : {"start_time", "stop_time", "image_key", "flags", "frame_temperature/T_mean"})
    EXPECT_EQ(file.numbers(detector + name).size(), frames) << name;
  const auto analysed = file.numbers("/entry/analysis/sequence_number").size();
  for (const auto* name : {"temperature", "S_eq", "analysis_time"})
    EXPECT_EQ(file.numbers(std::string("/entry/analysis/") + name).size(), analysed) << name;
}

}  // namespace
}  // namespace insitu::service
