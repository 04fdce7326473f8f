// The DSC importer on real exports (tests/data/dsc, provenance in tests/data/PROVENANCE.md) and on broken ones.
#include "drivers/dsc/dsc_export.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <sstream>

#include "tests/test_data.hpp"

namespace insitu::dsc {
namespace {

using ::testing::HasSubstr;

std::string bytes_of(const std::string& name) {
  std::ifstream in(testdata::path("dsc/" + name), std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

DscCurve read(const std::string& name, std::optional<double> mass_mg = std::nullopt) {
  const auto c = parse_dsc_export(bytes_of(name), name, mass_mg);
  std::cout << name << ": " << c.vendor << ", " << c.encoding << ", " << c.rows << " rows, columns";
  for (std::size_t i = 0; i < c.columns.size(); ++i) std::cout << " " << c.columns[i] << " [" << c.units[i] << "]";
  std::cout << ", heat flow from " << c.heat_flow_source_unit << ", " << c.segments.size() << " segments\n";
  return c;
}

std::string error_of(const std::string& text, std::optional<double> mass_mg = std::nullopt) {
  try {
    parse_dsc_export(text, "bad.txt", mass_mg);
  } catch (const DscFormatError& e) {
    return e.what();
  }
  return "(no error)";
}

// The indium calibration: a table export in user column order, 3-digit exponents, the `]n[` footer. Endotherms come
// out positive: the melt near 156.6 °C (429.75 K) is a peak above the baseline.
TEST(DscReal, MettlerTableExportIndiumMeltIsEndothermicPositive) {
  const auto c = read("mettler_table_tgadsc_indium_10Kmin.txt", 13.2);
  EXPECT_EQ(c.vendor, "Mettler Toledo STARe table export");
  EXPECT_EQ(c.rows, 750u);
  EXPECT_EQ(c.columns, (std::vector<std::string>{"Index", "Ts", "t", "HF", "Weight", "Tr"}));
  EXPECT_EQ(c.units[1], "°C");
  EXPECT_EQ(c.mass_source, "command line");
  ASSERT_EQ(c.program_K.size(), 750u);
  EXPECT_NEAR(c.program_K.front(), 95.0 + 273.15, 1e-9);
  const auto peak = std::max_element(c.heat_flow_W_per_g.begin(), c.heat_flow_W_per_g.end()) - c.heat_flow_W_per_g.begin();
  // The melt starts at 429.75 K; its peak lies a few kelvin later at 10 K/min (sample temperature Ts).
  EXPECT_GT(c.sample_K[static_cast<std::size_t>(peak)], 429.0);
  EXPECT_LT(c.sample_K[static_cast<std::size_t>(peak)], 445.0);
  ASSERT_FALSE(c.segments.empty());
  EXPECT_EQ(c.segments.front().kind, SegmentKind::heating);
  EXPECT_NEAR(c.segments.front().rate_K_per_min, 10.0, 0.2);
}

// STARe 17: a weight curve and then the heat-flow curve, each with its preamble; no final newline.
TEST(DscReal, MettlerCurveExportPicksTheHeatFlowCurve) {
  const auto c = read("mettler_stare17_tgadsc_blank_weight_and_heatflow.txt", 10.0);
  EXPECT_EQ(c.vendor, "Mettler Toledo STARe curve export");
  EXPECT_EQ(c.rows, 12661u);
  EXPECT_EQ(c.units.back(), "mW");
  EXPECT_THAT(c.notes.front(), HasSubstr("[mg]"));
  EXPECT_EQ(c.encoding, "cp1252");
  // Without --mass-mg the blank's 0 mg cannot normalise mW.
  EXPECT_THAT(error_of(bytes_of("mettler_stare17_tgadsc_blank_weight_and_heatflow.txt")),
              HasSubstr("no usable sample mass in the header (0 mg): give --mass-mg"));
}

TEST(DscReal, TaUniversalAnalysisSkipsMarkersAndReadsExothermUp) {
  const auto c = read("ta_ua_2920mdsc_eicosane.txt");
  EXPECT_EQ(c.encoding, "cp437");
  EXPECT_EQ(c.marker_rows, 4u);
  EXPECT_EQ(c.rows, 19004u - 4u);
  EXPECT_EQ(*c.mass_mg, 9.0);
  EXPECT_EQ(c.sign_source, "header Exotherm Up");
  EXPECT_EQ(c.units[1], "°C");
  // The melt on heating (−25.8 mW in the file) is the largest positive heat flow after the flip, per gram.
  const double peak = *std::max_element(c.heat_flow_W_per_g.begin(), c.heat_flow_W_per_g.end());
  EXPECT_NEAR(peak, 25.8 / 9.0, 0.3);
  const bool heats = std::any_of(c.segments.begin(), c.segments.end(), [](auto s) { return s.kind == SegmentKind::heating; });
  const bool cools = std::any_of(c.segments.begin(), c.segments.end(), [](auto s) { return s.kind == SegmentKind::cooling; });
  EXPECT_TRUE(heats && cools);
}

TEST(DscReal, NetzschPaddedHeaderAndSegmentColumn) {
  const auto c = read("netzsch_sta449f3_9segments_commasep.csv");
  EXPECT_EQ(c.vendor, "NETZSCH Proteus ASCII");
  EXPECT_EQ(c.rows, 1094u);
  EXPECT_EQ(c.heat_flow_source_unit, "mW/mg");
  EXPECT_EQ(c.columns.back(), "Segment");
  EXPECT_THAT(c.sign_source, HasSubstr("#EXO -1"));
  EXPECT_GE(c.segments.size(), 4u);
}

TEST(DscReal, ExportsWithoutHeatFlowAreRefusedWithTheReason) {
  EXPECT_THAT(error_of(bytes_of("netzsch_tg209_semicolon.txt")), HasSubstr("bad.txt:0: no heat-flow column (columns: Temp., Time, Mass)"));
  EXPECT_THAT(error_of(bytes_of("mettler_stare13_tga_curvevalues.txt")), HasSubstr("no heat-flow curve in this STARe export"));
}

TEST(DscErrors, MalformedRowsNameTheLine) {
  const std::string table = "Index Ts t HF Tr\r\n[#] [C] [s] [mW] [C]\r\n0 20 0 -1.0 20\r\n1 20.1 1 -1.1\r\n";
  EXPECT_EQ(error_of(table, 5.0), "bad.txt:4: 4 fields, expected 5 (Index Ts t HF Tr)");
  EXPECT_EQ(error_of("Index Ts t HF Tr\n[#] [C] [s] [uV] [C]\n0 20 0 -1.0 20\n", 5.0),
            "bad.txt:0: no heat-flow curve in this STARe export (line 1: a curve in [#] [C] [s] [uV] [C] (1 rows) is "
            "not heat flow, not used)");
  EXPECT_EQ(error_of("hello\nworld\n"),
            "bad.txt:1: not a DSC export this build reads (STARe, TA Universal Analysis, NETZSCH)");
  EXPECT_EQ(error_of("##Temp./K;Time/min;DSC/(mW/mg)\n300;0;0.1\n301;0.1;x\n"), "bad.txt:3: 'x' is not a number");
}

}  // namespace
}  // namespace insitu::dsc
