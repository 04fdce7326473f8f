#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "analysis/integration/geometry.hpp"
#include "tests/test_data.hpp"

namespace insitu::analysis {
namespace {

std::string error_of(const std::string& text) {
  try {
    parse_poni(text, "t.poni");
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "<no error>";
}

const std::string v1_body =
    "Distance: 0.25\nPoni1: 0.1\nPoni2: 0.2\nRot1: 0.01\nRot2: -0.02\nRot3: 0.5\nWavelength: 2.0e-11\n";

TEST(Poni, ReadsVersion1FileAsDioptasWritesIt) {
  // Layout of a pyFAI/Dioptas version 1 PONI: comment header, pixel sizes, no detector, SplineFile None.
  const Geometry g = parse_poni(
      "# Nota: C-Order, 1 refers to the Y axis, 2 to the X axis \n# Calibration done at Fri Feb 27 13:52:42 2015\n"
      "PixelSize1: 0.000172\nPixelSize2: 0.000175\nDistance: 0.2125\nPoni1: 0.0871\nPoni2: 0.0802\n"
      "Rot1: -0.0184\nRot2: 0.0041\nRot3: -2.5e-08\nSplineFile: None\nWavelength: 4.066e-11\n",
      "v1.poni");
  EXPECT_DOUBLE_EQ(g.pixel1_m, 172e-6);
  EXPECT_DOUBLE_EQ(g.pixel2_m, 175e-6);
  EXPECT_DOUBLE_EQ(g.distance_m, 0.2125);
  EXPECT_DOUBLE_EQ(g.poni1_m, 0.0871);
  EXPECT_DOUBLE_EQ(g.poni2_m, 0.0802);
  EXPECT_DOUBLE_EQ(g.rot1_rad, -0.0184);
  EXPECT_DOUBLE_EQ(g.rot2_rad, 0.0041);
  EXPECT_DOUBLE_EQ(g.rot3_rad, -2.5e-08);
  EXPECT_DOUBLE_EQ(g.wavelength_m, 4.066e-11);
  EXPECT_EQ(g.height, 0u);  // no detector named: shape unknown
}

TEST(Poni, ReadsVersion2PerkinFile) {
  const Geometry g = read_poni(testdata::path("pdfstream_Ni/Ni_poni_file.poni"));
  EXPECT_EQ(g.detector, "Perkin");
  EXPECT_EQ(g.height, 2048u);
  EXPECT_EQ(g.width, 2048u);
  EXPECT_DOUBLE_EQ(g.pixel1_m, 2e-4);
  EXPECT_DOUBLE_EQ(g.distance_m, 0.24877604283795038);
  EXPECT_DOUBLE_EQ(g.wavelength_m, 1.671e-11);
}

TEST(Poni, PerkinWithoutConfigIs2048At200um) {
  const Geometry g = parse_poni("Detector: Perkin\n" + v1_body, "t.poni");
  EXPECT_EQ(g.height, 2048u);
  EXPECT_DOUBLE_EQ(g.pixel2_m, 200e-6);
  EXPECT_DOUBLE_EQ(g.rot3_rad, 0.5);
}

TEST(Poni, PerkinUnbinnedConfigGives4096) {
  const Geometry g = parse_poni(
      "poni_version: 2\nDetector: Perkin detector\nDetector_config: {\"pixel1\": 1e-4, \"pixel2\": 1e-4}\n" + v1_body,
      "t.poni");
  EXPECT_EQ(g.height, 4096u);
  EXPECT_EQ(g.width, 4096u);
}

TEST(Poni, GenericDetectorTakesMaxShape) {
  const Geometry g = parse_poni(
      "poni_version: 2\nDetector: Detector\n"
      "Detector_config: {\"pixel1\": 7.5e-05, \"pixel2\": 5e-05, \"max_shape\": [100, 200]}\n" + v1_body,
      "t.poni");
  EXPECT_EQ(g.height, 100u);
  EXPECT_EQ(g.width, 200u);
  EXPECT_DOUBLE_EQ(g.pixel1_m, 7.5e-5);
  EXPECT_DOUBLE_EQ(g.pixel2_m, 5e-5);
}

TEST(Poni, ErrorsNameFileLineAndReason) {
  EXPECT_EQ(error_of("PixelSize1: 1e-4\nPixelSize2: 1e-4\nDistance: 0.2x\n"),
            "t.poni:3: value of 'Distance' is not a finite number: '0.2x'");
  EXPECT_EQ(error_of("PixelSize1: 1e-4\nPixelSize2: 1e-4\n" + v1_body + "just words\n"),
            "t.poni:10: expected 'Key: value', got 'just words'");
  EXPECT_EQ(error_of("poni_version: 3\n" + v1_body), "t.poni:1: unsupported poni_version '3' (supported: 1, 2)");
  EXPECT_EQ(error_of("PixelSize1: 1e-4\nPixelSize2: 1e-4\nDistance: 0.2\n"), "t.poni: missing required key 'Poni1'");
  EXPECT_NE(error_of("poni_version: 2\nDetector: Perkin\nDetector_config: {\"pixel1\": \n" + v1_body)
                .find("t.poni:3: Detector_config is not valid JSON"),
            std::string::npos);
  EXPECT_NE(error_of("Detector: Eiger9000\n" + v1_body).find("t.poni:1: unsupported detector 'Eiger9000'"),
            std::string::npos);
  EXPECT_EQ(error_of(v1_body), "t.poni: pixel size unknown: give PixelSize1/PixelSize2 (v1) or a known Detector");
  EXPECT_EQ(error_of("PixelSize1: 1e-4\nPixelSize2: 1e-4\nSplineFile: /x.spline\n" + v1_body),
            "t.poni:3: spline distortion files are not supported ('/x.spline')");
  EXPECT_EQ(error_of("PixelSize1: 1e-4\nPixelSize1: 1e-4\n"), "t.poni:2: duplicate key 'pixelsize1'");
}

TEST(Poni, MissingFileIsAnError) {
  EXPECT_THROW(read_poni("/nonexistent/x.poni"), std::runtime_error);
}

}  // namespace
}  // namespace insitu::analysis
