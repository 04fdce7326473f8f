// A scripted night: insitud with simulated instruments at 200x, three samples (as cast, RT-HPT, cryo-HPT) submitted
// through the CLI, insitud stopped with SIGTERM during the second run and started again. Everything is checked
// through what a user has: the CLI's JSON, the run files, and the mail and webhook sinks.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "daemon/storage/run_file_reader.hpp"
#include "tests/service/service_fixture.hpp"
#include "tests/service/sinks.hpp"

namespace insitu::service {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using insitu::testing::run_insitu;

// The night's fixture: the notification sinks in the configuration besides the defaults.
struct Night : testing::ServiceFixture {
  Sink mail{"smtp_sink.py", {}};
  Sink hook{"http_sink.py", {}};

  Night() {
    std::ofstream(config) << "listen: 127.0.0.1:0\nnotifications:\n  email:\n"
                          << "    - {url: \"smtp://127.0.0.1:" << mail.port()
                          << "\", from: insitud@test, to: [night@test]}\n  webhooks:\n"
                          << "    - {url: \"http://127.0.0.1:" << hook.port() << "/hook\"}\n"
                          << "  retry: {attempts: 3, first_backoff_s: 0.2, max_backoff_s: 1}\n";
  }
};

std::vector<std::string> states_of(const json& run) {
  std::vector<std::string> states;
  for (const auto& s : run["states"]) states.push_back(s["state"]);
  return states;
}

// Every subject (mail) or text (webhook) that arrives within `quiet` of the one before.
std::vector<std::string> received(Sink& sink, const std::string& field, std::chrono::milliseconds quiet) {
  std::vector<std::string> out;
  for (json m = sink.next(quiet); !m.is_null(); m = sink.next(quiet))
    out.push_back(field == "subject" ? m["headers"]["Subject"].get<std::string>() : m["body"].get<std::string>());
  return out;
}

bool contains(const std::vector<std::string>& lines, const std::string& part) {
  return std::any_of(lines.begin(), lines.end(), [&](const auto& l) { return l.find(part) != std::string::npos; });
}

TEST(ServiceNight, ThreeSamplesQueuedThroughTheCliSurviveARestartDuringTheSecond) {
  Night night;
  for (const auto& [sample, treatment] : {std::pair{"as-cast", "as cast"}, std::pair{"rt-hpt", "HPT at 293 K"},
                                          std::pair{"cryo-hpt", "HPT at 77 K"}})
    testing::write_recipe(night.dir / (std::string(sample) + ".yaml"), sample, treatment);

  auto service = night.start_service();
  ASSERT_TRUE(night.wait_until_idle()) << "insitud did not come up";
  const auto submitted = run_insitu({"submit", "--state-dir", night.state.string(), (night.dir / "as-cast.yaml").string(),
                                     (night.dir / "rt-hpt.yaml").string(), (night.dir / "cryo-hpt.yaml").string()},
                                    night.dir);
  ASSERT_EQ(submitted.code, 0) << submitted.err;

  // The second run acquiring: SIGTERM.
  const auto second = night.wait_for(
      "status",
      [](const json& s) { return s["run"].is_object() && s["run"]["id"] == 2 && s["run"].value("frames", 0) >= 1; },
      90s);
  ASSERT_TRUE(second.is_object() && second["run"].is_object() && second["run"]["id"] == 2) << second.dump();
  service->kill(SIGTERM);
  const int status = service->wait();
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "insitud exit status " << status;

  service = night.start_service();
  const auto history = night.wait_for(
      "history",
      [](const json& h) { return h["runs"].size() == 3 && h["runs"][2]["ended"].is_string(); }, 120s);
  ASSERT_TRUE(history.is_object() && history["runs"].size() == 3u) << history.dump();
  const auto& runs = history["runs"];
  const std::set<std::string> completed{"completed", "completed_with_deviations"};
  EXPECT_TRUE(completed.count(runs[0]["state"])) << runs[0].dump();
  EXPECT_EQ(states_of(runs[0]), (std::vector<std::string>{"queued", "running", runs[0]["state"]}));
  EXPECT_EQ(runs[1]["state"], "interrupted");
  EXPECT_EQ(states_of(runs[1]), (std::vector<std::string>{"queued", "running", "interrupted"}));
  EXPECT_NE(runs[1]["reason"].get<std::string>().find("SIGTERM"), std::string::npos) << runs[1].dump();
  EXPECT_TRUE(completed.count(runs[2]["state"])) << runs[2].dump();
  EXPECT_EQ(runs[2]["sample"], "cryo-hpt");

  // Each run file is under the data root; the interrupted one closed with the stage's safe state read back.
  for (const auto& run : runs) {
    const auto file = night.state / "data" / run["run_file"].get<std::string>();
    ASSERT_TRUE(std::filesystem::exists(file)) << file;
    const storage::RunFileReader reader(file);
    EXPECT_EQ(reader.text("sample/name"), run["sample"].get<std::string>());
  }
  const storage::RunFileReader interrupted(night.state / "data" / runs[1]["run_file"].get<std::string>());
  EXPECT_EQ(interrupted.text(storage::schema::entry_field::exit_status), "aborted");
  const auto events = interrupted.events();
  EXPECT_TRUE(std::any_of(events.message.begin(), events.message.end(),
                          [](const std::string& m) { return m.find("SIGTERM") != std::string::npos; }));
  EXPECT_EQ(events.count("state", "safe state: stop"), 1);
  const auto log = interrupted.temperature_log();
  ASSERT_GT(log.rows(), 0u);
  EXPECT_EQ(log.status.back(), 0x01) << "the controller read back stopped after the run";

  service->kill(SIGTERM);
  EXPECT_EQ(service->wait(), 0);
  const auto subjects = received(night.mail, "subject", 3s);
  const auto texts = received(night.hook, "body", 1s);
  for (const auto* part : {"run 1 started", "run 1 completed", "run 2 started", "run 2 interrupted", "run 3 started",
                           "run 3 completed", "queue is empty"}) {
    EXPECT_TRUE(contains(subjects, part)) << "no mail about " << part;
    EXPECT_TRUE(contains(texts, part)) << "no webhook post about " << part;
  }
}

}  // namespace
}  // namespace insitu::service
