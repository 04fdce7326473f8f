#include "daemon/reprocess_command.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include "daemon/storage/detector_layout.hpp"
#include "daemon/storage/h5.hpp"
#include "daemon/storage/run_entry.hpp"
#include "daemon/storage/run_file_reader.hpp"
#include "daemon/storage/run_file.hpp"
#include "daemon/storage/schema.hpp"
#include "daemon/xrd_setup.hpp"
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
  const auto s = h5::read_1d<double>(h5::open_dataset(file, g + "S_eq"));
  ASSERT_EQ(s.size(), 4u);
  for (std::size_t i = 1; i < s.size(); ++i) EXPECT_GT(s[i], s[i - 1]) << "less order, higher S_eq";
  const auto q = h5::read_1d<double>(h5::open_dataset(file, g + "radial_axis"));
  EXPECT_EQ(q.size(), 1000u);
  EXPECT_EQ(h5::read_1d<double>(h5::open_dataset(file, g + "I")).size(), 4u * 1000u);
  const auto r = h5::read_1d<double>(h5::open_dataset(file, g + "r"));
  EXPECT_EQ(h5::read_1d<double>(h5::open_dataset(file, g + "g_of_r")).size(), 4 * r.size());
  EXPECT_EQ(h5::read_1d<double>(h5::open_dataset(file, g + "G_of_r")).size(), 4 * r.size());
  const auto qr = h5::read_1d<double>(h5::open_dataset(file, g + "Q_reduced"));
  EXPECT_EQ(h5::read_1d<double>(h5::open_dataset(file, g + "S_of_Q")).size(), 4 * qr.size());
  // The frames as read, with their temperatures: OUT.h5 is a run file.
  EXPECT_EQ(h5::rows(h5::open_dataset(file, "/entry/instrument/detector/data")), 4u);
  EXPECT_EQ(h5::read_1d<double>(h5::open_dataset(file, "/entry/instrument/detector/frame_temperature/T_end")),
            (std::vector<double>{302, 304, 306, 308}));
  EXPECT_EQ(storage::parameter_text(file, g + "parameters/qmax"), "23");
  EXPECT_EQ(storage::parameter_text(file, g + "parameters/composition"), "Cu44Zr44Al8Hf2Co2");
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

std::vector<double> s_eq_of(const fs::path& file, const std::string& entry = "/entry") {
  const storage::RunFileReader reader(file);
  return reader.analysis(entry).value().s_eq_J_per_mol_K;
}

// The datasets and groups directly under `group`.
std::set<std::string> names(const fs::path& file, const std::string& group) {
  const auto f = h5::open_file(file, h5::Access::read);
  const auto list = h5::link_names(h5::open_group(f, group));
  return {list.begin(), list.end()};
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
  EXPECT_EQ(storage::parameter_text(file, "/entry/analysis/parameters/mask_pixels"), "1600");
  // As in a live run the mask is always there; without --mask nothing is masked.
  const auto clean_mask = storage::RunFileReader(dir.path / "clean.h5").analysis_mask().value();
  EXPECT_EQ(std::count(clean_mask.begin(), clean_mask.end(), 0), 640 * 640);
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
  EXPECT_EQ(s_eq_of(output, "/entry_reprocessed_1"), first);
  // The reprocessed entry has the names and run level of the output's own analysis (a live run's: see below).
  EXPECT_EQ(names(output, "/entry_reprocessed_1/analysis"), names(output, "/entry/analysis"));
  EXPECT_EQ(names(output, "/entry_reprocessed_1/analysis/run"), names(output, "/entry/analysis/run"));
  EXPECT_EQ(storage::RunFileReader(output).analysis("/entry_reprocessed_1").value().run.temperature_K,
            storage::RunFileReader(output).analysis().value().run.temperature_K);

  // A second mask (rows 0-319 of every column) joins the stored block.
  {
    std::vector<std::uint16_t> top(640 * 640, 0);
    std::fill(top.begin(), top.begin() + 320 * 640, std::uint16_t{7});
    detector::write_qxrd_tiff(dir.path / "top.tif", detector::make_frame(640, 640, std::move(top)));
  }
  const std::vector<std::string> more{output.string(), "--workers", "2", "--mask", (dir.path / "top.tif").string()};
  ASSERT_EQ(run_reprocess(more, out, err), 0) << err.str();
  auto file = h5::open_file(output, h5::Access::read);
  const auto mask = h5::read_1d<std::uint8_t>(h5::open_dataset(file, "/entry_reprocessed_2/analysis/mask"));
  ASSERT_EQ(mask.size(), 640u * 640u);
  std::size_t wrong = 0;
  for (std::size_t i = 0; i < mask.size(); ++i) wrong += (mask[i] != 0) != (in_block(i) || i < 320 * 640);
  EXPECT_EQ(wrong, 0u);
  EXPECT_EQ(storage::parameter_text(file, "/entry_reprocessed_2/analysis/parameters/mask_pixels"),
            std::to_string(320 * 640 + 800));
  EXPECT_NE(s_eq_of(output, "/entry_reprocessed_2"), first);
}

// The analysis group a live run writes (RunFile with an analysis layout), with the axes of `like`'s analysis.
fs::path live_run_file(const fs::path& dir, const fs::path& like) {
  const auto f = h5::open_file(like, h5::Access::read);
  storage::AnalysisLayout layout;
  layout.axes = {h5::read_1d<double>(h5::open_dataset(f, "/entry/analysis/radial_axis")),
                 h5::read_1d<double>(h5::open_dataset(f, "/entry/analysis/Q_reduced")),
                 h5::read_1d<double>(h5::open_dataset(f, "/entry/analysis/r"))};
  layout.parameters = {{"composition", "Cu44Zr44Al8Hf2Co2"}};
  layout.form_factors = {{"Cu", analysis::WaasKirfCoefficients{}}};
  layout.mask_height = layout.mask_width = 640;
  const auto live = dir / "live.h5";
  storage::RunMetadata meta;
  meta.start_time_iso = "2024-01-01T00:00:00Z";
  storage::RunFileLayout run_layout;
  run_layout.analysis = layout;
  auto run = storage::RunFile::create(live, meta, {}, run_layout);
  analysis::RunAnalysis level;
  level.parameters = {{"heating_frames", "0"}};
  run->update(level);
  EXPECT_TRUE(run->finish(1.0, "completed"));
  return live;
}

// A 120-frame heating run taken elsewhere: OUT.h5 has the run level of a live run, one row per heating frame, under
// the names a live run's analysis uses; `insitu reprocess OUT.h5` writes a new entry with those names too.
TEST_F(ReprocessFrames, HeatingRunHasTheRunLevelAndNamesOfALiveRun) {
  using namespace analysis;
  const auto geometry = test::small_detector();
  const auto table = FormFactorTable::load(test::form_factor_file());
  std::string csv = "file,T_start_K,T_end_K\n";
  constexpr int frames = 120;
  // Two rendered structures, blended: the order falls smoothly along the ramp (rendering 120 would take minutes).
  const auto ordered = test::render(geometry, test::model_intensity(table, 40.0, 1.9), 0.99, 5000.0f);
  const auto disordered = test::render(geometry, test::model_intensity(table, 40.0, 1.4), 0.99, 5000.0f);
  for (int i = 0; i < frames; ++i) {
    const float w = static_cast<float>(i) / (frames - 1);
    std::vector<float> raw(ordered.size());
    for (std::size_t j = 0; j < raw.size(); ++j) raw[j] = (1 - w) * ordered[j] + w * disordered[j];
    const std::string name = "ramp-" + std::to_string(i) + ".tif";
    detector::write_qxrd_tiff(dir.path / "frames" / name,
                              detector::make_frame(geometry.height, geometry.width, std::move(raw)));
    csv += name + "," + std::to_string(300 + 2 * i) + "," + std::to_string(302 + 2 * i) + "\n";
  }
  write_text(dir.path / "T.csv", csv);
  const auto output = dir.path / "ramp.h5";
  std::ostringstream out, err;
  ASSERT_EQ(run_reprocess(args(output.string()), out, err), 0) << err.str();
  EXPECT_THAT(out.str(), HasSubstr("frames analysed: 120"));

  const auto a = storage::RunFileReader(output).analysis().value();
  const auto outliers = std::stoul(a.run_parameters.at("outlier_frames"));
  EXPECT_EQ(a.run_parameters.at("heating_frames"), std::to_string(frames));
  EXPECT_EQ(a.run.temperature_K.size(), frames - outliers);
  EXPECT_EQ(a.run.s_eq_smoothed_J_per_mol_K.size(), a.run.temperature_K.size());
  EXPECT_EQ(a.run.ds_eq_dT_J_per_mol_K2.size(), a.run.temperature_K.size());
  EXPECT_EQ(a.run.delta_phi_W_per_mol.size(), a.run.temperature_K.size());
  EXPECT_GT(std::count_if(a.run.delta_phi_W_per_mol.begin(), a.run.delta_phi_W_per_mol.end(),
                          [](double v) { return std::isfinite(v); }),
            frames / 2)
      << "a 240 K ramp smooths";
  EXPECT_NEAR(a.run.heating_rate_K_per_s, 2.0 / 12.0, 1e-9);

  const auto live = live_run_file(dir.path, output);
  EXPECT_EQ(names(output, "/entry/analysis"), names(live, "/entry/analysis"));
  EXPECT_EQ(names(output, "/entry/analysis/run"), names(live, "/entry/analysis/run"));
}

// README's line, without --form-factors: the table a live run uses.
TEST_F(ReprocessFrames, FormFactorsDefaultToTheLiveRunsTable) {
  auto a = args((dir.path / "out.h5").string());
  const auto flag = std::find(a.begin(), a.end(), "--form-factors");
  a.erase(flag, flag + 2);
  std::ostringstream out, err;
  ASSERT_EQ(run_reprocess(a, out, err), 0) << err.str();
  const auto parameters = storage::RunFileReader(dir.path / "out.h5").parameters();
  EXPECT_EQ(parameters.at("form_factor_file"), form_factor_table_path().string());
}

// A run file as the daemon writes it (run_entry.hpp, detector_layout.hpp): a dark and two data frames.
TEST_F(ReprocessFrames, RunFileGetsANewAnalysisEntry) {
  using namespace analysis;
  const auto geometry = test::small_detector();
  const auto table = FormFactorTable::load(test::form_factor_file());
  const auto run = dir.path / "run.h5";
  {
    auto file = h5::create_file(run);
    storage::RunMetadata meta;
    meta.start_time_iso = "2024-01-01T00:00:00Z";
    storage::write_run_entry(file, run, meta);
    storage::DetectorLayout layout;
    layout.height = geometry.height, layout.width = geometry.width, layout.filter = h5::Filter::none;
    storage::DetectorWriter det(file, storage::schema::entry, layout, meta.start_time_iso);
    det.write_dark_median(std::vector<float>(geometry.height * geometry.width, 5000.0f));
    for (int i = 0; i < 3; ++i) {
      const bool is_dark = i == 0;
      std::vector<std::uint16_t> pixels(geometry.height * geometry.width, 5000);
      if (!is_dark) {
        const auto raw = test::render(geometry, test::model_intensity(table, 40.0), 0.99, 5000.0f);
        for (std::size_t j = 0; j < raw.size(); ++j) pixels[j] = static_cast<std::uint16_t>(std::lround(raw[j]));
      }
      detector::ExposureRecord record;
      record.sequence = static_cast<std::uint64_t>(i);
      record.image_key = is_dark ? detector::image_dark : detector::image_data;
      record.start_s = 12.0 * i, record.stop_s = 12.0 * i + 10;
      record.temperature.mean_K = 300.0 + 2 * i;
      det.append(record, std::span(reinterpret_cast<const std::uint8_t*>(pixels.data()), 2 * pixels.size()));
    }
    det.close();
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
  const storage::RunFileReader reader(run);
  // A second reprocess never overwrites the first.
  EXPECT_EQ(reader.analysis_entries(), (std::vector<std::string>{"/entry_reprocessed_1", "/entry_reprocessed_2"}));
  EXPECT_EQ(reader.analysis("/entry_reprocessed_1").value().sequence, (std::vector<std::uint64_t>{1, 2}));
  EXPECT_EQ(reader.analysis("/entry_reprocessed_1").value().temperature_K, (std::vector<double>{302, 304}));
  EXPECT_EQ(reader.frames().value().rows(), 3u);
}

}  // namespace
}  // namespace insitu::daemon
