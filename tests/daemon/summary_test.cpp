// `insitu summary` prints what it finds in every kind of file insitu writes, and one line, exit 2, for anything
// else; it never aborts.
#include "daemon/summary.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <random>
#include <sstream>

#include "daemon/storage/analysis_layout.hpp"
#include "daemon/storage/detector_layout.hpp"
#include "daemon/storage/dma_entry.hpp"
#include "daemon/storage/run_entry.hpp"
#include "daemon/storage/run_file.hpp"
#include "tests/storage/child.hpp"
#include "tests/storage/records.hpp"

namespace insitu::daemon {
namespace {

namespace fs = std::filesystem;
namespace h5 = storage::h5;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using storage::testing::ScratchDir;

struct Printed {
  int code;
  std::string out, err;
};

Printed summary_of(const fs::path& file) {
  std::ostringstream out, err;
  const int code = print_summary(file, out, err);
  return {code, out.str(), err.str()};
}

analysis::RunAnalysis run_level() {
  analysis::RunAnalysis r;
  r.temperature_K = {700, 701};
  r.glass_transition_K = 700.4, r.glass_transition_low_K = 699.6, r.glass_transition_high_K = 701.2;
  return r;
}

// A finished run: 40 readings, a segment and a warning, two 4x4 frames, their analysis and T_g.
fs::path finished_run(const fs::path& dir) {
  const auto path = dir / "run.h5";
  storage::RunFileLayout layout;
  layout.detector.emplace();
  layout.detector->height = layout.detector->width = 4;
  layout.analysis = storage::testing::tiny_analysis_layout();
  auto run = storage::RunFile::create(path, storage::testing::test_metadata(), {.flush_interval_s = 0.0}, layout);
  for (std::size_t i = 0; i < 40; ++i) run->append(storage::testing::sample_at(i));
  run->append(storage::RunEvent{0.0, "segment", "ramp to 873.15 K"});
  run->append(storage::RunEvent{0.2, "warning", "late frame"});
  for (std::uint64_t i = 0; i < 2; ++i) {
    detector::ExposureRecord record;
    record.sequence = i, record.start_s = 0.1 * i, record.stop_s = 0.1 * i + 0.05;
    run->append(record, std::vector<std::uint8_t>(4 * 4 * 2, 1));
    run->append(storage::testing::tiny_frame_analysis(i, 700.0 + i));
  }
  run->update(run_level());
  EXPECT_TRUE(run->finish(0.4, "completed"));
  return path;
}

storage::ProcessInfo reprocessing() {
  storage::ProcessInfo process;
  process.program = "insitu reprocess";
  return process;
}

void expect_one_line_error(const Printed& p, const fs::path& file, const std::string& why) {
  EXPECT_EQ(p.code, 2);
  EXPECT_EQ(p.out, "");
  EXPECT_THAT(p.err, StartsWith("insitu summary: " + file.string() + ": "));
  EXPECT_THAT(p.err, HasSubstr(why));
  EXPECT_EQ(std::count(p.err.begin(), p.err.end(), '\n'), 1) << p.err;
}

TEST(Summary, AnythingInsituDidNotWriteGetsOneLineAndExitCode2) {
  ScratchDir dir("summary_foreign");
  const auto text = dir.path() / "run.log", noise = dir.path() / "noise.h5", truncated = dir.path() / "cut.h5",
             foreign = dir.path() / "foreign.h5";
  std::ofstream(text) << "[2026-01-01 00:00:00] [info] run completed\n";
  {
    std::mt19937 bytes(9);
    std::ofstream out(noise, std::ios::binary);
    for (int i = 0; i < 4096; ++i) out.put(static_cast<char>(bytes()));
  }
  {
    const auto whole = finished_run(dir.path());
    std::ifstream in(whole, std::ios::binary);
    std::string content((std::istreambuf_iterator<char>(in)), {});
    std::ofstream(truncated, std::ios::binary) << content.substr(0, content.size() / 3);
  }
  h5::write_string(h5::create_group(h5::create_file(foreign), "entry", "NXentry"), "program_name", "somebody else");

  expect_one_line_error(summary_of(text), text, "not an HDF5 file");
  expect_one_line_error(summary_of(noise), noise, "not an HDF5 file");
  expect_one_line_error(summary_of(truncated), truncated, "damaged or truncated");
  expect_one_line_error(summary_of(foreign), foreign, "insitu did not write");
}

TEST(Summary, FinishedRunReprocessedEntryAndTgWithoutItsInterval) {
  ScratchDir dir("summary_run");
  const auto path = finished_run(dir.path());
  auto p = summary_of(path);
  EXPECT_EQ(p.code, 0) << p.err;
  EXPECT_THAT(p.out, HasSubstr("status     completed"));
  EXPECT_THAT(p.out, HasSubstr("stage log  40 readings"));
  EXPECT_THAT(p.out, HasSubstr("frames     2 recorded: 2 data, 0 dark, 0 flagged; 4x4 pixels stored"));
  EXPECT_THAT(p.out, HasSubstr("analysis   /entry: 2 frames to S_eq; T_g 700.4 K (95 % interval 699.6..701.2 K)"));
  EXPECT_THAT(p.out, HasSubstr("events     2 in all: 1 warnings, 0 faults"));

  {  // A reprocessed entry beside it; then T_g_low emptied by hand.
    const auto f = h5::open_file(path, h5::Access::read_write);
    h5::create_group(f, "/entry_reprocessed_1", "NXentry");
    storage::write_analysis(f, "/entry_reprocessed_1", storage::testing::tiny_analysis_layout(), reprocessing(),
                            {storage::testing::tiny_frame_analysis(0, 650)}, run_level());
    const auto run = h5::open_group(f, "/entry/analysis/run");
    h5::remove(run, "T_g_low");
    h5::create_extendable(run, "T_g_low", {.type = h5::dtype_of<double>(), .tail_shape = {}, .chunk_rows = 16});
  }
  p = summary_of(path);
  EXPECT_EQ(p.code, 0) << p.err;
  EXPECT_THAT(p.out, HasSubstr("analysis   /entry: 2 frames to S_eq; T_g 700.4 K (no interval recorded)"));
  EXPECT_THAT(p.out, HasSubstr("analysis   /entry_reprocessed_1: 1 frames to S_eq; T_g 700.4 K (95 %"));
}

TEST(Summary, FramesOutputAndDmaFile) {
  ScratchDir dir("summary_kinds");
  const auto frames = dir.path() / "frames.h5", dma = dir.path() / "dma.h5";
  {  // as `insitu reprocess --frames` writes it: no stage, no log, no events
    const auto f = h5::create_file(frames);
    auto meta = storage::testing::test_metadata();
    storage::write_run_entry(f, frames, meta, {.recipe = false, .stage = false});
    storage::DetectorLayout layout;
    layout.height = layout.width = 4;
    storage::DetectorWriter det(f, "/entry", layout, meta.start_time_iso);
    det.append({}, std::vector<std::uint8_t>(4 * 4 * 2, 3));
    det.close();
    storage::write_analysis(f, "/entry", storage::testing::tiny_analysis_layout(), reprocessing(),
                            {storage::testing::tiny_frame_analysis(0, 650)}, run_level());
  }
  auto p = summary_of(frames);
  EXPECT_EQ(p.code, 0) << p.err;
  EXPECT_THAT(p.out, HasSubstr("frames     1 recorded"));
  EXPECT_THAT(p.out, HasSubstr("analysis   /entry: 1 frames to S_eq"));
  EXPECT_THAT(p.out, ::testing::Not(HasSubstr("stage log")));

  storage::write_dma_entry(h5::create_file(dma), {}, 700.0);  // as `insitu dma` writes it
  p = summary_of(dma);
  EXPECT_EQ(p.code, 0) << p.err;
  EXPECT_THAT(p.out, HasSubstr("dma        /entry_dma holds the fitted TRIOS exports"));
}

// While the writer runs (SWMR) and after a kill -9: what was committed, and no end.
TEST(Summary, LiveAndKilledRuns) {
  ScratchDir dir("summary_live");
  const auto path = dir.path() / "run.h5";
  storage::testing::Child writer({STORAGE_PROBE, "crash", path.string()});
  for (int lines = 0; lines < 20; ++lines) ASSERT_TRUE(writer.read_line());
  auto p = summary_of(path);
  EXPECT_EQ(p.code, 0) << p.err;
  EXPECT_THAT(p.out, HasSubstr("status     running or killed (no end recorded)"));
  EXPECT_THAT(p.out, HasSubstr("stage log  "));
  writer.kill(SIGKILL);
  writer.wait();
  p = summary_of(path);
  EXPECT_EQ(p.code, 0) << p.err;
  EXPECT_THAT(p.out, HasSubstr("status     running or killed (no end recorded)"));
  EXPECT_THAT(p.out, HasSubstr("readings over"));
}

}  // namespace
}  // namespace insitu::daemon
