// dma_sweep: a parsed TRIOS export converted into the DMA analysis's sweep (per frequency, SI, modulus kind).
#include "drivers/dhr3/sweep.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "drivers/dhr3/simulator.hpp"

namespace insitu::dhr3 {
namespace {
using ::testing::HasSubstr;

// Per-frequency series are in SI whatever the export's units (text: MPa and °C; LIMS: Pa and °C).
TEST(DmaSweep, SeriesAreSiPerFrequency) {
  const auto sweep = simulate_sweep(paper_sweep(SimGeometry::three_point_bending));
  const auto converted = dma_sweep(parse_export(write_text(sweep)));
  EXPECT_EQ(converted.name, step_name(sweep));
  EXPECT_EQ(converted.modulus, dma::Modulus::young_E);
  ASSERT_EQ(converted.series.size(), sweep.config.frequencies_Hz.size());
  for (std::size_t j = 0; j < converted.series.size(); ++j) {
    const auto& s = converted.series[j];
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

TEST(DmaSweep, TorsionIsShearModulus) {
  const auto converted = dma_sweep(parse_export(write_json(simulate_sweep(paper_sweep(SimGeometry::torsion)))));
  EXPECT_EQ(converted.modulus, dma::Modulus::shear_G);
  EXPECT_EQ(converted.series.size(), 9u);
}

// Without a tan δ column it is E″/E′ of the row; an empty cell stays NaN.
TEST(DmaSweep, TanDeltaFromTheModuliWhenTheExportHasNone) {
  const auto ex = parse_export(
      "Filename\tx\n[step]\nSweep - 1\nFrequency\tTemperature\tStorage modulus\tLoss modulus\nHz\t°C\tPa\tPa\n"
      "1\t20\t100\t5\n10\t21\t200\t\n1\t22\t100\t8\n\n");
  const auto converted = dma_sweep(ex);
  EXPECT_EQ(converted.modulus, dma::Modulus::unknown);
  ASSERT_EQ(converted.series.size(), 2u);
  EXPECT_EQ(converted.series[0].tan_delta, (std::vector<double>{0.05, 0.08}));
  EXPECT_EQ(converted.series[0].temperature_K, (std::vector<double>{20 + 273.15, 22 + 273.15}));
  ASSERT_EQ(converted.series[1].tan_delta.size(), 1u);
  EXPECT_TRUE(std::isnan(converted.series[1].tan_delta[0]));
}

TEST(DmaSweep, AnExportWithoutASweepIsRejected) {
  Export ex;
  Step step;
  step.name = "Conditioning";
  step.columns.push_back({"Temperature", "°C", "K", false, {300.0, 301.0}, {}});
  ex.steps.push_back(step);
  try {
    dma_sweep(ex);
    FAIL() << "converted an export without a sweep";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("DMA sweep: no step with Temperature"));
  }
  SweepOptions bad_index;
  bad_index.step_index = 3;
  EXPECT_THROW(dma_sweep(ex, bad_index), std::invalid_argument);
  bad_index.step_index = 0;
  EXPECT_THROW(dma_sweep(ex, bad_index), std::invalid_argument);
}

}  // namespace
}  // namespace insitu::dhr3
