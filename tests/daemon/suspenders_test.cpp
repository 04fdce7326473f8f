// Suspenders through the whole daemon path (`run_recipe --simulate`): a stage that cannot follow a fast LN2 cooling
// ramp, frames the simulated detector loses, and the beam current of a PyTango device server started without a
// database. Each run file must show the trips and clears, frames flagged while the condition held, the setpoint
// held during each pause and continuing without a step after it, and a status that says the run was paused.
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <tango.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "daemon/run_command.hpp"
#include "drivers/detector/exposure.hpp"
#include "tests/daemon/run_file_reader.hpp"
#include "tests/daemon/simulated_run.hpp"
#include "tests/stage/sim_fixture.hpp"

namespace insitu::testing {
namespace {

namespace h5 = storage::h5;
namespace flag = detector::exposure_flag;

std::filesystem::path recipe_with(const std::filesystem::path& dir, const std::string& name, const std::string& program,
                                  const std::string& suspenders) {
  const auto path = short_detector_recipe(dir, name, program, "[1]", "{before: 0, after: 0}");
  std::ofstream(path, std::ios::app) << "suspenders:\n" << suspenders;
  return path;
}

struct Frames {
  std::vector<double> start_s, stop_s;
  std::vector<std::uint32_t> flags;
};

Frames read_frames(const std::filesystem::path& run_file) {
  const auto f = h5::open_file(run_file, h5::Access::read);
  const auto det = h5::open_group(f, "/entry/instrument/detector");
  return {h5::read_1d<double>(h5::open_dataset(det, "start_time")),
          h5::read_1d<double>(h5::open_dataset(det, "stop_time")),
          h5::read_1d<std::uint32_t>(h5::open_dataset(det, "flags"))};
}

struct Pause {
  double paused_s, resumed_s;
};

// The engine's pauses, from its "paused at" and "resumed" state events.
std::vector<Pause> pauses_of(const RunRecord& run) {
  std::vector<Pause> out;
  for (std::size_t i = 0; i < run.event_kind.size(); ++i) {
    if (run.event_kind[i] != "state") continue;
    if (run.event_message[i].starts_with("paused at")) out.push_back({run.event_time_s[i], NAN});
    if (run.event_message[i] == "resumed" && !out.empty()) out.back().resumed_s = run.event_time_s[i];
  }
  return out;
}

// What every suspended run shows: the trips and clears, the held setpoint, the ramp going on without a step, frames
// flagged and none exposed while paused, and an honest status.
void expect_suspended_and_resumed(const std::filesystem::path& run_file, const std::string& suspender,
                                  double rate_K_per_min) {
  const auto run = RunRecord::read(run_file);
  // Events of kind `kind` from the suspender that say `what`.
  const auto count = [&](const std::string& kind, const std::string& what) {
    int n = 0;
    for (std::size_t i = 0; i < run.event_kind.size(); ++i)
      n += run.event_kind[i] == kind && run.event_message[i].starts_with(suspender) &&
           run.event_message[i].find(what) != std::string::npos;
    return n;
  };
  const int trips = count("warning", ") tripped at");
  EXPECT_GE(trips, 1);
  EXPECT_EQ(count("info", ") cleared at"), trips) << "each trip cleared";
  EXPECT_EQ(count("info", ") settled: resuming the run"), trips) << "and the run resumed after each";
  EXPECT_EQ(run.exit_status, "completed_with_deviations") << "a paused programme did not run as written";

  const auto pauses = pauses_of(run);
  ASSERT_GE(pauses.size(), 1u);
  const double rate_K_per_s = rate_K_per_min / 60.0;
  for (std::size_t k = 0; k < pauses.size(); ++k) {
    const auto& p = pauses[k];
    ASSERT_FALSE(std::isnan(p.resumed_s)) << "every pause ended";
    // Up to the next pause, which holds the stage where it is then (a step from the programmed temperature).
    const double checked_until_s = k + 1 < pauses.size() ? pauses[k + 1].paused_s : p.resumed_s + 30.0;
    std::optional<double> held_K;
    std::size_t last_held = 0;
    for (std::size_t i = 0; i < run.time_s.size(); ++i) {
      if (run.time_s[i] <= p.paused_s || run.time_s[i] >= p.resumed_s) continue;
      if (!held_K) held_K = run.setpoint_K[i];
      EXPECT_NEAR(run.setpoint_K[i], *held_K, 1e-9) << "the setpoint holds during the pause, at " << run.time_s[i];
      last_held = i;
    }
    ASSERT_TRUE(held_K) << "readings during the pause at " << p.paused_s;
    // After the resume the programme ramps on from the held temperature: consecutive setpoints never differ by
    // more than the ramp covers between them.
    for (std::size_t i = last_held + 1; i < run.time_s.size() && run.time_s[i] < checked_until_s; ++i) {
      if (std::isnan(run.setpoint_K[i])) break;
      EXPECT_LE(std::abs(run.setpoint_K[i] - run.setpoint_K[i - 1]),
                rate_K_per_s * (run.time_s[i] - run.time_s[i - 1]) + 0.05)
          << "no step at " << run.time_s[i] << " after the resume at " << p.resumed_s;
    }
  }

  const auto frames = read_frames(run_file);
  int flagged = 0;
  for (std::size_t i = 0; i < frames.flags.size(); ++i) {
    flagged += (frames.flags[i] & flag::suspended) != 0;
    for (const auto& p : pauses)
      EXPECT_FALSE(frames.start_s[i] > p.paused_s + 1.0 && frames.start_s[i] < p.resumed_s - 1.0)
          << "no exposure starts while paused: frame at " << frames.start_s[i];
  }
  EXPECT_GE(flagged, 1) << "frames exposed while the condition held are flagged";
  EXPECT_LT(flagged, static_cast<int>(frames.flags.size())) << "not every frame";
}

TEST(Suspenders, AStageThatCannotFollowPausesTheRampWhichGoesOnFromWhereTheStageIs) {
  const auto dir = fresh_temp_dir("suspend-stage");
  // 60 K/min toward 200 K is beyond the LN2 capacity below ~270 K: the stage falls behind, the suspender pauses
  // the run, the stage holds where it is (back within the band), and the ramp goes on from there.
  const auto recipe = recipe_with(dir, "lag", "  - ramp: {to_K: 200, rate_K_per_min: 60}\n",
                                  "  - {kind: stage_off_programme, band_K: 4, for_s: 8, on_trip: pause, "
                                  "on_clear: resume, settle_s: 6}\n");
  const auto options = simulated_run_options(recipe, dir / "runs", 20.0);
  EXPECT_EQ(daemon::run_recipe(options), 4) << "completed with deviations";
  expect_suspended_and_resumed(only_run_file(dir / "runs"), "suspender 1 (stage_off_programme", 60.0);
  std::filesystem::remove_all(dir);
}

TEST(Suspenders, FramesMissingInARowPauseTheRunUntilTheSettleTimeHasPassed) {
  const auto dir = fresh_temp_dir("suspend-frames");
  const auto recipe = recipe_with(dir, "gaps", "  - ramp: {to_K: 320, rate_K_per_min: 10}\n",
                                  "  - {kind: frames_missing, count: 3, on_trip: pause, on_clear: resume, "
                                  "settle_s: 12}\n");
  auto options = simulated_run_options(recipe, dir / "runs", 20.0);
  daemon::SimulationSettings simulation;
  using detector::sim::FileFault;
  simulation.detector_faults = {{4, FileFault::missing, 0.0}, {5, FileFault::missing, 0.0},
                                {6, FileFault::missing, 0.0}};
  EXPECT_EQ(daemon::run_recipe(options, simulation), 4);
  const auto run_file = only_run_file(dir / "runs");
  expect_suspended_and_resumed(run_file, "suspender 1 (frames_missing", 10.0);
  EXPECT_EQ(RunRecord::read(run_file).count_events("warning", "tripped at"), 1) << "one streak, one trip";
  std::filesystem::remove_all(dir);
}

// --- the beam current of a Tango device server ---------------------------------------------------------------

int free_tcp_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

// tests/daemon/beam_current_server.py as device a/b/c on `port`, no Tango database; killed when it goes.
class BeamCurrentServer {
 public:
  explicit BeamCurrentServer(int port)
      : device_(fmt::format("tango://localhost:{}/a/b/c#dbase=no", port)),
        attribute_(fmt::format("tango://localhost:{}/a/b/c/BeamCurrent#dbase=no", port)) {
    pid_ = ::fork();
    if (pid_ == 0) {
      const auto endpoint = fmt::format("giop:tcp::{}", port);
      ::execl(INSITU_DEBIAN_PYTHON, INSITU_DEBIAN_PYTHON, INSITU_SOURCE_DIR "/tests/daemon/beam_current_server.py",
              "test", "-ORBendPoint", endpoint.c_str(), "-nodb", "-dlist", "a/b/c", static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }
  ~BeamCurrentServer() {
    proxy_.reset();
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  const std::string& attribute() const { return attribute_; }

  // Waits until the device answers (a Python server takes a second or two to start).
  bool ready() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      try {
        proxy_ = std::make_unique<Tango::DeviceProxy>(device_);
        proxy_->read_attribute("BeamCurrent");
        return true;
      } catch (const Tango::DevFailed&) {
        proxy_.reset();
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
    }
    return false;
  }
  void set_current_mA(double value) {
    Tango::DeviceAttribute attribute("BeamCurrent", value);
    proxy_->write_attribute(attribute);
  }

 private:
  std::string device_, attribute_;
  pid_t pid_ = -1;
  std::unique_ptr<Tango::DeviceProxy> proxy_;
};

TEST(Suspenders, TheBeamCurrentFromTangoPausesTheRunUntilTheBeamIsBack) {
  BeamCurrentServer server(free_tcp_port());
  ASSERT_TRUE(server.ready()) << "the PyTango device server answers";
  const auto dir = fresh_temp_dir("suspend-tango");
  const auto& attribute = server.attribute();
  const auto recipe = recipe_with(dir, "beam", "  - ramp: {to_K: 325, rate_K_per_min: 10}\n",
                                  fmt::format("  - {{kind: tango, attribute: \"{}\", below: 80, for_s: 4, "
                                              "on_trip: pause, on_clear: resume, settle_s: 10}}\n",
                                              attribute));
  const auto options = simulated_run_options(recipe, dir / "runs", 20.0);
  // The beam dumps about 50 s into the run (run time) and is back about 30 s later.
  std::thread beamline([&server] {
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));
    server.set_current_mA(5.0);
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    server.set_current_mA(100.0);
  });
  const int exit_code = daemon::run_recipe(options);
  beamline.join();
  EXPECT_EQ(exit_code, 4);
  const auto run_file = only_run_file(dir / "runs");
  expect_suspended_and_resumed(run_file, "suspender 1 (tango: " + attribute, 10.0);
  const auto run = RunRecord::read(run_file);
  EXPECT_EQ(run.count_events("warning", "BeamCurrent#dbase=no = 5"), 1) << "the trip says what was read";
  EXPECT_EQ(run.count_events("warning", "cannot read"), 0);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace insitu::testing
