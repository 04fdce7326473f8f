// The real Linkam driver against the simulated controller over a real pseudo-terminal.
#include <algorithm>
#include <thread>

#include <gtest/gtest.h>

#include "tests/stage/sim_fixture.hpp"

namespace insitu::testing {
namespace {

using linkam::sim::Fault;

struct EventLog {
  std::vector<std::pair<std::string, std::string>> events;
  void attach(linkam::Driver& d) {
    d.set_event_handler(
        [this](double, io::EventKind k, const std::string& m) { events.emplace_back(std::string(io::to_string(k)), m); });
  }
  int count(const std::string& kind, const std::string& fragment) const {
    int n = 0;
    for (const auto& [k, m] : events) n += (k == kind && m.find(fragment) != std::string::npos);
    return n;
  }
};

class DriverOverPty : public ::testing::Test {
 protected:
  StageFixture fx{::testing::UnitTest::GetInstance()->current_test_info()->name(), 200.0};
  asio::io_context io;
  linkam::Driver driver{fx.clock, fx.driver_settings(), quiet_logger("test")};
  EventLog log;

  void SetUp() override {
    log.attach(driver);
    run_to_completion(io, driver.connect());
  }

  std::optional<linkam::Reading> read() { return run_to_completion(io, driver.read_status()); }

  // Polls (once per run second) until `done` or `limit_s` of run time.
  template <typename Pred>
  std::optional<linkam::Reading> poll_until(Pred done, double limit_s) {
    const double end_s = fx.clock.now_s() + limit_s;
    std::optional<linkam::Reading> r;
    while (fx.clock.now_s() < end_s) {
      r = read();
      if (r && done(*r)) return r;
      run_to_completion(io, fx.clock.sleep_for(1.0));
    }
    return std::nullopt;
  }
};

TEST_F(DriverOverPty, ReadsTheStageAtRoomTemperature) {
  const auto r = read();
  ASSERT_TRUE(r);
  EXPECT_NEAR(r->status.temperature_K, 295.0, 0.2);
  EXPECT_EQ(r->status.state, linkam::ControllerState::stopped);
  EXPECT_LE(r->time_s, fx.clock.now_s());
}

TEST_F(DriverOverPty, RampCommandsMoveTheStage) {
  run_to_completion(io, driver.set_rate(150.0));
  run_to_completion(io, driver.set_limit(320.0));
  run_to_completion(io, driver.start());
  const auto r = poll_until([](const linkam::Reading& x) { return x.status.temperature_K > 319.5; }, 300.0);
  ASSERT_TRUE(r) << "the stage never reached 320 K";
  EXPECT_EQ(fx.stage.with_model([](auto& m) { return m.limit_K(); }), linkam::quantize_limit_K(320.0));
  EXPECT_DOUBLE_EQ(fx.stage.with_model([](auto& m) { return m.rate_K_per_min(); }), 150.0);
}

TEST_F(DriverOverPty, RefusesCommandsBeyondTheStageLimitsWithoutSendingThem) {
  EXPECT_THROW(run_to_completion(io, driver.set_limit(900.0)), linkam::LimitRefused);
  EXPECT_THROW(run_to_completion(io, driver.set_limit(76.0)), linkam::LimitRefused);
  EXPECT_THROW(run_to_completion(io, driver.set_rate(151.0)), linkam::LimitRefused);
  EXPECT_THROW(run_to_completion(io, driver.set_rate(0.0)), linkam::LimitRefused);
  EXPECT_DOUBLE_EQ(fx.stage.with_model([](auto& m) { return m.limit_K(); }), 273.15);
  EXPECT_DOUBLE_EQ(fx.stage.with_model([](auto& m) { return m.rate_K_per_min(); }), 5.0);
}

TEST_F(DriverOverPty, SilenceTimesOutThenRecovers) {
  fx.stage.set_fault(Fault::silence, true);
  EXPECT_FALSE(read());
  EXPECT_GE(log.count("warning", "no reply to T"), 1);
  EXPECT_EQ(log.count("fault", "lost"), 1);
  fx.stage.set_fault(Fault::silence, false);
  const auto r = poll_until([](const auto&) { return true; }, 120.0);
  ASSERT_TRUE(r);
  EXPECT_NEAR(r->status.temperature_K, 295.0, 0.5);
  EXPECT_EQ(log.count("info", "restored"), 1);
}

TEST_F(DriverOverPty, GarbageIsRejectedAndTheLinkResynchronises) {
  fx.stage.set_fault(Fault::garbage, true);
  for (int i = 0; i < 3; ++i) read();
  EXPECT_GE(log.count("warning", "bad reply to T"), 1);
  fx.stage.set_fault(Fault::garbage, false);
  const auto r = poll_until([](const auto&) { return true; }, 120.0);
  ASSERT_TRUE(r);
  EXPECT_NEAR(r->status.temperature_K, 295.0, 0.5);  // never a value decoded from garbage
}

TEST_F(DriverOverPty, UnplugReconnectsAndReappliesRateLimitAndPump) {
  run_to_completion(io, driver.set_rate(20.0));
  run_to_completion(io, driver.set_limit(310.0));
  run_to_completion(io, driver.set_pump(linkam::PumpMode::manual, 12));
  fx.stage.unplug(30.0);
  // While the cable is out the controller forgets (as after a power cycle); the driver must restore it.
  fx.stage.with_model([](auto& m) {
    m.set_rate_K_per_min(5.0);
    m.set_limit_K(273.15);
    m.set_pump_auto(true);
    return 0;
  });
  EXPECT_FALSE(read());
  EXPECT_EQ(log.count("fault", "lost"), 1);
  const auto r = poll_until([](const auto&) { return true; }, 600.0);
  ASSERT_TRUE(r) << "no reading after the cable came back";
  EXPECT_EQ(log.count("info", "restored"), 1);
  EXPECT_DOUBLE_EQ(fx.stage.with_model([](auto& m) { return m.rate_K_per_min(); }), 20.0);
  EXPECT_DOUBLE_EQ(fx.stage.with_model([](auto& m) { return m.limit_K(); }), linkam::quantize_limit_K(310.0));
  EXPECT_FALSE(fx.stage.with_model([](auto& m) { return m.pump_auto(); }));
}

int count_received(const std::vector<linkam::sim::T95Emulator::Received>& received, const std::string& command) {
  return static_cast<int>(std::count_if(received.begin(), received.end(), [&](const auto& r) { return r.command == command; }));
}

TEST_F(DriverOverPty, StartGoesOnlyToAStoppedController) {
  run_to_completion(io, driver.set_rate(20.0));
  run_to_completion(io, driver.set_limit(330.0));
  run_to_completion(io, driver.start());
  ASSERT_TRUE(poll_until([](const linkam::Reading& x) { return x.status.state == linkam::ControllerState::heating; }, 30.0));
  run_to_completion(io, driver.start());  // already heating: nothing to send
  run_to_completion(io, driver.set_limit(310.0));
  run_to_completion(io, driver.start());  // a new limit retargets the running ramp
  ASSERT_TRUE(poll_until([](const linkam::Reading& x) { return x.status.state == linkam::ControllerState::holding_limit; }, 300.0));
  run_to_completion(io, driver.start());  // at the limit: still running
  run_to_completion(io, driver.hold_current());
  run_to_completion(io, driver.set_limit(320.0));
  run_to_completion(io, driver.start());  // holding the current temperature: resumed with H toward the higher limit
  const auto received = fx.stage.received_commands();
  EXPECT_EQ(count_received(received, "S"), 1);
  EXPECT_EQ(count_received(received, "H"), 1);
  for (const auto& r : received)
    if (r.command == "S") {
      EXPECT_EQ(r.state_before, linkam::sim::ControllerState::stopped);
    }
  EXPECT_EQ(fx.stage.with_model([](auto& m) { return m.state(); }), linkam::sim::ControllerState::heating);
}

TEST_F(DriverOverPty, PowerCycleMidRampIsAFaultAndTheRampIsStartedAgain) {
  std::optional<linkam::Reconnection> reconnection;
  driver.set_reconnect_handler([&](const linkam::Reconnection& r) { reconnection = r; });
  run_to_completion(io, driver.set_pump(linkam::PumpMode::manual, 12));
  run_to_completion(io, driver.set_rate(10.0));
  run_to_completion(io, driver.set_limit(343.15));
  run_to_completion(io, driver.start());
  ASSERT_TRUE(poll_until([](const linkam::Reading& x) { return x.status.temperature_K > 300.0; }, 120.0));
  const double cycled_s = fx.clock.now_s();
  fx.stage.power_cycle(20.0);
  const auto r = poll_until([&](const auto&) { return reconnection.has_value(); }, 600.0);
  ASSERT_TRUE(r) << "no reading after the controller came back";
  ASSERT_TRUE(reconnection);
  EXPECT_TRUE(reconnection->restarted);
  EXPECT_EQ(reconnection->found.status.state, linkam::ControllerState::stopped);
  EXPECT_GT(reconnection->found.status.temperature_K, 299.0);  // the stage kept its temperature
  EXPECT_EQ(log.count("fault", "came back stopped"), 1);
  EXPECT_EQ(log.count("info", "restored"), 1);
  const auto received = fx.stage.received_commands();
  EXPECT_EQ(count_received(received, "S"), 2);
  for (const auto& c : received)
    if (c.command == "S") {
      EXPECT_EQ(c.state_before, linkam::sim::ControllerState::stopped);
    }
  // The pump mode and speed really went out again after the power cycle, before the ramp was started.
  std::vector<std::string> after;
  for (const auto& c : received)
    if (c.run_s > cycled_s) after.push_back(c.command);
  EXPECT_EQ(after, (std::vector<std::string>{"R11000", "L1700", "Pm0", "P<", "S"}));
  EXPECT_EQ(fx.stage.with_model([](auto& m) { return m.state(); }), linkam::sim::ControllerState::heating);
  EXPECT_FALSE(fx.stage.with_model([](auto& m) { return m.pump_auto(); }));
}

TEST_F(DriverOverPty, UnplugWhileRampingSendsNoStart) {
  std::optional<linkam::Reconnection> reconnection;
  driver.set_reconnect_handler([&](const linkam::Reconnection& r) { reconnection = r; });
  run_to_completion(io, driver.set_rate(10.0));
  run_to_completion(io, driver.set_limit(340.0));
  run_to_completion(io, driver.start());
  fx.stage.unplug(20.0);
  ASSERT_TRUE(poll_until([&](const auto&) { return reconnection.has_value(); }, 600.0));
  EXPECT_FALSE(reconnection->restarted);
  EXPECT_EQ(reconnection->found.status.state, linkam::ControllerState::heating);
  EXPECT_EQ(log.count("fault", "came back stopped"), 0);
  EXPECT_EQ(count_received(fx.stage.received_commands(), "S"), 1);
}

// The crash under load: the loop is descheduled across the reply deadline while the cable comes out, so the
// hang-up and the deadline are seen in the same poll. The read fails first, the link is dropped (the stream
// freed) at once, and only then does the deadline's handler run: it must not touch the freed stream.
TEST_F(DriverOverPty, LinkDroppedInThePollWhereTheReplyDeadlinePassesIsSafe) {
  fx.stage.set_fault(Fault::silence, true);  // T stays unanswered, so the read is pending at the deadline
  std::optional<std::optional<linkam::Reading>> result;
  asio::co_spawn(io, driver.read_status(), [&](std::exception_ptr e, std::optional<linkam::Reading> r) {
    if (!e) result = r;
  });
  const auto deadline = fx.clock.io_deadline(driver.settings().reply_timeout_s);
  asio::steady_timer stall(io, deadline / 4);
  stall.async_wait([&](const boost::system::error_code&) {
    fx.stage.unplug(1e6);
    fx.stage.with_model([](auto&) { return 0; });  // the unplug has happened on the simulator's thread
    std::this_thread::sleep_for(deadline);          // descheduled past the deadline
  });
  io.restart();
  io.run();
  ASSERT_TRUE(result);
  EXPECT_FALSE(*result);
  EXPECT_EQ(log.count("fault", "lost"), 1);
  EXPECT_FALSE(driver.connected());
}

}  // namespace
}  // namespace insitu::testing
