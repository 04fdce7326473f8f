// Analysis results in the run file, at_finish writers, reprocessed entries and standalone analysis files.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "daemon/storage/h5.hpp"
#include "daemon/storage/run_file.hpp"
#include "daemon/storage/run_file_reader.hpp"
#include "tests/storage/records.hpp"

namespace insitu::storage {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using testing::analysis_at;
using testing::as_bytes;
using testing::exposure_at;
using testing::pixels_at;
using testing::run_analysis;
using testing::ScratchDir;
using testing::small_axes;
using testing::small_detector;
using testing::test_metadata;
using testing::wait_until;

std::string attr(const h5::Handle& file, const std::string& path, const std::string& name) {
  return h5::read_string_attribute(h5::open_object(file, path), name);
}

std::vector<double> doubles(const h5::Handle& file, const std::string& path) {
  return h5::read_1d<double>(h5::open_dataset(file, path));
}

AnalysisLayout small_analysis() {
  return {.axes = small_axes(), .parameters = {{"qmax_inv_angstrom", "22.0"}, {"density/source", "fit"}}};
}

TEST(RunFileAnalysis, LayoutUnitsAndTheDefaultPlotIsEntropyAgainstTemperature) {
  ScratchDir dir("analysis_layout");
  const auto path = dir.path() / "run.nxs";
  RunFile::create(path, test_metadata(), {}, {.detector = small_detector(), .analysis = small_analysis()})
      ->finish(0.0, "completed");

  const h5::Handle f = h5::open_file(path, h5::Access::read);
  EXPECT_EQ(attr(f, "/", "default"), "entry");
  EXPECT_EQ(attr(f, "/entry", "default"), "entropy");
  EXPECT_EQ(attr(f, "/entry/entropy", "NX_class"), "NXdata");
  EXPECT_EQ(attr(f, "/entry/entropy", "signal"), "S_eq");
  EXPECT_EQ(attr(f, "/entry/entropy", "axes"), "T");
  EXPECT_EQ(attr(f, "/entry/entropy/S_eq", "units"), "J/(mol K)");
  EXPECT_EQ(attr(f, "/entry/entropy/T", "units"), "K");
  EXPECT_EQ(attr(f, "/entry/entropy/T", "long_name"), "T (K)");
  EXPECT_EQ(attr(f, "/entry/analysis", "NX_class"), "NXprocess");
  EXPECT_EQ(attr(f, "/entry/analysis/parameters", "NX_class"), "NXparameters");
  EXPECT_EQ(h5::read_string(f, "/entry/analysis/parameters/qmax_inv_angstrom"), "22.0");
  EXPECT_EQ(h5::read_string(f, "/entry/analysis/parameters/density_source"), "fit");
  EXPECT_EQ(h5::read_string(f, "/entry/analysis/version"), "0.1.0-test");
  EXPECT_EQ(attr(f, "/entry/analysis/integrated", "signal"), "I");
  EXPECT_EQ(h5::read_string_array_attribute(h5::open_object(f, "/entry/analysis/integrated"), "axes"),
            (std::vector<std::string>{"frame", "radial_axis"}));
  for (const char* plot : {"structure_factor", "reduced_structure_factor", "reduced_pdf", "pair_distribution",
                           "entropy", "run/entropy", "run/entropy_derivative", "run/heat_flow"})
    EXPECT_EQ(attr(f, std::string("/entry/analysis/") + plot, "NX_class"), "NXdata") << plot;
  EXPECT_EQ(attr(f, "/entry/analysis/reduced_pdf", "signal"), "G_of_r");
  EXPECT_EQ(attr(f, "/entry/analysis/G_of_r", "target"), "/entry/analysis/G_of_r");  // linked: NeXus @target
  EXPECT_EQ(doubles(f, "/entry/analysis/integrated/radial_axis"), small_axes().q_inv_angstrom);
  EXPECT_EQ(doubles(f, "/entry/analysis/Q_reduced"), small_axes().q_reduced_inv_angstrom);
  EXPECT_EQ(doubles(f, "/entry/analysis/r"), small_axes().r_angstrom);
  const std::vector<std::pair<std::string, std::string>> units{
      {"radial_axis", "1/angstrom"},     {"Q_reduced", "1/angstrom"},   {"r", "angstrom"},
      {"F_of_Q", "1/angstrom"},          {"G_of_r", "1/angstrom^2"},    {"rho0_fit", "1/angstrom^3"},
      {"rho0_nominal", "1/angstrom^3"},  {"temperature", "K"},          {"run/dS_eq_dT", "J/(mol K^2)"},
      {"run/delta_phi", "W/mol"},        {"run/T_g", "K"},              {"run/heating_rate", "K/s"}};
  for (const auto& [name, unit] : units) EXPECT_EQ(attr(f, "/entry/analysis/" + name, "units"), unit) << name;
  EXPECT_EQ(h5::shape(h5::open_dataset(f, "/entry/analysis/I")), (std::vector<hsize_t>{0, 40}));
  EXPECT_EQ(h5::shape(h5::open_dataset(f, "/entry/analysis/G_of_r")), (std::vector<hsize_t>{0, 20}));
  // Before the first run-level update the scalars hold NaN, not a plausible-looking 0.
  EXPECT_TRUE(std::isnan(doubles(f, "/entry/analysis/run/T_g").at(0)));
}

TEST(RunFileAnalysis, FrameRowsAndRunLevelUpdatesThatShrinkAndGrowReadBack) {
  ScratchDir dir("analysis_rows");
  const auto path = dir.path() / "run.nxs";
  auto run = RunFile::create(path, test_metadata(), {}, {.analysis = small_analysis()});
  for (std::size_t k = 0; k < 4; ++k) run->append(analysis_at(k));
  run->update(run_analysis(5, 3.0));
  ASSERT_TRUE(wait_until([&] { return run->stats().analysis_updates == 1; }));
  run->update(run_analysis(2, 1.0));  // shrinks
  ASSERT_TRUE(wait_until([&] { return run->stats().analysis_updates == 2; }));
  const auto last = run_analysis(7, 4.0);  // grows again
  run->update(last);
  run->finish(50.0, "completed");
  EXPECT_EQ(run->error(), std::nullopt);
  EXPECT_EQ(run->stats().analysis_rows_committed, 4u);
  EXPECT_EQ(run->stats().analysis_updates, 3u);

  const h5::Handle f = h5::open_file(path, h5::Access::read);
  const std::string a = "/entry/analysis/";
  EXPECT_THAT(h5::read_1d<std::uint64_t>(h5::open_dataset(f, a + "sequence_number")), ElementsAre(0, 1, 2, 3));
  std::vector<double> intensity, sigma, s, fq, g, pair, s_eq, s_eq_k_B, temperature, rho0_fit;
  for (std::size_t k = 0; k < 4; ++k) {
    const auto x = analysis_at(k);
    intensity.insert(intensity.end(), x.intensity.begin(), x.intensity.end());
    sigma.insert(sigma.end(), x.intensity_sigma.begin(), x.intensity_sigma.end());
    s.insert(s.end(), x.structure_factor.begin(), x.structure_factor.end());
    fq.insert(fq.end(), x.reduced_structure_factor.begin(), x.reduced_structure_factor.end());
    g.insert(g.end(), x.reduced_pdf.begin(), x.reduced_pdf.end());
    pair.insert(pair.end(), x.pair_distribution.begin(), x.pair_distribution.end());
    s_eq.push_back(x.s_eq_J_per_mol_K);
    s_eq_k_B.push_back(x.s_eq_k_B);
    temperature.push_back(x.temperature_K);
    rho0_fit.push_back(x.rho0_fit_per_cubic_angstrom);
  }
  EXPECT_EQ(doubles(f, a + "I"), intensity);
  EXPECT_EQ(doubles(f, a + "I_errors"), sigma);
  EXPECT_EQ(doubles(f, a + "S_of_Q"), s);
  EXPECT_EQ(doubles(f, a + "F_of_Q"), fq);
  EXPECT_EQ(doubles(f, a + "G_of_r"), g);
  EXPECT_EQ(doubles(f, a + "g_of_r"), pair);
  EXPECT_EQ(doubles(f, a + "S_eq"), s_eq);
  EXPECT_EQ(doubles(f, a + "S_eq_k_B"), s_eq_k_B);
  EXPECT_EQ(doubles(f, a + "temperature"), temperature);
  EXPECT_EQ(doubles(f, a + "rho0_fit"), rho0_fit);
  EXPECT_EQ(doubles(f, a + "rho0_nominal"), std::vector<double>(4, 0.0725));
  EXPECT_EQ(doubles(f, a + "entropy/S_eq"), s_eq);  // every frame's S_eq against T
  // The default plot: the run level's heating frames (no crystallisation onset below the last one here).
  EXPECT_EQ(doubles(f, "/entry/entropy/T"), last.temperature_K);
  EXPECT_EQ(doubles(f, "/entry/entropy/S_eq"), last.s_eq_J_per_mol_K);
  EXPECT_TRUE(std::isnan(doubles(f, a + "run/crystallisation_onset").at(0)));

  EXPECT_EQ(doubles(f, a + "run/temperature"), last.temperature_K);
  EXPECT_EQ(doubles(f, a + "run/S_eq_smoothed"), last.s_eq_smoothed_J_per_mol_K);
  EXPECT_EQ(doubles(f, a + "run/dS_eq_dT"), last.ds_eq_dT_J_per_mol_K2);
  EXPECT_EQ(doubles(f, a + "run/delta_phi"), last.delta_phi_W_per_mol);
  EXPECT_EQ(doubles(f, a + "run/T_g"), std::vector<double>{304.0});
  EXPECT_EQ(doubles(f, a + "run/T_g_low"), std::vector<double>{299.0});
  EXPECT_EQ(doubles(f, a + "run/T_g_high"), std::vector<double>{309.0});
  EXPECT_EQ(doubles(f, a + "run/heating_rate"), std::vector<double>{10.0 / 60.0});
  EXPECT_THAT(h5::read_strings(h5::open_dataset(f, a + "run/feature_kind")),
              ElementsAre("peak", "slope change", "peak", "slope change"));
  EXPECT_THAT(doubles(f, a + "run/feature_temperature"), ElementsAre(250.0, 260.0, 270.0, 280.0));
  EXPECT_THAT(doubles(f, a + "run/feature_value"), ElementsAre(0.0, 0.5, 1.0, 1.5));
  EXPECT_DOUBLE_EQ(doubles(f, a + "run/feature_reduced_temperature")[1], 260.0 / 304.0);
  EXPECT_EQ(h5::read_string(f, a + "run_parameters/smoothing_window_K"), std::to_string(4.0));
}

TEST(RunFileAnalysis, TheDefaultPlotEndsAtTheCrystallisationOnset) {
  ScratchDir dir("analysis_onset");
  const auto path = dir.path() / "run.nxs";
  auto run = RunFile::create(path, test_metadata(), {}, {.analysis = small_analysis()});
  analysis::RunAnalysis r;
  for (int i = 0; i <= 20; ++i) {  // 600-800 K: S_eq rises through T_g = 650 K, peaks at 700 K, falls (crystal)
    const double t = 600.0 + 10 * i;
    r.temperature_K.push_back(t);
    r.s_eq_J_per_mol_K.push_back(t <= 700 ? -20 + 0.02 * (t - 600) : -18 - 1.5 * (t - 700));
  }
  r.s_eq_smoothed_J_per_mol_K = r.s_eq_J_per_mol_K;
  r.glass_transition_K = 650.0;
  r.parameters = {{"smoothing_window", "20"}, {"tg_fit_range_K", "600.000000 690.000000"}, {"heating_frames", "21"}};
  run->update(r);
  run->finish(10.0, "completed");
  EXPECT_EQ(run->error(), std::nullopt);

  const h5::Handle f = h5::open_file(path, h5::Access::read);
  EXPECT_EQ(doubles(f, "/entry/analysis/run/crystallisation_onset"), std::vector<double>{700.0});
  const auto shown = doubles(f, "/entry/entropy/T");
  ASSERT_EQ(shown.size(), 11u) << "600-700 K: the glass and the liquid, not the crystal";
  EXPECT_EQ(shown.back(), 700.0);
  EXPECT_EQ(doubles(f, "/entry/entropy/S_eq").back(), -18.0);
  EXPECT_EQ(doubles(f, "/entry/analysis/run/temperature").size(), 21u) << "the run level keeps every frame";
  // Numeric parameters are numbers with units; the reader gives them back as the analysis wrote them.
  const std::string p = "/entry/analysis/run_parameters/";
  EXPECT_EQ(h5::read_1d<std::int64_t>(h5::open_dataset(f, p + "smoothing_window")), std::vector<std::int64_t>{20});
  EXPECT_EQ(attr(f, p + "smoothing_window", "units"), "K");
  EXPECT_EQ(doubles(f, p + "tg_fit_range_K"), (std::vector<double>{600.0, 690.0}));
  EXPECT_FALSE(h5::has_attribute(h5::open_object(f, p + "heating_frames"), "units"));
  const RunFileReader reader(path);
  const auto parameters = reader.analysis()->run_parameters;
  EXPECT_EQ(parameters.at("smoothing_window"), "20");
  EXPECT_EQ(parameters.at("tg_fit_range_K"), "600 690");
  EXPECT_EQ(parameters.at("heating_frames"), "21");
}

TEST(RunFileAnalysis, CurvesMustMatchTheAxesAndNeedALayout) {
  ScratchDir dir("analysis_bad");
  auto run = RunFile::create(dir.path() / "run.nxs", test_metadata(), {}, {.analysis = small_analysis()});
  auto frame = analysis_at(0);
  frame.reduced_pdf.pop_back();
  try {
    run->append(frame);
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("G(r) (frame 0) has 19 values, the axis has 20"));
  }
  auto bad_run = run_analysis(3, 1.0);
  bad_run.delta_phi_W_per_mol.pop_back();
  EXPECT_THROW(run->update(bad_run), std::invalid_argument);
  run->finish(0.0, "completed");
  EXPECT_EQ(run->error(), std::nullopt);

  auto plain = RunFile::create(dir.path() / "plain.nxs", test_metadata());
  EXPECT_THROW(plain->append(analysis_at(0)), std::logic_error);
  EXPECT_THROW(plain->update(run_analysis(1, 1.0)), std::logic_error);
  plain->finish(0.0, "completed");

  AnalysisLayout empty_axis = small_analysis();
  empty_axis.axes.r_angstrom.clear();
  EXPECT_THROW(RunFile::create(dir.path() / "empty.nxs", test_metadata(), {}, {.analysis = empty_axis}),
               std::invalid_argument);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "empty.nxs"));
}

TEST(RunFileAnalysis, AtFinishWritersRunInRegularModeAfterTheEndIsRecorded) {
  ScratchDir dir("at_finish");
  const auto path = dir.path() / "run.nxs";
  auto run = RunFile::create(path, test_metadata());
  std::string status_seen;
  run->at_finish([&](const h5::Handle& file) {
    status_seen = h5::read_string(file, "/entry/exit_status");
    const h5::Handle dma = h5::create_group(h5::open_group(file, "/entry"), "dma", "NXcollection");  // creates objects
    h5::write_scalar(dma, "activation_energy", 512.5, "kJ/mol");
  });
  run->at_finish([](const h5::Handle& file) { h5::write_string(h5::open_group(file, "/entry/dma"), "note", "second"); });
  run->finish(10.0, "completed");
  EXPECT_EQ(run->error(), std::nullopt);
  EXPECT_THROW(run->at_finish([](const h5::Handle&) {}), std::logic_error);
  EXPECT_EQ(status_seen, "completed");
  const h5::Handle f = h5::open_file(path, h5::Access::read);
  EXPECT_EQ(doubles(f, "/entry/dma/activation_energy"), std::vector<double>{512.5});
  EXPECT_EQ(h5::read_string(f, "/entry/dma/note"), "second");
}

TEST(RunFileAnalysis, AFailingAtFinishWriterIsReported) {
  ScratchDir dir("at_finish_error");
  auto run = RunFile::create(dir.path() / "run.nxs", test_metadata());
  run->at_finish([](const h5::Handle& file) { h5::open_group(file, "/entry/no_such_group"); });
  run->finish(1.0, "completed");
  ASSERT_TRUE(run->error().has_value());
  EXPECT_THAT(*run->error(), HasSubstr("no_such_group"));
}

}  // namespace
}  // namespace insitu::storage
