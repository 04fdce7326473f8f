// The simulation's fault console (daemon/simulation.hpp) as scripts/fault-night drives it: lines written into the FIFO
// `simulation/faults` under insitud's state directory reach the simulated instruments over their ptys, and each is
// recorded in `faults.log` with the clocks, applied or refused.
#include <gtest/gtest.h>

#include <cmath>
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

struct FaultRecord {
  double stage_s, run_s;
  std::string line, verdict;
};

std::vector<FaultRecord> fault_records(const std::filesystem::path& file) {
  std::vector<FaultRecord> records;
  std::ifstream in(file);
  for (std::string text; std::getline(in, text);) {
    std::istringstream fields(text);
    std::string stage_s, run_s, line, verdict;
    std::getline(fields, stage_s, '\t');
    std::getline(fields, run_s, '\t');
    std::getline(fields, line, '\t');
    std::getline(fields, verdict, '\t');
    records.push_back({std::stod(stage_s), std::stod(run_s), line, verdict});
  }
  return records;
}

TEST(SimulationFaultConsole, LinesReachTheSimulatedStageOverItsPtyAndAreRecordedAppliedOrRefused) {
  testing::ServiceFixture service_dir;
  testing::write_recipe(service_dir.dir / "oc.yaml", "open-circuit", "as cast", 573);
  auto service = service_dir.start_service(50);
  ASSERT_TRUE(service_dir.wait_until_idle()) << "insitud did not come up";
  const auto submitted =
      run_insitu({"submit", "--state-dir", service_dir.state.string(), (service_dir.dir / "oc.yaml").string()},
                 service_dir.dir);
  ASSERT_EQ(submitted.code, 0) << submitted.err;
  const auto acquiring = service_dir.wait_for(
      "status", [](const json& s) { return s["run"].is_object() && s["run"].value("frames", 0) >= 1; }, 60s);
  ASSERT_TRUE(acquiring.is_object() && acquiring["run"].is_object()) << acquiring.dump();

  const auto console = service_dir.state / "simulation" / "faults";
  std::ofstream(console) << "stage fault bogus on\ndetector nonsense\nnote the test marks this moment\n"
                         << "stage fault open_circuit on\n";
  const auto history = service_dir.wait_for(
      "history", [](const json& h) { return h["runs"].size() == 1 && h["runs"][0]["ended"].is_string(); }, 60s);
  ASSERT_TRUE(history.is_object() && history["runs"].size() == 1u) << history.dump();
  const auto& run = history["runs"][0];
  EXPECT_TRUE(run["state"] == "failed" || run["state"] == "aborted") << run.dump();
  EXPECT_NE(run["reason"].get<std::string>().find("open circuit"), std::string::npos) << run.dump();

  const auto records = fault_records(service_dir.state / "simulation" / "faults.log");
  ASSERT_EQ(records.size(), 4u);
  const std::pair<const char*, const char*> expected[] = {{"stage fault bogus on", "refused"},
                                                          {"detector nonsense", "refused"},
                                                          {"note the test marks this moment", "applied"},
                                                          {"stage fault open_circuit on", "applied"}};
  for (std::size_t i = 0; i < records.size(); ++i) {
    EXPECT_EQ(records[i].line, expected[i].first);
    EXPECT_EQ(records[i].verdict, expected[i].second) << records[i].line;
    EXPECT_TRUE(std::isfinite(records[i].run_s)) << "recorded without the run's clock: " << records[i].line;
  }

  // The stage's fault is the run's, soon after the console applied it.
  const storage::RunFileReader reader(service_dir.state / "data" / run["run_file"].get<std::string>());
  const auto events = reader.events();
  bool seen = false;
  for (std::size_t i = 0; i < events.message.size(); ++i) {
    if (events.kind[i] != "fault" || events.message[i].rfind("stage reports an open circuit", 0) != 0) continue;
    seen = true;
    EXPECT_GE(events.time_s[i], records[3].run_s - 1.0);
    EXPECT_LE(events.time_s[i], records[3].run_s + 10.0);
  }
  EXPECT_TRUE(seen) << "no fault event for the open circuit";
  service->kill(SIGTERM);
  EXPECT_EQ(service->wait(), 0);
}

}  // namespace
}  // namespace insitu::service
