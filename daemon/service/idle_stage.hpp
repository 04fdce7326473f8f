#pragma once
// The stage between runs: connected on the service's clock, put in the configured idle state, read every few
// seconds so that the status shows it, and let go when a run needs the port.
#include <spdlog/logger.h>

#include <functional>
#include <optional>
#include <string>

#include "daemon/service/config.hpp"
#include "drivers/io/loop_condition.hpp"
#include "drivers/linkam/driver.hpp"

namespace insitu::service {

struct StageView {
  std::string state = "unknown";  // "stopped", "holding", "heating", "cooling", "in a run", "unreachable", "unknown"
  std::optional<double> temperature_K, setpoint_K;
  std::string read;  // ISO 8601 of the reading
};

class IdleStage {
 public:
  IdleStage(const io::RunClock& clock, std::string url, IdleStageSettings settings,
            std::shared_ptr<spdlog::logger> logger);

  // Until `done()` (woken through `changed`): applies the idle state, then reads the stage every few seconds.
  awaitable<void> hold_until(const std::function<bool()>& done, io::LoopCondition& changed);
  const StageView& view() const { return view_; }
  void mark_in_run() { view_.state = "in a run"; }

 private:
  awaitable<void> apply(linkam::Driver& stage);
  void record(const linkam::Reading& reading);

  const io::RunClock& clock_;
  std::string url_;
  IdleStageSettings settings_;
  std::shared_ptr<spdlog::logger> log_;
  StageView view_;
  std::unique_ptr<linkam::Driver> stage_;
};

}  // namespace insitu::service
