#include "daemon/simulation.hpp"

#include <cstdio>
#include <fstream>

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

}  // namespace

struct Simulation::Impl {
  const io::RunClock& clock;
  std::unique_ptr<linkam::sim::BackgroundStage> stage;  // null: the stage is external_stage_url
  std::string external_stage_url;
  std::unique_ptr<SimulatedDetector> detector;
  std::optional<std::filesystem::path> dma_folder;
};

Simulation::Simulation(const io::RunClock& clock, const std::filesystem::path& dir)
    : impl_(std::make_unique<Impl>(
          Impl{clock, std::make_unique<linkam::sim::BackgroundStage>(clock, dir / "ttyLinkam-sim"), {}, {}, {}})) {}

Simulation::Simulation(const io::RunClock& clock, std::string external_stage_url)
    : impl_(std::make_unique<Impl>(Impl{clock, nullptr, std::move(external_stage_url), {}, {}})) {}

Simulation::~Simulation() = default;

void Simulation::prepare_run(const io::RunClock& run_clock, const recipe::Recipe& recipe,
                             const std::filesystem::path& run_dir, const SimulationSettings& settings) {
  end_run();
  // An external stage's readings come on the run's own clock.
  const double stage_s_at_origin = impl_->stage ? impl_->clock.run_s_at(run_clock.wall_time_at(0.0)) : 0.0;
  if (recipe.detector && recipe.exposures)
    impl_->detector = std::make_unique<SimulatedDetector>(run_clock, recipe, run_dir, impl_->stage.get(),
                                                          stage_s_at_origin, settings);
  if (recipe.dma) impl_->dma_folder = write_simulated_dma_exports(recipe, run_dir);
}

void Simulation::end_run() {
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
