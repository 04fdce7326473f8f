// insitud's configuration: the example file, defaults under the state directory, command-line overrides, and
// file:line:column errors.
#include "daemon/service/config.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <limits>

#include "tests/stage/sim_fixture.hpp"

namespace insitu::service {
namespace {

using ::testing::HasSubstr;
using insitu::testing::fresh_temp_dir;

std::filesystem::path write(const std::filesystem::path& dir, const std::string& text) {
  const auto file = dir / "insitud.yaml";
  std::ofstream(file) << text;
  return file;
}

std::string error_of(const ServiceOverrides& o) {
  try {
    load_service_config(o);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(ServiceConfig, TheExampleFileParsesWithEveryKey) {
  ServiceOverrides o;
  o.config_file = INSITU_SOURCE_DIR "/config/insitud.example.yaml";
  const auto c = load_service_config(o);
  EXPECT_EQ(c.state_dir, "/var/lib/insitud");
  EXPECT_EQ(c.data_root, "/data/insitu");
  EXPECT_EQ(c.listen_port, 8754);
  EXPECT_EQ(c.idle.mode, IdleStageSettings::Mode::hold);
  EXPECT_DOUBLE_EQ(c.idle.temperature_K, 293.15);
  ASSERT_TRUE(c.linkam_url);
  EXPECT_EQ(c.notifications.email.size(), 1u);
  EXPECT_EQ(c.notifications.webhooks.size(), 1u);
  EXPECT_EQ(c.notifications.daily_summary_utc, std::chrono::minutes(7 * 60));
  EXPECT_EQ(c.bluesky.zmq, "tcp://127.0.0.1:5577");
  EXPECT_TRUE(c.bluesky.jsonl);
}

TEST(ServiceConfig, WithoutAFileEverythingLivesUnderTheStateDirectory) {
  ServiceOverrides o;
  o.state_dir = "/srv/insitud";
  o.listen = "127.0.0.1:0";
  o.simulate = true;
  o.speed = 200;
  const auto c = load_service_config(o);
  EXPECT_EQ(c.data_root, "/srv/insitud/data");
  EXPECT_EQ(c.recipes_root, "/srv/insitud/recipes");
  EXPECT_EQ(c.unix_socket, "/srv/insitud/insitud.sock");
  EXPECT_EQ(c.listen_address, "127.0.0.1");
  EXPECT_EQ(c.listen_port, 0);
  EXPECT_TRUE(c.simulate);
  EXPECT_DOUBLE_EQ(c.speed, 200);
  EXPECT_EQ(c.idle.mode, IdleStageSettings::Mode::stop) << "the heater off between runs unless configured";
}

TEST(ServiceConfig, CommandLineOverridesTheFileAndRelativeRootsAreUnderTheStateDirectory) {
  const auto dir = fresh_temp_dir("service-config");
  ServiceOverrides o;
  o.config_file = write(dir, "state_dir: /nowhere\ndata_root: runs\nlisten: 0.0.0.0:9000\nspeed: 2\n");
  o.state_dir = dir / "state";
  o.speed = 50;
  const auto c = load_service_config(o);
  EXPECT_EQ(c.state_dir, dir / "state");
  EXPECT_EQ(c.data_root, dir / "state" / "runs");
  EXPECT_EQ(c.listen_address, "0.0.0.0");
  EXPECT_EQ(c.listen_port, 9000);
  EXPECT_DOUBLE_EQ(c.speed, 50);
}

TEST(ServiceConfig, ErrorsNameFileLineAndColumn) {
  const auto dir = fresh_temp_dir("service-config-errors");
  ServiceOverrides o;
  o.config_file = write(dir, "listen: 127.0.0.1:99999\nidle:\n  stage: hold\n  temperature_K: 1000\nsimulat: true\n");
  const auto error = error_of(o);
  const auto file = o.config_file->string();
  EXPECT_THAT(error, HasSubstr(file + ":1:9: listen: '99999' is not a port"));
  EXPECT_THAT(error, HasSubstr(file + ":4:18: temperature_K: 1000 K is outside 77..873.15 K"));
  EXPECT_THAT(error, HasSubstr(file + ":5:1: unknown key 'simulat'"));
  o.config_file = write(dir, "notifications:\n  email: [{url: smtp://x, from: a@b}]\n");
  EXPECT_THAT(error_of(o), HasSubstr(file + ":2:"));
  o.config_file = write(dir, "notifications:\n  daily_summary_utc: \"25:00\"\n");
  EXPECT_THAT(error_of(o), HasSubstr(file + ":2:22: daily_summary_utc: expected HH:MM (UTC), got '25:00'"));
  o.config_file = write(dir, "listen: [unclosed\n");
  EXPECT_THAT(error_of(o), HasSubstr(file + ":"));
}

TEST(ServiceConfig, ABadOverrideIsOneLine) {
  ServiceOverrides o;
  o.listen = "localhost";
  EXPECT_EQ(error_of(o), "listen: expected ADDRESS:PORT, got 'localhost'");
  o.listen.reset();
  o.speed = -1;
  EXPECT_EQ(error_of(o), "--speed must be within 0.001..10000");
  o.speed = std::numeric_limits<double>::infinity();  // --speed 1e400
  EXPECT_EQ(error_of(o), "--speed must be within 0.001..10000");
  o.speed.reset();
  o.linkam_url = "garbage://x";
  EXPECT_THAT(error_of(o), HasSubstr("--linkam: connection URL 'garbage://x': unknown scheme"));
}

}  // namespace
}  // namespace insitu::service
