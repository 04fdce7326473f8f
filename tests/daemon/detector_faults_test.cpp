// Detector file faults through the whole daemon path: `run_recipe --simulate` with the simulated XRD1621 told to
// lose, delay, truncate, duplicate and clock-skew single frames and to drop a stray file into the share, then the
// run file checked frame by frame against the simulator's truth. Flags and pairings only, never timings: the
// machine may be loaded. Then a machine stall: the whole process stopped for a while in the middle of a run, checked
// with bounds the frame schedule guarantees however loaded the machine is.
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "daemon/run_command.hpp"
#include "drivers/detector/exposure.hpp"
#include "tests/daemon/run_file_reader.hpp"
#include "tests/daemon/simulated_run.hpp"
#include "tests/stage/sim_fixture.hpp"

namespace insitu::testing {
namespace {

namespace h5 = storage::h5;
namespace flag = detector::exposure_flag;
using detector::sim::FileFault;

constexpr double kPeriod_s = 6.0;

// A 150 s ramp from ambient with 6 s frames of 512² pixels: about 25 frames, no darks, no analysis.
std::filesystem::path short_recipe(const std::filesystem::path& dir) {
  return short_detector_recipe(dir, "faults", "  - ramp: {to_K: 320, rate_K_per_min: 10}\n", "[1]",
                               "{before: 0, after: 0}");
}

struct TruthFrame {
  std::int64_t frame = 0;
  std::string file;  // "" when the simulator never wrote it
  double stop_s = 0;
  bool pre_trigger = false;
  std::set<std::string> faults;
};

std::vector<TruthFrame> read_truth(const std::filesystem::path& path) {
  std::vector<TruthFrame> truth;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line);
    TruthFrame t{j.at("frame"), j.at("file"), j.at("stop_s"), j.at("pre_trigger"), {}};
    for (const auto& f : j.at("faults")) t.faults.insert(f.get<std::string>());
    truth.push_back(std::move(t));
  }
  return truth;
}

struct Recorded {
  double stop_s;
  std::uint32_t flags;
  std::string file_name;
};

TEST(DetectorFaults, EveryFrameKeepsItsOwnFileWhateverTheDetectorComputerDoes) {
  const auto dir = fresh_temp_dir("faults");
  // At 20x a 40 s file deadline is 2 s of wall time: 6 frames.
  auto options = simulated_run_options(short_recipe(dir), dir / "runs", 20.0);
  // Frame k = 0 is the pre-trigger image; the data frames are k = 1 ... ~25.
  daemon::SimulationSettings simulation;
  simulation.detector_faults = {
      {3, FileFault::missing, 0.0},       {4, FileFault::orphan, 0.0},
      {5, FileFault::delayed, 8.0},       // two frames late, well inside its deadline
      {7, FileFault::truncated, 0.0},     {9, FileFault::duplicate, 0.0},
      {11, FileFault::clock_skew, 30.0},  // the tolerance is 4 s at 20x
      {12, FileFault::delayed, 50.0},     // past its 40 s deadline
  };
  ASSERT_EQ(daemon::run_recipe(options, simulation), 0);

  const auto run_file = only_run_file(dir / "runs");
  const auto frames_dir = run_file.parent_path() / "detector-sim";
  const auto truth = read_truth(frames_dir / "faults-truth.jsonl");
  const auto f = h5::open_file(run_file, h5::Access::read);
  const auto det = h5::open_group(f, "/entry/instrument/detector");
  const auto stop = h5::read_1d<double>(h5::open_dataset(det, "stop_time"));
  const auto flags = h5::read_1d<std::uint32_t>(h5::open_dataset(det, "flags"));
  const auto names = h5::read_strings(h5::open_dataset(det, "file_name"));
  const auto keys = h5::read_1d<std::int32_t>(h5::open_dataset(det, "image_key"));
  ASSERT_EQ(stop.size(), names.size());
  ASSERT_EQ(flags.size(), names.size());
  const auto run = RunRecord::read(run_file);
  EXPECT_EQ(run.exit_status, "completed");

  // The records of each simulated exposure window: a frame one period off would be another window. Half a
  // period is 150 ms of wall time at 20x for the trigger stamp and the simulated edge to disagree.
  std::map<std::int64_t, std::vector<Recorded>> by_frame;
  std::size_t matched = 0;
  double max_stamp_to_edge_s = 0;  // trigger stamp vs the simulated edge: what the clock-skew tolerance absorbs
  for (std::size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(keys[i], 0) << "no darks in this recipe";
    for (const auto& t : truth) {
      if (std::abs(stop[i] - t.stop_s) < kPeriod_s / 2) {
        by_frame[t.frame].push_back({stop[i], flags[i], names[i]});
        max_stamp_to_edge_s = std::max(max_stamp_to_edge_s, std::abs(stop[i] - t.stop_s));
        ++matched;
      }
    }
  }
  RecordProperty("max_trigger_stamp_to_edge_run_s", std::to_string(max_stamp_to_edge_s));
  EXPECT_EQ(matched, names.size()) << "every record belongs to exactly one simulated window";
  ASSERT_GE(truth.size(), 20u);
  EXPECT_EQ(names.size(), truth.size() - 1) << "one record per data window (all but the pre-trigger image)";

  constexpr std::uint32_t pairing_flags =
      flag::missing | flag::late | flag::duplicate | flag::truncated | flag::clock_skew;
  const auto faulted = [](const TruthFrame& t, const std::string& fault) { return t.faults.contains(fault); };
  for (const auto& t : truth) {
    if (t.pre_trigger) continue;
    const auto it = by_frame.find(t.frame);
    ASSERT_TRUE(it != by_frame.end() && it->second.size() == 1) << "frame " << t.frame << " recorded once";
    const Recorded& r = it->second.front();
    SCOPED_TRACE("frame " + std::to_string(t.frame) + " " + r.file_name);
    const auto copy = t.file.empty() ? std::string() : t.file.substr(0, t.file.size() - 4) + "-00001.tif";
    if (faulted(t, "missing")) {
      EXPECT_TRUE(r.flags & flag::missing);
      EXPECT_EQ(r.file_name, "");
    } else if (faulted(t, "delayed")) {
      // Paired with its own window (late if past its deadline), or given up as missing: never another window's.
      const bool own = r.file_name == t.file && !(r.flags & flag::missing);
      const bool given_up = r.file_name.empty() && (r.flags & flag::missing);
      EXPECT_TRUE(own || given_up);
    } else if (faulted(t, "truncated")) {
      EXPECT_TRUE(r.flags & flag::truncated);
      EXPECT_EQ(r.file_name, t.file);
      EXPECT_EQ(run.count_events("warning", t.file + " unreadable"), 1);
    } else if (faulted(t, "duplicate")) {
      EXPECT_TRUE(r.file_name == t.file || r.file_name == copy);
      const auto other = r.file_name == t.file ? copy : t.file;
      EXPECT_TRUE((r.flags & flag::duplicate) || run.count_events("warning", "second file " + other) == 1);
    } else if (faulted(t, "clock_skew")) {
      EXPECT_EQ(r.file_name, t.file);
      EXPECT_EQ(r.flags & pairing_flags, flag::clock_skew);
      EXPECT_EQ(run.count_events("warning", t.file + ": detector time stamp +"), 1);
    } else {
      // Neighbours of every fault, and the frames after the orphan, pair as if nothing had happened.
      EXPECT_EQ(r.file_name, t.file);
      EXPECT_EQ(r.flags & pairing_flags, 0u);
    }
  }
  // The 8 s delay is inside the deadline: that frame has its file. The frames delayed past it are either late
  // or missing, and a file coming after its frame was given up is reported.
  EXPECT_EQ(by_frame.at(5).front().file_name, truth.at(5).file);
  const auto& given_up = by_frame.at(12).front();
  if (!given_up.file_name.empty()) {
    EXPECT_TRUE(given_up.flags & flag::late);
  } else if (std::filesystem::exists(frames_dir / truth.at(12).file)) {
    EXPECT_EQ(run.count_events("warning", truth.at(12).file + " came"), 1);
  }

  // The stray file is reported once, kept in the folder, and no frame took it.
  const auto orphan = std::string("faults-00005-test-shot.tif");
  EXPECT_EQ(run.count_events("warning", "orphan: " + (frames_dir / orphan).string()), 1);
  EXPECT_EQ(run.count_events("warning", "orphan"), 1);
  // Said when it came, not at the end of the acquisition (which a killed insitud never reaches): before the last
  // data frame's boundary, frames after its own.
  double last_stop_s = 0;
  for (const auto& t : truth) last_stop_s = std::max(last_stop_s, t.stop_s);
  for (std::size_t i = 0; i < run.event_message.size(); ++i)
    if (run.event_message[i].find("kept as orphan") != std::string::npos) {
      EXPECT_LT(run.event_time_s[i], last_stop_s);
    }
  EXPECT_EQ(h5::read_strings(h5::open_dataset(det, "orphan_files")),
            std::vector<std::string>{(frames_dir / orphan).string()})
      << "the run file lists it beside the frames";
  EXPECT_TRUE(std::filesystem::exists(frames_dir / orphan));
  for (const auto& name : names) EXPECT_NE(name, orphan);
  // The missing frame is told of, the run went on past it, and the detector clock offset was measured.
  EXPECT_EQ(run.count_events("warning", ") missing:"), 1 + (given_up.file_name.empty() ? 1 : 0));
  EXPECT_EQ(run.count_events("info", "detector clock"), 1);
  EXPECT_EQ(run.count_events("warning", "clock_skew"), 1);
  std::filesystem::remove_all(dir);
}

// Stops this whole process (the daemon's loop, its simulators, this test) for `wall` once the simulated detector
// has read out frame `after_frame` and `delay` more has passed, mid-exposure: what a machine that stalls does (swap,
// a paused VM). The run clock, on the steady clock, goes on meanwhile. No hook in the daemon: a forked child stops
// and continues the process, since a stopped process cannot wake itself.
class MachineStall {
 public:
  MachineStall(std::filesystem::path runs_dir, std::int64_t after_frame, std::chrono::milliseconds delay,
               std::chrono::milliseconds wall)
      : watcher_([=, this] { watch(runs_dir, after_frame, delay, wall); }) {}
  ~MachineStall() {
    done_ = true;
    watcher_.join();
  }
  bool happened() const { return happened_; }

 private:
  static std::size_t truth_lines(const std::filesystem::path& runs_dir) {
    std::error_code ec;
    for (const auto& run : std::filesystem::directory_iterator(runs_dir, ec)) {
      std::ifstream in(run.path() / "detector-sim" / "faults-truth.jsonl");
      std::size_t n = 0;
      for (std::string line; std::getline(in, line);) ++n;
      return n;
    }
    return 0;
  }

  void watch(const std::filesystem::path& runs_dir, std::int64_t after_frame, std::chrono::milliseconds delay,
             std::chrono::milliseconds wall) {
    while (!done_ && truth_lines(runs_dir) <= static_cast<std::size_t>(after_frame))
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (done_) return;
    std::this_thread::sleep_for(delay);
    const pid_t parent = ::getpid();
    const timespec pause{static_cast<time_t>(wall.count() / 1000), static_cast<long>(wall.count() % 1000) * 1000000};
    const pid_t child = ::fork();
    if (child == 0) {  // async-signal-safe calls only: the parent has threads
      ::kill(parent, SIGSTOP);
      ::nanosleep(&pause, nullptr);
      ::kill(parent, SIGCONT);
      ::_exit(0);
    }
    if (child < 0) return;
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    happened_ = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }

  std::atomic<bool> done_{false}, happened_{false};
  std::thread watcher_;
};

// The lateness a "frame schedule restarts" warning tells, in s.
std::vector<double> restart_lateness_s(const RunRecord& run) {
  std::vector<double> late_s;
  const std::string prefix = "frame boundary ";
  for (std::size_t i = 0; i < run.event_message.size(); ++i) {
    const auto& m = run.event_message[i];
    if (run.event_kind[i] == "warning" && m.find("the frame schedule restarts from it") != std::string::npos &&
        m.starts_with(prefix))
      late_s.push_back(std::stod(m.substr(prefix.size())));
  }
  return late_s;
}

TEST(DetectorFaults, AMachineStallRestartsTheFrameScheduleWithoutShortOrLostFrames) {
  const auto dir = fresh_temp_dir("stall");
  auto options = simulated_run_options(short_recipe(dir), dir / "runs", 20.0);
  std::filesystem::create_directories(*options.output);
  // 1 s of wall time is 20 s of run time, over three periods: stopped a third into the exposure after frame 4, the
  // boundary due then fires about 16 s late, and the two due during the stall were never fired.
  constexpr double kStall_s = 20.0;
  int exit_code = -1;
  bool stalled = false;
  {
    MachineStall stall(*options.output, 4, std::chrono::milliseconds(100), std::chrono::milliseconds(1000));
    exit_code = daemon::run_recipe(options);
    stalled = stall.happened();
  }
  ASSERT_TRUE(stalled) << "the process was stopped and continued mid-run";
  ASSERT_EQ(exit_code, 0);

  const auto run_file = only_run_file(dir / "runs");
  const auto truth = read_truth(run_file.parent_path() / "detector-sim" / "faults-truth.jsonl");
  const auto f = h5::open_file(run_file, h5::Access::read);
  const auto det = h5::open_group(f, "/entry/instrument/detector");
  const auto start = h5::read_1d<double>(h5::open_dataset(det, "start_time"));
  const auto stop = h5::read_1d<double>(h5::open_dataset(det, "stop_time"));
  const auto count = h5::read_1d<double>(h5::open_dataset(det, "count_time"));
  const auto flags = h5::read_1d<std::uint32_t>(h5::open_dataset(det, "flags"));
  const auto names = h5::read_strings(h5::open_dataset(det, "file_name"));
  const auto run = RunRecord::read(run_file);
  EXPECT_EQ(run.exit_status, "completed");

  // Told once per restart, and one of them is the stall (more only if the loaded machine stalled again).
  const auto late_s = restart_lateness_s(run);
  EXPECT_FALSE(late_s.empty()) << "a warning names the restart";
  EXPECT_EQ(run.count_events("warning", "restarts"), static_cast<int>(late_s.size()));
  EXPECT_GE(late_s.empty() ? 0.0 : *std::max_element(late_s.begin(), late_s.end()), kStall_s - kPeriod_s - 1.0)
      << "the boundary due in the stall";

  // No frame lost: one record with its own file per simulated window, none flagged.
  ASSERT_GE(truth.size(), 10u);
  ASSERT_EQ(names.size(), truth.size() - 1) << "one record per data window (all but the pre-trigger image)";
  ASSERT_EQ(start.size(), names.size());
  ASSERT_EQ(stop.size(), names.size());
  ASSERT_EQ(count.size(), names.size());
  ASSERT_EQ(flags.size(), names.size());
  constexpr std::uint32_t pairing_flags =
      flag::missing | flag::late | flag::duplicate | flag::truncated | flag::clock_skew;
  double longest_s = 0;
  for (std::size_t i = 0; i < names.size(); ++i) {
    const auto& t = truth.at(i + 1);
    SCOPED_TRACE("frame " + std::to_string(t.frame) + " " + names[i]);
    EXPECT_EQ(names[i], t.file);
    EXPECT_EQ(flags[i] & pairing_flags, 0u);
    // The exposure window is the one between its two trigger stamps: consecutive, and the simulated window.
    EXPECT_DOUBLE_EQ(count[i], stop[i] - start[i]);
    if (i > 0) {
      EXPECT_DOUBLE_EQ(start[i], stop[i - 1]);
    }
    EXPECT_NEAR(stop[i], t.stop_s, kPeriod_s / 2);
    // Not the missed boundaries fired back to back: no frame much shorter than half a period.
    EXPECT_GE(count[i], 0.45 * kPeriod_s);
    longest_s = std::max(longest_s, count[i]);
  }
  EXPECT_GE(longest_s, kStall_s - 1.0) << "one frame spans the stall";
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace insitu::testing
