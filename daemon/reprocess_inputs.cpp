#include "daemon/reprocess_inputs.hpp"

#include <algorithm>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>

#include "daemon/storage/schema.hpp"
#include "daemon/xrd_setup.hpp"

namespace insitu::daemon {
namespace {

namespace s = storage::schema;
namespace fs = std::filesystem;

bool overrides_key(const ReprocessOptions& o, const std::string& key) {
  return std::any_of(o.overrides.begin(), o.overrides.end(),
                     [&](const std::string& kv) { return kv.rfind(key + "=", 0) == 0; });
}

std::string group_of(const char* relative) { return s::entry_path(s::entry, relative); }

// The run's static mask (what the frames were integrated with), OR'ed with --mask: what the run masked stays masked.
std::vector<std::uint8_t> run_file_mask(const ReprocessOptions& o, const storage::RunFileReader& run,
                                        const std::map<std::string, std::string>& recorded, std::size_t height,
                                        std::size_t width) {
  const std::string where = s::entry_path(s::entry, s::analysis::group) + "/" + s::analysis::mask;
  std::vector<std::uint8_t> mask;
  if (auto stored = run.analysis_mask()) {
    if (stored->size() != height * width)
      throw std::runtime_error(fmt::format("{}:{} holds {} pixels, the frames {}x{}", run.path().string(), where,
                                           stored->size(), height, width));
    if (std::any_of(stored->begin(), stored->end(), [](auto m) { return m != 0; })) mask = std::move(*stored);
  } else if (auto count = recorded.find(s::analysis::mask_pixels); count != recorded.end() && count->second != "0") {
    throw std::runtime_error(run.path().string() + ": the run's analysis used a static mask of " + count->second +
                             " pixels that the run file does not store (" + where +
                             "): it cannot be reprocessed as it was analysed");
  }
  if (!o.mask_file.empty()) {
    const auto extra = read_static_mask(o.mask_file, height, width,
                                        fmt::format("the frames of {} are {}x{}", run.path().string(), height, width));
    if (mask.empty()) mask.assign(extra.size(), 0);
    for (std::size_t i = 0; i < extra.size(); ++i) mask[i] |= extra[i];
  }
  return mask;
}

}  // namespace

std::string read_text(const fs::path& path) {
  std::ifstream f(path);
  if (!f) throw std::runtime_error("cannot open " + path.string());
  std::ostringstream text;
  text << f.rdbuf();
  return text.str();
}

std::vector<float> to_float(const detector::Frame& frame) {
  return std::visit([](const auto& p) { return std::vector<float>(p.begin(), p.end()); }, frame.pixels);
}

analysis::Geometry fit_to_frames(analysis::Geometry g, std::size_t height, std::size_t width, const std::string& poni) {
  if (g.height != 0 && g.width != 0 && (g.height != height || g.width != width)) {
    if (g.height % height != 0 || g.width % width != 0 || g.height / height != g.width / width)
      throw std::runtime_error(fmt::format("{}: the PONI's detector is {}x{} pixels, the frames {}x{} (not a binning "
                                           "of it)",
                                           poni, g.height, g.width, height, width));
    const auto binning = static_cast<double>(g.height / height);
    g.pixel1_m *= binning;
    g.pixel2_m *= binning;
  }
  g.height = height, g.width = width;
  return g;
}

analysis::PipelineSettings settings_from(const ReprocessOptions& o, analysis::PipelineSettings base) {
  analysis::PipelineSettings settings = std::move(base);
  if (!o.composition.empty()) settings.apply("composition", o.composition);
  if (!o.background_file.empty()) settings.apply("background_file", o.background_file.string());
  if (!o.form_factor_file.empty()) settings.apply("form_factor_file", o.form_factor_file.string());
  for (const auto& kv : o.overrides) settings.apply(kv);
  if (settings.form_factor_file.empty()) settings.form_factor_file = form_factor_table_path().string();
  settings.validate();
  return settings;
}

ReprocessInputs run_file_inputs(const ReprocessOptions& o, const storage::RunFileReader& run, std::size_t height,
                                std::size_t width) {
  const std::string name = run.path().string();
  const auto geometry = o.poni.empty() ? run.geometry() : std::nullopt;
  const bool form_factor_flag = !o.form_factor_file.empty() || overrides_key(o, "form_factor_file");
  auto stored = form_factor_flag ? std::nullopt : run.form_factors();
  const auto recorded = run.parameters();
  std::string missing;
  if (o.poni.empty() && !geometry)
    missing += "\n  no detector geometry (" + group_of(s::detector::group) + "/" + s::detector::geometry +
               "): pass --poni FILE";
  if (!form_factor_flag && !stored) {
    const auto used = recorded.find("form_factor_file");
    missing += "\n  no form-factor coefficients (" + group_of(s::analysis::group) + "/" + s::analysis::form_factors +
               "): pass --form-factors FILE (DABAX f0_WaasKirf.dat" +
               (used == recorded.end() ? std::string() : "; the run used " + used->second) + ")";
  }
  if (!missing.empty())
    throw std::runtime_error(name + " does not record what reprocessing needs (a run from an older insitu, or "
                             "without analysis):" + missing);

  analysis::PipelineSettings base;
  base.mask = run_file_mask(o, run, recorded, height, width);
  for (const auto& [key, value] : recorded) {
    if (key == s::analysis::mask_pixels) continue;  // a count of the mask, not a setting
    try {
      base.apply(key, value);
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error(name + ":" + group_of(s::analysis::group) + "/" + s::analysis::parameters + ": " +
                               e.what());
    }
  }
  if (auto background = run.background_text(); background && !base.background_file.empty())
    base.background_text = *background;
  if (stored) base.form_factor_file = name + ":" + stored->source;  // the record names the coefficients' source

  ReprocessInputs in{settings_from(o, std::move(base)), {}, {}, {}, !recorded.empty()};
  in.geometry = geometry ? fit_to_frames(*geometry, height, width, name + ":" + group_of(s::detector::group))
                         : fit_to_frames(analysis::read_poni(o.poni), height, width, o.poni.string());
  if (!stored) {
    in.form_factors = analysis::FormFactorTable::load(in.settings.form_factor_file);
    in.form_factor_source = fs::absolute(in.settings.form_factor_file).string();
    return in;
  }
  in.form_factors = analysis::FormFactorTable::from_coefficients(stored->coefficients);
  in.form_factor_source = in.settings.form_factor_file;
  for (const auto& [symbol, amount] : analysis::parse_composition(in.settings.composition))
    if (!in.form_factors.contains(symbol)) {
      std::string have;
      for (const auto& [element, k] : stored->coefficients) have += (have.empty() ? "" : ", ") + element;
      throw std::runtime_error(name + " records form factors for " + have + " only; composition " +
                               in.settings.composition + " needs " + symbol + ": pass --form-factors FILE");
    }
  return in;
}

ReprocessInputs frames_inputs(const ReprocessOptions& o, const detector::Frame& first, const fs::path& first_path) {
  ReprocessInputs in{settings_from(o), {}, {}, {}, true};
  in.geometry = fit_to_frames(analysis::read_poni(o.poni), first.height, first.width, o.poni.string());
  const std::size_t height = in.geometry.height, width = in.geometry.width;
  if (!o.mask_file.empty())
    in.settings.mask = read_static_mask(o.mask_file, height, width,
                                        fmt::format("the frames are {}x{} ({})", height, width, first_path.string()));
  // The bytes analysed are the bytes recorded (as pipeline_settings does for a live run).
  if (!in.settings.background_file.empty() && in.settings.background_text.empty())
    in.settings.background_text = read_text(in.settings.background_file);
  in.form_factors = analysis::FormFactorTable::load(in.settings.form_factor_file);
  in.form_factor_source = fs::absolute(in.settings.form_factor_file).string();
  return in;
}

storage::AnalysisLayout reprocess_layout(const ReprocessInputs& in, analysis::AnalysisAxes axes, std::size_t height,
                                         std::size_t width) {
  storage::AnalysisLayout layout;
  layout.axes = std::move(axes);
  layout.parameters = in.settings.describe();
  for (const auto& [symbol, amount] : analysis::parse_composition(in.settings.composition))
    if (std::none_of(layout.form_factors.begin(), layout.form_factors.end(),
                     [&name = symbol](const auto& entry) { return entry.first == name; }))
      layout.form_factors.emplace_back(symbol, in.form_factors.coefficients(symbol));
  layout.form_factor_source = in.form_factor_source;
  layout.background_text = in.settings.background_text;
  if (!in.settings.background_text.empty())
    layout.background_file_name = fs::absolute(in.settings.background_file).string();
  layout.mask_height = height, layout.mask_width = width;
  layout.mask = in.settings.mask;
  return layout;
}

}  // namespace insitu::daemon
