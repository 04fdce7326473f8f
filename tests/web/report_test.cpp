// `insitu report`: one self-contained HTML file whose inlined data holds every chart's points, with nothing
// fetched from elsewhere; the comparison's plots when the file is an `insitu compare` output.
#include "daemon/web/report.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>

#include "daemon/dma_command.hpp"
#include "daemon/storage/compare_entry.hpp"
#include "daemon/storage/run_file.hpp"
#include "daemon/storage/run_file_reader.hpp"
#include "tests/dma/dma_fixture.hpp"
#include "tests/storage/records.hpp"

namespace insitu::web {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;

// A finished run: 40 readings, a segment, three 8 x 6 frames with their analysis, T_g.
fs::path finished_run(const fs::path& dir) {
  const auto path = dir / "run.h5";
  storage::RunFileLayout layout;
  layout.detector.emplace();
  layout.detector->height = 6;
  layout.detector->width = 8;
  layout.analysis = storage::testing::tiny_analysis_layout();
  auto run = storage::RunFile::create(path, storage::testing::test_metadata(), {.flush_interval_s = 0.0}, layout);
  for (std::size_t i = 0; i < 40; ++i) run->append(storage::testing::sample_at(i));
  run->append(storage::RunEvent{0.1, "segment", "ramp to 873.15 K"});
  for (std::uint64_t i = 0; i < 3; ++i) {
    detector::ExposureRecord record;
    record.sequence = i, record.start_s = 0.1 * i, record.stop_s = 0.1 * i + 0.05;
    std::vector<std::uint16_t> pixels(6 * 8, static_cast<std::uint16_t>(100 * (i + 1)));
    std::vector<std::uint8_t> bytes(pixels.size() * 2);
    std::memcpy(bytes.data(), pixels.data(), bytes.size());
    run->append(record, bytes);
    run->append(storage::testing::tiny_frame_analysis(i, 700.0 + i));
  }
  analysis::RunAnalysis level;
  level.temperature_K = {700, 701, 702};
  level.s_eq_smoothed_J_per_mol_K = {-10, -9.5, -9};
  level.ds_eq_dT_J_per_mol_K2 = {0.5, 0.5, 0.5};
  level.delta_phi_W_per_mol = {1, 2, 3};
  level.glass_transition_K = 700.4, level.glass_transition_low_K = 699.6, level.glass_transition_high_K = 701.2;
  run->update(level);
  EXPECT_TRUE(run->finish(0.4, "completed"));
  return path;
}

json embedded_data(const std::string& html) {
  const std::string open = "<script type=\"application/json\" id=\"insitu-report-data\">";
  const auto start = html.find(open);
  if (start == std::string::npos) return nullptr;
  const auto end = html.find("</script>", start);
  return json::parse(html.substr(start + open.size(), end - start - open.size()));
}

TEST(Report, HoldsEveryChartsDataAndNothingFromElsewhere) {
  storage::testing::ScratchDir dir("report_charts");
  const auto html = report_html(finished_run(dir.path()));
  const auto data = embedded_data(html);
  ASSERT_TRUE(data.is_object());
  EXPECT_EQ(data["stage"]["time_s"].size(), 40u);
  EXPECT_EQ(data["stage"]["setpoint_K"].size(), 40u);
  ASSERT_EQ(data["segments"].size(), 1u);
  EXPECT_EQ(data["segments"][0]["label"], "ramp to 873.15 K");
  ASSERT_TRUE(data["frame"].is_object());
  EXPECT_EQ(data["frame"]["width"], 8);
  EXPECT_EQ(data["frame"]["sequence"], 2);
  ASSERT_EQ(data["curves"].size(), 3u);
  EXPECT_EQ(data["curves"][2]["intensity"], json({1.0, 2.0}));
  EXPECT_EQ(data["curves"][2]["g_of_r"], json({0.5}));
  EXPECT_EQ(data["frame_entropy"]["s_eq_J_per_mol_K"].size(), 3u);
  EXPECT_EQ(data["run_analysis"]["delta_phi_W_per_mol"], json({1.0, 2.0, 3.0}));
  EXPECT_DOUBLE_EQ(data["run_analysis"]["glass_transition_K"].get<double>(), 700.4);
  EXPECT_THAT(data["summary_text"].get<std::string>(), HasSubstr("CeO2 standard"));
  EXPECT_TRUE(data["plots"].empty());
  // Self-contained: the chart code inlined, no src= or href= anywhere, no URL a browser would fetch.
  EXPECT_THAT(html, HasSubstr(".uplot{"));
  EXPECT_FALSE(std::regex_search(html, std::regex(R"((src|href)\s*=)", std::regex::icase)));
  EXPECT_FALSE(std::regex_search(html, std::regex(R"(url\(\s*['"]?https?:)", std::regex::icase)));
  EXPECT_FALSE(std::regex_search(html, std::regex(R"(@import)")));
}

TEST(Report, InsituReportWritesBesideTheRunAndRefusesOtherFiles) {
  storage::testing::ScratchDir dir("report_command");
  const auto run = finished_run(dir.path());
  std::ostringstream out, err;
  EXPECT_EQ(report_command(run, {}, out, err), 0) << err.str();
  EXPECT_EQ(out.str(), (dir.path() / "report.html").string() + "\n");
  EXPECT_TRUE(fs::exists(dir.path() / "report.html"));
  std::ofstream(dir.path() / "not.h5") << "text";
  std::ostringstream out2, err2;
  EXPECT_EQ(report_command(dir.path() / "not.h5", dir.path() / "x.html", out2, err2), 2);
  EXPECT_THAT(err2.str(), HasSubstr("not.h5"));
  const auto refusal = err2.str();
  EXPECT_EQ(std::count(refusal.begin(), refusal.end(), '\n'), 1);
}

TEST(Report, ACompareOutputHasItsPlotsWithTheStatesLabels) {
  storage::testing::ScratchDir dir("report_compare");
  const auto path = dir.path() / "compare.h5";
  storage::Comparison c;
  c.temperature_K = {300, 400, 500};
  c.reduced_temperature = {0.5, 0.7, 0.9};
  c.r_angstrom = {1, 2};
  for (const std::string label : {"as cast", "HPT"}) {
    storage::ComparedState s;
    s.file_name = label + ".h5", s.label = label;
    s.s_eq = s.s_eq_sigma = s.delta_s_eq = s.delta_s_eq_sigma = s.s_eq_reduced = {1, 2, 3};
    s.delta_phi = s.delta_phi_reduced = {0.1, 0.2, 0.3};
    s.g_of_r = {0.5, 0.6};
    c.states.push_back(s);
  }
  c.table = "table";
  storage::write_compare_entry(storage::h5::create_file(path), c);
  const auto data = report_data(storage::RunFileReader(path));
  ASSERT_GE(data["plots"].size(), 4u);
  bool entropy_found = false;
  for (const auto& plot : data["plots"]) {
    EXPECT_FALSE(plot["series"].empty()) << plot["title"];
    if (plot["title"] != "Comparison: entropy") continue;
    entropy_found = true;
    ASSERT_EQ(plot["series"].size(), 2u);
    EXPECT_THAT(plot["series"][0]["label"].get<std::string>(), HasSubstr("as cast"));
    EXPECT_THAT(plot["series"][1]["label"].get<std::string>(), HasSubstr("HPT"));
    EXPECT_EQ(plot["series"][1]["x"], json({300.0, 400.0, 500.0}));
  }
  EXPECT_TRUE(entropy_found);
}

TEST(Report, AnInsituDmaFileHasTanDeltaArrheniusAndOverlayPlots) {
  dma_testing::TempDir dir("report-dma");
  dma_testing::write_file(dir.path() / "sweep.txt", dhr3::write_lims(dma_testing::coarse_sweep()));
  daemon::DmaOptions options;
  options.exports = {dir.path() / "sweep.txt"};
  options.output = dir.path() / "dma.h5";
  options.glass_transition_K = 709.0;
  options.settings = dma::cu_zr_glass_settings();
  std::ostringstream out, err;
  ASSERT_EQ(daemon::run_dma(options, out, err), 0) << err.str();
  const auto data = report_data(storage::RunFileReader(options.output));
  // The series of the first plot whose title starts so.
  const auto series = [&](const std::string& title_start) {
    for (const auto& plot : data["plots"])
      if (plot["title"].get<std::string>().starts_with(title_start)) return plot["series"].size();
    return std::size_t{0};
  };
  EXPECT_GE(series("DMA tan δ(T): "), 3u) << data["plots"].dump().substr(0, 400);
  EXPECT_GE(series("DMA Arrhenius plot: "), 1u);
  EXPECT_EQ(series("Fig. 3 overlay ("), 1u) << "tan δ; the file has no Δφ_eq";
}

}  // namespace
}  // namespace insitu::web
