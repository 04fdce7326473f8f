#include "daemon/service/idle_stage.hpp"

namespace insitu::service {
namespace {

std::string state_name(linkam::ControllerState state) {
  switch (state) {
    case linkam::ControllerState::stopped:
      return "stopped";
    case linkam::ControllerState::heating:
      return "heating";
    case linkam::ControllerState::cooling:
      return "cooling";
    case linkam::ControllerState::holding_limit:
    case linkam::ControllerState::holding_limit_timer:
    case linkam::ControllerState::holding_current:
      return "holding";
  }
  return "unknown";
}

constexpr double kReadEvery_wall_s = 5.0;

}  // namespace

IdleStage::IdleStage(const io::RunClock& clock, std::string url, IdleStageSettings settings,
                     std::shared_ptr<spdlog::logger> logger)
    : clock_(clock), url_(std::move(url)), settings_(settings), log_(std::move(logger)) {}

void IdleStage::record(const linkam::Reading& reading) {
  view_.state = state_name(reading.status.state);
  view_.temperature_K = reading.status.temperature_K;
  view_.read = clock_.iso8601_at(reading.time_s);
}

awaitable<void> IdleStage::apply(linkam::Driver& stage) {
  if (settings_.mode == IdleStageSettings::Mode::stop) {
    co_await stage.stop();
    view_.setpoint_K.reset();
    log_->info("idle: stage heater off");
    co_return;
  }
  co_await stage.set_rate(settings_.rate_K_per_min);
  co_await stage.set_limit(settings_.temperature_K);
  co_await stage.start();
  view_.setpoint_K = settings_.temperature_K;
  log_->info("idle: stage to {:.2f} K at {:g} K/min, then holding", settings_.temperature_K, settings_.rate_K_per_min);
}

awaitable<void> IdleStage::hold_until(const std::function<bool()>& done, io::LoopCondition& changed) {
  linkam::DriverSettings settings;
  settings.url = io::parse_connection_url(url_);
  // The last idle period's driver goes only now: what it left in flight has long completed.
  stage_ = std::make_unique<linkam::Driver>(clock_, settings, log_);
  auto& stage = *stage_;
  try {
    co_await stage.connect();
    co_await apply(stage);
  } catch (const std::exception& e) {
    view_.state = "unreachable";
    log_->warn("idle: the stage is not in its idle state: {}", e.what());
  }
  const auto interval = std::chrono::duration_cast<io::RunClock::wall_clock::duration>(
      std::chrono::duration<double>(kReadEvery_wall_s));
  while (!done()) {
    if (stage.connected()) {
      if (auto reading = co_await stage.read_status()) record(*reading);
    }
    co_await changed.wait_until(done, io::RunClock::wall_clock::now() + interval);
  }
  stage.close();
}

}  // namespace insitu::service
