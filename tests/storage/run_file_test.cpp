#include "daemon/storage/run_file.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "daemon/storage/h5.hpp"
#include "tests/storage/child.hpp"
#include "tests/storage/records.hpp"

namespace insitu::storage {
namespace {

using ::testing::HasSubstr;
using ::testing::Optional;
using testing::check_temperature_log;
using testing::Child;
using testing::event_at;
using testing::sample_at;
using testing::ScratchDir;
using testing::test_metadata;
using testing::wait_until;

std::string attr(const h5::Handle& file, const std::string& path, const std::string& name) {
  return h5::read_string_attribute(h5::open_object(file, path), name);
}

TEST(RunFile, LayoutFollowsNexusWithUnitsAndClasses) {
  ScratchDir dir("layout");
  const auto path = dir.path() / "run.nxs";
  const auto metadata = test_metadata();
  RunFile::create(path, metadata)->finish(0.0, "completed");

  const h5::Handle f = h5::open_file(path, h5::Access::read);
  EXPECT_EQ(attr(f, "/", "default"), "entry");
  EXPECT_EQ(attr(f, "/", "creator"), "insitu 0.1.0-test");
  EXPECT_EQ(attr(f, "/", "HDF5_Version"), h5::library_version());
  EXPECT_THAT(attr(f, "/", "file_time"), ::testing::MatchesRegex("[0-9-]+T[0-9:.]+Z"));

  const std::vector<std::pair<std::string, std::string>> classes{
      {"/entry", "NXentry"},
      {"/entry/recipe", "NXnote"},
      {"/entry/sample", "NXsample"},
      {"/entry/sample/temperature_log", "NXlog"},
      {"/entry/instrument", "NXinstrument"},
      {"/entry/instrument/temperature_controller", "NXenvironment"},
      {"/entry/events", "NXcollection"},
      {"/entry/temperature", "NXdata"}};
  for (const auto& [group, nx_class] : classes) EXPECT_EQ(attr(f, group, "NX_class"), nx_class) << group;

  EXPECT_EQ(attr(f, "/entry", "default"), "temperature");
  EXPECT_EQ(attr(f, "/entry/temperature", "signal"), "value");
  EXPECT_EQ(attr(f, "/entry/temperature", "axes"), "time");
  EXPECT_EQ(attr(f, "/entry/temperature/value", "units"), "K");  // through the soft link
  EXPECT_EQ(attr(f, "/entry/sample/temperature_log/time", "units"), "s");
  EXPECT_EQ(attr(f, "/entry/sample/temperature_log/time", "start"), metadata.start_time_iso);
  EXPECT_EQ(attr(f, "/entry/sample/temperature_log/time_uncertainty", "units"), "s");
  EXPECT_EQ(attr(f, "/entry/sample/temperature_log/value", "units"), "K");
  EXPECT_EQ(attr(f, "/entry/sample/temperature_log/setpoint", "units"), "K");
  for (const char* raw : {"status", "error", "pump"})
    EXPECT_THAT(attr(f, std::string("/entry/sample/temperature_log/") + raw, "description"), HasSubstr("Linkam T95"));
  EXPECT_EQ(attr(f, "/entry/events/time", "units"), "s");

  EXPECT_EQ(h5::read_string(f, "/entry/start_time"), metadata.start_time_iso);
  EXPECT_EQ(h5::read_string(f, "/entry/program_name"), "insitu");
  EXPECT_EQ(attr(f, "/entry/program_name", "version"), "0.1.0-test");
  EXPECT_EQ(h5::read_string(f, "/entry/title"), "ramp on CeO2 standard");
  EXPECT_EQ(h5::read_string(f, "/entry/recipe/type"), "application/yaml");
  EXPECT_EQ(h5::read_string(f, "/entry/recipe/data"), metadata.recipe_text);
  EXPECT_EQ(h5::read_string(f, "/entry/recipe/algorithm"), "sha256");
  EXPECT_EQ(h5::read_string(f, "/entry/recipe/file_name"), "recipes/ramp.yaml");
  EXPECT_EQ(h5::read_string(f, "/entry/sample/name"), "CeO2 standard");
  EXPECT_EQ(h5::read_string(f, "/entry/sample/chemical_formula"), "CeO2");
  EXPECT_EQ(h5::read_string(f, "/entry/sample/treatment"), "as received");
  EXPECT_EQ(h5::read_string(f, "/entry/sample/description"), metadata.sample_description);
  EXPECT_EQ(h5::read_string(f, "/entry/instrument/temperature_controller/model"), "Linkam THMS600 / T95");
  EXPECT_EQ(h5::read_string(f, "/entry/instrument/temperature_controller/connection"), "sim://linkam");
  EXPECT_EQ(h5::read_1d<double>(h5::open_dataset(f, "/entry/instrument/temperature_controller/clock_speed")),
            std::vector<double>{600.0});
  EXPECT_EQ(h5::read_1d<std::int64_t>(h5::open_dataset(f, "/entry/instrument/temperature_controller/simulated")),
            std::vector<std::int64_t>{1});
}

TEST(RunFile, RecipeChecksumIsTheSha256OfItsText) {
  ScratchDir dir("sha");
  const auto path = dir.path() / "run.nxs";
  auto metadata = test_metadata();
  metadata.recipe_text = "abc";  // FIPS 180-2 test vector
  RunFile::create(path, metadata)->finish(0.0, "completed");
  const h5::Handle f = h5::open_file(path, h5::Access::read);
  EXPECT_EQ(h5::read_string(f, "/entry/recipe/checksum"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(RunFile, FinishWritesEndTimeDurationAndStatusAndAllRecords) {
  ScratchDir dir("finish");
  const auto path = dir.path() / "run.nxs";
  auto run = RunFile::create(path, test_metadata(), {.flush_interval_s = 10.0});
  for (std::size_t i = 0; i < 1500; ++i) run->append(sample_at(i));  // t = 0 .. 14.99 s
  for (std::size_t k = 0; k < 3; ++k) run->append(event_at(k));
  run->finish(7260.25, "completed");
  EXPECT_EQ(run->error(), std::nullopt);
  EXPECT_EQ(run->stats().samples_committed, 1500u);
  EXPECT_EQ(run->stats().events_committed, 3u);

  const h5::Handle f = h5::open_file(path, h5::Access::read);  // a normal open: SWMR has ended cleanly
  EXPECT_EQ(h5::read_string(f, "/entry/end_time"), "2026-11-24T20:01:00.250Z");  // start + 2 h 1 min 0.25 s
  EXPECT_EQ(h5::read_1d<double>(h5::open_dataset(f, "/entry/duration")), std::vector<double>{7260.25});
  EXPECT_EQ(h5::read_string_attribute(h5::open_dataset(f, "/entry/duration"), "units"), "s");
  EXPECT_EQ(h5::read_string(f, "/entry/exit_status"), "completed");
  EXPECT_EQ(check_temperature_log(f), 1500u);
  EXPECT_EQ(h5::read_1d<double>(h5::open_dataset(f, "/entry/events/time")), (std::vector<double>{0.0, 0.5, 1.0}));
  EXPECT_EQ(h5::read_strings(h5::open_dataset(f, "/entry/events/kind")),
            (std::vector<std::string>{"info", "segment", "info"}));
  EXPECT_EQ(h5::read_strings(h5::open_dataset(f, "/entry/events/message")),
            (std::vector<std::string>{"event 0", "event 1", "event 2"}));
}

TEST(RunFile, NoEndTimeWhileRunningAndAbortedWithoutFinish) {
  ScratchDir dir("abort");
  const auto path = dir.path() / "run.nxs";
  {
    auto run = RunFile::create(path, test_metadata());
    for (std::size_t i = 0; i < 200; ++i) run->append(sample_at(i));
  }
  const h5::Handle f = h5::open_file(path, h5::Access::read);
  EXPECT_EQ(h5::read_string(f, "/entry/exit_status"), "aborted");
  EXPECT_EQ(h5::read_1d<double>(h5::open_dataset(f, "/entry/duration")), std::vector<double>{sample_at(199).time_s});
  EXPECT_EQ(check_temperature_log(f), 200u);
}

TEST(RunFile, SamplesAreCommittedOnlyOnceTheFlushIntervalHasPassed) {
  ScratchDir dir("interval");
  auto run = RunFile::create(dir.path() / "run.nxs", test_metadata(), {.flush_interval_s = 1.0});
  for (std::size_t i = 0; i <= 250; ++i) run->append(sample_at(i));  // t = 0 .. 2.5 s
  ASSERT_TRUE(wait_until([&] { return run->stats().samples_committed == 201; }));
  EXPECT_EQ(run->stats().sample_flushes, 2u);  // at t = 1.0 s (101 rows) and t = 2.0 s (100 rows)
  run->finish(2.5, "completed");
  EXPECT_EQ(run->stats().samples_committed, 251u);
  EXPECT_EQ(run->stats().sample_flushes, 3u);
}

TEST(RunFile, AnEventCommitsTheSamplesBeforeIt) {
  ScratchDir dir("event_barrier");
  auto run = RunFile::create(dir.path() / "run.nxs", test_metadata(), {.flush_interval_s = 10.0});
  for (std::size_t i = 0; i < 50; ++i) run->append(sample_at(i));
  run->append(RunEvent{0.5, "fault", "Linkam EB1 0x82: open circuit"});
  ASSERT_TRUE(wait_until([&] { return run->stats().events_committed == 1; }));
  EXPECT_EQ(run->stats().samples_committed, 50u);
  run->finish(0.5, "fault");
}

TEST(RunFile, SwmrReaderSeesRowsGrowAfterFlushes) {
  ScratchDir dir("swmr");
  const auto path = dir.path() / "run.nxs";
  auto run = RunFile::create(path, test_metadata(), {.flush_interval_s = 1.0});
  for (std::size_t i = 0; i <= 100; ++i) run->append(sample_at(i));  // t = 1.0 s commits 101 rows
  ASSERT_TRUE(wait_until([&] { return run->stats().samples_committed == 101; }));

  // HDF5 shares a file opened twice in one process, so the reader is another process.
  Child reader({STORAGE_PROBE, "follow", path.string(), "201", "0"});
  EXPECT_THAT(reader.read_line(), Optional(std::string("rows 101 events 0")));
  for (std::size_t i = 101; i <= 150; ++i) run->append(sample_at(i));  // below the interval: not flushed
  for (std::size_t i = 151; i <= 200; ++i) run->append(sample_at(i));  // t = 2.0 s flushes
  EXPECT_THAT(reader.read_line(), Optional(std::string("rows 201 events 0")));
  EXPECT_EQ(reader.wait(), 0);  // exit 0: every row it saw matched
  run->finish(2.0, "completed");
}

TEST(RunFile, EventsAreVisibleToAReaderBeforeTheRunEnds) {
  ScratchDir dir("events");
  const auto path = dir.path() / "run.nxs";
  auto run = RunFile::create(path, test_metadata());
  run->append(RunEvent{12.5, "fault", "Linkam EB1 0x82: open circuit"});
  ASSERT_TRUE(wait_until([&] { return run->stats().events_committed == 1; }));
  Child reader({STORAGE_PROBE, "follow", path.string(), "0", "1"});
  EXPECT_THAT(reader.read_line(), Optional(std::string("rows 0 events 1")));
  EXPECT_EQ(reader.wait(), 0);
  run->finish(13.0, "fault");
  const h5::Handle f = h5::open_file(path, h5::Access::read);
  EXPECT_EQ(h5::read_strings(h5::open_dataset(f, "/entry/events/message")),
            std::vector<std::string>{"Linkam EB1 0x82: open circuit"});
}

TEST(RunFile, AppendsAfterFinishAreDroppedAndCounted) {
  ScratchDir dir("after");
  auto run = RunFile::create(dir.path() / "run.nxs", test_metadata());
  run->finish(0.0, "completed");
  run->append(sample_at(1));
  run->append(event_at(1));
  run->finish(1.0, "completed");  // a second finish is a no-op
  EXPECT_EQ(run->stats().dropped, 2u);
  EXPECT_EQ(run->error(), std::nullopt);
}

TEST(RunFile, CreateFailsBeforeTheRunOnBadInput) {
  ScratchDir dir("bad");
  try {
    RunFile::create(dir.path() / "no" / "such" / "dir" / "run.nxs", test_metadata());
    FAIL() << "expected h5::Error";
  } catch (const h5::Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("H5Fcreate"));
  }
  // An existing run is never overwritten, and a failed create leaves it as it was.
  const auto previous = dir.path() / "previous.nxs";
  RunFile::create(previous, test_metadata())->finish(1.0, "completed");
  EXPECT_THROW(RunFile::create(previous, test_metadata()), h5::Error);
  EXPECT_EQ(h5::read_string(h5::open_file(previous, h5::Access::read), "/entry/exit_status"), "completed");

  auto metadata = test_metadata();
  metadata.start_time_iso = "2026-11-24 18:00:00";
  EXPECT_THROW(RunFile::create(dir.path() / "a.nxs", metadata), std::runtime_error);
  metadata.start_time_iso = "2026-11-24T18:00:00+01:00";
  EXPECT_THROW(RunFile::create(dir.path() / "b.nxs", metadata), std::runtime_error);
  EXPECT_THROW(RunFile::create(dir.path() / "c.nxs", test_metadata(), {.flush_interval_s = -1}), std::runtime_error);
}

}  // namespace
}  // namespace insitu::storage
