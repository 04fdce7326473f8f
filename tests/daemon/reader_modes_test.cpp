// A reader never costs the run data: a real simulated run (`insitu run --simulate`, the binary) with a Python
// reader holding run.h5 in each way people open it, through the end of the run. Afterwards every reading, frame and
// analysed frame, and the end facts (end_time, duration, exit_status, run level, the DMA entry written at_finish)
// are in the file, and insitu exits 0; a run that lost any of it must not.
//   swmr    h5py.File(path, "r", libver="latest", swmr=True), refreshing the log as a live viewer does
//   plain   h5py.File(path, "r") retried until it gets in (HDF5 refuses it while the file is open for writing)
//   nolock  the same with HDF5_USE_FILE_LOCKING=FALSE
//   silx    silx.io.h5py_utils.File(path) retried (SWMR where it can, locking off)
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <fstream>
#include <regex>
#include <thread>

#include "daemon/storage/run_file_reader.hpp"
#include "tests/daemon/run_file_reader.hpp"
#include "tests/daemon/short_recipe.hpp"
#include "tests/stage/sim_fixture.hpp"
#include "tests/storage/child.hpp"

namespace insitu::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr const char* reader_script = R"(
import glob, os, sys, time
import h5py
mode, out_dir, release = sys.argv[1:4]
path = None
while path is None:
    found = glob.glob(os.path.join(out_dir, "*", "run.h5"))
    path = found[0] if found else None
    time.sleep(0.002)
def open_file():
    if mode == "swmr":
        return h5py.File(path, "r", libver="latest", swmr=True)
    if mode == "silx":
        import silx.io.h5py_utils
        return silx.io.h5py_utils.File(path)
    return h5py.File(path, "r")
f = None
while f is None:
    try:
        f = open_file()
    except OSError:
        time.sleep(0.002)
print("open while " + ("finished" if "exit_status" in f["/entry"] else "running"), flush=True)
while not os.path.exists(release):
    try:
        t = f["/entry/sample/temperature_log/time"]
        if mode in ("swmr", "silx"):
            t.refresh()
        t.shape
    except Exception:
        pass
    time.sleep(0.01)
f.close()
print("closed", flush=True)
)";

struct Outcome {
  int exit_code;
  std::string reader_first_line;
  fs::path run_file;
};

Outcome run_with_reader(const std::string& mode, const fs::path& dir) {
  const auto script = dir / "reader.py", output = dir / "out", release = dir / "release";
  std::ofstream(script) << reader_script;
  if (mode == "nolock") ::setenv("HDF5_USE_FILE_LOCKING", "FALSE", 1);
  const std::string python_mode = mode == "nolock" ? "plain" : mode;
  storage::testing::Child reader({"/usr/bin/python3", script.string(), python_mode, output.string(), release.string()});
  ::unsetenv("HDF5_USE_FILE_LOCKING");
  storage::testing::Child run({INSITU_BINARY_DIR "/daemon/insitu", "run", short_cryo_recipe(dir).string(), "--simulate",
                               "--speed", "50", "--output", output.string()});
  while (run.read_line(std::chrono::seconds(120))) {
  }
  const int status = run.wait();
  const auto first = reader.read_line(std::chrono::seconds(30));
  std::ofstream(release).put('\n');
  EXPECT_EQ(reader.read_line(std::chrono::seconds(30)), "closed");
  EXPECT_EQ(reader.wait(), 0);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, first.value_or(""), only_run_file(output)};
}

// "frames: N data, M dark, ..." from the daemon's run.log.
std::pair<std::size_t, std::size_t> frames_taken(const fs::path& run_file) {
  std::ifstream in(run_file.parent_path() / "run.log");
  const std::string log((std::istreambuf_iterator<char>(in)), {});
  std::smatch m;
  if (!std::regex_search(log, m, std::regex("frames: (\\d+) data, (\\d+) dark"))) return {0, 0};
  return {std::stoul(m[1]), std::stoul(m[2])};
}

class ReaderModes : public ::testing::TestWithParam<std::string> {};

TEST_P(ReaderModes, EverythingTheRunTookAndItsEndReachTheFile) {
  const auto dir = fresh_temp_dir("reader-" + GetParam());
  const auto outcome = run_with_reader(GetParam(), dir);
  // SWMR readers open while the run is written; the others only once HDF5 lets them in (between the SWMR close
  // and the end's reopen, or after it).
  EXPECT_THAT(outcome.reader_first_line, ::testing::StartsWith("open while "));
  RecordProperty("reader", outcome.reader_first_line);
  EXPECT_EQ(outcome.exit_code, 0);

  const storage::RunFileReader file(outcome.run_file);
  EXPECT_FALSE(file.opened_as_swmr_reader()) << "SWMR ended cleanly";
  EXPECT_EQ(file.text("exit_status"), "completed");
  ASSERT_TRUE(file.text("end_time").has_value());
  EXPECT_TRUE(storage::h5::exists(file.file(), "/entry/duration"));
  const auto log = file.temperature_log();
  const auto events = file.events();
  ASSERT_GT(log.rows(), 100u);  // 0.5 s polls over a 150 s program
  double program_end_s = -1;
  for (std::size_t i = 0; i < events.rows(); ++i)
    if (events.kind[i] == "state" && events.message[i].starts_with("program completed")) program_end_s = events.time_s[i];
  ASSERT_GT(program_end_s, 0) << "the program's end is an event";
  EXPECT_GT(log.time_s.back(), program_end_s - 1.0) << "readings up to the end of the program";

  const auto [data, darks] = frames_taken(outcome.run_file);
  EXPECT_GE(data, 10u);  // 120 s of ramp at 12 s a frame
  EXPECT_EQ(darks, 2u);
  const auto frames = file.frames().value();
  EXPECT_EQ(frames.rows(), data + darks);
  const auto analysis = file.analysis().value();
  EXPECT_EQ(analysis.sequence.size(), data);  // the backlog is analysed before the file closes
  EXPECT_FALSE(analysis.run.temperature_K.empty());
  EXPECT_EQ(analysis.run.s_eq_smoothed_J_per_mol_K.size(), analysis.run.temperature_K.size());
  EXPECT_FALSE(analysis.run_parameters.empty()) << "run_parameters are written at the end";
  EXPECT_TRUE(file.has_dma_entry()) << "the DMA entry is written at_finish";
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Python, ReaderModes, ::testing::Values("swmr", "plain", "nolock", "silx"),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

}  // namespace
}  // namespace insitu::testing
