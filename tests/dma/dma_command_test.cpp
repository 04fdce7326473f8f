// `insitu dma` on good and bad exports: messages per file, exit codes, the output file.
#include "daemon/dma_command.hpp"

#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "daemon/storage/h5.hpp"
#include "tests/dma/dma_fixture.hpp"
#include "tests/test_data.hpp"

namespace insitu::daemon {
namespace {
namespace fs = std::filesystem;
namespace h5 = storage::h5;
using ::testing::HasSubstr;

class DmaCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto sweep = dma_testing::coarse_sweep();
    dma_testing::write_file(lims(), dhr3::write_lims(sweep));
    dma_testing::write_file(json(), dhr3::write_json(sweep));
    std::string bad = dhr3::write_text(sweep);
    bad.replace(bad.find('\n', bad.size() / 2) + 1, 1, "?");
    dma_testing::write_file(bad_path(), bad);
  }
  fs::path lims() const { return dir_.path() / "sweep_lims.txt"; }
  fs::path json() const { return dir_.path() / "sweep.json"; }
  fs::path bad_path() const { return dir_.path() / "broken.txt"; }
  fs::path out() const { return dir_.path() / "dma.h5"; }

  int run(DmaOptions options) { return run_dma(options, out_, err_); }

  dma_testing::TempDir dir_{"dma-command"};
  std::ostringstream out_, err_;
};

TEST_F(DmaCommandTest, GoodAndBadExports) {
  DmaOptions o;
  o.exports = {lims(), bad_path(), json(), dir_.path() / "missing.txt"};
  o.output = out();
  o.glass_transition_K = 709.0;
  o.settings = dma::cu_zr_glass_settings();
  EXPECT_EQ(run(o), 1);
  EXPECT_THAT(err_.str(), HasSubstr(bad_path().string() + ":"));
  EXPECT_THAT(err_.str(), HasSubstr("bad number"));
  EXPECT_THAT(err_.str(), HasSubstr("missing.txt: cannot read"));
  EXPECT_THAT(out_.str(), HasSubstr("Relaxation\tActivation Energy E_A [eV]"));
  EXPECT_THAT(out_.str(), HasSubstr("α\t7."));
  EXPECT_THAT(out_.str(), HasSubstr("γ\t0."));
  EXPECT_THAT(out_.str(), HasSubstr("T/T_g"));
  auto file = h5::open_file(out(), h5::Access::read);
  EXPECT_EQ(h5::read_1d<std::int64_t>(h5::open_dataset(file, "entry_dma/export_count")),
            std::vector<std::int64_t>{2});
  EXPECT_EQ(h5::read_string(file, "entry_dma/export_02/layout"), "json");
  EXPECT_TRUE(h5::exists(file, "entry_dma/overlay/reduced_lo"));
}

TEST_F(DmaCommandTest, AllGoodIsZeroAndAnExistingOutputIsNeverOverwritten) {
  DmaOptions o;
  o.exports = {lims()};
  o.output = out();
  EXPECT_EQ(run(o), 0) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("automatic windows"));
  const auto size = fs::file_size(out());
  EXPECT_EQ(run(o), 2);
  EXPECT_THAT(err_.str(), HasSubstr("exists already"));
  EXPECT_EQ(fs::file_size(out()), size);
}

TEST_F(DmaCommandTest, NothingGoodWritesNothing) {
  DmaOptions o;
  o.exports = {bad_path()};
  o.output = out();
  EXPECT_EQ(run(o), 1);
  EXPECT_FALSE(fs::exists(out()));
  EXPECT_THAT(err_.str(), HasSubstr("not written"));
  o.exports.clear();
  EXPECT_EQ(run(o), 2);
}

TEST_F(DmaCommandTest, ACopyOfAnExportIsReportedOnce) {
  fs::copy_file(lims(), dir_.path() / "copy.txt");
  DmaOptions o;
  o.exports = {lims(), dir_.path() / "copy.txt"};
  o.output = out();
  EXPECT_EQ(run(o), 1);
  EXPECT_THAT(err_.str(), HasSubstr("same content as " + lims().string()));
  auto file = h5::open_file(out(), h5::Access::read);
  EXPECT_EQ(h5::read_1d<std::int64_t>(h5::open_dataset(file, "entry_dma/export_count")),
            std::vector<std::int64_t>{1});
}


// A folder of one file per frequency plus another sample's export: the sample's files pooled, the other sample
// analysed apart, or left out with --sample; every step listed.
TEST_F(DmaCommandTest, AFolderOfOneFilePerFrequencyAndAnotherSample) {
  const fs::path folder = dir_.path() / "exports";
  fs::create_directories(folder);
  auto config = dhr3::paper_sweep(dhr3::SimGeometry::three_point_bending);
  config.kelvin_per_cycle = 2.0;
  config.frequencies_Hz = {0.1, 1.0, 10.0};
  const auto files = dhr3::simulate_file_per_frequency(config);
  for (std::size_t j = 0; j < files.size(); ++j)
    dma_testing::write_file(folder / ("f" + std::to_string(j) + ".txt"), dhr3::write_text(files[j]));
  config.sample = "other";
  dma_testing::write_file(folder / "other.txt", dhr3::write_lims(dhr3::simulate_sweep(config)));
  DmaOptions o;
  o.exports = {folder};
  o.output = out();
  o.settings = dma::cu_zr_glass_settings();
  EXPECT_EQ(run(o), 0) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("2 samples, analysed apart"));
  EXPECT_THAT(out_.str(), HasSubstr("sample 'Cu44Zr44Al8Hf2Co2 as-cast' (3 exports)\n heating at 5 K/min: 3 curves"));
  EXPECT_THAT(out_.str(), HasSubstr("step 'Temperature ramp - 1' (376 rows): 1 curve"));
  auto file = h5::open_file(out(), h5::Access::read);
  EXPECT_EQ(h5::read_string(file, "entry_dma/sample_02/name"), "other");
  file.close();

  o.output = dir_.path() / "one_sample.h5";
  o.sample = "other";
  out_.str("");
  EXPECT_EQ(run(o), 0) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("f0.txt: sample 'Cu44Zr44Al8Hf2Co2 as-cast', not taken (--sample other)"));
  auto one = h5::open_file(o.output, h5::Access::read);
  EXPECT_EQ(h5::read_1d<std::int64_t>(h5::open_dataset(one, "entry_dma/sample_count")), std::vector<std::int64_t>{1});
}

// The real multistep export: every step listed with its reason; nothing to fit, so no output.
TEST_F(DmaCommandTest, TheRealMultistepExportListsEveryStep) {
  DmaOptions o;
  o.exports = {testdata::path("trios/hermes_text_DHR_multistep.txt")};
  o.output = out();
  EXPECT_EQ(run(o), 1);
  EXPECT_THAT(out_.str(), HasSubstr("step 'Amplitude sweep - 1' (29 rows): not used: not a temperature sweep"));
  EXPECT_THAT(out_.str(), HasSubstr("step 'Frequency sweep - 2' (29 rows): not used: not a temperature sweep"));
  EXPECT_THAT(out_.str(), HasSubstr("step 'Flow ramp - 3' (223 rows)"));
  EXPECT_THAT(out_.str(), HasSubstr("not used: not an oscillation step"));
  EXPECT_THAT(err_.str(), HasSubstr("no step is a DMA temperature sweep with a frequency"));
  EXPECT_FALSE(fs::exists(out()));

  // Beside an export that fits, it is written too, its steps listed with their reasons.
  o.exports.push_back(lims());
  EXPECT_EQ(run(o), 1);
  auto file = h5::open_file(out(), h5::Access::read);
  EXPECT_EQ(h5::read_1d<std::int64_t>(h5::open_dataset(file, "entry_dma/export_01/steps/curves")),
            (std::vector<std::int64_t>{0, 0, 0}));
  const auto notes = h5::read_strings(h5::open_dataset(file, "entry_dma/export_01/steps/note"));
  ASSERT_EQ(notes.size(), 3u);
  EXPECT_THAT(notes[0], HasSubstr("not a temperature sweep"));
  EXPECT_THAT(notes[2], HasSubstr("not an oscillation step"));
  EXPECT_EQ(h5::read_strings(h5::open_dataset(file, "entry_dma/sample_01/exports")),
            std::vector<std::string>{"export_02"});
}

}  // namespace
}  // namespace insitu::daemon
