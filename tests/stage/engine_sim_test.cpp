// The protocol engine driving the simulated stage through the real driver over a pty.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "protocols/engine/engine.hpp"
#include "tests/stage/sim_fixture.hpp"

namespace insitu::testing {
namespace {

using linkam::sim::Fault;

struct Recorder final : program::RunObserver {
  std::vector<program::StageSample> samples;
  std::vector<program::ProgramEvent> events;
  void on_sample(const program::StageSample& s) override { samples.push_back(s); }
  void on_event(const program::ProgramEvent& e) override { events.push_back(e); }
  int count(const std::string& kind, const std::string& fragment = "") const {
    int n = 0;
    for (const auto& e : events) n += (io::to_string(e.kind) == kind && e.message.find(fragment) != std::string::npos);
    return n;
  }
};

recipe::Recipe make_recipe(const std::string& program, const std::string& safe_state = "stop",
                           const std::string& stage_extra = "") {
  return recipe::parse_recipe(R"(insitu_recipe: 1
name: engine-test
sample: {name: test-glass, composition: Cu44Zr44Al8Hf2Co2}
stage: {model: THMS600, poll_interval_s: 1.0)" + stage_extra + R"(}
program:
)" + program + "safe_state: " + safe_state + "\noutput: {directory: runs}\n",
                              "engine-test.yaml");
}

class EngineOverPty : public ::testing::Test {
 protected:
  StageFixture fx{::testing::UnitTest::GetInstance()->current_test_info()->name(), 300.0};
  asio::io_context io;
  linkam::Driver driver{fx.clock, fx.driver_settings(), quiet_logger("driver")};
  Recorder recorder;

  void SetUp() override {
    // The driver's events (link lost, controller found stopped) go where the run would put them: with the engine's.
    driver.set_event_handler([this](double t, io::EventKind kind, const std::string& message) {
      recorder.on_event({t, kind, message});
    });
    run_to_completion(io, driver.connect());
  }

  // Runs the recipe; `during` (if any) is called once per run second on the loop while the program runs.
  program::RunState run(const recipe::Recipe& recipe, std::function<void(program::Engine&, double)> during = {}) {
    program::Engine engine(fx.clock, driver, recipe, recorder);
    bool done = false;
    if (during) {
      // Passed uncalled: co_spawn keeps the callable (and its captures) alive in the coroutine frame.
      asio::co_spawn(
          io,
          [&]() -> awaitable<void> {
            while (!done) {
              during(engine, fx.clock.now_s());
              co_await fx.clock.sleep_for(1.0);
            }
          },
          asio::detached);
    }
    const auto state = run_to_completion(io, [&]() -> awaitable<program::RunState> {
      const auto s = co_await engine.run();
      done = true;
      co_return s;
    }());
    deviations = engine.deviations();
    return state;
  }

  int received(const std::string& command) {
    const auto all = fx.stage.received_commands();
    return static_cast<int>(std::count_if(all.begin(), all.end(), [&](const auto& r) { return r.command == command; }));
  }
  // Every `S` the controller got found it stopped.
  void expect_start_only_when_stopped() {
    for (const auto& r : fx.stage.received_commands())
      if (r.command == "S") {
        EXPECT_EQ(r.state_before, linkam::sim::ControllerState::stopped) << "S at " << r.run_s;
      }
  }

  std::vector<program::Deviation> deviations;

  linkam::sim::ControllerState controller_state() {
    return fx.stage.with_model([](auto& m) { return m.state(); });
  }
};

TEST_F(EngineOverPty, ShortProgramCompletesWithOneEventPerSegmentAndStopsTheStage) {
  const auto recipe = make_recipe(R"(  - hold: {temperature_K: 300, approach_rate_K_per_min: 20, duration_s: 60}
  - ramp: {to_K: 320, rate_K_per_min: 20}
  - ramp: {to_K: 300, rate_K_per_min: 20}
)");
  EXPECT_EQ(run(recipe), program::RunState::completed);
  EXPECT_EQ(recorder.count("segment"), 3);
  EXPECT_EQ(recorder.count("state", "safe state: stop"), 1);
  EXPECT_EQ(controller_state(), linkam::sim::ControllerState::stopped);
  ASSERT_FALSE(recorder.samples.empty());
  double peak_K = 0;
  for (std::size_t i = 1; i < recorder.samples.size(); ++i) {
    EXPECT_GT(recorder.samples[i].time_s, recorder.samples[i - 1].time_s);
    peak_K = std::max(peak_K, recorder.samples[i].temperature_K);
  }
  EXPECT_GT(peak_K, 319.0);
  EXPECT_NEAR(recorder.samples.back().temperature_K, 300.0, 1.0);
  // One `S` for the whole program: each later segment retargets the running controller.
  EXPECT_EQ(received("S"), 1);
  expect_start_only_when_stopped();
  EXPECT_EQ(received("Pa0"), 1);  // the recipe's pump mode (automatic by default), at the start
  // The stop was read back: the log's last reading was taken after `E` and shows the controller stopped.
  const auto all = fx.stage.received_commands();
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(all.back().command, "E");
  EXPECT_GT(recorder.samples.back().time_s, all.back().run_s);
  EXPECT_EQ(recorder.samples.back().status_byte, 0x01);
  EXPECT_EQ(recorder.count("state", "the controller reads stopped"), 1);
  EXPECT_TRUE(deviations.empty());
}

TEST_F(EngineOverPty, OpenCircuitFailsTheRunAndSecuresTheStage) {
  const auto recipe = make_recipe("  - ramp: {to_K: 400, rate_K_per_min: 10}\n");
  bool injected = false;
  const auto state = run(recipe, [&](program::Engine&, double t) {
    if (!injected && t > 60) {
      fx.stage.set_fault(Fault::open_circuit, true);
      injected = true;
    }
  });
  EXPECT_EQ(state, program::RunState::failed);
  EXPECT_GE(recorder.count("fault", "open circuit"), 1);
  EXPECT_EQ(controller_state(), linkam::sim::ControllerState::stopped);
}

// 3 % of the controller's reply bytes replaced at random (the emulator's generator is seeded): about one T reply in
// 200 decodes with the open-circuit bit set and one in 100 with a temperature digit changed, tens or hundreds of
// kelvin off. Neither may fail the run or enter the log; a real fault persists and is still taken (the test above).
TEST_F(EngineOverPty, LineNoiseNeitherFailsTheRunNorEntersTheLog) {
  const auto recipe = make_recipe("  - ramp: {to_K: 400, rate_K_per_min: 10}\n");
  fx.stage.set_byte_error_rate(0.03);
  EXPECT_EQ(run(recipe), program::RunState::completed);
  fx.stage.set_byte_error_rate(0.0);
  EXPECT_EQ(recorder.count("fault", "open circuit"), 0);
  // Each reading dropped is one that, taken, would have failed the run or broken the step check below.
  EXPECT_GE(recorder.count("warning", "not confirmed by the next one"), 1);
  ASSERT_GT(recorder.samples.size(), 30u);
  // The log holds only what the stage can do: no step beyond its fastest rate (150 K/min) and the sensor's noise.
  for (std::size_t i = 1; i < recorder.samples.size(); ++i) {
    const auto &a = recorder.samples[i - 1], &b = recorder.samples[i];
    EXPECT_LE(std::abs(b.temperature_K - a.temperature_K), 2.5 * (b.time_s - a.time_s) + 5.0)
        << a.temperature_K << " K at " << a.time_s << " s, then " << b.temperature_K << " K at " << b.time_s << " s";
  }
}

TEST_F(EngineOverPty, AbortLeavesTheStageHoldingWhenTheRecipeSaysHold) {
  const auto recipe = make_recipe("  - ramp: {to_K: 400, rate_K_per_min: 10}\n", "hold");
  const auto state = run(recipe, [&](program::Engine& e, double t) {
    if (t > 120) e.abort("operator");
  });
  EXPECT_EQ(state, program::RunState::aborted);
  EXPECT_EQ(recorder.count("state", "aborted: operator"), 1);
  EXPECT_EQ(controller_state(), linkam::sim::ControllerState::holding_current);
}

TEST_F(EngineOverPty, PauseHoldsTheStageAndResumeFinishesTheRamp) {
  const auto recipe = make_recipe("  - ramp: {to_K: 330, rate_K_per_min: 10}\n");
  std::optional<linkam::sim::ControllerState> state_while_paused;
  const auto state = run(recipe, [&](program::Engine& e, double t) {
    if (t > 60 && t < 62) e.pause();
    if (t > 200 && !state_while_paused) {
      state_while_paused = fx.stage.with_model([](auto& m) { return m.state(); });
      e.resume();
    }
  });
  EXPECT_EQ(state, program::RunState::completed);
  EXPECT_EQ(state_while_paused, linkam::sim::ControllerState::holding_current);
  EXPECT_EQ(recorder.count("state", "paused"), 1);
  EXPECT_EQ(recorder.count("state", "resumed"), 1);
  EXPECT_GT(recorder.samples.back().temperature_K, 329.0);
  EXPECT_EQ(received("S"), 1);  // the resume is `H` toward the limit, not a second `S`
  EXPECT_EQ(received("H"), 1);
}

// A power cycle mid-ramp: the link drops for 30 s of run time and the controller comes back stopped, the stage a
// little below where the programme had got to.
class PowerCycleOverPty : public EngineOverPty {
 protected:
  program::RunState run_with_power_cycle(const std::string& stage_extra) {
    const auto recipe = make_recipe("  - ramp: {to_K: 345, rate_K_per_min: 10}\n", "stop", stage_extra);
    return run(recipe, [&](program::Engine&, double t) {
      if (!cycled_s && t > 120) {
        cycled_s = t;
        fx.stage.power_cycle(30.0);
      }
    });
  }

  // The reading that found the controller stopped after the power cycle (the log keeps it), by index.
  std::size_t restart_sample() const {
    const auto& s = recorder.samples;
    std::size_t i = 0;
    while (i < s.size() && !(s[i].time_s > *cycled_s && s[i].status_byte == 0x01)) ++i;
    return i;
  }

  std::optional<double> cycled_s;
};

TEST_F(PowerCycleOverPty, TheRampContinuesFromTheMeasuredTemperatureWithoutAStep) {
  EXPECT_EQ(run_with_power_cycle(""), program::RunState::completed);
  ASSERT_TRUE(cycled_s);
  EXPECT_EQ(recorder.count("fault", "came back stopped"), 1);
  EXPECT_EQ(recorder.count("state", "program continues from"), 1);
  EXPECT_EQ(received("S"), 2);  // the start, and the restart of the controller that read stopped
  expect_start_only_when_stopped();
  EXPECT_EQ(received("Pa0"), 2);  // the pump mode at the start and again after the reconnect
  // The stage never steps (moves more between two readings than the 10 K/min ramp carries it, plus 1 K: a starved
  // machine spaces the readings out), and from the restart on the programme starts where the stage is.
  const auto& s = recorder.samples;
  for (std::size_t i = 1; i < s.size(); ++i) {
    const double ramp_K = 10.0 / 60.0 * (s[i].time_s - s[i - 1].time_s);
    EXPECT_LT(std::abs(s[i].temperature_K - s[i - 1].temperature_K), 1.0 + ramp_K) << "step at " << s[i].time_s << " s";
  }
  const std::size_t restart = restart_sample();
  ASSERT_LT(restart, s.size()) << "the reading that found the controller stopped is not in the log";
  for (std::size_t i = restart + 1; i < s.size(); ++i)
    if (!std::isnan(s[i].setpoint_K)) {
      EXPECT_LT(std::abs(s[i].temperature_K - s[i].setpoint_K), 1.0) << "off the programme at " << s[i].time_s << " s";
    }
  EXPECT_GT(s.back().temperature_K, 344.0);
  // Off the band for the outage only (about 30 s), within the default 60 s allowance.
  EXPECT_TRUE(deviations.empty());
}

TEST_F(PowerCycleOverPty, AnOutageLongerThanTheAllowanceIsADeviation) {
  EXPECT_EQ(run_with_power_cycle(", follow_tolerance_K: 1.0, follow_allowance_s: 10"), program::RunState::completed);
  ASSERT_EQ(deviations.size(), 1u);
  EXPECT_LE(deviations[0].start_s, *cycled_s + 1.0);  // from the last reading before the outage
  EXPECT_GE(deviations[0].end_s - deviations[0].start_s, 25.0);
  EXPECT_GT(deviations[0].max_deviation_K, 1.0);
  EXPECT_EQ(recorder.count("warning", "deviation: the stage was off the programme"), 1);
}

TEST_F(EngineOverPty, CoolingNearLiquidNitrogenIsFlagged) {
  fx.stage.with_model([](auto& m) {
    m.set_temperature_K(130.0);
    return 0;
  });
  const auto recipe = make_recipe("  - ramp: {to_K: 95, rate_K_per_min: 50}\n");
  EXPECT_EQ(run(recipe), program::RunState::completed);
  EXPECT_EQ(recorder.count("warning", "cannot hold the cooling rate"), 1);
}

TEST_F(EngineOverPty, EmptyDewarIsReportedAsAFault) {
  fx.stage.with_model([](auto& m) {
    m.set_temperature_K(150.0);
    return 0;
  });
  const auto recipe = make_recipe("  - hold: {temperature_K: 150, approach_rate_K_per_min: 10, duration_s: 900}\n");
  bool injected = false;
  run(recipe, [&](program::Engine&, double t) {
    if (!injected && t > 100) {
      fx.stage.set_fault(Fault::dewar_empty, true);
      injected = true;
    }
  });
  EXPECT_EQ(recorder.count("fault", "dewar appears empty"), 1);
}

}  // namespace
}  // namespace insitu::testing
