// /entry_dma written into a regular-mode file and read back: layout, units, sha256, steps, pooled sets, fits,
// Table I, overlay.
#include "daemon/storage/dma_entry.hpp"

#include <cmath>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/dma/dma_fixture.hpp"

namespace insitu::storage {
namespace {
namespace fs = std::filesystem;

DmaResults ingest(const fs::path& path, const std::string& bytes) {
  auto check = dhr3::check_export(path, bytes, {}, {});
  if (!check.result) throw std::runtime_error(check.message);
  return analyse_exports({std::move(*check.result)}, dma::cu_zr_glass_settings());
}

std::string units(const h5::Handle& file, const std::string& path) {
  return h5::read_string_attribute(h5::open_object(file, path), "units");
}

class DmaEntryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    lims_ = dhr3::write_lims(dma_testing::coarse_sweep());
    dma_testing::write_file(dir_.path() / "sweep.txt", lims_);
    exports_ = ingest(dir_.path() / "sweep.txt", lims_);
  }
  dma_testing::TempDir dir_{"dma-entry"};
  std::string lims_;
  DmaResults exports_;
};

TEST_F(DmaEntryTest, LayoutUnitsShaAndTableReadBack) {
  const fs::path out = dir_.path() / "dma.h5";
  {
    auto file = h5::create_file(out);
    write_dma_entry(file, exports_, 709.0);
    file.close();
  }
  ASSERT_EQ(exports_.samples.size(), 1u);
  ASSERT_EQ(exports_.samples[0].sets.size(), 1u);
  const auto& [sweep, a] = exports_.samples[0].sets[0];
  auto file = h5::open_file(out, h5::Access::read);
  EXPECT_EQ(h5::read_string_attribute(h5::open_object(file, "entry_dma"), "NX_class"), "NXentry");
  EXPECT_EQ(h5::read_1d<std::int64_t>(h5::open_dataset(file, "entry_dma/export_count")),
            std::vector<std::int64_t>{1});
  const std::string e = "entry_dma/export_01/";
  EXPECT_EQ(h5::read_string_attribute(h5::open_object(file, "entry_dma/export_01"), "NX_class"), "NXcollection");
  // sha256 checked against an independent implementation (the folder watcher's file hash).
  EXPECT_EQ(h5::read_string(file, e + "sha256"), io::content_sha256(dir_.path() / "sweep.txt"));
  EXPECT_EQ(h5::read_string(file, e + "text"), lims_);
  EXPECT_EQ(h5::read_string(file, e + "layout"), "lims");
  EXPECT_EQ(h5::read_string(file, e + "metadata/modulus_kind"), "E");
  EXPECT_EQ(h5::read_string(file, e + "metadata/serial_number"), "5343-0421");
  EXPECT_EQ(h5::read_string(file, e + "sample"), "Cu44Zr44Al8Hf2Co2 as-cast");
  EXPECT_EQ(h5::read_strings(h5::open_dataset(file, e + "steps/name")), std::vector<std::string>{"Temperature ramp - 1"});
  EXPECT_EQ(h5::read_1d<std::int64_t>(h5::open_dataset(file, e + "steps/curves")), std::vector<std::int64_t>{7});

  const std::string set = "entry_dma/sample_01/set_01/";
  EXPECT_EQ(h5::read_string_attribute(h5::open_object(file, "entry_dma"), "default"), "sample_01/set_01/curve_01");
  EXPECT_EQ(h5::read_string(file, "entry_dma/sample_01/name"), "Cu44Zr44Al8Hf2Co2 as-cast");
  EXPECT_EQ(h5::read_strings(h5::open_dataset(file, "entry_dma/sample_01/exports")),
            std::vector<std::string>{"export_01"});
  EXPECT_EQ(h5::read_string(file, set + "table_I"), a.table);
  EXPECT_EQ(h5::read_string(file, set + "direction"), "heating");
  EXPECT_EQ(units(file, set + "rate"), "K/min");
  EXPECT_NEAR(h5::read_1d<double>(h5::open_dataset(file, set + "rate")).at(0), 5.0, 0.01);
  EXPECT_EQ(h5::read_string(file, set + "windows"), "settings");
  ASSERT_EQ(sweep.series.size(), 7u);
  for (std::size_t i = 0; i < sweep.series.size(); ++i) {
    const std::string g = set + "curve_0" + std::to_string(i + 1);
    EXPECT_EQ(h5::read_string(file, g + "/source"), sweep.series[i].source);
    auto group = h5::open_object(file, g);
    EXPECT_EQ(h5::read_string_attribute(group, "NX_class"), "NXdata");
    EXPECT_EQ(h5::read_string_attribute(group, "signal"), "tan_delta");
    EXPECT_EQ(h5::read_string_attribute(group, "axes"), "temperature");
    EXPECT_EQ(units(file, g + "/temperature"), "K");
    EXPECT_EQ(units(file, g + "/storage_modulus"), "Pa");
    EXPECT_EQ(units(file, g + "/loss_modulus"), "Pa");
    EXPECT_EQ(units(file, g + "/frequency"), "Hz");
    EXPECT_EQ(h5::read_1d<double>(h5::open_dataset(file, g + "/temperature")), sweep.series[i].temperature_K);
    EXPECT_EQ(h5::read_1d<double>(h5::open_dataset(file, g + "/storage_modulus")), sweep.series[i].storage_Pa);
    EXPECT_EQ(h5::read_1d<double>(h5::open_dataset(file, g + "/tan_delta")), sweep.series[i].tan_delta);
  }

  for (const auto& t : a.transitions) {
    const std::string g = set + "fits/" + t.name;
    EXPECT_EQ(units(file, g + "/peak_temperature"), "K");
    EXPECT_EQ(units(file, g + "/peak_temperature_sigma"), "K");
    const auto T = h5::read_1d<double>(h5::open_dataset(file, g + "/peak_temperature"));
    ASSERT_EQ(T.size(), t.fits.size()) << t.name;
    for (std::size_t i = 0; i < T.size(); ++i) EXPECT_EQ(T[i], t.fits[i].peak_K);
  }

  EXPECT_EQ(h5::read_strings(h5::open_dataset(file, set + "arrhenius/transition")),
            (std::vector<std::string>{"gamma", "beta", "alpha"}));
  EXPECT_EQ(units(file, set + "arrhenius/activation_energy"), "eV");
  EXPECT_EQ(units(file, set + "arrhenius/f0"), "Hz");
  const auto E = h5::read_1d<double>(h5::open_dataset(file, set + "arrhenius/activation_energy"));
  const auto sE = h5::read_1d<double>(h5::open_dataset(file, set + "arrhenius/activation_energy_sigma"));
  const auto f0 = h5::read_1d<double>(h5::open_dataset(file, set + "arrhenius/f0"));
  const auto r2 = h5::read_1d<double>(h5::open_dataset(file, set + "arrhenius/r_squared"));
  ASSERT_EQ(E.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    const auto& fit = *a.transitions[i].arrhenius;
    EXPECT_EQ(E[i], fit.activation_energy_eV);
    EXPECT_EQ(sE[i], fit.activation_energy_sigma_eV);
    EXPECT_NEAR(std::log(f0[i]), fit.ln_f0, 1e-9 * std::abs(fit.ln_f0));
    EXPECT_EQ(r2[i], fit.r_squared);
  }

  const auto intervals = dma::transition_intervals_on_reduced_axis(a, 709.0);
  EXPECT_EQ(h5::read_1d<double>(h5::open_dataset(file, "entry_dma/overlay/glass_transition_temperature")),
            std::vector<double>{709.0});
  EXPECT_EQ(units(file, "entry_dma/overlay/interval_lo"), "K");
  EXPECT_EQ(units(file, "entry_dma/overlay/reduced_lo"), "1");
  const auto lo = h5::read_1d<double>(h5::open_dataset(file, "entry_dma/overlay/interval_lo"));
  const auto rhi = h5::read_1d<double>(h5::open_dataset(file, "entry_dma/overlay/reduced_hi"));
  ASSERT_EQ(lo.size(), intervals.size());
  for (std::size_t i = 0; i < lo.size(); ++i) {
    EXPECT_EQ(lo[i], intervals[i].lo_K);
    EXPECT_EQ(rhi[i], intervals[i].hi_reduced);
  }
}

TEST_F(DmaEntryTest, NoOverlayWithoutGlassTransitionAndNoSecondEntry) {
  const fs::path out = dir_.path() / "no_tg.h5";
  auto file = h5::create_file(out);
  write_dma_entry(file, exports_, std::nullopt);
  EXPECT_FALSE(h5::exists(file, "entry_dma/overlay"));
  EXPECT_TRUE(h5::exists(file, "entry_dma/sample_01/set_01/fits/alpha"));
  EXPECT_THROW(write_dma_entry(file, exports_, std::nullopt), h5::Error);
}

}  // namespace
}  // namespace insitu::storage
