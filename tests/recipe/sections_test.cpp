// The optional detector, exposures, analysis and dma sections: every field, defaults, the exposure schedule
// and exact file:line:column messages for bad values.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "protocols/recipe/recipe.hpp"
#include "tests/recipe/recipe_error.hpp"

namespace insitu::recipe {
namespace {

// Every key of every optional section; the bad-recipe tests swap single lines, so line numbers refer to this.
constexpr std::string_view k_full =
    "insitu_recipe: 1\n"                                                                              // 1
    "name: full\n"                                                                                    // 2
    "sample:\n"                                                                                       // 3
    "  name: s1\n"                                                                                    // 4
    "  composition: Cu50Zr50\n"                                                                       // 5
    "stage:\n"                                                                                        // 6
    "  model: THMS600\n"                                                                              // 7
    "program:\n"                                                                                      // 8
    "  - hold: {temperature_K: 300, duration_s: 60}\n"                                                // 9
    "  - repeat:\n"                                                                                   // 10
    "      count: 2\n"                                                                                // 11
    "      program:\n"                                                                                // 12
    "        - ramp: {to_K: 400, rate_K_per_min: 10}\n"                                               // 13
    "        - ramp: {to_K: 300, rate_K_per_min: 10}\n"                                               // 14
    "  - ramp: {to_K: 500, rate_K_per_min: 20}\n"                                                     // 15
    "output:\n"                                                                                       // 16
    "  directory: runs\n"                                                                             // 17
    "detector:\n"                                                                                     // 18
    "  trigger:\n"                                                                                    // 19
    "    connection: \"tcp://bnc575.local:4001\"\n"                                                   // 20
    "    channel: C\n"                                                                                // 21
    "    pulse_width_s: 5.0e-5\n"                                                                     // 22
    "    polarity: inverted\n"                                                                        // 23
    "    latency_s: 0.002\n"                                                                          // 24
    "    shutter_channel: B\n"                                                                        // 25
    "  frames:\n"                                                                                     // 26
    "    folder: /data/incoming\n"                                                                    // 27
    "    pattern: glass_1\n"                                                                          // 28
    "    first_index: 0\n"                                                                            // 29
    "    format: edf\n"                                                                               // 30
    "    sidecar: true\n"                                                                             // 31
    "    deadline_margin_s: 5\n"                                                                      // 32
    "    readout_s: 0.0666\n"                                                                         // 33
    "  geometry: geometry.poni\n"                                                                     // 34
    "  settings: {subframes: 3, gain_pF: 1, timing_mode: 2, binning: 2}\n"                            // 35
    "  store_frames: false\n"                                                                         // 36
    "  mask: mask.tif\n"                                                                              // 37
    "exposures:\n"                                                                                    // 38
    "  period_s: 12\n"                                                                                // 39
    "  during: [3, 2]\n"                                                                              // 40
    "  darks: {before: 5, after: 4}\n"                                                                // 41
    "analysis:\n"                                                                                     // 42
    "  enabled: false\n"                                                                              // 43
    "  integration: {npt: 2000, split: none, polarization: 0.95, q_range_inv_angstrom: [0.5, 25]}\n"  // 44
    "  reduction:\n"                                                                                  // 45
    "    qmin: 0.8\n"                                                                                 // 46
    "    qmax: 24\n"                                                                                  // 47
    "    qmaxinst: 25\n"                                                                              // 48
    "    rpoly: 1.1\n"                                                                                // 49
    "    r_min: 0.01\n"                                                                               // 50
    "    r_step: 0.02\n"                                                                              // 51
    "    r_max: 20\n"                                                                                 // 52
    "    background: container.chi\n"                                                                 // 53
    "    bgscale: 0.9\n"                                                                              // 54
    "  density: {fit_range_angstrom: [0.5, 2], nominal_per_cubic_m: 5.38345e28, use: fit}\n"          // 55
    "  entropy: {r_max_angstrom: 12}\n"                                                               // 56
    "  run: {smoothing_window_K: 30, expected_tg_K: 709}\n"                                           // 57
    "dma:\n"                                                                                          // 58
    "  folder: /data/dhr3/exports\n"                                                                  // 59
    "  geometry: three_point_bending\n";                                                              // 60

// The directory the test recipes live in, with the files they name (contents are never read); removed at
// exit.
struct RecipeDir {
  std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("insitu-recipe-sections-" + std::to_string(::getpid()));
  RecipeDir() {
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path / "adir");
    for (const char* name : {"geometry.poni", "mask.tif", "container.chi", "mask.npy", "container.txt"}) {
      std::ofstream(path / name) << "x\n";
    }
  }
  ~RecipeDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};
const std::filesystem::path& recipe_dir() {
  static const RecipeDir dir;
  return dir.path;
}

// k_full with lines first..last (1-based) replaced by `text` (nothing for an empty text).
std::string with_lines(int first, int last, std::string_view text) {
  std::istringstream in{std::string(k_full)};
  std::string out, current;
  for (int n = 1; std::getline(in, current); ++n) {
    if (n < first || n > last) {
      out += current + '\n';
    } else if (n == first && !text.empty()) {
      out += std::string(text) + '\n';
    }
  }
  return out;
}
std::string with_line(int line, std::string_view text) { return with_lines(line, line, text); }

Recipe parse(const std::string& yaml) { return parse_recipe(yaml, "full.yaml", recipe_dir()); }

std::string error_of(const std::string& yaml) { return recipe_error(yaml, "full.yaml", recipe_dir()); }

TEST(RecipeSections, EveryFieldIsRead) {
  const Recipe r = parse(std::string(k_full));
  ASSERT_TRUE(r.detector);
  const auto& d = *r.detector;
  EXPECT_EQ(d.trigger.connection, "tcp://bnc575.local:4001");
  EXPECT_EQ(d.trigger.channel, 'C');
  EXPECT_DOUBLE_EQ(d.trigger.pulse_width_s, 5.0e-5);
  EXPECT_EQ(d.trigger.polarity, Polarity::inverted);
  EXPECT_DOUBLE_EQ(d.trigger.latency_s, 0.002);
  EXPECT_EQ(d.trigger.shutter_channel, 'B');
  EXPECT_EQ(d.frames.folder, "/data/incoming");
  EXPECT_EQ(d.frames.pattern, "glass_1");
  EXPECT_EQ(d.frames.first_index, 0);
  EXPECT_EQ(d.frames.format, FrameFormat::edf);
  EXPECT_TRUE(d.frames.sidecar);
  EXPECT_DOUBLE_EQ(d.frames.deadline_margin_s, 5.0);
  EXPECT_DOUBLE_EQ(d.frames.readout_s, 0.0666);
  EXPECT_EQ(d.geometry,
            (recipe_dir() / "geometry.poni").string());  // resolved against the recipe's directory
  EXPECT_EQ(d.settings.subframes, 3);
  EXPECT_DOUBLE_EQ(d.settings.gain_pF, 1.0);
  EXPECT_EQ(d.settings.timing_mode, 2);
  EXPECT_EQ(d.settings.binning, 2);
  EXPECT_FALSE(d.store_frames);
  EXPECT_EQ(d.mask, (recipe_dir() / "mask.tif").string());
  // Binned 2x2 and summed over 3 subframes: 1024 x 1024 uint32.
  EXPECT_EQ(d.height_px(), 1024);
  EXPECT_EQ(d.width_px(), 1024);
  EXPECT_EQ(d.bytes_per_frame(), 1024u * 1024u * 4u);

  ASSERT_TRUE(r.exposures);
  EXPECT_DOUBLE_EQ(r.exposures->period_s, 12.0);
  EXPECT_EQ(r.exposures->during_items, (std::vector<int>{2, 3}));  // sorted
  EXPECT_EQ(r.exposures->darks_before, 5);
  EXPECT_EQ(r.exposures->darks_after, 4);

  ASSERT_TRUE(r.analysis);
  const auto& a = *r.analysis;
  EXPECT_FALSE(a.enabled);
  EXPECT_EQ(a.integration.npt, 2000);
  EXPECT_EQ(a.integration.split, PixelSplitting::none);
  EXPECT_EQ(a.integration.polarization, 0.95);
  EXPECT_EQ(a.integration.q_range_inv_angstrom, (std::pair{0.5, 25.0}));
  EXPECT_DOUBLE_EQ(a.reduction.qmin_inv_angstrom, 0.8);
  EXPECT_DOUBLE_EQ(a.reduction.qmax_inv_angstrom, 24.0);
  EXPECT_DOUBLE_EQ(a.reduction.qmaxinst_inv_angstrom, 25.0);
  EXPECT_DOUBLE_EQ(a.reduction.rpoly_angstrom, 1.1);
  EXPECT_DOUBLE_EQ(a.reduction.r_min_angstrom, 0.01);
  EXPECT_DOUBLE_EQ(a.reduction.r_step_angstrom, 0.02);
  EXPECT_DOUBLE_EQ(a.reduction.r_max_angstrom, 20.0);
  EXPECT_EQ(a.reduction.background, (recipe_dir() / "container.chi").string());
  EXPECT_DOUBLE_EQ(a.reduction.bgscale, 0.9);
  EXPECT_EQ(a.density.fit_range_angstrom, (std::pair{0.5, 2.0}));
  EXPECT_EQ(a.density.nominal_per_cubic_m, 5.38345e28);
  EXPECT_EQ(a.density.use, DensityChoice::fit);
  EXPECT_DOUBLE_EQ(a.entropy.r_max_angstrom, 12.0);
  EXPECT_DOUBLE_EQ(a.run.smoothing_window_K, 30.0);
  EXPECT_EQ(a.run.expected_tg_K, 709.0);

  ASSERT_TRUE(r.dma);
  EXPECT_EQ(r.dma->folder, "/data/dhr3/exports");
  EXPECT_EQ(r.dma->geometry, DmaGeometry::three_point_bending);
}

TEST(RecipeSections, DefaultsOfAMinimalDetectorAndAnalysis) {
  std::string yaml = with_lines(18, 60,
                                "detector:\n"
                                "  trigger: {connection: \"serial:///dev/ttyUSB1\"}\n"
                                "  frames: {folder: incoming}\n"
                                "  geometry: geometry.poni\n"
                                "exposures: {period_s: 12}\n"
                                "analysis:\n"
                                "  reduction: {qmin: 0.5, qmax: 20, qmaxinst: 22}\n"
                                "  density: {nominal_per_cubic_m: 6.0e28}\n"
                                "dma: {folder: exports, geometry: torsion}");
  const Recipe r = parse(yaml);
  const auto& d = r.detector.value();
  EXPECT_EQ(d.trigger.channel, 'A');
  EXPECT_DOUBLE_EQ(d.trigger.pulse_width_s, 1.0e-4);
  EXPECT_EQ(d.trigger.polarity, Polarity::normal);
  EXPECT_DOUBLE_EQ(d.trigger.latency_s, 0.0);
  EXPECT_FALSE(d.trigger.shutter_channel);
  EXPECT_EQ(d.frames.pattern, "frame");
  EXPECT_EQ(d.frames.first_index, 1);
  EXPECT_EQ(d.frames.format, FrameFormat::tiff);
  EXPECT_FALSE(d.frames.sidecar);
  EXPECT_DOUBLE_EQ(d.frames.deadline_margin_s, 10.0);
  EXPECT_DOUBLE_EQ(d.frames.readout_s, 0.1332);
  EXPECT_EQ(d.settings.subframes, 1);
  EXPECT_EQ(d.settings.binning, 1);
  EXPECT_TRUE(d.store_frames);
  EXPECT_FALSE(d.mask);
  EXPECT_EQ(d.bytes_per_frame(), 2048u * 2048u * 2u);                 // 8 MiB raw
  EXPECT_EQ(r.exposures->during_items, (std::vector<int>{1, 2, 3}));  // during: all
  EXPECT_EQ(r.exposures->darks_before + r.exposures->darks_after, 0);
  const auto& a = r.analysis.value();
  EXPECT_TRUE(a.enabled);
  EXPECT_EQ(a.integration.npt, 3000);
  EXPECT_EQ(a.integration.split, PixelSplitting::bbox);
  EXPECT_EQ(a.integration.polarization, 0.99);
  EXPECT_FALSE(a.integration.q_range_inv_angstrom);
  EXPECT_DOUBLE_EQ(a.reduction.rpoly_angstrom, 0.9);
  EXPECT_DOUBLE_EQ(a.reduction.r_max_angstrom, 30.0);
  EXPECT_FALSE(a.reduction.background);
  EXPECT_EQ(a.density.fit_range_angstrom, (std::pair{0.0, 2.0}));
  EXPECT_EQ(a.density.use, DensityChoice::nominal);  // a nominal density is used when given
  EXPECT_DOUBLE_EQ(a.entropy.r_max_angstrom, 10.0);
  EXPECT_DOUBLE_EQ(a.run.smoothing_window_K, 20.0);
  EXPECT_FALSE(a.run.expected_tg_K);
  EXPECT_EQ(r.dma->geometry, DmaGeometry::torsion);
  // Without a nominal density S_eq uses the fitted one; null polarisation switches the correction off.
  yaml.replace(yaml.find("  density: {nominal_per_cubic_m: 6.0e28}"), 40,
               "  integration: {polarization: null}");
  const Recipe fitted = parse(yaml);
  EXPECT_EQ(fitted.analysis->density.use, DensityChoice::fit);
  EXPECT_FALSE(fitted.analysis->integration.polarization);
}

TEST(RecipeSections, WithoutTheSectionsTheRecipeIsStageOnly) {
  const Recipe r = load_recipe(INSITU_SOURCE_DIR "/config/recipes/quick-check.yaml");
  EXPECT_FALSE(r.detector);
  EXPECT_FALSE(r.exposures);
  EXPECT_FALSE(r.analysis);
  EXPECT_FALSE(r.dma);
  for (const auto& s : r.program) EXPECT_FALSE(s.exposed) << s.label;
  const Plan plan = estimate_plan(r);
  EXPECT_FALSE(plan.frames);
  EXPECT_EQ(format_plan(r, plan).find("frames"), std::string::npos);
}

std::vector<std::pair<std::string, bool>> exposed_flags(const Recipe& r) {
  std::vector<std::pair<std::string, bool>> flags;
  for (const auto& s : r.program) flags.emplace_back(s.label, s.exposed);
  return flags;
}

TEST(RecipeSections, ExposedFlagsFollowTheTopLevelItemsIncludingRepeats) {
  using Flags = std::vector<std::pair<std::string, bool>>;
  EXPECT_EQ(exposed_flags(parse(std::string(k_full))), (Flags{{"1 hold 300 K", false},
                                                              {"2.1 ramp to 400 K (pass 1/2)", true},
                                                              {"2.2 ramp to 300 K (pass 1/2)", true},
                                                              {"2.1 ramp to 400 K (pass 2/2)", true},
                                                              {"2.2 ramp to 300 K (pass 2/2)", true},
                                                              {"3 ramp to 500 K", true}}));
  EXPECT_EQ(exposed_flags(parse(with_line(40, "  during: [1, 3]"))),
            (Flags{{"1 hold 300 K", true},
                   {"2.1 ramp to 400 K (pass 1/2)", false},
                   {"2.2 ramp to 300 K (pass 1/2)", false},
                   {"2.1 ramp to 400 K (pass 2/2)", false},
                   {"2.2 ramp to 300 K (pass 2/2)", false},
                   {"3 ramp to 500 K", true}}));
  for (const auto& [label, exposed] : exposed_flags(parse(with_line(40, "  during: all")))) {
    EXPECT_TRUE(exposed) << label;
  }
  // No exposures section: nothing is exposed even with a detector.
  for (const auto& [label, exposed] : exposed_flags(parse(with_lines(38, 41, ""))))
    EXPECT_FALSE(exposed) << label;
}

TEST(RecipeSections, CryoRecipeIsThePapersFullExperiment) {
  const Recipe r = load_recipe(INSITU_SOURCE_DIR "/config/recipes/cryo-heating.yaml");
  const auto& d = r.detector.value();
  EXPECT_EQ(d.trigger.channel, 'A');
  EXPECT_EQ(d.trigger.shutter_channel, 'B');
  EXPECT_EQ(d.geometry, std::filesystem::path(INSITU_SOURCE_DIR "/config/instruments/xrd1621-60keV.poni")
                            .lexically_normal()
                            .string());
  EXPECT_EQ(d.bytes_per_frame(), 8u * 1024u * 1024u);
  EXPECT_DOUBLE_EQ(r.exposures->period_s, 12.0);
  EXPECT_EQ(r.exposures->during_items, (std::vector<int>{2, 3}));
  EXPECT_EQ(r.exposures->darks_before, 5);
  EXPECT_EQ(r.exposures->darks_after, 5);
  EXPECT_EQ(exposed_flags(r),
            (std::vector<std::pair<std::string, bool>>{
                {"1 hold 93.15 K", false}, {"2 ramp to 873.15 K", true}, {"3 ramp to 300 K", true}}));
  const auto& a = r.analysis.value();
  EXPECT_TRUE(a.enabled);
  EXPECT_EQ(a.density.fit_range_angstrom, (std::pair{0.0, 2.0}));  // the paper's rho0 fit range
  EXPECT_EQ(a.density.nominal_per_cubic_m, 5.38345e28);            // and its nominal density
  EXPECT_EQ(a.density.use, DensityChoice::nominal);
  EXPECT_DOUBLE_EQ(a.entropy.r_max_angstrom, 10.0);
  EXPECT_DOUBLE_EQ(a.run.smoothing_window_K, 20.0);
  EXPECT_EQ(r.dma->geometry, DmaGeometry::torsion);
}

TEST(RecipeSectionErrors, UnknownKeysInEverySection) {
  EXPECT_EQ(
      error_of(with_line(36, "  store_framez: false")),
      "full.yaml:36:3: unknown key 'store_framez' in detector (expected one of: trigger, frames, geometry, "
      "settings, store_frames, mask)");
  EXPECT_EQ(error_of(with_line(41, "  darks: {before: 5, afterwards: 4}")),
            "full.yaml:41:22: unknown key 'afterwards' in darks (expected one of: before, after)");
  EXPECT_EQ(error_of(with_line(56, "  entropy: {r_max: 12}")),
            "full.yaml:56:13: unknown key 'r_max' in entropy (expected one of: r_max_angstrom)");
  EXPECT_EQ(error_of(with_line(59, "  path: /data")),
            "full.yaml:58:1: missing required key 'folder' in dma\n"
            "full.yaml:59:3: unknown key 'path' in dma (expected one of: folder, geometry)");
}

TEST(RecipeSectionErrors, TriggerConnectionIsParsedAsAConnectionUrl) {
  EXPECT_EQ(error_of(with_line(20, "    connection: \"ftp://bnc\"")),
            "full.yaml:20:17: connection: connection URL 'ftp://bnc': unknown scheme (use serial://, pty: or "
            "tcp://)");
  EXPECT_EQ(error_of(with_line(20, "    connection: tcp://bnc575")),
            "full.yaml:20:17: connection: connection URL 'tcp://bnc575': tcp needs host:port");
}

TEST(RecipeSectionErrors, TriggerChannelsPolarityAndPulseWidth) {
  EXPECT_EQ(error_of(with_line(21, "    channel: I")),
            "full.yaml:21:14: channel: expected a channel letter A..H, got 'I'");
  EXPECT_EQ(error_of(with_line(25, "    shutter_channel: C")),
            "full.yaml:25:22: shutter_channel: C is already the detector trigger channel");
  EXPECT_EQ(error_of(with_line(23, "    polarity: low")),
            "full.yaml:23:15: polarity: expected normal or inverted, got 'low'");
  EXPECT_EQ(error_of(with_line(22, "    pulse_width_s: 1.0e-5")),
            "full.yaml:22:20: pulse_width_s: 1e-05 s is outside 2e-05..0.01 s");
}

TEST(RecipeSectionErrors, FrameAndSettingTypes) {
  EXPECT_EQ(error_of(with_line(30, "    format: png")),
            "full.yaml:30:13: format: expected tiff or edf, got 'png'");
  EXPECT_EQ(error_of(with_line(31, "    sidecar: yes")),
            "full.yaml:31:14: sidecar: expected true or false, got 'yes'");
  EXPECT_EQ(error_of(with_line(29, "    first_index: one")),
            "full.yaml:29:18: first_index: expected an integer, got 'one'");
  EXPECT_EQ(error_of(with_line(35, "  settings: {subframes: 3, gain_pF: 3, timing_mode: 8, binning: 3}")),
            "full.yaml:35:37: gain_pF: 3 pF is not an XRD1621 gain (0.25, 0.5, 1, 2, 4 or 8 pF)\n"
            "full.yaml:35:53: timing_mode: must be in 0..7, got 8\n"
            "full.yaml:35:65: binning: expected 1, 2 or 4, got 3");
}

TEST(RecipeSectionErrors, FilesMustExistRelativeToTheRecipe) {
  const std::string dir = recipe_dir().string();
  EXPECT_EQ(error_of(with_line(34, "  geometry: ../geometry.poni")),
            "full.yaml:34:13: geometry: '../geometry.poni' does not exist (looked for " +
                (recipe_dir().parent_path() / "geometry.poni").string() + ")");
  EXPECT_EQ(error_of(with_line(37, "  mask: adir")),
            "full.yaml:37:9: mask: 'adir' is not a regular file (looked for " + dir + "/adir)");
  EXPECT_EQ(error_of(with_line(37, "  mask: mask.npy")),
            "full.yaml:37:9: mask: expected a TIFF or EDF file (.tif, .tiff, .edf), got 'mask.npy'");
  EXPECT_EQ(error_of(with_line(53, "    background: /nonexistent/empty-capillary.xy")),
            "full.yaml:53:17: background: '/nonexistent/empty-capillary.xy' does not exist");
  EXPECT_EQ(error_of(with_line(53, "    background: container.txt")),
            "full.yaml:53:17: background: expected an I(Q) .xy or .chi file, got 'container.txt'");
}

TEST(RecipeSectionErrors, ExposurePeriodRangeAndReadout) {
  EXPECT_EQ(error_of(with_line(39, "  period_s: 0.2")),
            "full.yaml:39:13: period_s: 0.2 s is outside 0.5..3600 s");
  EXPECT_EQ(error_of(with_line(39, "  period_s: 7200")),
            "full.yaml:39:13: period_s: 7200 s is outside 0.5..3600 s");
  // 0.5 s in 10 summed subframes leaves 50 ms per frame, below the 66.6 ms readout.
  std::string yaml = with_line(35, "  settings: {subframes: 10}");
  yaml.replace(yaml.find("period_s: 12"), 12, "period_s: 0.5");
  EXPECT_EQ(
      error_of(yaml),
      "full.yaml:39:13: period_s: 0.5 s in 10 subframe(s) is shorter than the 0.0666 s detector readout per "
      "frame");
}

TEST(RecipeSectionErrors, DuringNamesExistingTopLevelItemsOnce) {
  EXPECT_EQ(error_of(with_line(40, "  during: [2, 4]")),
            "full.yaml:40:15: during: program item 4 does not exist (the program has 3 top-level items)");
  EXPECT_EQ(error_of(with_line(40, "  during: [2, 2]")),
            "full.yaml:40:15: during: program item 2 is listed twice");
  EXPECT_EQ(error_of(with_line(40, "  during: heating")),
            "full.yaml:40:11: during: expected all or a list of program items, got 'heating'");
  EXPECT_EQ(error_of(with_line(40, "  during: []")),
            "full.yaml:40:11: during: must list at least one program item");
}

TEST(RecipeSectionErrors, SectionsThatNeedOthers) {
  // Without the detector (lines 18-37) neither exposures nor analysis can run; later lines move up by 20.
  EXPECT_EQ(error_of(with_lines(18, 37, "")),
            "full.yaml:18:1: exposures: needs a detector section\n"
            "full.yaml:22:1: analysis: needs a detector section");
  EXPECT_EQ(error_of(with_line(34, "")), "full.yaml:41:1: analysis: needs detector.geometry (the PONI file)");
  EXPECT_EQ(error_of(with_line(25, "")),
            "full.yaml:40:3: darks: closing the shutter needs detector.trigger.shutter_channel");
  // Without darks no shutter is needed.
  std::string no_darks = with_line(25, "");
  no_darks.erase(no_darks.find("  darks: {before: 5, after: 4}\n"), 31);
  EXPECT_NO_THROW(parse(no_darks));
}

TEST(RecipeSectionErrors, IntegrationRanges) {
  EXPECT_EQ(error_of(with_line(
                44, "  integration: {npt: 50, split: full, polarization: 1.5, q_range_inv_angstrom: [0.5]}")),
            "full.yaml:44:22: npt: must be in 100..20000, got 50\n"
            "full.yaml:44:33: split: expected none or bbox, got 'full'\n"
            "full.yaml:44:53: polarization: 1.5 is outside -1..1\n"
            "full.yaml:44:80: q_range_inv_angstrom: expected [low, high], got 1 values");
  EXPECT_EQ(error_of(with_line(48, "    qmaxinst: 26")),
            "full.yaml:48:15: qmaxinst: 26 Å⁻¹ is beyond the integration range, which ends at 25 Å⁻¹");
}

TEST(RecipeSectionErrors, ReductionQOrder) {
  EXPECT_EQ(error_of(with_line(46, "    qmin: 30")),
            "full.yaml:46:11: qmin: 30 Å⁻¹ must be below qmax 24 Å⁻¹");
  EXPECT_EQ(error_of(with_line(47, "    qmax: 25.5")),
            "full.yaml:47:11: qmax: 25.5 Å⁻¹ must not exceed qmaxinst 25 Å⁻¹");
  EXPECT_EQ(error_of(with_line(46, "    qmin: -1")), "full.yaml:46:11: qmin: must be >= 0, got -1");
}

TEST(RecipeSectionErrors, ReductionRGrid) {
  EXPECT_EQ(error_of(with_line(50, "    r_min: 20")),
            "full.yaml:50:12: r_min: 20 Å must be below r_max 20 Å");
  EXPECT_EQ(error_of(with_line(51, "    r_step: 0")), "full.yaml:51:13: r_step: must be > 0, got 0");
  // (20 - 0.01) / 0.0001 = 199900 sine transforms per Q point would be a typo, not a choice.
  EXPECT_EQ(
      error_of(with_line(51, "    r_step: 0.0001")),
      "full.yaml:51:13: r_step: 0.0001 Å makes (r_max - r_min) / r_step = 199900 points (at most 100000)");
}

TEST(RecipeSectionErrors, DensityEntropyAndRun) {
  EXPECT_EQ(
      error_of(with_line(55, "  density: {fit_range_angstrom: [2, 0.5], nominal_per_cubic_m: 5.38345e28}")),
      "full.yaml:55:33: fit_range_angstrom: expected 0 <= low < high, got [2, 0.5] Å");
  EXPECT_EQ(error_of(with_line(55, "  density: {nominal_per_cubic_m: -5.0e28}")),
            "full.yaml:55:34: nominal_per_cubic_m: must be > 0, got -5e+28");
  // A density per cubic angstrom written where per cubic metre belongs.
  EXPECT_EQ(error_of(with_line(55, "  density: {nominal_per_cubic_m: 0.0538345}")),
            "full.yaml:55:34: nominal_per_cubic_m: 0.0538345 m⁻³ is not an atomic number density "
            "(1e+27..1e+30 m⁻³, "
            "e.g. 5.38345e28)");
  EXPECT_EQ(error_of(with_line(55, "  density: {use: nominal}")),
            "full.yaml:55:18: use: nominal needs nominal_per_cubic_m");
  EXPECT_EQ(error_of(with_line(56, "  entropy: {r_max_angstrom: 25}")),
            "full.yaml:56:29: r_max_angstrom: 25 Å is beyond the reduction's r_max 20 Å");
  EXPECT_EQ(error_of(with_line(57, "  run: {smoothing_window_K: 0}")),
            "full.yaml:57:29: smoothing_window_K: must be > 0, got 0");
}

TEST(RecipeSectionErrors, DmaGeometry) {
  EXPECT_EQ(error_of(with_line(60, "  geometry: cantilever")),
            "full.yaml:60:13: geometry: expected three_point_bending or torsion, got 'cantilever'");
}

TEST(RecipeSectionErrors, AllErrorsAcrossSectionsAreReportedInSourceOrder) {
  std::string yaml = with_line(60, "  geometry: cantilever");
  yaml.replace(yaml.find("period_s: 12"), 12, "period_s: 0");
  yaml.replace(yaml.find("channel: C"), 10, "channel: 3");
  EXPECT_EQ(error_of(yaml),
            "full.yaml:21:14: channel: expected a channel letter A..H, got '3'\n"
            "full.yaml:39:13: period_s: 0 s is outside 0.5..3600 s\n"
            "full.yaml:60:13: geometry: expected three_point_bending or torsion, got 'cantilever'");
}

}  // namespace
}  // namespace insitu::recipe
