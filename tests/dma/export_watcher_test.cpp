// The export watcher over a real temp folder with an accelerated run clock (50x: a 0.5 s poll is 10 ms).
#include "drivers/dhr3/export_watcher.hpp"

#include <cctype>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "daemon/storage/dma_entry.hpp"
#include "tests/dma/dma_fixture.hpp"
#include "tests/test_data.hpp"

namespace insitu::dhr3 {
namespace {
namespace fs = std::filesystem;
using ::testing::HasSubstr;
using dma_testing::write_file;

class ExportWatcherTest : public ::testing::Test {
 protected:
  ExportWatcherSettings settings() const {
    ExportWatcherSettings s;
    s.folder = dir_.path();
    s.filter = "*.txt";
    return s;
  }

  // Runs the watcher while `scenario` plays, then `settle_s` more run seconds (many polls: a second
  // ingestion would show), and stops it.
  void run(std::function<awaitable<void>()> scenario, double settle_s = 3.0) {
    ExportWatcher watcher(io_.get_executor(), files_.get_executor(), clock_, settings(),
                          std::make_shared<spdlog::logger>("dma", std::make_shared<spdlog::sinks::null_sink_mt>()));
    watcher.on_ingested([&](const IngestedExport& e) { ingested_.push_back(e); });
    watcher.on_event([&](ExportEventKind kind, const std::string& message) { events_.emplace_back(kind, message); });
    std::exception_ptr failure;
    auto fail = [&](std::exception_ptr e) {
      if (e) failure = e;
    };
    asio::co_spawn(io_, watcher.run(), fail);
    asio::co_spawn(
        io_,
        [&]() -> awaitable<void> {
          co_await scenario();
          co_await clock_.sleep_for(settle_s);
          watcher.stop();
        },
        fail);
    io_.run();
    if (failure) std::rethrow_exception(failure);
    EXPECT_EQ(watcher.ingested().size(), ingested_.size());
  }

  // Waits (run seconds) until an event of `kind` has arrived; fails the test on timeout. The exports are parsed off
  // the loop, under the sanitizers for seconds of wall time: the default is 12 s of wall.
  awaitable<void> wait_for(ExportEventKind kind, std::size_t count = 1, double timeout_s = 600.0) {
    const double until = clock_.now_s() + timeout_s;
    while (count_of(kind) < count && clock_.now_s() < until) co_await clock_.sleep_for(0.25);
    EXPECT_GE(count_of(kind), count) << "waiting for " << to_string(kind);
  }

  std::size_t count_of(ExportEventKind kind) const {
    std::size_t n = 0;
    for (const auto& e : events_) n += e.first == kind;
    return n;
  }
  std::vector<std::string> messages(ExportEventKind kind) const {
    std::vector<std::string> out;
    for (const auto& e : events_)
      if (e.first == kind) out.push_back(e.second);
    return out;
  }

  dma_testing::TempDir dir_{"dma-watch"};
  asio::io_context io_;
  asio::thread_pool files_{1};  // the exports are read and parsed here, as a run's are on the host's background
  io::RunClock clock_{50.0};
  std::vector<IngestedExport> ingested_;
  std::vector<std::pair<ExportEventKind, std::string>> events_;
};

TEST_F(ExportWatcherTest, IngestsANewExportOnceAndNotItsCopyOrReSave) {
  const auto sweep = dma_testing::coarse_sweep();
  const std::string lims = write_lims(sweep);
  const fs::path first = dir_.path() / "sweep.txt";
  run([&]() -> awaitable<void> {
    write_file(first, lims);
    co_await wait_for(ExportEventKind::ingested);
    // A copy under another name, and a re-save of the same bytes (new mtime).
    fs::copy_file(first, dir_.path() / "sweep (copy).txt");
    write_file(first, lims);
    fs::last_write_time(first, fs::last_write_time(first) + std::chrono::seconds(2));
    co_await wait_for(ExportEventKind::duplicate, 2);
  });
  ASSERT_EQ(ingested_.size(), 1u);
  const auto& e = ingested_[0];
  EXPECT_EQ(e.path, first);
  EXPECT_EQ(e.sha256, io::content_sha256(first));
  EXPECT_EQ(e.text, lims);
  EXPECT_EQ(e.data.layout, Layout::lims);
  // Parsed and converted, not fitted: the curves are handed out for the consumer to pool and fit.
  ASSERT_EQ(e.steps.size(), 1u);
  EXPECT_EQ(e.steps[0].name, step_name(dma_testing::coarse_sweep()));
  EXPECT_EQ(e.steps[0].curves, 7u);
  ASSERT_EQ(e.curves.size(), 7u);
  EXPECT_EQ(e.curves[0].modulus, dma::Modulus::young_E);
  EXPECT_THAT(messages(ExportEventKind::ingested)[0],
              HasSubstr(first.string() + ": lims export, sample 'Cu44Zr44Al8Hf2Co2 as-cast', 7 curves"));
  EXPECT_EQ(count_of(ExportEventKind::duplicate), 2u);
  for (const auto& m : messages(ExportEventKind::duplicate)) EXPECT_THAT(m, HasSubstr("same content as " + first.string()));
}

TEST_F(ExportWatcherTest, ReportsATruncatedExportWithItsLineThenIngestsTheCompletedOne) {
  const std::string lims = write_lims(dma_testing::coarse_sweep());
  // Cut a few bytes into a line half way through, as while TRIOS is writing: the last line reads "Data",
  // not yet "Data point\t…".
  const std::string partial = lims.substr(0, lims.find('\n', lims.size() / 2) + 5);
  ASSERT_EQ(partial.substr(partial.size() - 4), "Data");
  std::size_t expected_line = 0;
  try {
    parse_export(partial);
    FAIL() << "the cut export parsed";
  } catch (const TriosError& e) {
    expected_line = e.line();
  }
  ASSERT_GT(expected_line, 0u);
  const fs::path path = dir_.path() / "growing.txt";
  run([&]() -> awaitable<void> {
    write_file(path, partial);
    co_await wait_for(ExportEventKind::incomplete);
    EXPECT_TRUE(ingested_.empty());
    write_file(path, lims);
    co_await wait_for(ExportEventKind::ingested);
  });
  ASSERT_EQ(messages(ExportEventKind::incomplete).size(), 1u);
  EXPECT_THAT(messages(ExportEventKind::incomplete)[0],
              HasSubstr(path.string() + ":" + std::to_string(expected_line) + ": "));
  ASSERT_EQ(ingested_.size(), 1u);
  EXPECT_EQ(ingested_[0].text, lims);
}

TEST_F(ExportWatcherTest, ReportsAMalformedExportAndKeepsGoing) {
  std::string bad = write_lims(dma_testing::coarse_sweep(7));
  // Corrupt the first value of a data row.
  const auto row = bad.find("Data point\t", bad.size() / 3);
  ASSERT_NE(row, std::string::npos);
  bad.replace(row + 11, 1, "x");
  const fs::path bad_path = dir_.path() / "bad.txt";
  const std::string good_json = write_json(dma_testing::coarse_sweep());
  run([&]() -> awaitable<void> {
    write_file(bad_path, bad);
    co_await wait_for(ExportEventKind::malformed);
    write_file(dir_.path() / "good.txt", good_json);
    co_await wait_for(ExportEventKind::ingested);
    // The operator re-exports the bad one correctly: ingested too.
    write_file(bad_path, write_lims(dma_testing::coarse_sweep(7)));
    co_await wait_for(ExportEventKind::ingested, 2);
  });
  ASSERT_EQ(messages(ExportEventKind::malformed).size(), 1u);
  EXPECT_THAT(messages(ExportEventKind::malformed)[0], HasSubstr(bad_path.string() + ":"));
  EXPECT_THAT(messages(ExportEventKind::malformed)[0], HasSubstr("bad number"));
  ASSERT_EQ(ingested_.size(), 2u);
  EXPECT_EQ(ingested_[0].data.layout, Layout::json);
  EXPECT_EQ(ingested_[1].path, bad_path);
}

// A number past double's range once escaped the watcher as an exception and ended the watch in silence: in both
// the text and the JSON layouts it is a malformed export, and the valid export dropped after it is still taken in.
TEST_F(ExportWatcherTest, ANumberPastDoublesRangeIsAMalformedExportAndTheWatchGoesOn) {
  std::string bad_lims = write_lims(dma_testing::coarse_sweep(7));
  const auto row = bad_lims.find("Data point\t", bad_lims.size() / 3);
  ASSERT_NE(row, std::string::npos);
  const auto value = bad_lims.find('\t', row + 11) + 1;  // the row's second value, a measured number
  bad_lims.replace(value, bad_lims.find('\t', value) - value, "1e400");
  // A JSON number literal in the data rows (after ':', ',' or '[', not inside a string) becomes 1e400.
  std::string bad_json = write_json(dma_testing::coarse_sweep(5));
  std::size_t number = bad_json.size() / 2;
  const auto is_literal_start = [&](std::size_t i) {
    if (!std::isdigit(static_cast<unsigned char>(bad_json[i]))) return false;
    const auto before = bad_json.find_last_not_of(" \n", i - 1);
    if (before == std::string::npos) return false;
    return bad_json[before] == ':' || bad_json[before] == ',' || bad_json[before] == '[';
  };
  while (number < bad_json.size() && !is_literal_start(number)) ++number;
  ASSERT_LT(number, bad_json.size());
  bad_json.replace(number, bad_json.find_first_of(",]} \n", number) - number, "1e400");
  const fs::path lims_path = dir_.path() / "huge.txt", json_path = dir_.path() / "huge-json.txt";
  const fs::path good_path = dir_.path() / "good.txt";
  run([&]() -> awaitable<void> {
    write_file(lims_path, bad_lims);
    write_file(json_path, bad_json);
    co_await wait_for(ExportEventKind::malformed, 2);
    write_file(good_path, write_lims(dma_testing::coarse_sweep()));
    co_await wait_for(ExportEventKind::ingested);
  });
  const auto malformed = messages(ExportEventKind::malformed);
  ASSERT_EQ(malformed.size(), 2u);
  for (const auto& m : malformed) EXPECT_THAT(m, ::testing::AnyOf(HasSubstr(lims_path.string() + ":"),
                                                                  HasSubstr(json_path.string() + ":")));
  for (const auto& m : malformed) EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  ASSERT_EQ(ingested_.size(), 1u);
  EXPECT_EQ(ingested_[0].path, good_path);
}

// A lab saving one file per frequency as each ramp ends: each file alone is one curve; the run's DMA entry
// pools them by sample (storage::analyse_exports, as the run-file sink does at finish). A multistep export
// without a temperature sweep is reported with every step's reason.
TEST_F(ExportWatcherTest, OneFilePerFrequencyArrivingOneByOneIsPooledBySample) {
  auto config = paper_sweep(SimGeometry::three_point_bending);
  config.kelvin_per_cycle = 2.0;
  config.frequencies_Hz = {0.1, 1.0, 10.0};
  const auto files = simulate_file_per_frequency(config);
  std::ifstream in(testdata::path("trios/hermes_text_DHR_multistep.txt"), std::ios::binary);
  const std::string multistep{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  run([&]() -> awaitable<void> {
    for (std::size_t j = 0; j < files.size(); ++j) {
      write_file(dir_.path() / ("ramp_" + std::to_string(j) + ".txt"), write_text(files[j]));
      co_await wait_for(ExportEventKind::ingested, j + 1);
    }
    write_file(dir_.path() / "multistep.txt", multistep);
    co_await wait_for(ExportEventKind::rejected);
  });
  ASSERT_EQ(ingested_.size(), 3u);
  for (const auto& e : ingested_) EXPECT_EQ(e.curves.size(), 1u);
  EXPECT_THAT(messages(ExportEventKind::rejected).at(0),
              HasSubstr("step 'Amplitude sweep - 1': not a temperature sweep: temperature spans 0.0 K; "
                        "step 'Frequency sweep - 2': not a temperature sweep"));
  const auto results = storage::analyse_exports(ingested_, dma::cu_zr_glass_settings());
  ASSERT_EQ(results.samples.size(), 1u);
  ASSERT_EQ(results.samples[0].sets.size(), 1u);
  EXPECT_EQ(results.samples[0].sets[0].sweep.series.size(), 3u);
  for (const auto& t : results.samples[0].sets[0].analysis.transitions) EXPECT_TRUE(t.arrhenius) << t.name << t.note;
}

// Parses, but has no tan δ and no moduli (a flow step, say): reported with each step's reason, not ingested.
TEST(CheckExport, RejectsAnExportWithoutADmaSweep) {
  std::string lims = write_lims(dma_testing::coarse_sweep());
  for (const std::string name : {"Tan(delta)", "Storage modulus", "Loss modulus"}) {
    const auto at = lims.find(name);
    ASSERT_NE(at, std::string::npos) << name;
    lims.replace(at, name.size(), "Viscosity " + std::to_string(at));
  }
  const auto check = check_export("flow.txt", lims, {}, {});
  EXPECT_EQ(check.kind, ExportEventKind::rejected);
  ASSERT_TRUE(check.result);  // parsed: its steps are listed
  EXPECT_TRUE(check.result->curves.empty());
  EXPECT_THAT(check.message, HasSubstr("flow.txt: no DMA curve (sample 'Cu44Zr44Al8Hf2Co2 as-cast'): step "
                                       "'Temperature ramp - 1': not an oscillation step"));
  EXPECT_EQ(check_export("x.json", "{\"not\": ", {}, {}).kind, ExportEventKind::incomplete);
}

// A row cut between cells is the parser's own "truncated file"; a complete file with a bad cell is malformed.
TEST(CheckExport, ClassifiesCutAndBadFiles) {
  const std::string text = write_text(dma_testing::coarse_sweep());
  const auto row = text.find('\n', text.size() / 2) + 1;
  const auto cut = check_export("cut.txt", text.substr(0, text.find('\t', row) + 1), {}, {});
  EXPECT_EQ(cut.kind, ExportEventKind::incomplete);
  EXPECT_THAT(cut.message, HasSubstr("truncated file"));
  std::string bad = text;
  bad.replace(row, 1, "?");
  const auto malformed = check_export("bad.txt", bad, {}, {});
  EXPECT_EQ(malformed.kind, ExportEventKind::malformed);
  EXPECT_THAT(malformed.message, HasSubstr("bad number"));
}

}  // namespace
}  // namespace insitu::dhr3
