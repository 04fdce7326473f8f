// TRIOS export parsers: the four real exports in tests/data/trios, malformed exports, encodings.
#include <cmath>
#include <fstream>
#include <iterator>
#include <string>

#include <gtest/gtest.h>

#include "drivers/dhr3/sweep.hpp"
#include "drivers/dhr3/trios.hpp"
#include "tests/test_data.hpp"

namespace insitu::dhr3 {
namespace {

std::string read_shared(const std::string& name) {
  const std::string path = testdata::path("trios/" + name);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::size_t count_entries(const Metadata& m, const std::string& section) {
  std::size_t n = 0;
  for (const auto& e : m.entries) n += e.section == section;
  return n;
}

// --- real files ----------------------------------------------------------------------------------

TEST(TriosReal, LimsAresG2FrequencySweepTts) {
  const auto ex = parse_export(read_shared("hermes_lims_ARESG2_freqsweep_TTS.txt"));
  EXPECT_EQ(ex.layout, Layout::lims);
  EXPECT_EQ(ex.encoding, SourceEncoding::utf8);
  EXPECT_EQ(ex.meta.serial_number, "4010-0862");  // [Parameters: File Parameters]; [Header] is anonymised
  EXPECT_EQ(ex.meta.instrument_type, "AresG2");
  EXPECT_EQ(ex.meta.instrument_name, "TdbOn");
  EXPECT_EQ(ex.meta.run_date, "6/26/2023 1:34:19 PM");
  EXPECT_EQ(ex.meta.trios_version, "5.1.1.46572");
  EXPECT_EQ(ex.meta.procedure, "TTS - 0000.00.00");
  EXPECT_EQ(ex.meta.modulus, ModulusKind::unknown);  // geometry name anonymised
  // awk '/^\[Step\]/{n++} /^Data point/{c[n]++}' gives 17 rows in each of the 20 steps; the
  // last row of each step (no blank line before the next [Step]) must not be dropped.
  ASSERT_EQ(ex.steps.size(), 20u);
  double set_K = 150.0 + 273.15;
  for (const auto& s : ex.steps) {
    EXPECT_EQ(s.row_count(), 17u) << s.name;
    EXPECT_EQ(s.declared_points, std::optional<std::size_t>(17));
    EXPECT_EQ(s.columns.size(), 57u);
    ASSERT_TRUE(s.set_temperature_K.has_value());
    EXPECT_NEAR(*s.set_temperature_K, set_K, 1e-9) << s.name;
    set_K -= 10.0;
  }
  const Step& first = ex.steps.front();
  EXPECT_EQ(first.name, "Frequency sweep (150.0 °C)");
  EXPECT_NEAR(first.at("Temperature").values[0], 149.977996826172 + 273.15, 1e-9);
  EXPECT_EQ(first.at("Temperature").unit, "°C");
  EXPECT_EQ(first.at("Temperature").si_unit, "K");
  EXPECT_NEAR(first.at("Oscillation torque").values[0], 0.108450026649023 * 9.80665e-5, 1e-18);
  EXPECT_EQ(first.at("Oscillation torque").si_unit, "N.m");
  EXPECT_DOUBLE_EQ(first.at("Tan(delta)").values[0], 0.327107727527618);
  EXPECT_TRUE(std::isnan(first.at("Viscosity").values[0]));  // empty cell
  EXPECT_TRUE(first.at("Status bits").is_text);
  EXPECT_EQ(first.at("Status bits").text[0], "0xB6453");
  EXPECT_EQ(first.at("Torque transducer").text[0], "FRT");
  EXPECT_EQ(first.at("Date and time").text[0], "6/26/2023 1:43:31 PM");
  // The last row of the last step is present.
  const Step& last = ex.steps.back();
  EXPECT_NEAR(last.at("Temperature").values[16], -40.0110015869141 + 273.15, 1e-9);
  // 17 distinct frequencies per step; float32 0.100000001490116 is the 0.1 Hz group.
  const auto groups = group_by_frequency(first);
  ASSERT_EQ(groups.size(), 17u);
  EXPECT_NEAR(groups.front().frequency_Hz, 0.1, 1e-8);
}

TEST(TriosReal, TextDiscoveryMultistep) {
  const auto ex = parse_export(read_shared("hermes_text_DHR_multistep.txt"));
  EXPECT_EQ(ex.layout, Layout::text);
  EXPECT_EQ(ex.meta.instrument_name, "5332-XXXX");
  EXPECT_EQ(ex.meta.serial_number, "5332-XXXX");
  EXPECT_EQ(ex.meta.run_date, "MM/DD/YYYY");
  // Tab-led continuation lines join the procedure name.
  EXPECT_EQ(ex.meta.procedure, "Anonymous\nAmplitude sweep\nFrequency sweep\nFlow ramp\nEnd of test");
  ASSERT_NE(ex.meta.find("", "proceduresegments"), nullptr);
  EXPECT_EQ(ex.meta.find("", "proceduresegments")->value, "Amplitude sweep#Frequency sweep#Flow ramp#End of test");
  EXPECT_GT(count_entries(ex.meta, "Analysis"), 5u);  // five repeated [Analysis] sections, all kept
  // Rows per [step] block up to its blank line (awk): 29, 29, 223.
  ASSERT_EQ(ex.steps.size(), 3u);
  EXPECT_EQ(ex.steps[0].name, "Amplitude sweep - 1");
  EXPECT_EQ(ex.steps[0].row_count(), 29u);
  EXPECT_EQ(ex.steps[1].name, "Frequency sweep - 2");
  EXPECT_EQ(ex.steps[1].row_count(), 29u);
  EXPECT_EQ(ex.steps[2].name, "Flow ramp - 3");
  EXPECT_EQ(ex.steps[2].row_count(), 223u);
  EXPECT_EQ(ex.steps[0].columns.size(), 43u);
  EXPECT_EQ(ex.steps[2].columns.size(), 25u);
  EXPECT_NEAR(ex.steps[0].at("Step time").values[0], 0.102874898910522 * 60.0, 1e-12);  // min -> s
  EXPECT_EQ(ex.steps[0].at("Storage modulus").unit, "MPa");
  EXPECT_EQ(ex.steps[0].at("Storage modulus").si_unit, "Pa");
  EXPECT_TRUE(ex.steps[2].at("Termination reason").is_text);
  EXPECT_EQ(ex.steps[2].at("Termination reason").text[0], "Normal");
  EXPECT_EQ(ex.steps[2].at("Torque").si_unit, "N.m");  // µN.m
}

TEST(TriosReal, TextDiscoveryCreep) {
  const auto ex = parse_export(read_shared("hermes_text_DHR_creep.txt"));
  EXPECT_EQ(ex.layout, Layout::text);
  ASSERT_EQ(ex.steps.size(), 1u);
  EXPECT_EQ(ex.steps[0].name, "Creep - 1");
  EXPECT_EQ(ex.steps[0].row_count(), 483u);
  EXPECT_EQ(ex.steps[0].columns.size(), 24u);
  EXPECT_TRUE(std::isnan(ex.steps[0].at("Modulus").values[0]));  // the one empty cell
  EXPECT_FALSE(std::isnan(ex.steps[0].at("Modulus").values[1]));
  EXPECT_NEAR(ex.steps[0].at("Torque").values[0], 1533.98083057255e-6, 1e-15);
  EXPECT_EQ(ex.steps[0].at("Date and time").text[0], "10/17/2022 10:27:02 AM");
}

TEST(TriosReal, JsonAresG2Amplitude) {
  const auto ex = parse_export(read_shared("tadatakit_json_ARESG2_amplitude.json"));
  EXPECT_EQ(ex.layout, Layout::json);
  EXPECT_EQ(ex.meta.serial_number, "4010-0859");
  EXPECT_EQ(ex.meta.instrument_type, "AresG2");
  EXPECT_EQ(ex.meta.run_date, "2023-01-09T09:24:46.9324584Z");
  EXPECT_EQ(ex.meta.procedure, "Strain Sweep - PDMS");
  EXPECT_EQ(ex.meta.sample, "ARES-G2 - Strain Sweep on PDMS");
  EXPECT_EQ(ex.meta.geometry, "25.0mm parallel plate,  Stainless steel");
  EXPECT_EQ(ex.meta.modulus, ModulusKind::shear_G);
  ASSERT_EQ(ex.steps.size(), 1u);
  const Step& s = ex.steps[0];
  EXPECT_EQ(s.name, "Amplitude - 1");
  EXPECT_EQ(s.row_count(), 2u);
  EXPECT_EQ(s.columns.size(), 57u);  // 58 headers minus "Results Step Id"
  EXPECT_DOUBLE_EQ(s.at("Tan(delta)").values[0], 0.982321262359619);
  EXPECT_NEAR(s.at("Temperature").values[0], 29.9974994659424 + 273.15, 1e-9);
  EXPECT_NEAR(s.at("Storage modulus").values[0], 0.027083798828125e6, 1e-6);
  EXPECT_EQ(s.at("Status bits").text[0], "0x120B6457");
  EXPECT_EQ(s.at("Date and time").text[0], "2023-01-09T09:27:17.5194584Z");
}

// --- malformed or truncated exports: exact messages -------------------------------------------

std::string error_of(const std::string& bytes) {
  try {
    parse_export(bytes);
  } catch (const TriosError& e) {
    return e.what();
  }
  return "no error";
}

const std::string text_head = "Filename\tx\n[step]\nS - 1\nA\tB\ns\t°C\n";

TEST(TriosMalformed, RaggedRow) {
  EXPECT_EQ(error_of(text_head + "1\t2\n3\n\n"), "TRIOS export line 7: ragged row: 1 cells, expected 2 in step 'S - 1'");
}
TEST(TriosMalformed, TruncatedLastRow) {
  EXPECT_EQ(error_of(text_head + "1\t2\n3"), "TRIOS export line 7: truncated file: last row has 1 of 2 cells");
}
TEST(TriosMalformed, HeaderWithoutData) {
  EXPECT_EQ(error_of(text_head + "\n"), "TRIOS export line 5: step 'S - 1' has column headers but no data rows");
}
TEST(TriosMalformed, BadNumber) {
  EXPECT_EQ(error_of(text_head + "1\t2\n1\t2x\n\n"), "TRIOS export line 7: bad number '2x' in column 'B' (cell 2)");
}
TEST(TriosMalformed, UnknownUnit) {
  EXPECT_EQ(error_of("Filename\tx\n[step]\nS - 1\nA\tB\ns\tfurlong\n1\t2\n\n"),
            "TRIOS export line 5: unknown unit 'furlong' for column 'B'");
}
TEST(TriosMalformed, TruncatedInsideStepHeader) {
  EXPECT_EQ(error_of("Filename\tx\n[step]\nS - 1\nA\tB"),
            "TRIOS export line 4: truncated file: [step] ends before its units line");
}
TEST(TriosMalformed, NoStep) {
  EXPECT_EQ(error_of("Filename\tx\nInstrument name\ty\n"),
            "TRIOS export line 2: truncated file: export without any [step] block");
}

const std::string lims_head = "[Version]\nTA Instruments LIMS export format version\t0\n[Step]\nStep name\tT\n";

TEST(TriosMalformed, LimsFewerRowsThanDeclared) {
  EXPECT_EQ(error_of(lims_head + "Number of points\t3\nVariables\tA\nUnits\ts\nData point\t1\nData point\t2\n"),
            "TRIOS export line 9: step 'T' declares 3 points but has 2 (truncated file?)");
}
TEST(TriosMalformed, LimsUnitsCountMismatch) {
  EXPECT_EQ(error_of(lims_head + "Variables\tA\tB\nUnits\ts\nData point\t1\t2\n"),
            "TRIOS export line 6: step 'T' has 2 column names but 1 units");
}
TEST(TriosMalformed, LimsUnexpectedLine) {
  EXPECT_EQ(error_of(lims_head + "Variables\tA\nUnits\ts\nNonsense\t1\n"),
            "TRIOS export line 7: unexpected line in [Step]: 'Nonsense'");
}
TEST(TriosMalformed, LimsBadPointCount) {
  EXPECT_EQ(error_of(lims_head + "Number of points\tmany\n"), "TRIOS export line 5: bad 'Number of points' value 'many'");
}
TEST(TriosMalformed, LimsStepWithoutHeader) {
  EXPECT_EQ(error_of(lims_head + "Number of points\t1\n"),
            "TRIOS export line 5: truncated file: step 'T' ends before its 'Variables' and 'Units' lines");
}
TEST(TriosMalformed, Utf16WithoutBom) {
  EXPECT_EQ(error_of(std::string("F\0i\0l\0e\0", 8)),
            "TRIOS export: unsupported encoding: NUL bytes near the start (UTF-16 without BOM?)");
}
TEST(TriosMalformed, OddUtf16) {
  EXPECT_EQ(error_of(std::string("\xFF\xFE" "F\0i", 5)),
            "TRIOS export: unsupported encoding: UTF-16 text with an odd byte count (5 bytes incl. BOM; truncated file?)");
}
TEST(TriosMalformed, UndefinedCp1252Byte) {
  EXPECT_EQ(error_of("Filename\tx\x81\n"),
            "TRIOS export: unsupported encoding: neither UTF-8 nor cp1252 (byte 0x81 at byte offset 10)");
}
TEST(TriosMalformed, Unrecognised) {
  EXPECT_EQ(error_of("Sample name\tx\n"),
            "TRIOS export line 1: unrecognised export: expected '[Version]', 'Filename' followed by a separator, or '{'");
}
TEST(TriosMalformed, Xlsx) {
  EXPECT_EQ(error_of(std::string("PK\x03\x04", 4)), "TRIOS export: unsupported format: zip container (.xlsx), export as text");
}
TEST(TriosMalformed, TruncatedJson) {
  EXPECT_EQ(error_of("{\n\"Results\": {\"Processed\""),
            "TRIOS export line 2: invalid JSON at byte offset 25 (truncated file?)");
}
TEST(TriosMalformed, JsonWithoutResults) {
  EXPECT_EQ(error_of("{\"Schema\": {}}"), "TRIOS export: JSON export without Results.Processed");
}
TEST(TriosMalformed, JsonTextInNumberColumn) {
  EXPECT_EQ(error_of(R"({"Results":{"Processed":{"ResultsSteps":[{"Id":"a","Name":"S - 1"}],)"
                     R"("ColumnHeaders":{"T_°C":{"DisplayName":"T","ValueType":"Number","Unit":{"Name":"°C"}}},)"
                     R"("Rows":[{"T_°C":"hot","Results Step Id":"a"}]}}})"),
            "TRIOS export: JSON row 1: bad number \"hot\" in column 'T'");
}
TEST(TriosMalformed, Empty) { EXPECT_EQ(error_of(""), "TRIOS export: empty file"); }

TEST(TriosMalformed, ErrorCarriesLine) {
  try {
    parse_export(text_head + "1\t2\n3\n\n");
    FAIL() << "no error";
  } catch (const TriosError& e) {
    EXPECT_EQ(e.line(), 7u);
  }
}

// --- encodings, separators, line endings -------------------------------------------------------

void expect_small_table(const Export& ex) {
  ASSERT_EQ(ex.steps.size(), 1u);
  const Step& s = ex.steps[0];
  ASSERT_EQ(s.row_count(), 2u);
  EXPECT_EQ(s.at("B").unit, "°C");
  EXPECT_DOUBLE_EQ(s.at("A").values[0], 1.5);
  EXPECT_DOUBLE_EQ(s.at("B").values[0], -2.25 + 273.15);
  EXPECT_TRUE(std::isnan(s.at("A").values[1]));
  EXPECT_DOUBLE_EQ(s.at("B").values[1], 10.0 + 273.15);
  EXPECT_EQ(s.at("C").text[1], "Normal");
}

const std::u16string small_u16 = u"Filename\tµ-test\n[step]\nS - 1\nA\tB\tC\ns\t°C\t\n1.5\t-2.25\tok\n\t10\tNormal\n\n";
const std::string small_utf8 = "Filename\tµ-test\n[step]\nS - 1\nA\tB\tC\ns\t°C\t\n1.5\t-2.25\tok\n\t10\tNormal\n\n";

std::string utf16(const std::u16string& s, bool little_endian) {
  std::string out = little_endian ? "\xFF\xFE" : "\xFE\xFF";
  for (char16_t c : s) {
    const char lo = static_cast<char>(c & 0xFF), hi = static_cast<char>(c >> 8);
    out += little_endian ? lo : hi;
    out += little_endian ? hi : lo;
  }
  return out;
}

TEST(TriosEncoding, PlainUtf8) {
  const auto ex = parse_export(small_utf8);
  EXPECT_EQ(ex.encoding, SourceEncoding::utf8);
  expect_small_table(ex);
}
TEST(TriosEncoding, Utf8Bom) {
  const auto ex = parse_export("\xEF\xBB\xBF" + small_utf8);
  EXPECT_EQ(ex.encoding, SourceEncoding::utf8_bom);
  expect_small_table(ex);
}
TEST(TriosEncoding, Utf16LittleAndBigEndian) {
  const auto le = parse_export(utf16(small_u16, true));
  EXPECT_EQ(le.encoding, SourceEncoding::utf16le);
  expect_small_table(le);
  EXPECT_EQ(le.meta.find("", "Filename")->value, "µ-test");
  const auto be = parse_export(utf16(small_u16, false));
  EXPECT_EQ(be.encoding, SourceEncoding::utf16be);
  expect_small_table(be);
}
TEST(TriosEncoding, Cp1252DegreeCelsius) {
  const std::string cp = "Filename\t\xB5-test\n[step]\nS - 1\nA\tB\tC\ns\t\xB0" "C\t\n1.5\t-2.25\tok\n\t10\tNormal\n\n";
  const auto ex = parse_export(cp);
  EXPECT_EQ(ex.encoding, SourceEncoding::cp1252);
  expect_small_table(ex);
  EXPECT_EQ(ex.meta.find("", "Filename")->value, "µ-test");
}
TEST(TriosEncoding, CrlfLineEndings) {
  std::string crlf;
  for (char c : small_utf8) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  expect_small_table(parse_export(crlf));
}
TEST(TriosEncoding, DecimalCommaInTabAndSemicolonFiles) {
  expect_small_table(parse_export("Filename\tx\n[step]\nS - 1\nA\tB\tC\ns\t°C\t\n1,5\t-2,25\tok\n\t10\tNormal\n\n"));
  const auto semi = parse_export("Filename;x\n[step]\nS - 1\nA;B;C\ns;°C;\n1,5;-2,25;ok\n;10;Normal\n\n");
  EXPECT_EQ(semi.layout, Layout::csv);
  expect_small_table(semi);
  ParseOptions strict;
  strict.allow_decimal_comma = false;
  EXPECT_THROW(parse_export("Filename\tx\n[step]\nS - 1\nA\ts\n1,5\n\n", strict), TriosError);
}
TEST(TriosEncoding, CsvWithUnitConversion) {
  const auto ex = parse_export("Filename,x\n[step]\nS - 1\nA,B\nmin,MPa\n1.5,2\n\n");
  EXPECT_EQ(ex.layout, Layout::csv);
  EXPECT_DOUBLE_EQ(ex.steps[0].at("A").values[0], 90.0);
  EXPECT_DOUBLE_EQ(ex.steps[0].at("B").values[0], 2e6);
  EXPECT_EQ(ex.steps[0].at("B").unit, "MPa");
}

TEST(TriosFrequency, GroupsFloat32Artefacts) {
  const auto ex = parse_export(
      "Filename\tx\n[step]\nT - 1\nFrequency\tTemperature\tTan(delta)\nHz\t°C\t\n"
      "0.100000001490116\t1\t0.1\n1\t2\t0.2\n0.1\t3\t0.3\n0.99999994\t4\t0.4\n10\t5\t0.5\n\n");
  const auto groups = group_by_frequency(ex.steps[0]);
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[0].rows, (std::vector<std::size_t>{0, 2}));
  EXPECT_EQ(groups[1].rows, (std::vector<std::size_t>{1, 3}));
  EXPECT_EQ(groups[2].rows, (std::vector<std::size_t>{4}));
  const auto curves = frequency_curves(ex.steps[0]);
  ASSERT_EQ(curves.size(), 3u);
  EXPECT_EQ(curves[1].y, (std::vector<double>{0.2, 0.4}));
  EXPECT_DOUBLE_EQ(curves[1].temperature_K[1], 4 + 273.15);
}

}  // namespace
}  // namespace insitu::dhr3
