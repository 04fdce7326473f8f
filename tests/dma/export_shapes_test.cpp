// DMA as labs export it: every export shape the simulated DHR-3 writes (one step with the frequencies
// interleaved, one step per frequency in text, LIMS and JSON, one file per frequency, heating–cooling cycles,
// one file per heating rate) pooled per sample and fitted; the E_a of every transition against the simulator's
// truth, within 5 % (γ, β) and 10 % (α). Each case prints its rows of the E_a table ("E_a table |").
#include <cmath>
#include <cstdio>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "daemon/storage/dma_entry.hpp"
#include "drivers/dhr3/simulator.hpp"

namespace insitu::storage {
namespace {
using ::testing::HasSubstr;

dhr3::SweepConfig config(dhr3::ExportShape shape) {
  auto c = dhr3::paper_sweep(dhr3::SimGeometry::three_point_bending);
  c.kelvin_per_cycle = 2.0;  // half the paper sweep's rows: fast, and still 2 K between points
  c.shape = shape;
  return c;
}

using Writer = std::function<std::string(const dhr3::SimulatedSweep&)>;

dhr3::IngestedExport ingest(const std::string& name, const std::string& bytes) {
  auto check = dhr3::check_export(name, bytes, {}, {});
  if (check.kind != dhr3::ExportEventKind::ingested) throw std::runtime_error(check.message);
  return std::move(*check.result);
}

double truth_eV(const dhr3::SweepConfig& c, const std::string& name) {
  for (const auto& t : c.transitions)
    if (t.name == name) return t.activation_energy_eV;
  throw std::invalid_argument("no simulated transition " + name);
}

// Every set of the one sample: γ, β, α each with an Arrhenius fit within tolerance; prints the table rows.
void expect_truth(const DmaResults& r, const dhr3::SweepConfig& c, const std::string& shape,
                  std::size_t expected_sets = 1) {
  ASSERT_EQ(r.samples.size(), 1u);
  ASSERT_EQ(r.samples[0].sets.size(), expected_sets);
  for (const auto& [sweep, analysis] : r.samples[0].sets) {
    ASSERT_EQ(analysis.transitions.size(), 3u) << shape << ", " << sweep.name << ": " << analysis.note;
    for (const auto& t : analysis.transitions) {
      ASSERT_TRUE(t.arrhenius) << shape << ", " << sweep.name << ", " << t.name << ": " << t.note;
      const double want = truth_eV(c, t.name), got = t.arrhenius->activation_energy_eV;
      const double tolerance = t.name == "alpha" ? 0.10 : 0.05;
      EXPECT_NEAR(got, want, tolerance * want) << shape << ", " << sweep.name << ", " << t.name;
      char row[200];
      std::snprintf(row, sizeof row, "E_a table | %-38s | %-22s | %-5s | %2zu | %6.3f ± %.3f | %5.2f | %+5.1f %%\n",
                    shape.c_str(), sweep.name.c_str(), t.name.c_str(), t.fits.size(), got,
                    t.arrhenius->activation_energy_sigma_eV, want, 100.0 * (got - want) / want);
      std::cout << row;
    }
  }
}

struct ShapeCase {
  const char* name;
  dhr3::ExportShape shape;
  Writer write;
  bool frequency_columns;
  friend void PrintTo(const ShapeCase& c, std::ostream* os) { *os << c.name; }
};

class OneExport : public ::testing::TestWithParam<ShapeCase> {};

TEST_P(OneExport, EveryTransitionWithinToleranceOfTheTruth) {
  auto c = config(GetParam().shape);
  c.frequency_columns = GetParam().frequency_columns;
  const auto e = ingest(GetParam().name, GetParam().write(dhr3::simulate_sweep(c)));
  for (const auto& s : e.steps) EXPECT_GT(s.curves, 0u) << s.name << ": " << s.note;
  const bool cycles = GetParam().shape == dhr3::ExportShape::cycles;
  expect_truth(analyse_exports({e}, dma::cu_zr_glass_settings()), c, GetParam().name, cycles ? 2 : 1);
}

INSTANTIATE_TEST_SUITE_P(
    Simulator, OneExport,
    ::testing::Values(
        ShapeCase{"interleaved_lims", dhr3::ExportShape::interleaved, dhr3::write_lims, true},
        ShapeCase{"step_per_frequency_text", dhr3::ExportShape::step_per_frequency, dhr3::write_text, true},
        ShapeCase{"step_per_frequency_lims", dhr3::ExportShape::step_per_frequency, dhr3::write_lims, true},
        ShapeCase{"step_per_frequency_json", dhr3::ExportShape::step_per_frequency, dhr3::write_json, true},
        ShapeCase{"step_per_frequency_lims_name_only", dhr3::ExportShape::step_per_frequency, dhr3::write_lims, false},
        ShapeCase{"cycles_lims", dhr3::ExportShape::cycles, dhr3::write_lims, true}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

// One file per frequency, each "1 frequency" alone; pooled by sample they give the Arrhenius fits.
TEST(ExportShapes, OneFilePerFrequencyPooledBySample) {
  for (const bool columns : {true, false}) {
    auto c = config(dhr3::ExportShape::interleaved);
    c.frequency_columns = columns;  // without: the frequency is in the procedure text ("Frequency 7 Hz")
    std::vector<dhr3::IngestedExport> exports;
    for (const auto& one : dhr3::simulate_file_per_frequency(c))
      exports.push_back(ingest("f.json", dhr3::write_json(one)));
    ASSERT_EQ(exports.size(), c.frequencies_Hz.size());
    expect_truth(analyse_exports(exports, dma::cu_zr_glass_settings()), c,
                 columns ? "file_per_frequency_json" : "file_per_frequency_json_metadata_only");
  }
}

// Heating and cooling cycles with transitions found without windows: the same truth on every segment kind.
TEST(ExportShapes, CyclesWithAutomaticWindows) {
  const auto c = config(dhr3::ExportShape::cycles);
  const auto e = ingest("cycles.txt", dhr3::write_text(dhr3::simulate_sweep(c)));
  const auto r = analyse_exports({e}, dma::DmaSettings{});
  ASSERT_EQ(r.samples.size(), 1u);
  ASSERT_EQ(r.samples[0].sets.size(), 2u);
  EXPECT_EQ(r.samples[0].sets[0].sweep.direction, dma::Direction::heating);
  EXPECT_EQ(r.samples[0].sets[1].sweep.direction, dma::Direction::cooling);
  // Two cycles: every frequency twice in each set.
  EXPECT_EQ(r.samples[0].sets[0].sweep.series.size(), 2 * c.frequencies_Hz.size());
  expect_truth(r, c, "cycles_text_automatic_windows", 2);
}

// One file per heating rate: kept apart, each with its rate.
TEST(ExportShapes, OneFilePerHeatingRateGivesOneSetPerRate) {
  std::vector<dhr3::IngestedExport> exports;
  auto c = config(dhr3::ExportShape::interleaved);
  for (const double rate : {5.0, 2.0}) {
    c.heating_rate_K_per_min = rate;
    exports.push_back(ingest("rate.txt", dhr3::write_lims(dhr3::simulate_sweep(c))));
  }
  const auto r = analyse_exports(exports, dma::cu_zr_glass_settings());
  ASSERT_EQ(r.samples.size(), 1u);
  ASSERT_EQ(r.samples[0].sets.size(), 2u);
  EXPECT_NEAR(r.samples[0].sets[0].sweep.rate_K_per_min, 2.0, 0.01);
  EXPECT_NEAR(r.samples[0].sets[1].sweep.rate_K_per_min, 5.0, 0.01);
  EXPECT_EQ(r.samples[0].sets[0].sweep.name, "heating at 2 K/min");
  expect_truth(r, c, "file_per_heating_rate_lims", 2);
}

// Exports of different samples are never pooled: one sample each, and a sample without a name is its own.
TEST(ExportShapes, DifferentSamplesAreNeverPooled) {
  std::vector<dhr3::IngestedExport> exports;
  for (const char* sample : {"as-cast", "HPT 20 rotations", "as-cast", ""}) {
    auto c = config(dhr3::ExportShape::interleaved);
    c.sample = sample;
    c.frequencies_Hz = {0.1, 1.0, 10.0};
    c.seed = exports.size();
    exports.push_back(ingest("s.txt", dhr3::write_lims(dhr3::simulate_sweep(c))));
  }
  const auto r = analyse_exports(exports, dma::cu_zr_glass_settings(), "unnamed");
  ASSERT_EQ(r.samples.size(), 3u);
  EXPECT_EQ(r.samples[0].name, "as-cast");
  EXPECT_EQ(r.samples[0].exports, (std::vector<std::size_t>{0, 2}));
  EXPECT_EQ(r.samples[0].sets.at(0).sweep.series.size(), 6u);
  EXPECT_EQ(r.samples[1].name, "HPT 20 rotations");
  EXPECT_EQ(r.samples[1].exports, (std::vector<std::size_t>{1}));
  EXPECT_EQ(r.samples[2].name, "unnamed");
  EXPECT_EQ(r.samples[2].exports, (std::vector<std::size_t>{3}));
}

}  // namespace
}  // namespace insitu::storage
