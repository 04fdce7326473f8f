#pragma once
// Shared by the trigger simulator tests: a run clock, a simulated BNC 575 behind a real pty on its own
// thread, the pulses it emitted (with the run time each reached its subscriber), and the driver's events.
#include <mutex>
#include <vector>

#include "drivers/trigger/driver.hpp"
#include "drivers/trigger/sim/background_trigger.hpp"
#include "tests/stage/sim_fixture.hpp"

namespace insitu::testing {

struct DeliveredPulse {
  trigger::PulseEvent event;
  double delivered_s;  // run clock when on_pulse ran
};

class PulseLog {
 public:
  void record(const trigger::PulseEvent& p, double now_s) {
    const std::lock_guard lock(mutex_);
    pulses_.push_back({p, now_s});
  }
  std::vector<DeliveredPulse> on_channel(int channel) const {
    const std::lock_guard lock(mutex_);
    std::vector<DeliveredPulse> out;
    for (const auto& p : pulses_)
      if (p.event.channel == channel) out.push_back(p);
    return out;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<DeliveredPulse> pulses_;
};

struct EventLog {
  std::vector<std::pair<std::string, std::string>> events;
  void attach(trigger::Driver& d) {
    d.set_event_handler(
        [this](double, io::EventKind k, const std::string& m) { events.emplace_back(std::string(io::to_string(k)), m); });
  }
  int count(const std::string& kind, const std::string& fragment) const {
    int n = 0;
    for (const auto& [k, m] : events) n += (k == kind && m.find(fragment) != std::string::npos);
    return n;
  }
};

struct TriggerFixture {
  TriggerFixture(const std::string& name, double speed, trigger::EmulatorConfig config = {})
      : dir(fresh_temp_dir(name)),
        clock(speed),
        unit(clock, dir / "ttyBNC", std::move(config),
             [this](const trigger::PulseEvent& p) { pulses.record(p, clock.now_s()); }) {}
  ~TriggerFixture() { std::filesystem::remove_all(dir); }

  trigger::DriverSettings driver_settings() const {
    trigger::DriverSettings s;
    s.url = io::parse_connection_url(unit.url());
    s.shutter_channel = 2;
    return s;
  }

  trigger::EmulatorState state() { return unit.with_server([](auto& s) { return s.emulator().state(); }); }
  std::vector<std::string> received() { return unit.with_server([](auto& s) { return s.received(); }); }
  int plug_count() { return unit.with_server([](auto& s) { return s.plug_count(); }); }

  std::filesystem::path dir;
  io::RunClock clock;
  PulseLog pulses;
  trigger::sim::BackgroundTrigger unit;
};

}  // namespace insitu::testing
