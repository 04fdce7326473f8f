// `insitu reprocess RUN.h5` from the run file alone: a short simulated run with inline analysis records its
// detector geometry, analysis parameters and form-factor coefficients, and reprocessing a copy of it
// elsewhere, with the recipe, PONI and form-factor table gone, gives back the run's own per-frame S_eq. Its recipe
// has a sample calibration: the analysis, live and reprocessed, runs on the frames' sample temperatures.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "analysis/integration/geometry.hpp"
#include "analysis/pdf/form_factors.hpp"
#include "daemon/reprocess_command.hpp"
#include "daemon/run_command.hpp"
#include "daemon/storage/run_file.hpp"
#include "daemon/summary.hpp"
#include "protocols/recipe/sample_calibration.hpp"
#include "drivers/detector/frame_files.hpp"
#include "tests/daemon/run_file_reader.hpp"
#include "tests/daemon/simulated_run.hpp"
#include "tests/stage/sim_fixture.hpp"

namespace insitu::testing {
namespace {

namespace fs = std::filesystem;
namespace h5 = storage::h5;
using ::testing::HasSubstr;

constexpr const char* debian_form_factors =
    "/usr/lib/python3/dist-packages/periodictable/xsf/f0_WaasKirf.dat";

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), {}};
}

double scalar(const h5::Handle& file, const std::string& path) {
  return h5::read_1d<double>(h5::open_dataset(file, path)).at(0);
}

// A per-frame column, by sequence number.
std::map<std::uint64_t, double> by_sequence_number(const h5::Handle& file, const std::string& sequence_path,
                                                   const std::string& value_path) {
  const auto sequence = h5::read_1d<std::uint64_t>(h5::open_dataset(file, sequence_path));
  const auto values = h5::read_1d<double>(h5::open_dataset(file, value_path));
  std::map<std::uint64_t, double> out;
  for (std::size_t i = 0; i < std::min(sequence.size(), values.size()); ++i) out[sequence[i]] = values[i];
  return out;
}

int reprocess(const std::vector<std::string>& args, std::string& err_text) {
  std::ostringstream out, err;
  const int code = daemon::run_reprocess(args, out, err);
  err_text = err.str();
  return code;
}

// The cryogenic recipe's detector and analysis sections on a 40 K ramp around room temperature (10 frames of
// 512² after 2 darks), with its PONI and the form-factor table copied beside it so they can be taken away
// later.
TEST(ReprocessRun, FromTheRunFileAloneReproducesEveryFrame) {
  const auto dir = fresh_temp_dir("reprocess-run");
  const auto inputs = dir / "inputs";
  fs::create_directories(inputs);
  fs::copy_file(INSITU_SOURCE_DIR "/config/instruments/xrd1621-60keV.poni", inputs / "det.poni");
  fs::copy_file(debian_form_factors, inputs / "f0_WaasKirf.dat");
  ::setenv("INSITU_FORM_FACTORS", (inputs / "f0_WaasKirf.dat").c_str(), 1);

  std::string text = read_text(INSITU_SOURCE_DIR "/config/recipes/cryo-heating.yaml");
  text.resize(text.find("\ndma:") + 1);
  const auto program = text.find("program:\n"), program_end = text.find("safe_state:");
  text.replace(program, program_end - program,
               "program:\n  - hold: {temperature_K: 300, duration_s: 30}\n  - ramp: {to_K: 340, "
               "rate_K_per_min: 20}\n");
  text = std::regex_replace(text, std::regex("binning: 1\\}"), "binning: 4}");
  text = std::regex_replace(text, std::regex("\\.\\./instruments/xrd1621-60keV\\.poni"), "det.poni");
  text = std::regex_replace(text, std::regex("during: \\[2, 3\\]"), "during: [2]");
  text = std::regex_replace(text, std::regex("darks: \\{before: 5, after: 5\\}"),
                            "darks: {before: 2, after: 0}");
  // A recipe mask (a block of a TIFF), joined by the darks' bad pixels.
  text = std::regex_replace(text, std::regex("mask: null"), "mask: block.tif");
  const auto in_block = [](std::size_t i) {
    return i / 512 >= 100 && i / 512 < 110 && i % 512 >= 200 && i % 512 < 220;
  };
  {
    std::vector<std::uint16_t> block(512 * 512, 0);
    for (std::size_t i = 0; i < block.size(); ++i) block[i] = in_block(i) ? 1 : 0;
    detector::write_qxrd_tiff(inputs / "block.tif", detector::make_frame(512, 512, std::move(block)));
  }
  // A sample calibration with a point inside the ramp: frames and analysis run on the sample's scale.
  const std::string stage_connection = "  connection: \"serial:///dev/ttyUSB0\"\n";
  ASSERT_NE(text.find(stage_connection), std::string::npos);
  text.insert(text.find(stage_connection) + stage_connection.size(),
              "  sample_calibration:\n"
              "    source: \"test melts\"\n"
              "    points: [{sensor_K: 290, sample_K: 289}, {sensor_K: 320, sample_K: 317.5}, "
              "{sensor_K: 430, sample_K: 425}]\n");
  const recipe::SampleCalibration calibration({{290, 289}, {320, 317.5}, {430, 425}});
  std::ofstream(inputs / "short.yaml") << text;

  // At 50x frames come every 0.24 s of wall time: few enough misses under a loaded ctest -j2.
  auto options = simulated_run_options(inputs / "short.yaml", dir / "runs", 50.0);
  ASSERT_EQ(daemon::run_recipe(options), 0);
  const auto run_file = only_run_file(dir / "runs");

  // What the run file records, against the inputs it came from.
  const auto poni = analysis::read_poni(inputs / "det.poni");
  const auto table = analysis::FormFactorTable::load((inputs / "f0_WaasKirf.dat").string());
  std::map<std::uint64_t, double> live, analysed_K;
  std::string mask_pixels;
  std::vector<std::uint8_t> stored_mask;
  {
    const auto f = h5::open_file(run_file, h5::Access::read);
    const std::string g = "/entry/instrument/detector/geometry/";
    EXPECT_EQ(scalar(f, g + "distance"), poni.distance_m);
    EXPECT_EQ(scalar(f, g + "poni1"), poni.poni1_m);
    EXPECT_EQ(scalar(f, g + "poni2"), poni.poni2_m);
    EXPECT_EQ(scalar(f, g + "rot1"), poni.rot1_rad);
    EXPECT_EQ(scalar(f, g + "rot2"), poni.rot2_rad);
    EXPECT_EQ(scalar(f, g + "rot3"), poni.rot3_rad);
    EXPECT_EQ(scalar(f, g + "wavelength"), poni.wavelength_m);
    EXPECT_EQ(scalar(f, g + "pixel1"), 4 * poni.pixel1_m);  // the stored frames are binned 4x4
    EXPECT_EQ(scalar(f, g + "pixel2"), 4 * poni.pixel2_m);
    EXPECT_EQ(h5::read_string_attribute(h5::open_dataset(f, g + "distance"), "units"), "m");
    EXPECT_EQ(h5::read_string_attribute(h5::open_dataset(f, g + "rot1"), "units"), "rad");
    EXPECT_EQ(h5::read_string(f, "/entry/instrument/detector/calibration/data"),
              read_text(inputs / "det.poni"));
    EXPECT_NEAR(scalar(f, "/entry/instrument/monochromator/wavelength"), poni.wavelength_m * 1e10, 1e-15);
    EXPECT_NEAR(scalar(f, "/entry/instrument/monochromator/energy"), 60.0,
                0.01);  // the 60 keV of the PONI's name

    const std::string ff = "/entry/analysis/form_factors/";
    const auto elements = h5::read_strings(h5::open_dataset(f, ff + "element"));
    EXPECT_EQ(elements, (std::vector<std::string>{"Cu", "Zr", "Al", "Hf", "Co"}));
    const auto a = h5::read_1d<double>(h5::open_dataset(f, ff + "a"));
    const auto b = h5::read_1d<double>(h5::open_dataset(f, ff + "b"));
    const auto c = h5::read_1d<double>(h5::open_dataset(f, ff + "c"));
    ASSERT_EQ(a.size(), 5 * elements.size());
    for (std::size_t i = 0; i < elements.size(); ++i) {
      const auto& k = table.coefficients(elements[i]);
      EXPECT_EQ(c[i], k.c) << elements[i];
      for (std::size_t j = 0; j < 5; ++j) {
        EXPECT_EQ(a[5 * i + j], k.a[j]) << elements[i];
        EXPECT_EQ(b[5 * i + j], k.b[j]) << elements[i];
      }
    }
    EXPECT_EQ(storage::parameter_text(f, "/entry/analysis/parameters/composition"), "Cu44Zr44Al8Hf2Co2");
    EXPECT_EQ(storage::parameter_text(f, "/entry/analysis/parameters/npt"), "3000");
    live = by_sequence_number(f, "/entry/analysis/sequence_number", "/entry/analysis/S_eq");

    // Frames keep the sensor's mean and add the sample's, the calibration's mapping of it; the analysis's
    // temperature axis is the sample's.
    const std::string ft = "/entry/instrument/detector/frame_temperature/";
    const auto sensor_K = h5::read_1d<double>(h5::open_dataset(f, ft + "T_mean"));
    const auto sample_K = h5::read_1d<double>(h5::open_dataset(f, ft + "T_sample_mean"));
    ASSERT_EQ(sample_K.size(), sensor_K.size());
    for (std::size_t i = 0; i < sensor_K.size(); ++i) EXPECT_EQ(sample_K[i], calibration.sample_K(sensor_K[i])) << i;
    const auto sample_by_sequence =
        by_sequence_number(f, "/entry/instrument/detector/sequence_number", ft + "T_sample_mean");
    analysed_K = by_sequence_number(f, "/entry/analysis/sequence_number", "/entry/analysis/temperature");
    ASSERT_FALSE(analysed_K.empty());
    for (const auto& [sequence, t] : analysed_K) EXPECT_EQ(t, sample_by_sequence.at(sequence)) << "frame " << sequence;
    EXPECT_EQ(h5::read_1d<double>(h5::open_dataset(f, "/entry/sample/temperature_calibration/sensor")),
              (std::vector<double>{290, 320, 430}));

    // The recipe's block and the simulator's bad pixels (hot and dead), found in the darks, are the analysis's
    // static mask: stored beside the parameters and counted in them.
    const auto pixel_mask = h5::read_1d<std::uint32_t>(h5::open_dataset(f, "/entry/instrument/detector/pixel_mask"));
    const auto mask = h5::read_1d<std::uint8_t>(h5::open_dataset(f, "/entry/analysis/mask"));
    ASSERT_EQ(mask.size(), 512u * 512u);
    ASSERT_EQ(pixel_mask.size(), mask.size());
    std::size_t masked = 0, bad = 0, disagreeing = 0;
    for (std::size_t i = 0; i < mask.size(); ++i) {
      masked += mask[i] != 0;
      bad += pixel_mask[i] != 0 && !in_block(i);
      disagreeing += (mask[i] != 0) != (pixel_mask[i] != 0 || in_block(i));
    }
    EXPECT_EQ(disagreeing, 0u);
    EXPECT_GE(bad, 20u) << "2e-4 of 512^2 pixels are bad in the simulator";
    EXPECT_EQ(masked, 200u + bad);
    mask_pixels = std::to_string(masked);
    EXPECT_EQ(storage::parameter_text(f, "/entry/analysis/parameters/mask_pixels"), mask_pixels);
    EXPECT_EQ(storage::parameter_text(f, "/entry/analysis/run_parameters/mask_pixels"), mask_pixels);
    stored_mask = mask;
  }
  ASSERT_GE(live.size(), 5u) << "the 40 K ramp at 20 K/min gives 10-11 frames";

  ::testing::internal::CaptureStdout();
  daemon::print_summary(run_file);
  EXPECT_THAT(::testing::internal::GetCapturedStdout(),
              HasSubstr("sample T   calibrated (test melts): sensor -> sample 290.00 -> 289.00 K, 320.00 -> 317.50 K"));

  // The inputs go away; a copy of the run file in another folder is all there is.
  fs::remove_all(inputs);
  const auto elsewhere = dir / "elsewhere";
  fs::create_directories(elsewhere);
  const auto copy = elsewhere / "copy.h5";
  fs::copy_file(run_file, copy);
  fs::remove_all(dir / "runs");

  std::string err;
  ASSERT_EQ(reprocess({copy.string(), "--workers", "2"}, err), 0) << err;
  {
    const auto f = h5::open_file(copy, h5::Access::read);
    const auto again = by_sequence_number(f, "/entry_reprocessed_1/analysis/sequence_number", "/entry_reprocessed_1/analysis/S_eq");
    ASSERT_EQ(again.size(), live.size());  // the run analyses its backlog before it closes: every data frame
    // Bit for bit: the same pixels (uint16 frames read back exactly as float), the same dark median, the same
    // doubles for geometry, parameters (recorded in round-trip text) and coefficients, and a per-frame
    // pipeline with a fixed order of operations (one integration thread, as recorded; each pool worker owns a
    // whole frame). Any difference means an input was not carried over exactly: the nominal density rounded
    // to 12 digits, for one, moves S_eq in the last bits.
    for (const auto& [sequence, s] : live) {
      ASSERT_TRUE(again.count(sequence)) << "frame " << sequence;
      EXPECT_EQ(again.at(sequence), s) << "frame " << sequence;
    }
    // The same temperatures: the sample's, from the run file.
    EXPECT_EQ(by_sequence_number(f, "/entry_reprocessed_1/analysis/sequence_number", "/entry_reprocessed_1/analysis/temperature"), analysed_K);
    EXPECT_EQ(storage::parameter_text(f, "/entry_reprocessed_1/analysis/parameters/form_factor_file"),
              copy.string() + ":/entry/analysis/form_factors");
    EXPECT_NEAR(scalar(f, "/entry_reprocessed_1/analysis/run/heating_rate"),
                scalar(f, "/entry/analysis/run/heating_rate"), 1e-12);
  }

  // Flags still override: a different S_eq cut-off changes every value; the whole-detector PONI, scaled to
  // the binned frames, is the stored geometry again.
  ASSERT_EQ(reprocess({copy.string(), "--set", "s_eq_rmax=8"}, err), 0) << err;
  const auto shorter = by_sequence_number(h5::open_file(copy, h5::Access::read),
                                        "/entry_reprocessed_2/analysis/sequence_number", "/entry_reprocessed_2/analysis/S_eq");
  for (const auto& [sequence, s] : live)
    EXPECT_GT(std::abs(shorter.at(sequence) - s), 1e-3) << "frame " << sequence;
  {  // --set keeps the stored mask, and the reprocessed analysis records it.
    const auto f = h5::open_file(copy, h5::Access::read);
    EXPECT_EQ(storage::parameter_text(f, "/entry_reprocessed_2/analysis/parameters/mask_pixels"), mask_pixels);
    EXPECT_EQ(h5::read_1d<std::uint8_t>(h5::open_dataset(f, "/entry_reprocessed_2/analysis/mask")), stored_mask);
  }
  ASSERT_EQ(reprocess({copy.string(), "--poni", INSITU_SOURCE_DIR "/config/instruments/xrd1621-60keV.poni",
                       "--form-factors", debian_form_factors},
                      err),
            0)
      << err;
  const auto flagged = by_sequence_number(h5::open_file(copy, h5::Access::read),
                                        "/entry_reprocessed_3/analysis/sequence_number", "/entry_reprocessed_3/analysis/S_eq");
  for (const auto& [sequence, s] : live) EXPECT_EQ(flagged.at(sequence), s) << "frame " << sequence;
  fs::remove_all(dir);
}

// An 8x8-pixel run file with an analysis entry whose only record is `parameters`, as insitu versions without
// stored geometry, coefficients or mask left them.
std::unique_ptr<storage::RunFile> small_analysed_run(const fs::path& path,
                                                     std::map<std::string, std::string> parameters) {
  storage::RunMetadata meta;
  meta.recipe_name = meta.sample_name = path.stem().string();
  meta.start_time_iso = "2026-01-01T00:00:00Z";
  storage::RunFileLayout layout;
  layout.detector.emplace();
  layout.detector->height = layout.detector->width = 8;
  layout.analysis.emplace();
  layout.analysis->axes = {{1.0, 2.0}, {1.0}, {0.5}};
  layout.analysis->parameters = std::move(parameters);
  return storage::RunFile::create(path, meta, {}, layout);
}

// A run file as an older insitu wrote it (frames and analysis, but neither geometry nor coefficients): the
// error names each missing part and the flag that replaces it.
TEST(ReprocessRun, MissingGeometrySaysWhatToPass) {
  const auto dir = fresh_temp_dir("reprocess-old");
  {
    auto file = small_analysed_run(dir / "old.h5", {{"form_factor_file", "/old/f0_WaasKirf.dat"}});
    detector::ExposureRecord record;
    record.start_s = 0, record.stop_s = 12;
    record.temperature.mean_K = 300;
    const std::vector<std::uint8_t> pixels(8 * 8 * 2, 1);
    file->append(record, pixels);
    file->finish(12.0, "completed");
    ASSERT_FALSE(file->error()) << *file->error();
  }
  std::string err;
  EXPECT_EQ(reprocess({(dir / "old.h5").string()}, err), 1);
  EXPECT_THAT(err, HasSubstr("no detector geometry (/entry/instrument/detector/geometry): pass --poni FILE"));
  EXPECT_THAT(
      err, HasSubstr("no form-factor coefficients (/entry/analysis/form_factors): pass --form-factors FILE"));
  EXPECT_THAT(err, HasSubstr("the run used /old/f0_WaasKirf.dat"));
  // Given the table, only the geometry is missing.
  EXPECT_EQ(reprocess({(dir / "old.h5").string(), "--form-factors", debian_form_factors}, err), 1);
  EXPECT_THAT(err, HasSubstr("pass --poni FILE"));
  EXPECT_THAT(err, ::testing::Not(HasSubstr("form-factor")));
  fs::remove_all(dir);
}

// A run file that counts a static mask but does not store it cannot be reprocessed as it was analysed.
TEST(ReprocessRun, CountedMaskThatIsNotStoredIsRefused) {
  const auto dir = fresh_temp_dir("reprocess-no-mask");
  {
    auto file = small_analysed_run(dir / "unstored.h5", {{"mask_pixels", "3"}});
    file->finish(0.0, "completed");
    ASSERT_FALSE(file->error()) << *file->error();
  }
  std::string err;
  EXPECT_EQ(
      reprocess({(dir / "unstored.h5").string(), "--poni", INSITU_SOURCE_DIR "/config/instruments/xrd1621-60keV.poni",
                 "--form-factors", debian_form_factors},
                err),
      1);
  EXPECT_THAT(err, HasSubstr("the run's analysis used a static mask of 3 pixels that the run file does not store "
                             "(/entry/analysis/mask)"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace insitu::testing
