#include "drivers/linkam/sim/stage_model.hpp"

#include "drivers/linkam/sim/temperature_history.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>

namespace insitu::linkam::sim {

std::uint64_t SplitMix64::next() {
  std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

double SplitMix64::uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

StageModel::StageModel(std::uint64_t seed) : StageModel(seed, Config{}) {}

StageModel::StageModel(std::uint64_t seed, const Config& config)
    : config_(config), rng_(seed), T_K_(config.ambient_K), setpoint_K_(config.ambient_K) {
  if (!(config_.step_s > 0.0)) throw std::invalid_argument("stage model step must be positive");
}

void StageModel::advance_to(double run_s) {
  if (!(run_s > time_s_)) return;
  // Whole steps only: the model lags the caller by less than one step, and the step count is
  // computed rather than accumulated so long runs do not drift.
  const auto steps = static_cast<long long>(std::floor((run_s - time_s_) / config_.step_s + 1e-9));
  const double start_s = time_s_;
  for (long long i = 1; i <= steps; ++i) {
    step(config_.step_s);
    time_s_ = start_s + static_cast<double>(i) * config_.step_s;
    if (recorder_) recorder_->record(time_s_, T_K_);
  }
}

double StageModel::max_cooling_K_per_min(double T_K) const {
  if (T_K <= config_.floor_K) return 0.0;
  return 60.0 * std::pow((T_K - config_.floor_K) / 190.0, 1.5);
}

double StageModel::passive_K_per_s(double T_K) const {
  return (config_.ambient_K - T_K) / config_.ambient_time_constant_s;
}

void StageModel::step(double dt_s) {
  // 1. The controller's internal setpoint.
  switch (state_) {
    case ControllerState::stopped:
      setpoint_K_ = T_K_;
      setpoint_rate_K_per_s_ = 0.0;
      break;
    case ControllerState::heating:
    case ControllerState::cooling: {
      const double delta_K = rate_K_per_min_ / 60.0 * dt_s;
      if (std::abs(limit_K_ - setpoint_K_) <= delta_K) {
        setpoint_K_ = limit_K_;
        setpoint_rate_K_per_s_ = 0.0;
        state_ = ControllerState::holding_limit;
      } else {
        const double direction = limit_K_ > setpoint_K_ ? 1.0 : -1.0;
        setpoint_K_ += direction * delta_K;
        setpoint_rate_K_per_s_ = direction * rate_K_per_min_ / 60.0;
        state_ = direction > 0 ? ControllerState::heating : ControllerState::cooling;
      }
      break;
    }
    case ControllerState::holding_limit:
      setpoint_K_ = limit_K_;
      setpoint_rate_K_per_s_ = 0.0;
      break;
    case ControllerState::holding_current:
      setpoint_rate_K_per_s_ = 0.0;
      break;
  }

  // 2. What the loop asks for: second-order tracking with velocity feed-forward.
  const double wn = config_.natural_frequency_rad_per_s;
  const double accel_K_per_s2 = wn * wn * (setpoint_K_ - T_K_) +
                                2.0 * config_.damping * wn * (setpoint_rate_K_per_s_ - velocity_K_per_s_);
  const double demanded_K_per_s = velocity_K_per_s_ + accel_K_per_s2 * dt_s;

  // 3. What the hardware can deliver. The quoted cooling capacity is net of the heat leak, so the
  // gross LN2 power is capacity + leak; a partly open pump removes that fraction of it.
  const double passive = passive_K_per_s(T_K_);
  const double gross_cooling_K_per_s = std::max(0.0, max_cooling_K_per_min(T_K_) / 60.0 + passive);
  double pump_fraction = 0.0;
  if (running() && !dewar_empty_) {
    pump_fraction = pump_auto_ ? 1.0 : static_cast<double>(manual_speed_) / max_pump_speed;
  }
  const double lower_K_per_s = passive - pump_fraction * gross_cooling_K_per_s;
  const bool heater_on = running() && !open_circuit_;
  double upper_K_per_s = heater_on ? config_.max_heating_K_per_min / 60.0
                                   : (pump_auto_ ? passive : lower_K_per_s);  // manual pump keeps pumping
  upper_K_per_s = std::max(upper_K_per_s, lower_K_per_s);
  const double velocity = std::clamp(demanded_K_per_s, lower_K_per_s, upper_K_per_s);

  cooling_too_fast_ = running() && (dewar_empty_ || demanded_K_per_s < lower_K_per_s - 1e-9);
  if (!running()) {
    pump_speed_ = 0;
  } else if (dewar_empty_) {
    pump_speed_ = max_pump_speed;  // the auto loop asks for everything and gets nothing
  } else if (!pump_auto_) {
    pump_speed_ = manual_speed_;
  } else if (gross_cooling_K_per_s > 0.0) {
    const double fraction = std::clamp((passive - velocity) / gross_cooling_K_per_s, 0.0, 1.0);
    pump_speed_ = static_cast<int>(std::ceil(fraction * max_pump_speed - 1e-9));
  } else {
    pump_speed_ = demanded_K_per_s < passive ? max_pump_speed : 0;
  }

  // 4. Integrate (semi-implicit Euler) and draw the sensor noise for this step.
  velocity_K_per_s_ = velocity;
  T_K_ += velocity * dt_s;
  noise_K_ = config_.noise_K * (2.0 * rng_.uniform() - 1.0);
}

void StageModel::set_rate_K_per_min(double rate) {
  if (!(rate >= min_rate_K_per_min && rate <= max_rate_K_per_min)) {
    throw std::invalid_argument("rate " + std::to_string(rate) + " K/min outside 0.01..150");
  }
  rate_K_per_min_ = rate;
}

namespace {
ControllerState ramp_state(double setpoint_K, double limit_K) {
  if (limit_K == setpoint_K) return ControllerState::holding_limit;
  return limit_K > setpoint_K ? ControllerState::heating : ControllerState::cooling;
}
}  // namespace

void StageModel::set_limit_K(double limit) {
  if (!(limit >= min_limit_K - 1e-9 && limit <= max_limit_K + 1e-9)) {
    throw std::invalid_argument("limit " + std::to_string(limit) + " K outside the THMS600 range 77.15..873.15 K");
  }
  limit_K_ = limit;
  // A new limit retargets a running ramp, including one that already reached its old limit.
  if (state_ == ControllerState::heating || state_ == ControllerState::cooling ||
      state_ == ControllerState::holding_limit) {
    state_ = ramp_state(setpoint_K_, limit_K_);
  }
}

void StageModel::start() {
  if (state_ == ControllerState::stopped) {
    setpoint_K_ = T_K_;
    setpoint_rate_K_per_s_ = 0.0;
  }
  state_ = ramp_state(setpoint_K_, limit_K_);
}

void StageModel::stop() {
  state_ = ControllerState::stopped;
  setpoint_rate_K_per_s_ = 0.0;
}

void StageModel::hold() {
  setpoint_K_ = T_K_;
  setpoint_rate_K_per_s_ = 0.0;
  state_ = ControllerState::holding_current;
}

void StageModel::resume() {
  if (state_ == ControllerState::holding_current) state_ = ramp_state(setpoint_K_, limit_K_);
}

void StageModel::power_cycle() {
  stop();
  pump_auto_ = true;
  manual_speed_ = 0;
}

void StageModel::set_pump_auto(bool automatic) { pump_auto_ = automatic; }

void StageModel::set_pump_manual_speed(int speed) {
  if (speed < 0 || speed > max_pump_speed) {
    throw std::invalid_argument("pump speed " + std::to_string(speed) + " outside 0..30");
  }
  manual_speed_ = speed;
}

void StageModel::set_fault(Fault fault, bool on) {
  switch (fault) {
    case Fault::open_circuit: open_circuit_ = on; break;
    case Fault::dewar_empty: dewar_empty_ = on; break;
    case Fault::silence: silence_ = on; break;
    case Fault::garbage: garbage_ = on; break;
  }
}

bool StageModel::fault(Fault fault) const {
  switch (fault) {
    case Fault::open_circuit: return open_circuit_;
    case Fault::dewar_empty: return dewar_empty_;
    case Fault::silence: return silence_;
    case Fault::garbage: return garbage_;
  }
  return false;
}

void StageModel::set_recorder(TemperatureHistory* recorder) {
  recorder_ = recorder;
  if (recorder_) recorder_->record(time_s_, T_K_);
}

void StageModel::set_temperature_K(double T_K) {
  T_K_ = T_K;
  if (recorder_) recorder_->record(time_s_, T_K_);
  velocity_K_per_s_ = 0.0;
  if (state_ == ControllerState::stopped || state_ == ControllerState::holding_current) setpoint_K_ = T_K;
}

std::uint8_t StageModel::eb1() const {
  return static_cast<std::uint8_t>(0x80 | (cooling_too_fast_ ? 0x01 : 0) | (open_circuit_ ? 0x02 : 0));
}

std::uint8_t StageModel::pb1() const {
  return static_cast<std::uint8_t>(0x80 | (pump_auto_ ? 0x40 : 0) | pump_speed_);
}

std::optional<FaultSwitch> read_fault_switch(std::istream& words) {
  static constexpr std::pair<const char*, Fault> names[] = {{"open_circuit", Fault::open_circuit},
                                                            {"dewar_empty", Fault::dewar_empty},
                                                            {"silence", Fault::silence},
                                                            {"garbage", Fault::garbage}};
  std::string name, state;
  words >> name >> state;
  if (state != "on" && state != "off") return std::nullopt;
  for (const auto& [n, fault] : names)
    if (name == n) return FaultSwitch{fault, state == "on"};
  return std::nullopt;
}

}  // namespace insitu::linkam::sim
