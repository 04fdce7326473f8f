#pragma once
// The run state machine: executes a recipe's stage program on the Asio loop, polls the stage, knows the
// programmed temperature at every instant, flags what the stage cannot follow (and keeps the stretches it was off
// the programme), and always ends by putting the stage in the recipe's safe state and reading it back. After a
// reconnect that found the controller stopped mid-programme the programme ramps on from the stage's temperature.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "drivers/io/clock.hpp"
#include "drivers/io/run_events.hpp"
#include "drivers/linkam/driver.hpp"
#include "protocols/recipe/recipe.hpp"

namespace insitu::program {

struct StageSample {
  double time_s;
  double time_uncertainty_s;  // the reading was taken within time_s +- this
  double temperature_K;
  double setpoint_K;  // the programmed temperature at time_s; NaN while no program drives the stage
  std::uint8_t status_byte, error_byte, pump_byte;
};

struct ProgramEvent {
  double time_s;
  io::EventKind kind;
  std::string message;
};

// Where samples and events go (the run turns them into documents). Called on the loop thread.
class RunObserver {
 public:
  virtual ~RunObserver() = default;
  virtual void on_sample(const StageSample&) = 0;
  virtual void on_event(const ProgramEvent&) = 0;
};

enum class RunState { idle, running, paused, completed, aborted, failed };
std::string_view to_string(RunState);

struct Progress {
  RunState state = RunState::idle;
  std::size_t segment_index = 0;  // 0-based
  std::size_t segment_count = 0;
  std::string segment_label;
  double time_s = 0;
  std::optional<double> temperature_K;
  double setpoint_K = 0;  // NaN while no program drives the stage
  double eta_s = 0;  // estimated run time left
};

// A stretch of time the stage spent more than the recipe's follow_tolerance_K from the programme.
struct Deviation {
  double start_s;  // the first reading off the programme (the last one before a link outage it spans)
  double end_s;    // the first reading back within the tolerance (or the end of the programme)
  double max_deviation_K;  // the largest |T - setpoint| seen
};

// Where a run whose process died had got to (its journal says): the programme goes on from this segment, as a ramp
// from the stage's temperature, never a jump to where the setpoint would be.
struct ResumePoint {
  std::size_t segment_index = 0;
  double segment_started_s = 0;  // run time the segment began (a hold's time counts from then)
  double segment_start_K = 0;    // the stage's temperature then
};

struct EngineSettings {
  // How long the program waits for a lost stage link before it gives up (run time).
  double link_grace_s = 600.0;
  std::optional<ResumePoint> resume_from;
  // Wall seconds an abort and the safe-state path may spend on a controller that does not answer (the stop
  // command and its read-back); then the stage is given up on, with the fault in the record.
  double safe_state_wall_s = 5.0;
};

// The programmed temperature: from T0 at t0 toward the target at a fixed rate, then flat.
struct SetpointProfile {
  double t0_s = 0, start_K = 0, target_K = 0, rate_K_per_s = 0;
  double at(double t_s) const;
  double end_s() const;  // when the setpoint reaches the target
};

class Engine {
 public:
  Engine(const io::RunClock& clock, linkam::Driver& stage, const recipe::Recipe& recipe, RunObserver& observer,
         EngineSettings settings = {});
  ~Engine();

  // Runs the whole program; returns completed, aborted or failed. The stage is in the safe state afterwards.
  awaitable<RunState> run();

  // Requests from signal handlers, a control socket or tests (on the loop thread).
  void pause();
  void resume();
  void abort(const std::string& reason);

  Progress progress() const;
  // Why the program stopped early (the abort request or the stage fault); empty when it did not.
  std::string end_reason() const;
  // The stretches off the programme longer than the recipe's follow_allowance_s, in time order.
  const std::vector<Deviation>& deviations() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace insitu::program
