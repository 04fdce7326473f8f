// `insitu dma` on good and bad exports: messages per file, exit codes, the output file.
#include "daemon/dma_command.hpp"

#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "daemon/storage/h5.hpp"
#include "tests/dma/dma_fixture.hpp"

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

}  // namespace
}  // namespace insitu::daemon
