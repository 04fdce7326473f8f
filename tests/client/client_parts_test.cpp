// The client's parts in-process: where the state dir is, server URLs, the timeout against a silent peer, and the
// renderings the commands print.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "daemon/client/api_client.hpp"
#include "daemon/client/format.hpp"
#include "daemon/client/locations.hpp"
#include "daemon/client/watch_display.hpp"
#include "drivers/io/asio.hpp"
#include "tests/client/insitu_process.hpp"

namespace insitu::client {
namespace {

// Sets an environment variable for one test and restores it after.
class ScopedEnvironment {
 public:
  ScopedEnvironment(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    value ? ::setenv(name, value, 1) : ::unsetenv(name);
  }
  ~ScopedEnvironment() { old_ ? ::setenv(name_, old_->c_str(), 1) : ::unsetenv(name_); }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(ClientLocations, TheStateDirIsTheOptionThenTheEnvironmentThenTheUsersDefault) {
  const ScopedEnvironment state("INSITU_STATE_DIR", "/srv/insitud");
  EXPECT_EQ(state_dir(std::filesystem::path("/opt/state")), "/opt/state");
  EXPECT_EQ(state_dir(std::nullopt), "/srv/insitud");
  EXPECT_EQ(socket_path("/srv/insitud"), "/srv/insitud/insitud.sock");
  EXPECT_EQ(token_path("/srv/insitud"), "/srv/insitud/token");
  {
    const ScopedEnvironment no_state("INSITU_STATE_DIR", nullptr);
    const ScopedEnvironment xdg("XDG_STATE_HOME", "/home/op/.state");
    const ScopedEnvironment home("HOME", "/home/op");
    EXPECT_EQ(default_state_dir(), ::geteuid() == 0 ? "/var/lib/insitud" : "/home/op/.state/insitud");
    const ScopedEnvironment no_xdg("XDG_STATE_HOME", nullptr);
    EXPECT_EQ(default_state_dir(), ::geteuid() == 0 ? "/var/lib/insitud" : "/home/op/.local/state/insitud");
  }
}

TEST(ClientLocations, TokensAreTrimmedAndAnEmptyOneIsRefused) {
  const auto dir = testing::short_temp_dir();
  std::ofstream(dir / "token") << "  abc123 \n";
  std::ofstream(dir / "empty") << "\n";
  const ScopedEnvironment no_token("INSITU_TOKEN", nullptr);
  EXPECT_EQ(resolve_token(std::nullopt, dir), "abc123");
  EXPECT_EQ(resolve_token(std::nullopt, std::nullopt), std::nullopt);
  EXPECT_EQ(resolve_token(std::nullopt, dir / "nowhere"), std::nullopt);
  EXPECT_THROW(resolve_token(dir / "empty", dir), LocalError);
  std::filesystem::remove_all(dir);
}

TEST(ClientEndpoint, ServerUrlsAreHttpHostPortOrAUnixSocket) {
  EXPECT_EQ(Endpoint::parse("http://127.0.0.1:8754/").describe(), "http://127.0.0.1:8754");
  EXPECT_EQ(Endpoint::parse("http://beamline-pc").describe(), "http://beamline-pc:80");
  EXPECT_EQ(Endpoint::parse("http://[::1]:8754").describe(), "http://[::1]:8754");
  EXPECT_EQ(Endpoint::parse("unix:/run/insitud.sock").describe(), "unix:/run/insitud.sock");
  for (const auto* bad : {"https://host:1", "http://:8754", "http://host:port", "http://host:1/api", "unix:", "host"})
    EXPECT_THROW(Endpoint::parse(bad), std::invalid_argument) << bad;
}

TEST(ClientApi, ASilentServiceTimesOutInOneLine) {
  asio::io_context io;
  asio::ip::tcp::acceptor silent(io, {asio::ip::make_address("127.0.0.1"), 0});  // connects, never answers
  const auto url = "http://127.0.0.1:" + std::to_string(silent.local_endpoint().port());
  const ApiClient client(Endpoint::parse(url), std::nullopt, std::chrono::seconds(1));
  try {
    client.get("/api/v1/status");
    FAIL() << "no timeout";
  } catch (const Unreachable& e) {
    EXPECT_EQ(std::string(e.what()), "no answer from insitud at " + url + ": no answer within 1 s");
  }
}

TEST(ClientFormat, DurationsBarsAndTimes) {
  EXPECT_EQ(clock_duration(0), "0:00:00");
  EXPECT_EQ(clock_duration(1900), "0:31:40");
  EXPECT_EQ(clock_duration(36000 + 61.4), "10:01:01");
  EXPECT_EQ(clock_duration(-5), "0:00:00");
  EXPECT_EQ(progress_bar(0), "[....................]");
  EXPECT_EQ(progress_bar(0.5), "[##########..........]");
  EXPECT_EQ(progress_bar(1.7), "[####################]");
  const ScopedEnvironment zone("TZ", "Europe/Berlin");
  ::tzset();
  EXPECT_EQ(local_time("2026-12-07T01:02:03.000Z"), "2026-12-07 02:02:03");
  EXPECT_EQ(local_time(nullptr), "-");
  EXPECT_EQ(local_time("yesterday"), "yesterday");
}

TEST(ClientFormat, AnIdleServiceShowsTheStageAndTheQueue) {
  const nlohmann::json status = {{"service", {{"state", "idle"}}},
                                 {"stage", {{"temperature_K", 293.1}, {"setpoint_K", 293.0}, {"state", "holding"}}},
                                 {"run", nullptr},
                                 {"queue", {{"queued", 0}, {"held", 1}}}};
  EXPECT_EQ(watch_line(status), "idle  stage 293.1 K → 293.0 K  holding  queue 0 queued, 1 held");
}

TEST(ClientWatchDisplay, ATerminalRedrawsTheRunsLineAndKeepsItWhenTheNextBegins) {
  nlohmann::json status = {{"run", {{"id", 3}, {"sample", "A"}, {"recipe", "r"}, {"state", "running"}}}};
  std::ostringstream out;
  WatchDisplay display(out, true);
  const auto now = WatchDisplay::Clock::now();
  display.show(status, now);
  status["run"]["frames"] = 5;
  display.show(status, now);
  status["run"] = nullptr;
  display.show(status, now);
  display.finish();
  const auto line = [](const std::string& frames) {
    return "\r\x1b[Krun 3: A (r)  running  -  - K → - K  frames " + frames +
           "  S_eq -  [....................]   -%  ETA -";
  };
  EXPECT_EQ(out.str(), line("-") + line("5") + "\n\r\x1b[K-  stage - K → - K  -  queue - queued, - held\n");
}

TEST(ClientWatchDisplay, APipeGetsAPlainLineANewStateAtOnceTheRestOnceASecond) {
  nlohmann::json status = {{"run", {{"id", 3}, {"sample", "A"}, {"recipe", "r"}, {"state", "running"}}}};
  std::ostringstream out;
  WatchDisplay display(out, false);
  const auto start = WatchDisplay::Clock::now();
  display.show(status, start);
  display.show(status, start + std::chrono::seconds(2));  // the same line: not repeated
  status["run"]["frames"] = 5;
  display.show(status, start + std::chrono::milliseconds(2500));
  status["run"]["frames"] = 6;
  display.show(status, start + std::chrono::milliseconds(2600));  // within the second
  status["run"]["state"] = "paused";
  display.show(status, start + std::chrono::milliseconds(2700));  // a new state: at once
  const auto text = out.str();
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 3) << text;
  EXPECT_EQ(text.find('\r'), std::string::npos);
  EXPECT_NE(text.find("running  -  - K → - K  frames 5"), std::string::npos) << text;
  EXPECT_EQ(text.find("frames 6  "), text.rfind("frames 6  ")) << text;  // only in the paused line
  EXPECT_NE(text.find("paused  -  - K → - K  frames 6"), std::string::npos) << text;
}

}  // namespace
}  // namespace insitu::client
