// `insitu run` against what ends processes: a signal at any moment of the start, a SIGTERM while the controller is
// silent, a full disk (a small tmpfs mounted here), kill -9 and what the operator does with the file it leaves.
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <regex>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "tests/daemon/child_process.hpp"
#include "tests/daemon/run_file_reader.hpp"
#include "tests/daemon/simulated_run.hpp"
#include "tests/stage/sim_fixture.hpp"

namespace insitu::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Its stdout and stderr go to DIR/NAME.out and DIR/NAME.err.
ChildProcess insitu(const fs::path& dir, std::vector<std::string> args, const std::string& name = "run") {
  return ChildProcess::spawn(kInsituBinary, std::move(args), dir / (name + ".out"), dir / (name + ".err"));
}

// Waits until the run file exists and a SWMR reader sees at least `rows` readings.
bool wait_for_readings(const fs::path& output, std::size_t rows, std::chrono::seconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(100ms);
    try {
      if (RunRecord::read(only_run_file(output)).time_s.size() >= rows) return true;
    } catch (const std::exception&) {
      // not created or not flushed yet
    }
  }
  return false;
}

bool has_run_folder(const fs::path& output) { return fs::exists(output) && !fs::is_empty(output); }

bool wait_for_run_folder(const fs::path& output, std::chrono::seconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!has_run_folder(output)) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

TEST(ProcessFaults, ASignalAtAnyMomentOfTheStartLeavesAClosedFileOrNothing) {
  const auto dir = fresh_temp_dir("early-signal");
  const auto recipe = stage_only_cryo_recipe(dir).string();
  // Fixed delays after the spawn probe the start; the last three count from the run folder's appearance, so they
  // reach a started run however long insitu takes to start (seconds for an asan build on a busy machine).
  struct Moment {
    int delay_ms;
    bool after_run_folder;
  };
  const Moment moments[] = {{0, false},  {2, false},   {10, false},  {30, false},  {60, false},  {100, false},
                            {150, false}, {250, false}, {400, false}, {50, true}, {200, true}, {600, true}};
  int with_file = 0;
  for (std::size_t i = 0; i < std::size(moments); ++i) {
    const auto out = dir / ("out" + std::to_string(i));
    const int sig = i % 2 ? SIGINT : SIGTERM;
    auto child = insitu(dir, {"run", recipe, "--simulate", "--speed", "100", "--output", out.string()});
    ASSERT_GT(child.pid(), 0);
    if (moments[i].after_run_folder) {
      ASSERT_TRUE(wait_for_run_folder(out, 60s)) << "no run folder 60 s after the spawn";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(moments[i].delay_ms));
    child.signal(sig);
    const auto code = child.wait_for(30s);
    ASSERT_TRUE(code) << "still running 30 s after the signal; moment " << i;
    const std::string context = "moment " + std::to_string(i) + ", exit " + std::to_string(*code) +
                                ", stderr:\n" + child.err();
    if (!has_run_folder(out)) {
      // Nothing of the run existed yet: refused (2, one line), or ended before insitu's main even ran.
      EXPECT_TRUE(*code == 2 || *code == 128 + sig) << context;
      if (*code == 2) {
        EXPECT_NE(child.err().find("before the run started: nothing done"), std::string::npos) << context;
      }
      continue;
    }
    ++with_file;
    EXPECT_EQ(*code, 1) << context;
    const auto r = RunRecord::read(only_run_file(out));
    EXPECT_EQ(r.exit_status, "aborted") << context;
    EXPECT_EQ(r.count_events("state", sig == SIGINT ? "aborted: signal SIGINT" : "aborted: signal SIGTERM"), 1)
        << context;
    EXPECT_EQ(r.count_events("state", "safe state: stop"), 1) << context;
  }
  EXPECT_GE(with_file, 3);  // the later signals do reach a started run
  fs::remove_all(dir);
}

// A stage-only recipe at 1x: the test's own simulated controller, which it can make silent, behind a pty.
fs::path hold_recipe(const fs::path& dir) {
  const auto path = dir / "hold.yaml";
  std::ofstream(path) << "insitu_recipe: 1\nname: hold\nsample: {name: hold, composition: Cu50Zr50}\n"
                         "stage: {model: THMS600, poll_interval_s: 0.5}\n"
                         "program:\n  - hold: {temperature_K: 300, duration_s: 600}\n"
                         "safe_state: stop\noutput: {directory: runs}\n";
  return path;
}

TEST(ProcessFaults, SigtermWithTheControllerSilentEndsWithinSecondsWithTheExitStatus) {
  StageFixture stage("silent-sigterm", 1.0);
  const auto out = stage.dir / "out";
  auto child = insitu(stage.dir, {"run", hold_recipe(stage.dir).string(), "--linkam", stage.stage.url(), "--output",
                                  out.string()});
  ASSERT_GT(child.pid(), 0);
  ASSERT_TRUE(wait_for_readings(out, 4, 30s)) << child.err();
  stage.stage.set_fault(linkam::sim::Fault::silence, true);
  std::this_thread::sleep_for(1500ms);  // the driver is now timing out on its polls
  const auto sent = std::chrono::steady_clock::now();
  child.signal(SIGTERM);
  const auto code = child.wait_for(30s);
  const double took_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - sent).count();
  ASSERT_TRUE(code) << "SIGTERM did not end the run within 30 s\n" << child.err();
  EXPECT_LT(took_s, 10.0) << child.err();
  EXPECT_EQ(*code, 1) << child.err();
  const auto r = RunRecord::read(only_run_file(out));
  EXPECT_EQ(r.exit_status, "aborted");
  EXPECT_EQ(r.count_events("state", "aborted: signal SIGTERM"), 1);
  EXPECT_EQ(r.count_events("fault", "safe state not confirmed: controller silent"), 1) << child.err();
}

// A tmpfs of `megabytes` mounted on `dir` for the test's life; then unmounted and dir's parent (the test's folder)
// removed. mounted() false: the test is skipped.
class SmallDisk {
 public:
  SmallDisk(fs::path dir, int megabytes) : dir_(std::move(dir)) {
    fs::create_directories(dir_);
    const std::string options = "size=" + std::to_string(megabytes) + "m";
    mounted_ = ::mount("tmpfs", dir_.c_str(), "tmpfs", 0, options.c_str()) == 0;
    if (!mounted_)
      why_ = std::string("cannot mount a tmpfs here (") + std::strerror(errno) + (::geteuid() == 0 ? ": root, but a container without CAP_SYS_ADMIN?" : ": needs root") + ")";
  }
  ~SmallDisk() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
    std::error_code ignored;
    fs::remove_all(dir_.parent_path(), ignored);  // the test's folder, once nothing is mounted in it
  }
  bool mounted() const { return mounted_; }
  const std::string& why() const { return why_; }

 private:
  fs::path dir_;
  bool mounted_ = false;
  std::string why_;
};

// Fills what is left of the disk holding `dir`, as another program writing there would.
void fill_disk(const fs::path& dir) {
  std::ofstream filler(dir / "filler.bin", std::ios::binary);
  const std::string block(64 * 1024, 'x');
  while (filler.write(block.data(), static_cast<std::streamsize>(block.size())) && filler.flush()) {
  }
}

// Ended within its bound with a code `run` documents, the stage secured, no abort, and a file that says how the run
// ended and that summary reads. Whether the run file itself ever refuses a write depends on where HDF5 finds room
// (a stage log fits in space the file already holds): `exit_status` then says "run file incomplete" and the code is 3.
void expect_secured_and_closed(const ChildProcess& child, std::optional<int> code, const fs::path& out,
                               std::set<int> documented) {
  ASSERT_TRUE(code) << "the run did not end within its bound\n" << child.err();
  const auto err = child.err();
  EXPECT_TRUE(documented.count(*code)) << *code << "\n" << err;
  EXPECT_EQ(err.find("terminate called"), std::string::npos) << err;
  EXPECT_EQ(err.find("infinite loop closing library"), std::string::npos) << err;
  // The console log carries the engine's events: the stop went out and the controller read it back.
  EXPECT_NE(err.find("stage controller stopped (safe state: stop)"), std::string::npos) << err;
  const auto file = only_run_file(out);
  const auto r = RunRecord::read(file);
  EXPECT_FALSE(r.exit_status.empty());
  if (*code == 3) {
    EXPECT_NE(r.exit_status.find("run file incomplete"), std::string::npos) << r.exit_status;
  }
  EXPECT_FALSE(fs::exists(file.parent_path() / ".run.h5.end-reserve"));
  auto summary = insitu(out.parent_path().parent_path(), {"summary", file.string()}, "summary");  // off the disk
  EXPECT_EQ(summary.wait_for(30s), 0) << summary.err();
}

// The run's disk-space watch stops it within a second of wall time of the disk filling (daemon/disk_space_watch.hpp),
// before any write is refused; the 40 MiB disk has room for the 32 MiB a stage-only run keeps free until it fills.
TEST(ProcessFaults, AStageOnlyRunStopsWhenItsDiskFillsWithTheStageSecuredAndItsExitStatusWritten) {
  const auto dir = fresh_temp_dir("disk-full-stage");
  SmallDisk disk(dir / "disk", 40);
  if (!disk.mounted()) {
    GTEST_SKIP() << disk.why();
  }
  const auto out = dir / "disk" / "out";
  auto child = insitu(dir, {"run", stage_only_cryo_recipe(dir).string(), "--simulate", "--speed", "100", "--output",
                            out.string()});
  ASSERT_TRUE(wait_for_readings(out, 20, 30s)) << child.err();
  fill_disk(dir / "disk");
  expect_secured_and_closed(child, child.wait_for(30s), out, {1, 3});
  EXPECT_NE(child.err().find("disk full: 0.0 MiB free in " + out.string()), std::string::npos) << child.err();
}

// The simulated detector shares the disk and fills it (1 MiB frames every 0.3 s of wall time, the watch needing 36 MiB
// free): the run stops on the watch, no abort and the stage secured. (The simulated detector aborted the process on a
// full disk once, before there was a watch.)
TEST(ProcessFaults, ASimulatedDetectorRunStopsBeforeItsFramesFillTheDiskWithTheStageSecured) {
  const auto dir = fresh_temp_dir("disk-full-xrd");
  SmallDisk disk(dir / "disk", 44);
  if (!disk.mounted()) {
    GTEST_SKIP() << disk.why();
  }
  const auto out = dir / "disk" / "out";
  const auto recipe = short_detector_recipe(dir, "full", "  - hold: {temperature_K: 300, duration_s: 300}\n", "[1]",
                                            "{before: 1, after: 0}");
  auto child = insitu(dir, {"run", recipe.string(), "--simulate", "--speed", "20", "--output", out.string()});
  expect_secured_and_closed(child, child.wait_for(90s), out, {1, 3});
  EXPECT_NE(child.err().find("disk full: "), std::string::npos) << child.err();
  EXPECT_EQ(child.err().find("simulated detector: a frame was not written"), std::string::npos) << child.err();
}

// The cryogenic recipe's detector and analysis on a short hold at room temperature, 512² frames stored.
fs::path short_analysed_recipe(const fs::path& dir) {
  std::ifstream in(INSITU_SOURCE_DIR "/config/recipes/cryo-heating.yaml");
  std::string text((std::istreambuf_iterator<char>(in)), {});
  text.resize(text.find("\ndma:") + 1);
  const auto program = text.find("program:\n"), program_end = text.find("safe_state:");
  text.replace(program, program_end - program, "program:\n  - hold: {temperature_K: 300, duration_s: 300}\n");
  text = std::regex_replace(text, std::regex("binning: 1\\}"), "binning: 4}");
  text = std::regex_replace(text, std::regex("\\.\\./instruments/"), INSITU_SOURCE_DIR "/config/instruments/");
  text = std::regex_replace(text, std::regex("during: \\[2, 3\\]"), "during: [1]");
  text = std::regex_replace(text, std::regex("darks: \\{before: 5, after: 5\\}"), "darks: {before: 1, after: 0}");
  const auto path = dir / "analysed.yaml";
  std::ofstream(path) << text;
  return path;
}

// kill -9 mid-run: recover refuses while the writer lives and repairs after; summary and reprocess take the file as
// it is; every reading a reader saw before the kill is still there.
TEST(ProcessFaults, AKilledRunIsRecoveredSummarisedAndReprocessed) {
  const auto dir = fresh_temp_dir("killed");
  const auto out = dir / "out";
  auto child = insitu(dir, {"run", short_analysed_recipe(dir).string(), "--simulate", "--speed", "10", "--output",
                            out.string()});
  // 150 readings: 75 s of run time, a dark and a few data frames stored.
  ASSERT_TRUE(wait_for_readings(out, 150, 90s)) << child.err();
  const auto file = only_run_file(out);
  auto busy = insitu(dir, {"recover", file.string()}, "busy");
  EXPECT_EQ(busy.wait_for(30s), 1);
  EXPECT_NE(busy.err().find("still being written by a running insitu"), std::string::npos) << busy.err();
  EXPECT_FALSE(fs::exists(file.string() + ".bak"));

  const auto seen = RunRecord::read(file);
  child.signal(SIGKILL);
  EXPECT_EQ(child.wait_for(30s), 128 + SIGKILL);

  auto summary = insitu(dir, {"summary", file.string()}, "summary");
  EXPECT_EQ(summary.wait_for(30s), 0) << summary.err();
  auto recover = insitu(dir, {"recover", file.string()}, "recover");
  EXPECT_EQ(recover.wait_for(30s), 0) << recover.err();
  EXPECT_NE(recover.out().find("recovered (status flags cleared, nothing truncated)"), std::string::npos)
      << recover.out();
  ASSERT_TRUE(fs::exists(file.string() + ".bak"));
  EXPECT_GE(fs::file_size(file), fs::file_size(file.string() + ".bak"));  // never truncated
  auto reprocess = insitu(dir, {"reprocess", file.string()}, "reprocess");
  EXPECT_EQ(reprocess.wait_for(120s), 0) << reprocess.err();

  const auto after = RunRecord::read(file);
  ASSERT_GE(after.time_s.size(), seen.time_s.size());
  for (std::size_t i = 0; i < seen.time_s.size(); ++i) {
    ASSERT_EQ(after.time_s[i], seen.time_s[i]);
    ASSERT_EQ(after.value_K[i], seen.value_K[i]);
  }
  auto again = insitu(dir, {"summary", file.string()}, "again");
  EXPECT_EQ(again.wait_for(30s), 0) << again.err();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace insitu::testing
