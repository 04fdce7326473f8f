#include "daemon/reprocess_command.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "daemon/storage/h5.hpp"
#include "drivers/detector/frame_files.hpp"
#include "tests/pipeline/synthetic.hpp"

namespace insitu::daemon {
namespace {

namespace fs = std::filesystem;
namespace h5 = storage::h5;
using ::testing::HasSubstr;
using ::testing::Not;

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("insitu-reprocess-" + std::to_string(::getpid()) + "-" +
                                        std::to_string(reinterpret_cast<std::uintptr_t>(this)));
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

void write_text(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

TEST(TemperatureCsv, ParsesRowsAndReportsLines) {
  const auto rows = parse_temperature_csv("file,T_start_K,T_end_K\n# comment\na.tif, 300, 302\n\nb.tif,302,304,24.5\n", "t.csv");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].file, "a.tif");
  EXPECT_EQ(rows[0].line, 3);
  EXPECT_DOUBLE_EQ(rows[1].T_end_K, 304.0);
  EXPECT_EQ(rows[1].time_s, 24.5);
  auto error = [](const std::string& text) {
    try {
      parse_temperature_csv(text, "t.csv");
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(error("a.tif,300,30x\n"), "t.csv:1: T_end_K '30x' is not a number");
  EXPECT_EQ(error("a.tif,300,302\nb.tif,302\n"), "t.csv:2: expected file,T_start_K,T_end_K[,time_s] but found 2 fields");
  EXPECT_EQ(error("a.tif,300,302\nb.tif,-1,3\n"), "t.csv:2: temperatures must be positive kelvin");
}

TEST(ReprocessArgs, RejectsIncompleteCommandLines) {
  auto error = [](std::vector<std::string> args) {
    try {
      parse_reprocess_args(args);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_THAT(error({}), HasSubstr("give either RUN.h5 or --frames DIR"));
  EXPECT_THAT(error({"--frames", "d", "--poni", "p"}), HasSubstr("--frames needs --temperatures CSV"));
  EXPECT_THAT(error({"--frames", "d", "--temperatures", "t.csv", "--composition", "Cu", "-o", "o.h5"}),
              HasSubstr("--frames needs --poni FILE"));
  EXPECT_EQ(parse_reprocess_args({"run.h5"}).run_file, "run.h5");  // the run file holds its geometry
  EXPECT_THAT(error({"run.h5", "--poni"}), HasSubstr("--poni needs a value"));
  EXPECT_THAT(error({"run.h5", "--bogus"}), HasSubstr("unknown option --bogus"));
  const auto o = parse_reprocess_args({"run.h5", "--poni", "p.poni", "--set", "qmax=20", "--set", "rmax=15"});
  EXPECT_EQ(o.overrides, (std::vector<std::string>{"qmax=20", "rmax=15"}));
}

TEST(ReprocessArgs, HelpShowsTheMaskOption) {
  EXPECT_EQ(parse_reprocess_args({"run.h5", "--mask", "beamstop.edf"}).mask_file, "beamstop.edf");
  std::ostringstream out, err;
  EXPECT_EQ(run_reprocess(std::vector<std::string>{"--help"}, out, err), 0);
  EXPECT_THAT(out.str(), HasSubstr("[--dark FILE] [--mask FILE]"));
  EXPECT_THAT(out.str(), HasSubstr("added to the mask the run file stores"));
  EXPECT_EQ(err.str(), "");
}

class ReprocessFrames : public ::testing::Test {
 protected:
  void SetUp() override {
    using namespace analysis;
    const auto geometry = test::small_detector();
    const auto table = FormFactorTable::load(test::form_factor_file());
    write_text(dir.path / "det.poni", test::small_detector_poni());
    fs::create_directories(dir.path / "frames");
    std::string csv = "file,T_start_K,T_end_K\n";
    for (int i = 0; i < 4; ++i) {
      // More disorder as it heats: S_eq rises frame by frame.
      const auto raw = test::render(geometry, test::model_intensity(table, 40.0, 1.9 - 0.1 * i), 0.99, 5000.0f);
      const std::string name = "frame-" + std::to_string(i) + ".tif";
      detector::write_qxrd_tiff(dir.path / "frames" / name, detector::make_frame(geometry.height, geometry.width, raw));
      csv += name + "," + std::to_string(300 + 2 * i) + "," + std::to_string(302 + 2 * i) + "\n";
    }
    write_text(dir.path / "T.csv", csv);
    detector::write_qxrd_tiff(dir.path / "dark.tif",
                              detector::make_frame(geometry.height, geometry.width,
                                                   std::vector<float>(geometry.height * geometry.width, 5000.0f)));
  }

  std::vector<std::string> args(const std::string& output) const {
    return {"--frames", (dir.path / "frames").string(), "--poni", (dir.path / "det.poni").string(),
            "--temperatures", (dir.path / "T.csv").string(), "--composition", "Cu44Zr44Al8Hf2Co2",
            "--form-factors", analysis::test::form_factor_file(), "--dark", (dir.path / "dark.tif").string(),
            "--workers", "2", "--set", "npt=1000", "--set", "split=none", "--set", "integration_qmin=0.5",
            "--set", "integration_qmax=24", "--set", "qmaxinst=24", "--set", "qmax=23", "--set", "rmax=12",
            "-o", output};
  }

  TempDir dir;
};

TEST_F(ReprocessFrames, WritesEveryFrameAndTheRunAnalysis) {
  const auto output = dir.path / "out.h5";
  std::ostringstream out, err;
  ASSERT_EQ(run_reprocess(args(output.string()), out, err), 0) << err.str();
  EXPECT_THAT(out.str(), HasSubstr("frames analysed: 4"));
  EXPECT_THAT(out.str(), HasSubstr("T range: 301.0 - 307.0 K"));
  EXPECT_THAT(out.str(), HasSubstr("T_g: not determined"));  // 4 frames at room temperature

  auto file = h5::open_file(output, h5::Access::read);
  const std::string g = "/entry/analysis/";
  const auto t = h5::read_1d<double>(h5::open_dataset(file, g + "temperature"));
  EXPECT_EQ(t, (std::vector<double>{301, 303, 305, 307}));
  const auto s = h5::read_1d<double>(h5::open_dataset(file, g + "s_eq"));
  ASSERT_EQ(s.size(), 4u);
  for (std::size_t i = 1; i < s.size(); ++i) EXPECT_GT(s[i], s[i - 1]) << "less order, higher S_eq";
  const auto q = h5::read_1d<double>(h5::open_dataset(file, g + "q"));
  EXPECT_EQ(q.size(), 1000u);
  EXPECT_EQ(h5::read_1d<float>(h5::open_dataset(file, g + "intensity")).size(), 4u * 1000u);
  const auto r = h5::read_1d<double>(h5::open_dataset(file, g + "r"));
  EXPECT_EQ(h5::read_1d<float>(h5::open_dataset(file, g + "pair_distribution")).size(), 4 * r.size());
  EXPECT_EQ(h5::read_1d<float>(h5::open_dataset(file, g + "reduced_pdf")).size(), 4 * r.size());
  const auto qr = h5::read_1d<double>(h5::open_dataset(file, g + "q_reduced"));
  EXPECT_EQ(h5::read_1d<float>(h5::open_dataset(file, g + "structure_factor")).size(), 4 * qr.size());
  EXPECT_EQ(h5::read_string(file, g + "parameters/qmax"), "23");
  EXPECT_EQ(h5::read_string(file, g + "parameters/composition"), "Cu44Zr44Al8Hf2Co2");
  EXPECT_EQ(h5::read_1d<double>(h5::open_dataset(file, g + "run/temperature")).size(), 4u);
  EXPECT_NEAR(h5::read_1d<double>(h5::open_dataset(file, g + "run/heating_rate"))[0], 2.0 / 12.0, 1e-9);
}

TEST_F(ReprocessFrames, ErrorsNameTheProblem) {
  std::ostringstream out, err;
  auto a = args((dir.path / "bad.h5").string());
  a.push_back("--set");
  a.push_back("qmaxx=3");
  EXPECT_EQ(run_reprocess(a, out, err), 1);
  EXPECT_THAT(err.str(), HasSubstr("unknown setting 'qmaxx'"));

  write_text(dir.path / "T.csv", "frame-0.tif,300,302\nmissing.tif,302,304\n");
  err.str("");
  EXPECT_EQ(run_reprocess(args((dir.path / "bad2.h5").string()), out, err), 1);
  EXPECT_THAT(err.str(), HasSubstr("T.csv:2: frame file"));
  EXPECT_THAT(err.str(), HasSubstr("does not exist"));
}

// The ring segment a beam-stop shadow or a hot detector region would cover: rows and columns 300-339.
bool in_block(std::size_t i) {
  const std::size_t row = i / 640, col = i % 640;
  return row >= 300 && row < 340 && col >= 300 && col < 340;
}

std::vector<double> s_eq_of(const fs::path& file, const std::string& group = "/entry/analysis") {
  return h5::read_1d<double>(h5::open_dataset(h5::open_file(file, h5::Access::read), group + "/s_eq"));
}

void write_block_mask(const fs::path& path, std::size_t height, std::size_t width) {
  std::vector<std::uint16_t> mask(height * width, 0);
  for (std::size_t i = 0; i < mask.size(); ++i)
    if (height == 640 && width == 640 && in_block(i)) mask[i] = 1;
  detector::write_qxrd_tiff(path, detector::make_frame(height, width, std::move(mask)));
}

// --mask: a block of hot pixels added to every frame skews S_eq; masking the block restores the clean S_eq (up to
// the pixels it leaves out), and OUT.h5 stores the mask as a run file does.
TEST_F(ReprocessFrames, MaskHidesABlockAndIsRecorded) {
  std::ostringstream out, err;
  ASSERT_EQ(run_reprocess(args((dir.path / "clean.h5").string()), out, err), 0) << err.str();
  for (int i = 0; i < 4; ++i) {
    const auto path = dir.path / "frames" / ("frame-" + std::to_string(i) + ".tif");
    auto frame = detector::read_frame(path);
    auto& pixels = std::get<std::vector<float>>(frame.pixels);
    for (std::size_t j = 0; j < pixels.size(); ++j)
      if (in_block(j)) pixels[j] += 20000.0f;
    detector::write_qxrd_tiff(path, frame);
  }
  ASSERT_EQ(run_reprocess(args((dir.path / "hot.h5").string()), out, err), 0) << err.str();
  write_block_mask(dir.path / "mask.tif", 640, 640);
  auto masked_args = args((dir.path / "masked.h5").string());
  masked_args.insert(masked_args.end(), {"--mask", (dir.path / "mask.tif").string()});
  ASSERT_EQ(run_reprocess(masked_args, out, err), 0) << err.str();

  const auto clean = s_eq_of(dir.path / "clean.h5"), hot = s_eq_of(dir.path / "hot.h5"),
             masked = s_eq_of(dir.path / "masked.h5");
  ASSERT_EQ(clean.size(), 4u);
  ASSERT_EQ(hot.size(), 4u);
  ASSERT_EQ(masked.size(), 4u);
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_GT(std::abs(hot[i] - clean[i]), 0.05 * std::abs(clean[i])) << "frame " << i << ": the block matters";
    EXPECT_LT(std::abs(masked[i] - clean[i]), 0.1 * std::abs(hot[i] - clean[i])) << "frame " << i;
  }

  auto file = h5::open_file(dir.path / "masked.h5", h5::Access::read);
  const auto mask = h5::read_1d<std::uint8_t>(h5::open_dataset(file, "/entry/analysis/mask"));
  EXPECT_EQ(h5::shape(h5::open_dataset(file, "/entry/analysis/mask")), (std::vector<hsize_t>{640, 640}));
  ASSERT_EQ(mask.size(), 640u * 640u);
  std::size_t wrong = 0;
  for (std::size_t i = 0; i < mask.size(); ++i) wrong += (mask[i] != 0) != in_block(i);
  EXPECT_EQ(wrong, 0u);
  EXPECT_EQ(h5::read_string(file, "/entry/analysis/parameters/mask_pixels"), "1600");
  EXPECT_FALSE(h5::exists(h5::open_file(dir.path / "clean.h5", h5::Access::read), "/entry/analysis/mask"));
}

TEST_F(ReprocessFrames, MaskOfAnotherShapeNamesBothShapes) {
  write_block_mask(dir.path / "small.tif", 320, 640);
  auto a = args((dir.path / "out.h5").string());
  a.insert(a.end(), {"--mask", (dir.path / "small.tif").string()});
  std::ostringstream out, err;
  EXPECT_EQ(run_reprocess(a, out, err), 1);
  EXPECT_EQ(err.str(), "insitu reprocess: mask " + (dir.path / "small.tif").string() +
                           " is 320x640 pixels, the frames are 640x640 (" +
                           (dir.path / "frames" / "frame-0.tif").string() + ")\n");
  EXPECT_FALSE(fs::exists(dir.path / "out.h5"));
}

// OUT.h5 holds the frames, their temperatures, the dark, geometry, parameters, form factors and mask: reprocessed
// as a run file it gives the same S_eq to the bit. A --mask then adds to the stored mask.
TEST_F(ReprocessFrames, OutputReprocessesToTheSameEntropy) {
  write_block_mask(dir.path / "mask.tif", 640, 640);
  const auto output = dir.path / "masked.h5";
  auto a = args(output.string());
  a.insert(a.end(), {"--mask", (dir.path / "mask.tif").string()});
  std::ostringstream out, err;
  ASSERT_EQ(run_reprocess(a, out, err), 0) << err.str();
  ASSERT_EQ(run_reprocess(std::vector<std::string>{output.string(), "--workers", "2"}, out, err), 0) << err.str();
  EXPECT_THAT(out.str(), Not(HasSubstr("records no analysis parameters")));
  const auto first = s_eq_of(output);
  ASSERT_EQ(first.size(), 4u);
  EXPECT_EQ(s_eq_of(output, "/entry/reprocessed_1"), first);

  // A second mask (rows 0-319 of every column) joins the stored block.
  {
    std::vector<std::uint16_t> top(640 * 640, 0);
    std::fill(top.begin(), top.begin() + 320 * 640, std::uint16_t{7});
    detector::write_qxrd_tiff(dir.path / "top.tif", detector::make_frame(640, 640, std::move(top)));
  }
  const std::vector<std::string> more{output.string(), "--workers", "2", "--mask", (dir.path / "top.tif").string()};
  ASSERT_EQ(run_reprocess(more, out, err), 0) << err.str();
  auto file = h5::open_file(output, h5::Access::read);
  const auto mask = h5::read_1d<std::uint8_t>(h5::open_dataset(file, "/entry/reprocessed_2/mask"));
  ASSERT_EQ(mask.size(), 640u * 640u);
  std::size_t wrong = 0;
  for (std::size_t i = 0; i < mask.size(); ++i) wrong += (mask[i] != 0) != (in_block(i) || i < 320 * 640);
  EXPECT_EQ(wrong, 0u);
  EXPECT_EQ(h5::read_string(file, "/entry/reprocessed_2/parameters/mask_pixels"), std::to_string(320 * 640 + 800));
  EXPECT_NE(s_eq_of(output, "/entry/reprocessed_2"), first);
}

// A run file as the daemon writes it (frames, image_key, T_mean, time, dark_median), made here with h5.hpp.
TEST_F(ReprocessFrames, RunFileGetsANewAnalysisGroup) {
  using namespace analysis;
  const auto geometry = test::small_detector();
  const auto table = FormFactorTable::load(test::form_factor_file());
  const auto run = dir.path / "run.h5";
  {
    auto file = h5::create_file(run);
    auto entry = h5::create_group(file, "entry", "NXentry");
    auto instrument = h5::create_group(entry, "instrument", "NXinstrument");
    auto det = h5::create_group(instrument, "detector", "NXdetector");
    auto data = h5::create_extendable(det, "data", {h5::dtype_of<std::uint16_t>(), {geometry.height, geometry.width}, 1});
    auto key = h5::create_extendable(det, "image_key", {h5::dtype_of<std::int32_t>(), {}, 64});
    auto ft = h5::create_group(det, "frame_temperature", "NXcollection");
    auto t_mean = h5::create_extendable(ft, "T_mean", {h5::dtype_of<double>(), {}, 64});
    auto time = h5::create_extendable(ft, "time", {h5::dtype_of<double>(), {}, 64});
    const std::vector<float> dark_pixels(geometry.height * geometry.width, 5000.0f);
    auto dark_ds = h5::create_extendable(det, "dark_median", {h5::dtype_of<float>(), {geometry.height, geometry.width}, 1});
    h5::append<float>(dark_ds, dark_pixels, 1);
    for (int i = 0; i < 3; ++i) {
      const bool is_dark = i == 0;
      std::vector<std::uint16_t> pixels(geometry.height * geometry.width, 5000);
      if (!is_dark) {
        const auto raw = test::render(geometry, test::model_intensity(table, 40.0), 0.99, 5000.0f);
        for (std::size_t j = 0; j < raw.size(); ++j) pixels[j] = static_cast<std::uint16_t>(std::lround(raw[j]));
      }
      h5::append<std::uint16_t>(data, pixels, 1);
      h5::append<std::int32_t>(key, std::vector<std::int32_t>{is_dark ? 2 : 0});
      h5::append<double>(time, std::vector<double>{12.0 * i});
      h5::append<double>(t_mean, std::vector<double>{300.0 + 2 * i});
    }
  }
  std::vector<std::string> a{run.string(), "--poni", (dir.path / "det.poni").string(), "--form-factors",
                             test::form_factor_file(), "--workers", "1", "--set", "npt=1000", "--set", "split=none",
                             "--set", "integration_qmin=0.5", "--set", "integration_qmax=24", "--set", "qmaxinst=24",
                             "--set", "qmax=23", "--set", "rmax=12"};
  std::ostringstream out, err;
  ASSERT_EQ(run_reprocess(a, out, err), 0) << err.str();
  EXPECT_THAT(out.str(), HasSubstr("frames analysed: 2"));  // the dark is not analysed
  EXPECT_THAT(out.str(), HasSubstr("records no analysis parameters"));  // defaults and --set, and it says so
  ASSERT_EQ(run_reprocess(a, out, err), 0) << err.str();
  auto file = h5::open_file(run, h5::Access::read);
  EXPECT_TRUE(h5::exists(file, "/entry/reprocessed_1/s_eq"));
  EXPECT_TRUE(h5::exists(file, "/entry/reprocessed_2/s_eq"));  // a second reprocess never overwrites the first
  EXPECT_EQ(h5::read_1d<double>(h5::open_dataset(file, "/entry/reprocessed_1/sequence")), (std::vector<double>{1, 2}));
  EXPECT_EQ(h5::rows(h5::open_dataset(file, "/entry/instrument/detector/data")), 3u);
}

}  // namespace
}  // namespace insitu::daemon
