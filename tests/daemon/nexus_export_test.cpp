// A short simulated run (`insitu run --simulate`, the binary) as viewers and the tools users already run read it:
// silx 1.1's nxdata rules and the file's conventions (tests/daemon/nexus_check.py), and `insitu export` into
// .xy/.chi/.gr files that numpy.loadtxt and pdfgui's header patterns read back, with its refusals.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "daemon/storage/run_file_reader.hpp"
#include "tests/daemon/run_file_reader.hpp"
#include "tests/daemon/short_recipe.hpp"
#include "tests/stage/sim_fixture.hpp"

namespace insitu::testing {
namespace {

namespace fs = std::filesystem;

struct Shell {
  int code;
  std::string output;  // stdout and stderr
};

Shell shell(const std::string& command) {
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return {-1, "popen failed"};
  std::string output;
  char buffer[4096];
  while (const std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
  const int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

const std::string insitu = INSITU_BINARY_DIR "/daemon/insitu";

// Reads every exported file back: numpy.loadtxt(comments="#") with the columns of its format, the I(Q) and G(r)
// rows equal to the run file's, and in a .gr the header pdfgui looks for (`#### start data`, qmax).
constexpr const char* readback_script = R"(
import glob, os, re, sys
import h5py, numpy
run, folder, fmt = sys.argv[1:4]
files = sorted(glob.glob(os.path.join(folder, "*." + fmt)))
with h5py.File(run, "r") as f:
    a = f["/entry/analysis"]
    sequence = list(a["sequence_number"][()])
    assert len(files) == len(sequence), (len(files), len(sequence))
    for path in files:
        frame = int(re.search(r"_frame(\d+)_", path).group(1))
        row = sequence.index(frame)
        data = numpy.loadtxt(path, comments="#")
        if fmt == "gr":
            numpy.testing.assert_allclose(data[:, 0], a["r"][()], atol=1e-6)
            numpy.testing.assert_allclose(data[:, 1], a["G_of_r"][row], rtol=1e-7, atol=1e-12)
            header = open(path).read().split("#### start data")[0]
            assert re.search(r"\bqmax *= *[0-9.]+", header), header
        else:
            assert data.shape == (a["radial_axis"].shape[0], 3), data.shape
            numpy.testing.assert_allclose(data[:, 1], a["I"][row], rtol=1e-5)
            numpy.testing.assert_allclose(data[:, 2], a["I_errors"][row], rtol=1e-5)
            if fmt == "xy":
                numpy.testing.assert_allclose(data[:, 0], a["radial_axis"][()], rtol=1e-5)
            else:
                assert 0 < data[0, 0] < data[-1, 0] < 180
print(len(files), fmt, "files read back")
)";

class ShortRun : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fresh_temp_dir("nexus-export");
    const auto output = dir_ / "out";
    const auto run = shell(insitu + " run " + short_cryo_recipe(dir_).string() + " --simulate --speed 50 --output " +
                           output.string());
    ASSERT_EQ(run.code, 0) << run.output;
    run_file_ = only_run_file(output);
    std::ofstream(dir_ / "readback.py") << readback_script;
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  static fs::path dir_, run_file_;
};
fs::path ShortRun::dir_, ShortRun::run_file_;

TEST_F(ShortRun, SilxPlotsEveryNxdataAndOpensOnSEqOfTheHeatingRamp) {
  const auto check = shell("/usr/bin/python3 " INSITU_SOURCE_DIR "/tests/daemon/nexus_check.py " + run_file_.string());
  EXPECT_EQ(check.code, 0) << check.output;
  RecordProperty("silx", check.output);
  std::cout << check.output;
}

// What a user sees in `silx view`: the file opens on S_eq(T), and /entry/data shows one frame as an image.
TEST_F(ShortRun, SilxViewerOpensOnSEqAndShowsOneFrameInTwoClicks) {
  const auto artifacts = fs::path(INSITU_BINARY_DIR) / "test-artifacts" / "silx";
  const auto view = shell("QT_QPA_PLATFORM=offscreen /usr/bin/python3 " INSITU_SOURCE_DIR "/tests/daemon/silx_view.py " +
                          run_file_.string() + " " + artifacts.string());
  EXPECT_EQ(view.code, 0) << view.output;
  std::cout << view.output;
}

TEST_F(ShortRun, TheReaderFindsTheStageLogInItsSensorAndParametersAsText) {
  const storage::RunFileReader file(run_file_);
  EXPECT_TRUE(file.has_temperature_log());
  EXPECT_GT(file.temperature_log().rows(), 100u);
  const auto analysis = file.analysis().value();
  EXPECT_EQ(analysis.parameters.at("qmax"), "24");  // a number in the file, the recipe's text read back
  EXPECT_EQ(analysis.parameters.at("npt"), "3000");
  EXPECT_EQ(analysis.parameters.at("composition"), "Cu44Zr44Al8Hf2Co2");
}

TEST_F(ShortRun, ExportedFilesReadBackWithNumpyAndPdfguisHeaderPatterns) {
  for (const std::string format : {"xy", "chi", "gr"}) {
    const auto folder = dir_ / ("export-" + format);
    const auto exported =
        shell(insitu + " export " + run_file_.string() + " --format " + format + " -o " + folder.string());
    ASSERT_EQ(exported.code, 0) << exported.output;
    const auto read = shell("/usr/bin/python3 " + (dir_ / "readback.py").string() + " " + run_file_.string() + " " +
                            folder.string() + " " + format);
    EXPECT_EQ(read.code, 0) << format << ": " << read.output;
  }
}

TEST_F(ShortRun, ExportSelectsFramesAndRefusesBadInputInOneLine) {
  const storage::RunFileReader file(run_file_);
  const auto frames = file.frames().value();
  const auto analysed = file.analysis().value().sequence;
  ASSERT_GE(analysed.size(), 3u);
  ASSERT_EQ(frames.image_key.front(), 2) << "the run starts with darks";
  const auto folder = dir_ / "selected";
  const auto frame_list = std::to_string(analysed[0]) + "-" + std::to_string(analysed[1]) + "," +
                          std::to_string(frames.sequence.front());  // two analysed frames and a dark
  const std::string base = insitu + " export " + run_file_.string() + " -o " + folder.string();

  const auto with_dark = shell(base + " --format gr --frames " + frame_list);
  EXPECT_EQ(with_dark.code, 1) << with_dark.output;
  EXPECT_NE(with_dark.output.find("is a dark frame"), std::string::npos) << with_dark.output;
  std::size_t written = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(folder)) ++written;
  EXPECT_EQ(written, 2u) << "the analysed frames are written";

  const auto one_line = [](const Shell& s) { return std::count(s.output.begin(), s.output.end(), '\n') == 1; };
  const std::vector<std::pair<std::string, std::string>> refusals = {
      {insitu + " export " + (dir_ / "missing.h5").string() + " --format xy", "no such file"},
      {insitu + " export " + (dir_ / "short.yaml").string() + " --format xy", "not an HDF5 file"},
      {base + " --format xy --frames 7-3", "runs backwards"},
      {base + " --format xy --frames 1,x", "'x' is not a frame number"},
      {base + " --format tiff", "one of xy, chi, gr"},
      {base + " --format gr --frames " + frame_list, "exists"},  // never overwrites
      {base + " --format xy --entry /entry_reprocessed_9", "no analysed frame"},
  };
  for (const auto& [command, reason] : refusals) {
    const auto refused = shell(command);
    EXPECT_EQ(refused.code, 2) << command << "\n" << refused.output;
    EXPECT_TRUE(one_line(refused)) << refused.output;
    EXPECT_NE(refused.output.find(reason), std::string::npos) << refused.output;
  }
}

}  // namespace
}  // namespace insitu::testing
