#include "daemon/simulation.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <system_error>
#include <thread>

#include <fmt/format.h>

#include "daemon/xrd_setup.hpp"
#include "drivers/dhr3/simulator.hpp"
#include "drivers/io/thread_priority.hpp"
#include "drivers/linkam/sim/background_stage.hpp"
#include "drivers/linkam/sim/temperature_history.hpp"
#include "drivers/trigger/sim/background_trigger.hpp"

namespace insitu::daemon {
namespace {

double unix_s(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

// A resumed run's simulated detector numbers its files from the first index again, as a restarted detector
// computer would: into a folder of its own, so that the first part's files are neither overwritten nor taken again.
std::filesystem::path fresh_folder(const std::filesystem::path& folder) {
  std::filesystem::path candidate = folder;
  for (int part = 2; std::filesystem::exists(candidate); ++part)
    candidate = folder.string() + "-part" + std::to_string(part);
  return candidate;
}

// The simulated detector side: a BNC 575 behind a pty whose channel-A pulses read out the simulated XRD1621,
// which renders on its own thread (≈150 ms a full frame) into a folder the run watches like a real share.
class SimulatedDetector {
 public:
  // `stage_s_at_origin`: the stage clock's time at `clock`'s origin, where the stage's temperature history is kept.
  // Without a simulated `stage`, the history is what record_stage_reading gives it, on `clock`'s times.
  SimulatedDetector(const io::RunClock& clock, const recipe::Recipe& recipe, const std::filesystem::path& dir,
                    linkam::sim::BackgroundStage* stage, double stage_s_at_origin, const SimulationSettings& settings)
      : stage_(stage),
        frames_dir_(fresh_folder(dir / "detector-sim")),
        trigger_link_(dir / "ttyBNC-sim"),
        stage_s_at_origin_(stage_s_at_origin) {
    std::filesystem::create_directories(frames_dir_);
    // Rendering is the heavy part of the simulation: below the loop and the simulated delay generator, which must
    // answer at once, but above the analysis, which may lag (the detector computer of a real setup is its own).
    asio::post(render_thread_, [] { io::lower_this_thread_priority(5); });
    if (stage_)
      stage_->with_model([this](auto& model) {
        model.set_recorder(&history_);
        return 0;
      });
    const auto& d = *recipe.detector;
    detector::sim::DetectorSimConfig config;
    config.poni_path = *d.geometry;
    config.form_factor_path = form_factor_table_path();
    config.binning = static_cast<std::size_t>(d.settings.binning);
    config.subframes = d.settings.subframes;
    config.seed = settings.seed;
    // The simulated detector PC's clock is in step with this computer's: UTC origin + run time.
    detector_ = std::make_unique<detector::sim::DetectorSimulator>(
        config, frames_dir_, d.frames.pattern,
        [this, stage_s_at_origin](double t0, double t1) {
          // The stage's model moves when its controller is asked over the pty: while nothing asks (the link
          // unplugged) its history would stop at the last question and the window read that stale value.
          if (stage_)
            stage_->with_model([&](auto& model) {
              model.advance_to(t1 + stage_s_at_origin);
              return 0;
            });
          return history_.mean_K(t0 + stage_s_at_origin, t1 + stage_s_at_origin);
        },
        unix_s(clock.utc_origin()), d.frames.first_index);
    for (const auto& f : settings.detector_faults) detector_->inject_fault(f.frame, f.fault, f.value_s);
    detector_->arm(0.0);
    trigger_ = std::make_unique<trigger::sim::BackgroundTrigger>(
        clock, trigger_link_, trigger::EmulatorConfig{}, [this](const trigger::PulseEvent& pulse) {
          // Channel B is the shutter line (closed = inverted polarity); channel A reads a frame out.
          asio::post(render_thread_, [this, pulse] {
            if (pulse.channel == 2) detector_->set_shutter_open(pulse.polarity == trigger::Polarity::normal);
            if (pulse.channel == 1) read_out(pulse.edge_s);
          });
        });
  }
  ~SimulatedDetector() {
    trigger_.reset();
    render_thread_.join();
    if (stage_)
      stage_->with_model([](auto& model) {
        model.set_recorder(nullptr);
        return 0;
      });
  }
  void record_stage_reading(double run_s, double temperature_K) {
    if (!stage_) history_.record(run_s, temperature_K);
  }
  std::string trigger_url() const { return "pty:" + trigger_link_.string(); }
  const std::filesystem::path& frames_dir() const { return frames_dir_; }
  trigger::sim::BackgroundTrigger& trigger() { return *trigger_; }
  // The fault hits the image the next channel-A pulse reads out (its truth record names it).
  void inject_at_next_read_out(detector::sim::FileFault fault, double value_s) {
    asio::post(render_thread_,
               [this, fault, value_s] { detector_->inject_fault(detector_->frames_read_out(), fault, value_s); });
  }

 private:
  // A detector computer whose disk is full (or whose share went) writes no frame: the run finds it missing. The
  // first such failure is said once on stderr; the simulation goes on.
  void read_out(double edge_s) {
    try {
      detector_->on_pulse(edge_s);
      // Later exposures start after this edge: the history before it (a minute kept for slack) is never read again,
      // and kept it would grow with the run.
      history_.forget_before(edge_s + stage_s_at_origin_ - 60.0);
    } catch (const std::exception& e) {
      if (!write_failed_) std::fprintf(stderr, "simulated detector: a frame was not written: %s\n", e.what());
      write_failed_ = true;
    }
  }

  linkam::sim::BackgroundStage* stage_;  // null: an external stage
  std::filesystem::path frames_dir_, trigger_link_;
  double stage_s_at_origin_;
  linkam::sim::TemperatureHistory history_;
  asio::thread_pool render_thread_{1};
  std::unique_ptr<detector::sim::DetectorSimulator> detector_;
  std::unique_ptr<trigger::sim::BackgroundTrigger> trigger_;
  bool write_failed_ = false;  // on the render thread
};

// The simulated DHR-3 has already measured the sweep: its TRIOS exports wait in the folder, its truth beside it.
std::filesystem::path write_simulated_dma_exports(const recipe::Recipe& recipe, const std::filesystem::path& dir) {
  const auto folder = dir / "dhr3-sim";
  std::filesystem::create_directories(folder);
  const auto geometry = recipe.dma->geometry == recipe::DmaGeometry::torsion ? dhr3::SimGeometry::torsion
                                                                             : dhr3::SimGeometry::three_point_bending;
  const auto sweep = dhr3::simulate_sweep(dhr3::paper_sweep(geometry));
  std::ofstream(folder / "dma_sweep_lims.txt", std::ios::binary) << dhr3::write_lims(sweep);
  std::ofstream(dir / "dhr3-sim-truth.json", std::ios::binary) << dhr3::ground_truth_json(sweep);
  return folder;
}


// The simulators' fault console: the FIFO `fifo`, one command a line from anyone who opens it for writing (a test,
// a script, a person at a shell); each line goes to `apply` on the console's thread. Opened read-write, so that
// writers may come and go without the reader ever seeing an end of file.
class FaultConsole {
 public:
  FaultConsole(const std::filesystem::path& fifo, std::function<void(const std::string&)> apply)
      : apply_(std::move(apply)) {
    std::filesystem::remove(fifo);
    if (::mkfifo(fifo.c_str(), 0600) != 0 || (fd_ = ::open(fifo.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC)) < 0)
      throw std::system_error(errno, std::generic_category(), "fault console " + fifo.string());
    stop_ = ::eventfd(0, EFD_CLOEXEC);
    thread_ = std::thread([this] { serve(); });
  }
  ~FaultConsole() {
    const std::uint64_t one = 1;
    if (::write(stop_, &one, sizeof one) < 0) std::perror("fault console: stop");
    thread_.join();
    ::close(fd_);
    ::close(stop_);
  }
  FaultConsole(const FaultConsole&) = delete;
  FaultConsole& operator=(const FaultConsole&) = delete;

 private:
  void serve() {
    std::string pending;
    std::array<pollfd, 2> fds{{{fd_, POLLIN, 0}, {stop_, POLLIN, 0}}};
    while (::poll(fds.data(), fds.size(), -1) >= 0 && !(fds[1].revents & POLLIN)) {
      std::array<char, 512> buffer{};
      const auto n = ::read(fd_, buffer.data(), buffer.size());
      if (n <= 0) continue;
      pending.append(buffer.data(), static_cast<std::size_t>(n));
      for (auto end = pending.find('\n'); end != std::string::npos; end = pending.find('\n')) {
        apply_(pending.substr(0, end));
        pending.erase(0, end + 1);
      }
    }
  }

  std::function<void(const std::string&)> apply_;
  int fd_ = -1, stop_ = -1;
  std::thread thread_;
};

std::optional<detector::sim::FileFault> file_fault(const std::string& name) {
  using detector::sim::FileFault;
  for (const auto f : {FileFault::missing, FileFault::delayed, FileFault::truncated, FileFault::duplicate,
                       FileFault::clock_skew, FileFault::orphan})
    if (to_string(f) == name) return f;
  return std::nullopt;
}

// The stage's commands: `fault NAME on|off`, `noise FRACTION`, `unplug S`, `power_cycle S` (run seconds).
bool apply_stage_fault(linkam::sim::BackgroundStage& stage, std::istream& words) {
  std::string what;
  words >> what;
  if (what == "fault") {
    const auto fault = linkam::sim::read_fault_switch(words);
    if (fault) stage.set_fault(fault->fault, fault->on);
    return fault.has_value();
  }
  double value = -1;
  words >> value;
  if (!words || value < 0) return false;
  if (what == "noise" && value <= 1) stage.set_byte_error_rate(value);
  else if (what == "unplug") stage.unplug(value);
  else if (what == "power_cycle") stage.power_cycle(value);
  else return false;
  return true;
}

// The delay generator's: `fault drop|error|garbage|noise [PREFIX]`, `fault late S [PREFIX]`, `unplug S`.
bool apply_trigger_fault(trigger::sim::BackgroundTrigger& trigger, std::istream& words) {
  std::string what, prefix;
  words >> what;
  if (what == "unplug") {
    double seconds = -1;
    if (!(words >> seconds) || seconds < 0) return false;
    trigger.unplug(seconds);
    return true;
  }
  if (what != "fault") return false;
  const auto fault = trigger::read_fault(words);
  if (!fault) return false;
  words >> prefix;
  trigger.inject(*fault, prefix);
  return true;
}

}  // namespace

struct Simulation::Impl {
  // A copy: the simulation lives as long as the host, longer than a service whose clock it was given.
  const io::RunClock clock;
  std::unique_ptr<linkam::sim::BackgroundStage> stage;  // null: the stage is external_stage_url
  std::string external_stage_url;
  std::mutex run_mutex;  // the run's simulators, replaced by prepare_run and end_run, used by the fault console
  const io::RunClock* run_clock = nullptr;
  std::unique_ptr<SimulatedDetector> detector;
  std::optional<std::filesystem::path> dma_folder;
  std::ofstream fault_record;
  std::unique_ptr<FaultConsole> console;  // last: its thread uses the members above

  // Without an `external_url`, the simulated stage, on the simulation's clock.
  Impl(const io::RunClock& stage_clock, const std::filesystem::path& dir, std::optional<std::string> external_url)
      : clock(stage_clock),
        stage(external_url ? nullptr
                           : std::make_unique<linkam::sim::BackgroundStage>(clock, dir / "ttyLinkam-sim")),
        external_stage_url(external_url.value_or("")),
        fault_record(dir / kFaultRecordName, std::ios::app),
        console(std::make_unique<FaultConsole>(dir / kFaultConsoleName,
                                               [this](const std::string& line) { apply_fault(line); })) {}

  // One console line: `stage ...`, `trigger ...` or `detector FAULT [VALUE_S]`; recorded with the stage's and the
  // run's clocks (tab-separated: stage s, run s or nan, the line, "applied" or "refused").
  void apply_fault(const std::string& line) {
    std::istringstream words(line);
    std::string target;
    words >> target;
    const std::lock_guard lock(run_mutex);
    bool applied = false;
    if (target == "note") {
      applied = true;  // a moment marked for the record: a fault from outside the simulators (a signal, a full disk)
    } else if (target == "stage" && stage) {
      applied = apply_stage_fault(*stage, words);
    } else if (target == "trigger" && detector) {
      applied = apply_trigger_fault(detector->trigger(), words);
    } else if (target == "detector" && detector) {
      std::string name;
      double value_s = 0.0;
      words >> name >> value_s;
      const auto fault = file_fault(name);
      if (fault) detector->inject_at_next_read_out(*fault, value_s);
      applied = fault.has_value();
    }
    const double run_s = run_clock && detector ? run_clock->now_s() : std::nan("");
    fault_record << fmt::format("{:.3f}\t{:.3f}\t{}\t{}", clock.now_s(), run_s, line, applied ? "applied" : "refused")
                 << std::endl;
    if (!applied) std::fprintf(stderr, "simulation fault console: refused '%s'\n", line.c_str());
  }
};

Simulation::Simulation(const io::RunClock& clock, const std::filesystem::path& dir)
    : impl_(std::make_unique<Impl>(clock, dir, std::nullopt)) {}

Simulation::Simulation(const io::RunClock& clock, const std::filesystem::path& dir, std::string external_stage_url)
    : impl_(std::make_unique<Impl>(clock, dir, std::move(external_stage_url))) {}

Simulation::~Simulation() = default;

void Simulation::prepare_run(const io::RunClock& run_clock, const recipe::Recipe& recipe,
                             const std::filesystem::path& run_dir, const SimulationSettings& settings) {
  end_run();
  const std::lock_guard lock(impl_->run_mutex);
  impl_->run_clock = &run_clock;
  // An external stage's readings come on the run's own clock.
  const double stage_s_at_origin = impl_->stage ? impl_->clock.run_s_at(run_clock.wall_time_at(0.0)) : 0.0;
  if (recipe.detector && recipe.exposures)
    impl_->detector = std::make_unique<SimulatedDetector>(run_clock, recipe, run_dir, impl_->stage.get(),
                                                          stage_s_at_origin, settings);
  if (recipe.dma) impl_->dma_folder = write_simulated_dma_exports(recipe, run_dir);
}

void Simulation::end_run() {
  const std::lock_guard lock(impl_->run_mutex);
  impl_->run_clock = nullptr;
  impl_->detector.reset();
  impl_->dma_folder.reset();
}

std::string Simulation::stage_url() const {
  return impl_->stage ? impl_->stage->url() : impl_->external_stage_url;
}

bool Simulation::stage_is_external() const { return !impl_->stage; }

void Simulation::record_stage_reading(double run_s, double temperature_K) {
  if (impl_->detector) impl_->detector->record_stage_reading(run_s, temperature_K);
}

std::optional<std::string> Simulation::trigger_url() const {
  if (!impl_->detector) return std::nullopt;
  return impl_->detector->trigger_url();
}

std::optional<std::filesystem::path> Simulation::frames_folder() const {
  if (!impl_->detector) return std::nullopt;
  return impl_->detector->frames_dir();
}

std::optional<std::filesystem::path> Simulation::dma_folder() const { return impl_->dma_folder; }

}  // namespace insitu::daemon
