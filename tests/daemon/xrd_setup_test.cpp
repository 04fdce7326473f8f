// The recipe's detector.mask through the daemon's setup: read with the frame-file readers, checked against the
// detector's binned shape before the run, and its pixels kept out of the integration.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <regex>

#include "analysis/integration/azimuthal_integrator.hpp"
#include "analysis/pipeline/darks.hpp"
#include "daemon/xrd_setup.hpp"
#include "drivers/detector/frame_files.hpp"
#include "protocols/recipe/recipe.hpp"
#include "tests/stage/sim_fixture.hpp"

namespace insitu::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr std::size_t side = 512;  // 2048 binned 4x4

// The cryogenic recipe binned 4x4, its PONI by absolute path and `mask_name` as detector.mask.
fs::path recipe_with_mask(const fs::path& dir, const std::string& mask_name) {
  std::ifstream in(INSITU_SOURCE_DIR "/config/recipes/cryo-heating.yaml");
  std::string text{std::istreambuf_iterator<char>(in), {}};
  text = std::regex_replace(text, std::regex("binning: 1\\}"), "binning: 4}");
  text = std::regex_replace(text, std::regex("\\.\\./instruments/xrd1621-60keV\\.poni"),
                            INSITU_SOURCE_DIR "/config/instruments/xrd1621-60keV.poni");
  text = std::regex_replace(text, std::regex("mask: null"), "mask: " + mask_name);
  const auto path = dir / "masked.yaml";
  std::ofstream(path) << text;
  return path;
}

void write_mask(const fs::path& path, std::size_t height, std::size_t width, bool block) {
  std::vector<std::uint16_t> pixels(height * width, 0);
  if (block)
    for (std::size_t i = 100; i < 110; ++i)
      for (std::size_t j = 200; j < 220; ++j) pixels[i * width + j] = 1;
  detector::write_qxrd_tiff(path, detector::make_frame(height, width, std::move(pixels)));
}

TEST(RecipeMask, BlockOfATiffMaskIsExcludedFromTheIntegration) {
  const auto dir = fresh_temp_dir("recipe-mask");
  write_mask(dir / "block.tif", side, side, true);
  const auto recipe = recipe::load_recipe(recipe_with_mask(dir, "block.tif"));
  const auto settings = daemon::pipeline_settings(recipe);
  ASSERT_EQ(settings.mask.size(), side * side);
  std::size_t masked = 0;
  for (std::size_t i = 0; i < side; ++i)
    for (std::size_t j = 0; j < side; ++j) {
      const bool in_block = i >= 100 && i < 110 && j >= 200 && j < 220;
      EXPECT_EQ(settings.mask[i * side + j] != 0, in_block) << i << "," << j;
      masked += settings.mask[i * side + j] != 0;
    }
  EXPECT_EQ(masked, 200u);
  EXPECT_EQ(settings.describe().at("mask_pixels"), "200");

  // Saturating the block changes I(Q) without the mask and nothing with it.
  const auto geometry = daemon::detector_geometry(*recipe.detector);
  std::vector<float> clean(side * side), hot;
  for (std::size_t k = 0; k < clean.size(); ++k) clean[k] = 1000.0f + static_cast<float>((k * 7919) % 113);
  hot = clean;
  for (std::size_t k = 0; k < hot.size(); ++k)
    if (settings.mask[k] != 0) hot[k] = 65535.0f;
  analysis::IntegrationSetup setup;
  setup.npt = 500;
  analysis::AzimuthalIntegrator open(geometry, setup);
  auto view = [](const std::vector<float>& img) { return analysis::ImageView<float>{img, side, side}; };
  EXPECT_NE(open.integrate(view(hot)).intensity, open.integrate(view(clean)).intensity);
  setup.mask = settings.mask;
  analysis::AzimuthalIntegrator with_mask(geometry, setup);
  EXPECT_EQ(with_mask.integrate(view(hot)).intensity, with_mask.integrate(view(clean)).intensity);
  fs::remove_all(dir);
}

TEST(RecipeMask, WrongShapeNamesTheFileAndBothShapes) {
  const auto dir = fresh_temp_dir("recipe-mask-shape");
  write_mask(dir / "full.tif", 2048, 1024, false);  // neither the binned frame nor square
  const auto recipe = recipe::load_recipe(recipe_with_mask(dir, "full.tif"));
  try {
    daemon::pipeline_settings(recipe);
    ADD_FAILURE() << "a 2048x1024 mask for 512x512 frames was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "mask " + (dir / "full.tif").string() +
                                         " is 2048x1024 pixels, the detector's frames are 512x512 (binning 4)");
  }
  fs::remove_all(dir);
}

// The darks' bad pixels (any NXdetector bit) join the recipe's mask.
TEST(RecipeMask, DarkPixelMaskJoinsTheRecipeMask) {
  const std::vector<std::uint8_t> recipe_mask{0, 1, 0, 0};
  const std::vector<std::uint32_t> pixel_mask{0, 0, 8, 2};
  EXPECT_EQ(analysis::static_mask(recipe_mask, pixel_mask), (std::vector<std::uint8_t>{0, 1, 1, 1}));
  EXPECT_EQ(analysis::static_mask({}, pixel_mask), (std::vector<std::uint8_t>{0, 0, 1, 1}));
  EXPECT_THROW(analysis::static_mask({1, 0}, pixel_mask), std::invalid_argument);
}

}  // namespace
}  // namespace insitu::testing
