#pragma once
#include <cstdint>
#include <istream>
#include <optional>

namespace insitu::linkam::sim {

class TemperatureHistory;

// Switchable faults. `silence` and `garbage` act on the wire (the emulator reads them from the model
// so one object carries the whole device state); cable unplug is done by the pty server.
enum class Fault { open_circuit, dewar_empty, silence, garbage };
struct FaultSwitch {
  Fault fault;
  bool on;
};
// A simulator console's `NAME on|off` (open_circuit, dewar_empty, silence, garbage); nullopt for anything else.
std::optional<FaultSwitch> read_fault_switch(std::istream& words);

// Controller state as reported in SB1 (byte 0 of the `T` reply).
enum class ControllerState : std::uint8_t {
  stopped = 0x01,
  heating = 0x10,
  cooling = 0x20,
  holding_limit = 0x30,
  holding_current = 0x50,
};

// Deterministic 64-bit generator (splitmix64): the same seed gives the same noise on every
// platform, which std::uniform_real_distribution does not promise.
class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next();
  // Uniform in [0, 1).
  double uniform();

 private:
  std::uint64_t state_;
};

// Physics of a THMS600 stage on a T95 controller with an LNP95 pump, stepped in run time with a
// fixed step. Pure: no I/O, no clock; the caller says what run time it is.
//
// The controller ramps an internal setpoint at the set rate; the stage follows it as a damped
// second-order system with velocity feed-forward (zero steady lag on a ramp, a small overshoot at
// ramp ends). The stage's rate of change is then clamped by what the hardware can deliver: the
// heater (up to 150 K/min) and the LN2 cooling, whose net capacity falls toward the 83 K floor.
class StageModel {
 public:
  struct Config {
    double ambient_K = 295.0;
    double noise_K = 0.05;              // reported temperature: uniform +-noise_K around the stage
    double step_s = 0.05;               // fixed integration step
    double natural_frequency_rad_per_s = 0.25;
    double damping = 0.7;
    double ambient_time_constant_s = 1500.0;  // Newtonian drift with heater and LN2 off
    double max_heating_K_per_min = 150.0;
    double floor_K = 83.0;               // LN2 cooling capacity vanishes here
  };

  static constexpr double min_limit_K = 77.15;   // -196 C, THMS600 range
  static constexpr double max_limit_K = 873.15;  // 600 C
  static constexpr double min_rate_K_per_min = 0.01;
  static constexpr double max_rate_K_per_min = 150.0;
  static constexpr int max_pump_speed = 30;

  explicit StageModel(std::uint64_t seed = 1);
  StageModel(std::uint64_t seed, const Config& config);

  // Integrates up to `run_s` in fixed steps. Earlier times are ignored (time never runs back).
  void advance_to(double run_s);
  double time_s() const { return time_s_; }

  // --- controller commands (validated; std::invalid_argument when out of range) ---
  void set_rate_K_per_min(double rate);
  void set_limit_K(double limit);
  // `S`: ramp from the current stage temperature toward the limit, then hold there.
  void start();
  // `E`: heater and pump off; the stage drifts toward ambient.
  void stop();
  // `O`: hold the current stage temperature.
  void hold();
  // `H` / `C`: resume the ramp toward the limit after `O` (no effect in other states).
  void resume();
  // Power off and on: the controller comes back stopped with the pump in automatic mode; like a real unit it
  // remembers its last rate and limit. The stage keeps its temperature (and drifts from there).
  void power_cycle();
  void set_pump_auto(bool automatic);
  void set_pump_manual_speed(int speed);  // 0..30, used in manual mode

  // Optional: records (run time, true temperature) after every step, and at once when set. Not owned.
  void set_recorder(TemperatureHistory* recorder);

  void set_fault(Fault fault, bool on);
  bool fault(Fault fault) const;

  // Back door for tests and scenarios: place the stage at `T_K` at rest (setpoint follows).
  void set_temperature_K(double T_K);

  // --- observables ---
  double temperature_K() const { return T_K_; }             // true stage temperature
  double measured_temperature_K() const { return T_K_ + noise_K_; }  // what the sensor reports
  double setpoint_K() const { return setpoint_K_; }
  double rate_K_per_min() const { return rate_K_per_min_; }
  double limit_K() const { return limit_K_; }
  double stage_rate_K_per_min() const { return velocity_K_per_s_ * 60.0; }
  ControllerState state() const { return state_; }
  bool pump_auto() const { return pump_auto_; }
  int pump_speed() const { return pump_speed_; }  // as shown in PB1
  bool cooling_too_fast() const { return cooling_too_fast_; }

  std::uint8_t sb1() const { return static_cast<std::uint8_t>(state_); }
  std::uint8_t eb1() const;
  std::uint8_t pb1() const;

  // Net LN2 cooling capacity at full pump speed [K/min]: 60 * ((T - floor)/190 K)^1.5, 0 at the floor.
  double max_cooling_K_per_min(double T_K) const;

 private:
  void step(double dt_s);
  bool running() const { return state_ != ControllerState::stopped; }
  double passive_K_per_s(double T_K) const;

  Config config_;
  SplitMix64 rng_;
  double time_s_ = 0.0;
  double T_K_;
  double velocity_K_per_s_ = 0.0;
  double noise_K_ = 0.0;
  double setpoint_K_;
  double setpoint_rate_K_per_s_ = 0.0;
  double rate_K_per_min_ = 5.0;  // the device remembers its last rate; 5 C/min out of the box
  double limit_K_ = 273.15;
  ControllerState state_ = ControllerState::stopped;
  bool pump_auto_ = true;
  int manual_speed_ = 0;
  int pump_speed_ = 0;
  bool cooling_too_fast_ = false;
  bool open_circuit_ = false;
  bool dewar_empty_ = false;
  bool silence_ = false;
  bool garbage_ = false;
  TemperatureHistory* recorder_ = nullptr;
};

}  // namespace insitu::linkam::sim
