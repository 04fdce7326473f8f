// insitud's life as systemd and an operator see it: the notify protocol (READY, STATUS, WATCHDOG, STOPPING), SIGHUP
// reloading the notifications, a crash (SIGKILL) during a run found and marked at the next start, one service per
// state directory, and a bad configuration refused before anything starts.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <nlohmann/json.hpp>

#include "daemon/storage/run_file_reader.hpp"
#include "tests/service/service_fixture.hpp"
#include "tests/service/sinks.hpp"

namespace insitu::service {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using insitu::testing::run_insitu;

// systemd's end of NOTIFY_SOCKET: a datagram socket whose messages the test reads with a deadline.
class NotifySocket {
 public:
  explicit NotifySocket(const std::filesystem::path& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::snprintf(address.sun_path, sizeof address.sun_path, "%s", path.c_str());
    ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address);
  }
  ~NotifySocket() { ::close(fd_); }
  // Messages until one contains `wanted` (true) or `limit` passes (false); all of them in `seen`.
  bool wait_for(const std::string& wanted, std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    for (auto left = limit; left.count() > 0;
         left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now())) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buffer[4096];
      const auto n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) continue;
      seen.emplace_back(buffer, static_cast<std::size_t>(n));
      if (seen.back().find(wanted) != std::string::npos) return true;
    }
    return false;
  }
  std::vector<std::string> seen;

 private:
  std::filesystem::path path_;
  int fd_ = -1;
};

// The environment insitud starts with, for the children spawned meanwhile.
class ScopedEnvironment {
 public:
  ScopedEnvironment(std::vector<std::pair<std::string, std::string>> variables) : variables_(std::move(variables)) {
    for (const auto& [name, value] : variables_) ::setenv(name.c_str(), value.c_str(), 1);
  }
  ~ScopedEnvironment() {
    for (const auto& [name, value] : variables_) ::unsetenv(name.c_str());
  }

 private:
  std::vector<std::pair<std::string, std::string>> variables_;
};

TEST(ServiceLifecycle, TellsSystemdItIsReadyHowItIsAndThatItLivesAndStops) {
  testing::ServiceFixture s;
  NotifySocket systemd(s.dir / "notify");
  std::unique_ptr<storage::testing::Child> service;
  {
    const ScopedEnvironment env({{"NOTIFY_SOCKET", (s.dir / "notify").string()}, {"WATCHDOG_USEC", "2000000"}});
    service = s.start_service();
  }
  ASSERT_TRUE(systemd.wait_for("READY=1", 20s));
  EXPECT_TRUE(systemd.wait_for("STATUS=idle, 0 queued", 5s));
  EXPECT_TRUE(systemd.wait_for("WATCHDOG=1", 3s)) << "WatchdogSec=2 s: a keep-alive within a second";
  service->kill(SIGTERM);
  EXPECT_TRUE(systemd.wait_for("STOPPING=1", 10s));
  EXPECT_EQ(service->wait(), 0);
}

TEST(ServiceLifecycle, SighupReloadsTheNotificationTargetsAndABadFileKeepsThem) {
  testing::ServiceFixture s;
  Sink before("http_sink.py", {}), after("http_sink.py", {});
  const auto hook_config = [&](int port) {
    std::ofstream(s.config) << "listen: 127.0.0.1:0\nnotifications:\n  webhooks:\n    - {url: \"http://127.0.0.1:"
                            << port << "/hook\"}\n";
  };
  hook_config(before.port());
  auto service = s.start_service();
  ASSERT_TRUE(s.wait_until_idle());
  hook_config(after.port());
  service->kill(SIGHUP);
  std::this_thread::sleep_for(500ms);
  std::ofstream(s.config) << "notifications: [not, a, map]\n";
  service->kill(SIGHUP);
  std::this_thread::sleep_for(500ms);
  testing::write_recipe(s.dir / "one.yaml", "one", "as cast", 310);
  ASSERT_EQ(run_insitu({"submit", "--state-dir", s.state.string(), (s.dir / "one.yaml").string()}, s.dir).code, 0);
  const auto posted = after.next(30s);
  ASSERT_TRUE(posted.is_object()) << "the reloaded target got nothing";
  EXPECT_NE(posted["body"].get<std::string>().find("run 1 started"), std::string::npos) << posted.dump();
  EXPECT_TRUE(before.next(1s).is_null()) << "the old target is no longer used";
  service->kill(SIGTERM);
  EXPECT_EQ(service->wait(), 0);
}

TEST(ServiceLifecycle, ARunCutByACrashIsMarkedInterruptedAtTheNextStartAndTheQueueGoesOn) {
  testing::ServiceFixture s;
  testing::write_recipe(s.dir / "cut.yaml", "cut", "as cast", 393);
  testing::write_recipe(s.dir / "next.yaml", "next", "as cast", 310);
  auto service = s.start_service();
  ASSERT_TRUE(s.wait_until_idle());
  ASSERT_EQ(run_insitu({"submit", "--state-dir", s.state.string(), (s.dir / "cut.yaml").string(),
                        (s.dir / "next.yaml").string()},
                       s.dir)
                .code,
            0);
  const auto running = s.wait_for(
      "status", [](const json& j) { return j["run"].is_object() && j["run"].value("frames", 0) >= 2; }, 60s);
  ASSERT_TRUE(running.is_object() && running["run"]["id"] == 1) << running.dump();
  service->kill(SIGKILL);
  service->wait();

  service = s.start_service();
  const auto history = s.wait_for(
      "history", [](const json& h) { return h["runs"].size() == 2 && h["runs"][1]["ended"].is_string(); }, 90s);
  ASSERT_TRUE(history.is_object()) << history.dump();
  const auto& cut = history["runs"][0];
  EXPECT_EQ(cut["state"], "interrupted");
  EXPECT_EQ(cut["reason"], "insitud stopped during the run");
  EXPECT_EQ(history["runs"][1]["state"], "completed") << history["runs"][1].dump();
  // What the crashed run had written stays readable.
  const storage::RunFileReader file(s.state / "data" / cut["run_file"].get<std::string>());
  EXPECT_GE(file.temperature_log().rows(), 10u);
  service->kill(SIGTERM);
  EXPECT_EQ(service->wait(), 0);
}

TEST(ServiceLifecycle, OneServicePerStateDirectoryAndABadConfigurationStartsNothing) {
  testing::ServiceFixture s;
  auto service = s.start_service();
  ASSERT_TRUE(s.wait_until_idle());
  storage::testing::Child second({testing::kInsitud, "--state-dir", s.state.string(), "--listen", "127.0.0.1:0"});
  const int status = second.wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2) << status;
  service->kill(SIGTERM);
  EXPECT_EQ(service->wait(), 0);

  std::ofstream(s.config) << "listen: 127.0.0.1:0\nidle: {stage: warm}\n";
  storage::testing::Child refused({testing::kInsitud, "--config", s.config.string(), "--state-dir", s.state.string()});
  const int refused_status = refused.wait();
  EXPECT_TRUE(WIFEXITED(refused_status) && WEXITSTATUS(refused_status) == 2) << refused_status;
}

}  // namespace
}  // namespace insitu::service
