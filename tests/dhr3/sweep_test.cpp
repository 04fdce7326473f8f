// dma_curves: a parsed TRIOS export converted into the DMA analysis's curves (per frequency and heating/cooling
// segment, SI, modulus kind, rate), with a report on every step; the frequency from a column, the step name or
// the file's metadata.
#include "drivers/dhr3/sweep.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "drivers/dhr3/simulator.hpp"
#include "tests/test_data.hpp"

namespace insitu::dhr3 {
namespace {
using ::testing::HasSubstr;

SweepConfig coarse(ExportShape shape) {
  auto c = paper_sweep(SimGeometry::three_point_bending);
  c.kelvin_per_cycle = 4.0;
  c.shape = shape;
  return c;
}

// Per-frequency series are in SI whatever the export's units (text: MPa and °C; LIMS: Pa and °C).
TEST(DmaCurves, SeriesAreSiPerFrequency) {
  const auto sweep = simulate_sweep(paper_sweep(SimGeometry::three_point_bending));
  const auto found = dma_curves(parse_export(write_text(sweep)), {}, "dma.txt: ");
  ASSERT_EQ(found.steps.size(), 1u);
  EXPECT_EQ(found.steps[0].name, step_name(sweep));
  EXPECT_EQ(found.steps[0].curves, sweep.config.frequencies_Hz.size());
  EXPECT_EQ(found.steps[0].note, "");
  ASSERT_EQ(found.curves.size(), sweep.config.frequencies_Hz.size());
  for (std::size_t j = 0; j < found.curves.size(); ++j) {
    const auto& c = found.curves[j];
    EXPECT_EQ(c.modulus, dma::Modulus::young_E);
    EXPECT_EQ(c.direction, dma::Direction::heating);
    EXPECT_NEAR(c.rate_K_per_min, sweep.config.heating_rate_K_per_min, 0.01);
    EXPECT_EQ(c.series.source, "dma.txt: step 'Temperature ramp - 1', heating 1");
    const auto& s = c.series;
    EXPECT_NEAR(s.frequency_Hz, sweep.config.frequencies_Hz[j], 1e-6 * s.frequency_Hz);
    std::vector<const SimRow*> rows;  // the simulator's rows at this frequency, in order
    for (const auto& r : sweep.rows)
      if (std::abs(r.frequency_Hz - sweep.config.frequencies_Hz[j]) < 1e-6 * r.frequency_Hz) rows.push_back(&r);
    ASSERT_EQ(s.temperature_K.size(), rows.size());
    ASSERT_EQ(s.storage_Pa.size(), s.temperature_K.size());
    ASSERT_EQ(s.loss_Pa.size(), s.temperature_K.size());
    ASSERT_EQ(s.tan_delta.size(), s.temperature_K.size());
    // Text carries ~6 significant digits.
    for (std::size_t k : {std::size_t{0}, s.temperature_K.size() / 2, s.temperature_K.size() - 1}) {
      const auto& row = *rows[k];
      EXPECT_NEAR(s.temperature_K[k], row.temperature_K, 0.01);
      EXPECT_NEAR(s.storage_Pa[k], row.storage_Pa, 1e-4 * row.storage_Pa);
      EXPECT_NEAR(s.loss_Pa[k], row.loss_Pa, 1e-4 * row.loss_Pa + 1.0);
      EXPECT_NEAR(s.tan_delta[k], row.tan_delta, 1e-4 * row.tan_delta + 1e-7);
    }
  }
}

TEST(DmaCurves, TorsionIsShearModulus) {
  const auto found = dma_curves(parse_export(write_json(simulate_sweep(paper_sweep(SimGeometry::torsion)))));
  ASSERT_EQ(found.curves.size(), 9u);
  EXPECT_EQ(found.curves[0].modulus, dma::Modulus::shear_G);
}

// Without a tan δ column it is E″/E′ of the row; an empty cell stays NaN.
TEST(DmaCurves, TanDeltaFromTheModuliWhenTheExportHasNone) {
  const auto ex = parse_export(
      "Filename\tx\n[step]\nSweep - 1\nFrequency\tTemperature\tStorage modulus\tLoss modulus\nHz\t°C\tPa\tPa\n"
      "1\t20\t100\t5\n10\t21\t200\t\n1\t22\t100\t8\n\n");
  const auto found = dma_curves(ex, {.frequency_relative_tolerance = 1e-4, .min_span_K = 1.0, .reversal_K = 2.0,
                                     .min_points = 1});
  ASSERT_EQ(found.curves.size(), 2u);
  EXPECT_EQ(found.curves[0].modulus, dma::Modulus::unknown);
  EXPECT_TRUE(std::isnan(found.curves[0].rate_K_per_min));  // no time column
  EXPECT_EQ(found.curves[0].series.tan_delta, (std::vector<double>{0.05, 0.08}));
  EXPECT_EQ(found.curves[0].series.temperature_K, (std::vector<double>{20 + 273.15, 22 + 273.15}));
  ASSERT_EQ(found.curves[1].series.tan_delta.size(), 1u);
  EXPECT_TRUE(std::isnan(found.curves[1].series.tan_delta[0]));
}

TEST(DmaCurves, FrequencyFromTheStepNameAndTheFileMetadata) {
  EXPECT_EQ(frequency_in_text("Temperature ramp - 3 - 0.05 Hz"), 0.05);
  EXPECT_EQ(frequency_in_text("Temperature ramp - 1 - 1,0 Hz"), 1.0);
  EXPECT_EQ(frequency_in_text("Temperature ramp - 1"), std::nullopt);
  EXPECT_EQ(frequency_in_text("0.1 Hz and 1 Hz"), std::nullopt);

  auto steps = coarse(ExportShape::step_per_frequency);
  steps.frequency_columns = false;
  const auto by_name = dma_curves(parse_export(write_lims(simulate_sweep(steps))));
  ASSERT_EQ(by_name.curves.size(), steps.frequencies_Hz.size());
  for (std::size_t j = 0; j < steps.frequencies_Hz.size(); ++j)
    EXPECT_DOUBLE_EQ(by_name.curves[j].series.frequency_Hz, steps.frequencies_Hz[j]);

  auto one = coarse(ExportShape::interleaved);
  one.frequency_columns = false;
  one.frequencies_Hz = {7.0};
  const std::string json = write_json(simulate_sweep(one));
  ASSERT_THAT(json, HasSubstr("Frequency 7 Hz"));
  const auto by_metadata = dma_curves(parse_export(json));
  ASSERT_EQ(by_metadata.curves.size(), 1u);
  EXPECT_DOUBLE_EQ(by_metadata.curves[0].series.frequency_Hz, 7.0);
}

// A step without a frequency anywhere is listed with the reason, not dropped silently.
TEST(DmaCurves, AStepWithoutFrequencyIsListedWithItsReason) {
  auto steps = coarse(ExportShape::interleaved);
  steps.frequency_columns = false;  // and the procedure says "Multi-frequency …", which names no one frequency
  const auto found = dma_curves(parse_export(write_text(simulate_sweep(steps))));
  EXPECT_TRUE(found.curves.empty());
  ASSERT_EQ(found.steps.size(), 1u);
  EXPECT_EQ(found.steps[0].curves, 0u);
  EXPECT_THAT(found.steps[0].note, HasSubstr("no frequency"));
}

// A cycle in one step becomes heating and cooling segments, each per frequency, at the programmed rate.
TEST(DmaCurves, ACycleIsSplitIntoHeatingAndCoolingSegments) {
  auto c = coarse(ExportShape::cycles);
  c.cycles = 2;
  const auto found = dma_curves(parse_export(write_lims(simulate_sweep(c))));
  const std::size_t nf = c.frequencies_Hz.size();
  ASSERT_EQ(found.curves.size(), 4 * nf);
  const char* labels[] = {"heating 1", "cooling 1", "heating 2", "cooling 2"};
  for (std::size_t seg = 0; seg < 4; ++seg) {
    for (std::size_t j = 0; j < nf; ++j) {
      const auto& curve = found.curves[seg * nf + j];
      EXPECT_EQ(curve.direction, seg % 2 == 0 ? dma::Direction::heating : dma::Direction::cooling);
      EXPECT_THAT(curve.series.source, HasSubstr(labels[seg]));
      EXPECT_NEAR(curve.rate_K_per_min, c.heating_rate_K_per_min, 0.05 * c.heating_rate_K_per_min);
      const auto& T = curve.series.temperature_K;
      for (std::size_t k = 1; k < T.size(); ++k)
        EXPECT_EQ(T[k] > T[k - 1], seg % 2 == 0) << labels[seg] << " row " << k;
    }
  }
}

// The real multistep export (amplitude sweep, frequency sweep, flow ramp): no DMA curve, each step listed.
TEST(DmaCurves, TheRealMultistepExportListsEveryStep) {
  std::ifstream in(testdata::path("trios/hermes_text_DHR_multistep.txt"), std::ios::binary);
  ASSERT_TRUE(in);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  const auto ex = parse_export(bytes.str());
  const auto found = dma_curves(ex);
  EXPECT_TRUE(found.curves.empty());
  ASSERT_EQ(found.steps.size(), ex.steps.size());
  ASSERT_EQ(found.steps.size(), 3u);
  EXPECT_EQ(found.steps[0].name, "Amplitude sweep - 1");
  EXPECT_THAT(found.steps[0].note, HasSubstr("not a temperature sweep: temperature spans"));
  EXPECT_EQ(found.steps[1].name, "Frequency sweep - 2");
  EXPECT_THAT(found.steps[1].note, HasSubstr("not a temperature sweep: temperature spans"));
  EXPECT_EQ(found.steps[2].name, "Flow ramp - 3");
  EXPECT_THAT(found.steps[2].note, HasSubstr("not an oscillation step"));
  for (const auto& s : found.steps) EXPECT_EQ(s.rows, ex.steps[&s - found.steps.data()].row_count());
}

}  // namespace
}  // namespace insitu::dhr3
