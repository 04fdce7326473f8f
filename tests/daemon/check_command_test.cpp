// `insitu check`: a recipe whose folders, files and ports are all there is ready; one where they are not gets one
// line per problem, all of them.
#include "daemon/check_command.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "daemon/xrd_setup.hpp"
#include "drivers/detector/frame_files.hpp"
#include "drivers/io/clock.hpp"
#include "drivers/io/pty.hpp"
#include "drivers/linkam/sim/background_stage.hpp"

namespace insitu::daemon {
namespace {
namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The cryogenic recipe binned 4x4 in <dir>/recipes, its PONI beside it in <dir>/instruments (found through the
// recipe's relative path), every connection a pty and every folder under <dir>.
class CheckCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("insitu-check-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    for (const char* sub : {"recipes", "instruments", "frames", "dma"}) fs::create_directories(dir_ / sub);
    fs::copy_file(INSITU_SOURCE_DIR "/config/instruments/xrd1621-60keV.poni", dir_ / "instruments/xrd1621-60keV.poni");
    stage_ = io::publish_pty(dir_ / "ttyStage", 19200);
    trigger_ = io::publish_pty(dir_ / "ttyTrigger", 38400);
  }
  void TearDown() override {
    for (const auto& pty : {stage_, trigger_}) {
      ::close(pty.master_fd);
      ::close(pty.slave_fd);
    }
    fs::remove_all(dir_);
  }

  // The recipe with `replacements` (regex, text) applied after the defaults of this fixture.
  fs::path recipe(std::vector<std::pair<std::string, std::string>> replacements = {}) {
    std::ifstream in(INSITU_SOURCE_DIR "/config/recipes/cryo-heating.yaml");
    std::string text{std::istreambuf_iterator<char>(in), {}};
    std::vector<std::pair<std::string, std::string>> all = {
        {"binning: 1\\}", "binning: 4}"},
        {"serial:///dev/ttyUSB0", "pty:" + (dir_ / "ttyStage").string()},
        {"serial:///dev/ttyUSB1", "pty:" + (dir_ / "ttyTrigger").string()},
        {"/data/xrd1621/incoming", (dir_ / "frames").string()},
        {"/data/dhr3/exports", (dir_ / "dma").string()},
        {"directory: runs", "directory: " + (dir_ / "runs").string()}};
    all.insert(all.end(), replacements.begin(), replacements.end());
    for (const auto& [pattern, replacement] : all) text = std::regex_replace(text, std::regex(pattern), replacement);
    const auto path = dir_ / "recipes/check.yaml";
    std::ofstream(path) << text;
    return path;
  }

  int check(CheckOptions options) {
    out_.str("");
    err_.str("");
    return run_check(options, out_, err_);
  }

  fs::path dir_;
  io::PublishedPty stage_, trigger_;
  std::ostringstream out_, err_;
};

TEST_F(CheckCommandTest, ARecipeWhoseEverythingIsThereIsReady) {
  EXPECT_EQ(check({recipe(), false, std::nullopt, std::nullopt}), 0) << err_.str();
  EXPECT_EQ(err_.str(), "");
  const auto out = out_.str();
  EXPECT_THAT(out, HasSubstr("\ntotal    1:52:01"));  // the plan, as before
  EXPECT_THAT(out,
              HasSubstr("output folder " + (dir_ / "runs").string() + ": does not exist yet, the run creates it\n"));
  // Nothing answers on this pty: the port is there, the controller may be switched on later; the plan says so.
  EXPECT_THAT(out, HasSubstr("stage pty:" + (dir_ / "ttyStage").string() + ": opens; the controller could not be read"));
  EXPECT_THAT(out, HasSubstr("plan from an assumed start at 295.00 K (the stage could not be read)\n"));
  EXPECT_THAT(out, HasSubstr("trigger pty:" + (dir_ / "ttyTrigger").string() + ": opens\n"));
  EXPECT_THAT(out, HasSubstr("geometry " + (dir_ / "instruments/xrd1621-60keV.poni").string() +
                             ": 512x512 pixels (binning 4)"));
  EXPECT_THAT(out, HasSubstr("detector frames folder " + (dir_ / "frames").string() + ": there\n"));
  EXPECT_THAT(out, HasSubstr("DMA export folder " + (dir_ / "dma").string() + ": there\n"));
  EXPECT_THAT(out, HasSubstr("form-factor table "));
  EXPECT_THAT(out, HasSubstr("ready: insitu run will find everything it needs\n"));
}

TEST_F(CheckCommandTest, EveryProblemIsOneLineAndAllAreListed) {
  const auto mask = dir_ / "recipes/small.tif";
  detector::write_qxrd_tiff(mask, detector::make_frame(64, 64, std::vector<std::uint16_t>(64 * 64, 0)));
  std::ofstream(dir_ / "not-a-folder") << "x";
  fs::remove_all(dir_ / "dma");
  const auto path = recipe({{"composition: Cu44Zr44Al8Hf2Co2", "composition: Cu50Og50"},
                            {"mask: null", "mask: small.tif"},
                            {(dir_ / "frames").string(), (dir_ / "no-frames").string()},
                            {"pty:" + (dir_ / "ttyTrigger").string(), "pty:" + (dir_ / "ttyGone").string()}});
  EXPECT_EQ(check({path, false, "serial:///dev/ttyUSB-insitu-missing", dir_ / "not-a-folder/runs"}), 2);
  EXPECT_EQ(lines_of(err_.str()),
            (std::vector<std::string>{
                "output folder " + (dir_ / "not-a-folder/runs").string() +
                    " cannot be created: " + (dir_ / "not-a-folder").string() + " is not a folder",
                "stage serial:///dev/ttyUSB-insitu-missing: cannot open serial port /dev/ttyUSB-insitu-missing: No "
                "such file or directory",
                "detector frames folder " + (dir_ / "no-frames").string() + " (detector.frames.folder) does not exist",
                "trigger pty:" + (dir_ / "ttyGone").string() + ": cannot open pty " + (dir_ / "ttyGone").string() +
                    ": No such file or directory",
                "DMA export folder " + (dir_ / "dma").string() + " (dma.folder) does not exist",
                "mask (detector.mask): mask " + mask.string() +
                    " is 64x64 pixels, the detector's frames are 512x512 (binning 4)",
                "form-factor table " + fs::absolute(form_factor_table_path()).string() +
                    " has no Og (sample.composition Cu50Og50)",
                "not ready: 7 problems"}));
}

TEST_F(CheckCommandTest, SimulateSkipsThePortsAndTheInstrumentsFolders) {
  fs::remove_all(dir_ / "frames");
  const auto path = recipe({{"pty:" + (dir_ / "ttyStage").string(), "serial:///dev/ttyUSB-insitu-missing"}});
  EXPECT_EQ(check({path, true, std::nullopt, std::nullopt}), 0) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("skipped: stage and trigger ports, detector frames and DMA export folders"));
  EXPECT_THAT(out_.str(), ::testing::Not(HasSubstr("\nstage serial:")));  // not probed
  EXPECT_THAT(out_.str(), HasSubstr("plan from an assumed start at 295.00 K (--simulate: the simulated stage starts"));
  EXPECT_EQ(check({path, false, std::nullopt, std::nullopt}), 2);
  EXPECT_THAT(err_.str(), HasSubstr("stage serial:///dev/ttyUSB-insitu-missing: cannot open serial port"));
  EXPECT_THAT(err_.str(), HasSubstr("detector frames folder"));
}

// The recipe loader resolves the PONI against the recipe's folder and says where it looked; the output folder and
// the --linkam port are still checked.
TEST_F(CheckCommandTest, ABadRecipeIsListedWithTheOtherProblems) {
  fs::remove(dir_ / "instruments/xrd1621-60keV.poni");
  std::ofstream(dir_ / "not-a-folder") << "x";
  const auto path = recipe({{"safe_state: stop", "safe_state: maybe"}});
  EXPECT_EQ(check({path, false, "pty:" + (dir_ / "ttyGone").string(), dir_ / "not-a-folder/runs"}), 2);
  const auto err = err_.str();
  EXPECT_THAT(err, HasSubstr(path.string() + ":"));
  EXPECT_THAT(err, HasSubstr("(looked for " + (dir_ / "instruments/xrd1621-60keV.poni").string() + ")"));
  EXPECT_THAT(err, HasSubstr("safe_state"));
  EXPECT_THAT(err, HasSubstr("stage pty:" + (dir_ / "ttyGone").string() + ": cannot open pty"));
  EXPECT_THAT(err, HasSubstr("output folder " + (dir_ / "not-a-folder/runs").string()));
  EXPECT_EQ(lines_of(err).size(), 5u) << err;  // two recipe errors, output, stage, the count
}

// A controller that answers: the plan starts from the stage's reading (here a precooled stage), and only `T` went out.
TEST_F(CheckCommandTest, ThePlanStartsFromTheStagesReading) {
  const auto sim_dir = dir_ / "sim";
  fs::create_directories(sim_dir);
  const io::RunClock clock(1.0);
  linkam::sim::BackgroundStage stage(clock, sim_dir / "ttyLinkam");
  stage.with_model([](auto& m) {
    m.set_temperature_K(150.0);
    return 0;
  });
  EXPECT_EQ(check({recipe(), false, stage.url(), std::nullopt}), 0) << err_.str();
  const auto out = out_.str();
  EXPECT_THAT(out, HasSubstr("stage " + stage.url() + ": opens; the controller reads stopped at 150."));
  EXPECT_THAT(out, HasSubstr("plan from the stage's current reading, 150."));
  EXPECT_THAT(out, ::testing::Not(HasSubstr("\ntotal    1:52:01")));  // the 295 K plan's precool is not this one's
  EXPECT_TRUE(stage.received_commands().empty());
}

}  // namespace
}  // namespace insitu::daemon
