// The one reader (run_file_reader.hpp): committed rows only, and what a file lacks is "not there", not an error.
#include "daemon/storage/run_file_reader.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "daemon/storage/run_file.hpp"
#include "tests/storage/records.hpp"

namespace insitu::storage {
namespace {

using ::testing::HasSubstr;
using testing::ScratchDir;

// A finished run with 3 readings, 2 events, 3 analysed frames and a run level with T_g.
std::filesystem::path finished_run(const std::filesystem::path& dir) {
  const auto path = dir / "run.nxs";
  RunFileLayout layout;
  layout.analysis = testing::tiny_analysis_layout();
  auto run = RunFile::create(path, testing::test_metadata(), {.flush_interval_s = 0.0}, layout);
  for (std::size_t i = 0; i < 3; ++i) run->append(testing::sample_at(i));
  run->append(testing::event_at(0));
  run->append(testing::event_at(1));
  for (std::uint64_t i = 0; i < 3; ++i) run->append(testing::tiny_frame_analysis(i, 700.0 + i));
  analysis::RunAnalysis level;
  level.temperature_K = {700, 701, 702};
  level.s_eq_smoothed_J_per_mol_K = {7.0, 7.01, 7.02};
  level.glass_transition_K = 701, level.glass_transition_low_K = 700.5, level.glass_transition_high_K = 701.5;
  run->update(level);  // dS_eq/dT and delta_phi not computed yet: NaN rows
  EXPECT_TRUE(run->finish(1.0, "completed"));
  return path;
}

TEST(RunFileReader, ReadsTheStreamsOfAFinishedRun) {
  ScratchDir dir("reader");
  const RunFileReader reader(finished_run(dir.path()));
  EXPECT_FALSE(reader.opened_as_swmr_reader());
  EXPECT_EQ(reader.temperature_log().value_K,
            (std::vector<double>{testing::sample_at(0).value_K, testing::sample_at(1).value_K,
                                 testing::sample_at(2).value_K}));
  EXPECT_EQ(reader.events().message, (std::vector<std::string>{"event 0", "event 1"}));
  EXPECT_EQ(reader.text("exit_status"), "completed");
  EXPECT_EQ(reader.frames(), std::nullopt);  // no detector
  EXPECT_EQ(reader.analysis_entries(), std::vector<std::string>{"/entry"});
  const auto a = reader.analysis().value();
  EXPECT_EQ(a.sequence, (std::vector<std::uint64_t>{0, 1, 2}));
  EXPECT_EQ(a.run.temperature_K, (std::vector<double>{700, 701, 702}));
  ASSERT_EQ(a.run.delta_phi_W_per_mol.size(), 3u);  // one row per heating frame, as the live writer aligns them
  EXPECT_TRUE(std::isnan(a.run.delta_phi_W_per_mol[0]));
  EXPECT_EQ(a.run.t_g_low_K, 700.5);
  EXPECT_EQ(reader.next_reprocessed_entry(), "/entry_reprocessed_1");
}

// Rows past a stream's commit marker (a writer killed between the columns and the marker) are not trusted; empty
// or partial run-level arrays and missing groups read as absent.
TEST(RunFileReader, TrustsOnlyCommittedRowsAndToleratesWhatIsMissing) {
  ScratchDir dir("reader_partial");
  const auto path = finished_run(dir.path());
  {
    const auto f = h5::open_file(path, h5::Access::read_write);
    h5::append<double>(h5::open_dataset(f, "/entry/sample/temperature_log/value"), std::vector<double>{1e9});
    h5::append<double>(h5::open_dataset(f, "/entry/analysis/S_eq"), std::vector<double>{1e9});
    h5::resize_rows(h5::open_dataset(f, "/entry/analysis/run/S_eq_smoothed"), 1);
    h5::remove(h5::open_group(f, "/entry/analysis/run"), "T_g_low");
    h5::create_extendable(h5::open_group(f, "/entry/analysis/run"), "T_g_low", {.type = h5::dtype_of<double>(), .tail_shape = {}, .chunk_rows = 16});
    h5::remove(h5::open_group(f, "/entry/analysis/run"), "T_g_high");
    h5::remove(h5::open_group(f, "/entry"), "events");
  }
  const RunFileReader reader(path);
  EXPECT_EQ(reader.temperature_log().rows(), 3u);
  EXPECT_EQ(reader.temperature_log().value_K.back(), testing::sample_at(2).value_K);
  EXPECT_EQ(reader.events().rows(), 0u);
  const auto a = reader.analysis().value();
  EXPECT_EQ(a.s_eq_J_per_mol_K.size(), 3u);
  EXPECT_EQ(a.run.temperature_K.size(), 3u);
  EXPECT_EQ(a.run.s_eq_smoothed_J_per_mol_K, std::vector<double>{7.0});
  EXPECT_EQ(a.run.t_g_K, 701);
  EXPECT_TRUE(std::isnan(a.run.t_g_low_K));
  EXPECT_TRUE(std::isnan(a.run.t_g_high_K));
}

TEST(RunFileReader, RefusesWhatInsituDidNotWriteInOneLine) {
  ScratchDir dir("reader_foreign");
  const auto text = dir.path() / "run.log", foreign = dir.path() / "foreign.h5";
  std::ofstream(text) << "[info] run completed\n";
  h5::create_group(h5::create_file(foreign), "data", "NXentry");
  const auto message = [](const std::filesystem::path& p) {
    try {
      RunFileReader{p};
    } catch (const NotARunFile& e) {
      return std::string(e.what());
    }
    return std::string("read");
  };
  EXPECT_EQ(message(text), text.string() + ": not an HDF5 file");
  EXPECT_THAT(message(foreign), HasSubstr("an HDF5 file that insitu did not write"));
  EXPECT_EQ(message(dir.path() / "none.h5"), (dir.path() / "none.h5").string() + ": no such file");
}

}  // namespace
}  // namespace insitu::storage
