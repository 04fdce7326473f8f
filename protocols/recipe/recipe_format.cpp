#include "protocols/recipe/recipe_format.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "protocols/recipe/yaml_fields.hpp"

namespace insitu::recipe::format {
namespace {

using K = Kind;

// Every known stage model's range: the widest a recipe's temperatures and rates can be.
double coldest_K() {
  double v = kUnbounded;
  for (const auto& m : fields::k_models) v = std::min(v, m.min_K);
  return v;
}
double hottest_K() {
  double v = 0;
  for (const auto& m : fields::k_models) v = std::max(v, m.max_K);
  return v;
}
double fastest_K_per_min() {
  double v = 0;
  for (const auto& m : fields::k_models) v = std::max(v, m.max_rate_K_per_min);
  return v;
}
std::vector<std::string_view> model_names() {
  std::vector<std::string_view> names;
  for (const auto& m : fields::k_models) names.push_back(m.name);
  return names;
}

Field temperature(std::string_view name, bool required, std::string_view description) {
  return {name, K::number, required, description, "K", coldest_K(), hottest_K()};
}
Field rate(std::string_view name, bool required, std::string_view description) {
  return {name, K::number, required, description, "K/min", fields::k_min_rate_K_per_min, fastest_K_per_min()};
}
// A time in s is a duration: at most a year (read_duration()).
Field positive(std::string_view name, bool required, std::string_view description, std::string_view unit,
               bool zero_ok = false) {
  const double max = unit == "s" ? fields::k_max_duration_s : kUnbounded;
  return {name, K::number, required, description, unit, 0.0, max, !zero_ok};
}
Field text(std::string_view name, bool required, std::string_view description) {
  return {name, K::string, required, description};
}
Field choice(std::string_view name, bool required, std::string_view description,
             std::vector<std::string_view> choices) {
  Field f{name, K::choice, required, description};
  f.choices = std::move(choices);
  return f;
}
Field section_field(std::string_view name, bool required, const Section& section, bool nullable = false) {
  Field f{name, K::map, required, section.description};
  f.section = &section;
  f.nullable = nullable;
  return f;
}
Field nullable(Field f) {
  f.nullable = true;
  return f;
}

// Sections in dependency order: a member may point at the ones declared before it.
struct Tables {
  Section until_stable{"until_stable", "hold until the stage reads within tolerance_K for dwell_s",
                       {positive("tolerance_K", true, "largest |T - setpoint| counted as stable", "K"),
                        positive("dwell_s", true, "how long the stage must stay within the tolerance", "s", true),
                        positive("timeout_s", true, "give up waiting after this long (longer than dwell_s)", "s")}};
  Section hold{"hold", "go to temperature_K and stay there",
               {temperature("temperature_K", true, "hold temperature, within stage.min_K..max_K"),
                rate("approach_rate_K_per_min", false, "rate to reach the hold temperature (default 50 K/min)"),
                positive("duration_s", false, "how long to hold (needs this, until_stable or both)", "s"),
                section_field("until_stable", false, until_stable)}};
  Section ramp{"ramp", "a linear ramp from where the stage is",
               {temperature("to_K", true, "end temperature, within stage.min_K..max_K"),
                rate("rate_K_per_min", true, "ramp rate, up to the stage model's")}};
  Section repeat{"repeat", "a program run `count` times",
                 {Field{"count", K::integer, true, "how many times", {}, 1, fields::k_max_repeat_count},
                  Field{"program", K::program, true, "the segments repeated"}}};

  Section calibration_point{"stage.sample_calibration.points", "one melting standard",
                            {temperature("sensor_K", true, "what the stage sensor read"),
                             temperature("sample_K", true, "the standard's melting point")}};
  Section sample_calibration{
      "stage.sample_calibration", "sensor -> sample temperature, from melting standards",
      {Field{"points", K::list, true, "at least two points, sensor_K and sample_K increasing", {}, 2, kUnbounded,
             false, {}, {}, false, &calibration_point},
       text("source", false, "where the calibration comes from")}};
  Section stage{
      "stage", "the heating/cooling stage and how closely it must follow the program",
      {choice("model", true, "the stage model", model_names()),
       temperature("min_K", false, "narrows the model's lower limit"),
       temperature("max_K", false, "narrows the model's upper limit"),
       Field{"poll_interval_s", K::number, false, "how often the controller is read", "s", 0.1, 60.0},
       text("connection", false, "serial:///dev/ttyUSB0, tcp://HOST:PORT or pty:PATH (--linkam overrides it)"),
       choice("pump", false, "liquid-nitrogen pump mode", {"automatic", "manual"}),
       Field{"pump_speed", K::integer, false, "manual pump speed (only with pump: manual)", {}, 0, 30},
       Field{"follow_tolerance_K", K::number, false, "largest |T - setpoint| still on the programme", "K", 0.1,
             100.0},
       Field{"follow_allowance_s", K::number, false, "how long the stage may be off it before it counts", "s", 0.0,
             86400.0},
       section_field("sample_calibration", false, sample_calibration, true)}};

  Section sample_state{
      "sample.state", "the sample's history: as cast, or deformed by high-pressure torsion",
      {text("label", false, "a short label (generated when left out)"),
       choice("deformation", true, "none (as cast) or HPT", {"none", "HPT"}),
       Field{"rotations", K::integer, false, "HPT rotations (HPT only)", {}, 1, 1000},
       Field{"deformation_temperature_K", K::number, false, "HPT temperature (HPT only)", "K", 1.0, 1000.0},
       Field{"storage_temperature_K", K::number, true, "where the sample was kept", "K", 1.0, 1000.0}}};
  Section sample{"sample", "what is measured",
                 {Field{"name", K::name, true, "the sample's name (it names the run folder)"},
                  text("composition", true, "a formula in atomic fractions or percent, e.g. Cu44Zr44Al8Hf2Co2"),
                  text("treatment", false, "how it was prepared"),
                  text("description", false, "anything else"),
                  section_field("state", false, sample_state, true)}};

  Section output{"output", "where run folders go", {text("directory", true, "the folder run folders are made in")}};

  Section trigger{
      "detector.trigger", "the delay generator that triggers the detector",
      {text("connection", true, "tcp://HOST:PORT or serial:///dev/ttyUSB0"),
       Field{"channel", K::channel, false, "detector trigger channel, A..H"},
       // The XRD1621 takes a low-active trigger of at least 20 us (research/trigger.md §2); 10 ms is already far
       // longer than any converter needs, so anything beyond is a typo (a pulse in ms or us written as s).
       Field{"pulse_width_s", K::number, false, "trigger pulse width", "s", 20e-6, 0.01},
       choice("polarity", false, "trigger polarity", {"normal", "inverted"}),
       Field{"latency_s", K::number, false, "trigger-to-exposure latency", "s", 0.0, 1.0},
       nullable(Field{"shutter_channel", K::channel, false, "shutter channel, A..H (needed for darks)"})}};
  Section frames{
      "detector.frames", "where and how the detector computer writes frames",
      {text("folder", true, "the folder frames appear in"),
       Field{"pattern", K::name, false, "file-name pattern"},
       Field{"first_index", K::integer, false, "index of the first file", {}, 0, 999999999},
       choice("format", false, "frame file format", {"tiff", "edf"}),
       Field{"sidecar", K::boolean, false, "QXRD sidecar files beside the frames"},
       Field{"deadline_margin_s", K::number, false, "extra wait for a frame file", "s", 0.0, 3600.0},
       Field{"readout_s", K::number, false, "detector readout time per frame", "s", 0.0666, 5.0}}};
  Section settings{
      "detector.settings", "detector acquisition settings",
      {Field{"subframes", K::integer, false, "subframes summed per frame", {}, 1, 1000},
       Field{"gain_pF", K::number, false, "XRD1621 feedback capacitance", "pF", -kUnbounded, kUnbounded, false, {},
             {0.25, 0.5, 1.0, 2.0, 4.0, 8.0}},
       Field{"timing_mode", K::integer, false, "detector timing mode", {}, 0, 7},
       Field{"binning", K::integer, false, "pixel binning", {}, -kUnbounded, kUnbounded, false, {}, {1, 2, 4}}}};
  Section detector{"detector", "the area detector",
                   {section_field("trigger", true, trigger), section_field("frames", true, frames),
                    nullable(Field{"geometry", K::file, false, "pyFAI PONI file (needed for the analysis)"}),
                    section_field("settings", false, settings),
                    Field{"store_frames", K::boolean, false, "keep the pixels in the run file (default true)"},
                    nullable(Field{"mask", K::file, false, "mask image (.tif, .tiff, .edf), non-zero = masked"})}};

  Section darks{"exposures.darks", "dark frames with the shutter closed",
                {Field{"before", K::integer, false, "darks before the series", {}, 0, 1000},
                 Field{"after", K::integer, false, "darks after the series", {}, 0, 1000}}};
  Section exposures{"exposures", "the frame series",
                    {Field{"period_s", K::number, true, "frame period", "s", 0.5, 3600.0},
                     Field{"during", K::item_list, false, "all, or the top-level program items frames are taken in"},
                     section_field("darks", false, darks)}};

  Section integration{
      "analysis.integration", "azimuthal integration",
      {Field{"npt", K::integer, false, "number of Q bins", {}, 100, 20000},
       choice("split", false, "pixel splitting", {"none", "bbox"}),
       nullable(Field{"polarization", K::number, false, "polarisation factor", {}, -1.0, 1.0}),
       nullable(Field{"q_range_inv_angstrom", K::interval, false, "[low, high] Q range", "1/angstrom"})}};
  Section reduction{
      "analysis.reduction", "S(Q) and G(r) as PDFgetX3 computes them",
      {positive("qmin", true, "lowest Q used", "1/angstrom", true), positive("qmax", true, "highest Q used", "1/angstrom"),
       positive("qmaxinst", true, "highest Q of good data", "1/angstrom"),
       positive("rpoly", false, "r limit of the polynomial correction", "angstrom"),
       positive("r_min", false, "G(r) grid start", "angstrom", true), positive("r_step", false, "G(r) grid step", "angstrom"),
       positive("r_max", false, "G(r) grid end", "angstrom"),
       nullable(Field{"background", K::file, false, "background I(Q), .xy or .chi"}),
       positive("bgscale", false, "background scale", "", true)}};
  Section density{
      "analysis.density", "the atomic number density the entropy uses",
      {Field{"fit_range_angstrom", K::interval, false, "[low, high] r range of the G(r) slope fit", "angstrom"},
       nullable(Field{"nominal_per_cubic_m", K::number, false, "nominal atomic number density, e.g. 5.38345e28",
                      "1/m^3", 1e27, 1e30}),
       choice("use", false, "which density S_eq uses", {"nominal", "fit"})}};
  Section entropy{"analysis.entropy", "the pair-entropy integral",
                  {positive("r_max_angstrom", false, "upper limit of the integral", "angstrom")}};
  Section run_analysis{"analysis.run", "run-level analysis",
                       {positive("smoothing_window_K", false, "S_eq(T) smoothing window", "K"),
                        nullable(positive("expected_tg_K", false, "where T_g is expected", "K"))}};
  Section analysis{"analysis", "inline analysis of every frame",
                   {Field{"enabled", K::boolean, false, "analyse while the run goes"},
                    section_field("integration", false, integration), section_field("reduction", true, reduction),
                    section_field("density", false, density), section_field("entropy", false, entropy),
                    section_field("run", false, run_analysis)}};

  Section dma{"dma", "TA DHR-3 DMA exports taken in during the run",
              {text("folder", true, "the folder TRIOS exports appear in"),
               choice("geometry", true, "DMA clamp geometry", {"three_point_bending", "torsion"})}};
  Section dsc{"dsc", "DSC exports laid beside the run's delta phi_eq",
              {text("folder", true, "the folder of DSC exports, relative to the recipe"),
               nullable(positive("mass_mg", false, "sample mass (replaces the exports')", "mg"))}};

  // One list item for every kind; the parser takes only each kind's keys (config/README.md, "suspenders").
  Section suspender{
      "suspenders", "a condition that pauses or aborts the run while it holds",
      {choice("kind", true, "what is watched",
              {"stage_off_programme", "dewar_empty", "controller_error", "frames_missing", "tango"}),
       choice("on_trip", true, "pause exposures and hold the stage, or abort the run", {"pause", "abort"}),
       choice("on_clear", false, "after a pause: resume after settle_s, or wait for an operator",
              {"resume", "operator"}),
       positive("settle_s", false, "wait this long after the condition clears (on_clear: resume)", "s", true),
       positive("band_K", false, "stage_off_programme: how far the stage may be off the program", "K"),
       positive("for_s", false, "how long the condition must hold to trip", "s", true),
       Field{"count", K::integer, false, "frames_missing: frames missing or late in a row", {}, 1, 1000},
       text("attribute", false, "tango: [tango://host:port/]domain/family/member/attribute[#dbase=no]"),
       Field{"below", K::number, false, "tango: trips below this value"},
       Field{"above", K::number, false, "tango: trips above this value"},
       positive("poll_s", false, "tango: read every poll_s", "s"),
       positive("timeout_s", false, "tango: a read slower than this fails", "s"),
       choice("on_read_failure", false, "tango: a failed read trips the suspender or is ignored",
              {"trip", "ignore"})}};

  Section recipe{
      "recipe", "an insitu recipe: sample, stage, temperature program, detector, exposures and analysis",
      {Field{"insitu_recipe", K::integer, true, "recipe format version", {}, 1, 1},
       Field{"name", K::name, true, "the recipe's name"},
       section_field("sample", true, sample),
       section_field("stage", true, stage),
       Field{"program", K::program, true, "the temperature program: hold, ramp and repeat segments"},
       choice("safe_state", false, "what the stage does when the run ends or fails", {"stop", "hold"}),
       choice("on_interruption", false, "what insitud does with the run after it was killed or the machine rebooted",
              {"abort", "resume", "hold"}),
       section_field("output", true, output),
       section_field("detector", false, detector),
       section_field("exposures", false, exposures),
       section_field("analysis", false, analysis),
       section_field("dma", false, dma),
       section_field("dsc", false, dsc),
       Field{"suspenders", K::list, false, "conditions that pause or abort the run", {}, 0, kUnbounded, false, {}, {},
             false, &suspender}}};

  std::vector<const Section*> all() const {
    return {&until_stable, &hold,     &ramp,      &repeat,      &calibration_point, &sample_calibration,
            &stage,        &sample_state, &sample, &output,    &trigger,     &frames,            &settings,
            &detector,     &darks,    &exposures, &integration, &reduction,  &density,           &entropy,
            &run_analysis, &analysis, &dma,       &dsc,         &suspender,         &recipe};
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

const Section& recipe_format() { return tables().recipe; }

const Section& section(std::string_view path) {
  for (const Section* s : tables().all())
    if (s->name == path) return *s;
  throw std::out_of_range("recipe format: no section " + std::string(path));
}

const Field& field(const Section& section, std::string_view name) {
  for (const auto& f : section.fields)
    if (f.name == name) return f;
  throw std::out_of_range("recipe format: no key " + std::string(name) + " in " + std::string(section.name));
}

std::vector<std::string_view> keys(const Section& section) {
  std::vector<std::string_view> out;
  for (const auto& f : section.fields) out.push_back(f.name);
  return out;
}

}  // namespace insitu::recipe::format
