// The protocol engine driving the simulated stage through the real driver over a pty.
#include <gtest/gtest.h>

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

recipe::Recipe make_recipe(const std::string& program, const std::string& safe_state = "stop") {
  return recipe::parse_recipe(R"(insitu_recipe: 1
name: engine-test
sample: {name: test-glass, composition: Cu44Zr44Al8Hf2Co2}
stage: {model: THMS600, poll_interval_s: 1.0}
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

  void SetUp() override { run_to_completion(io, driver.connect()); }

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
    return state;
  }

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
