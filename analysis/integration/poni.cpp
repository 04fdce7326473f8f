// PONI reader, versions 1 and 2, following pyFAI 0.21.3 io/ponifile.py: "key: value" lines, keys
// case-insensitive, '#' comments. Detector shapes come from a small table of the detectors we use or
// from Detector_config's max_shape.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "analysis/integration/geometry.hpp"

namespace insitu::analysis {
namespace {

struct Entry {
  std::string value;
  std::size_t line = 0;
};

std::string trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t\r");
  return std::string(s.substr(first, last - first + 1));
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// Detector names compare case-insensitively, ignoring spaces, '_' and '-' (pyFAI's factory is similarly lax).
std::string normalized_detector_name(const std::string& name) {
  std::string out;
  for (unsigned char c : name)
    if (!std::isspace(c) && c != '_' && c != '-') out.push_back(static_cast<char>(std::tolower(c)));
  return out;
}

[[noreturn]] void fail(const std::string& name, std::size_t line, const std::string& why) {
  std::ostringstream os;
  os << name;
  if (line > 0) os << ':' << line;
  os << ": " << why;
  throw std::runtime_error(os.str());
}

double parse_double(const std::string& name, const std::string& key, const Entry& e) {
  double v = 0.0;
  const char* begin = e.value.data();
  const char* end = begin + e.value.size();
  const auto [ptr, ec] = std::from_chars(begin, end, v);
  if (ec != std::errc() || ptr != end || !std::isfinite(v))
    fail(name, e.line, "value of '" + key + "' is not a finite number: '" + e.value + "'");
  return v;
}

struct KnownDetector {
  const char* name;
  double pixel_m;
  std::size_t height, width;
  // Detectors whose shape follows binning: shape = sensor extent / pixel size.
  bool binnable;
};

// Perkin: pyFAI's 4096^2 x 100 um sensor, by default shown 2x2 binned as 2048^2 x 200 um (an XRD1621).
constexpr KnownDetector known_detectors[] = {
    {"perkin", 200e-6, 2048, 2048, true},
    {"perkinelmer", 200e-6, 2048, 2048, true},
    {"perkindetector", 200e-6, 2048, 2048, true},
    {"pilatus1m", 172e-6, 1043, 981, false},
};

void apply_detector(Geometry& g, const std::string& name, const std::string& detector, std::size_t line,
                    const nlohmann::json* config) {
  g.detector = detector;
  const std::string key = normalized_detector_name(detector);
  const KnownDetector* known = nullptr;
  for (const auto& k : known_detectors)
    if (key == k.name) known = &k;
  if (known != nullptr) {
    g.pixel1_m = g.pixel2_m = known->pixel_m;
    g.height = known->height;
    g.width = known->width;
  }
  if (config != nullptr) {
    auto number = [&](const char* field) -> std::optional<double> {
      if (!config->contains(field)) return std::nullopt;
      const auto& v = (*config)[field];
      if (!v.is_number() || !(v.get<double>() > 0.0))
        fail(name, line, std::string("Detector_config field '") + field + "' must be a positive number");
      return v.get<double>();
    };
    if (auto p1 = number("pixel1")) g.pixel1_m = *p1;
    if (auto p2 = number("pixel2")) g.pixel2_m = *p2;
    if (known != nullptr && known->binnable) {
      // Binning changes the pixel size and the shape together; the sensor extent stays.
      g.height = static_cast<std::size_t>(std::lround(known->height * known->pixel_m / g.pixel1_m));
      g.width = static_cast<std::size_t>(std::lround(known->width * known->pixel_m / g.pixel2_m));
    }
    if (config->contains("max_shape")) {
      const auto& s = (*config)["max_shape"];
      if (!s.is_array() || s.size() != 2 || !s[0].is_number_unsigned() || !s[1].is_number_unsigned() ||
          s[0].get<std::size_t>() == 0 || s[1].get<std::size_t>() == 0)
        fail(name, line, "Detector_config 'max_shape' must be [rows, columns] of positive integers");
      g.height = s[0].get<std::size_t>();
      g.width = s[1].get<std::size_t>();
    }
  }
  if (known == nullptr && key != "detector" && (config == nullptr || !config->contains("max_shape")))
    fail(name, line,
         "unsupported detector '" + detector +
             "' (known: Perkin, Pilatus1M, or Detector with pixel1/pixel2/max_shape in Detector_config)");
}

}  // namespace

Geometry parse_poni(std::string_view text, const std::string& name) {
  std::map<std::string, Entry> entries;
  std::size_t line_no = 0;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    const std::string_view raw = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++line_no;
    const std::string line = trim(raw);
    if (line.empty() || line.front() == '#') continue;
    const auto colon = line.find(':');
    if (colon == std::string::npos) fail(name, line_no, "expected 'Key: value', got '" + line + "'");
    const std::string key = lower(trim(std::string_view(line).substr(0, colon)));
    if (key.empty()) fail(name, line_no, "empty key before ':'");
    if (entries.contains(key)) fail(name, line_no, "duplicate key '" + key + "'");
    entries[key] = Entry{trim(std::string_view(line).substr(colon + 1)), line_no};
  }

  auto find = [&](const std::string& key) -> const Entry* {
    const auto it = entries.find(key);
    return it == entries.end() ? nullptr : &it->second;
  };
  auto required = [&](const std::string& key, const char* label) {
    const Entry* e = find(key);
    if (e == nullptr) fail(name, 0, std::string("missing required key '") + label + "'");
    return parse_double(name, label, *e);
  };

  long version = 1;
  if (const Entry* e = find("poni_version")) {
    const double v = parse_double(name, "poni_version", *e);
    if (v != 1.0 && v != 2.0)
      fail(name, e->line, "unsupported poni_version '" + e->value + "' (supported: 1, 2)");
    version = std::lround(v);
  }

  Geometry g;
  const Entry* detector = find("detector");
  if (version == 2) {
    if (detector == nullptr) fail(name, 0, "poni_version 2 requires a 'Detector' key");
    const Entry* cfg = find("detector_config");
    if (cfg == nullptr) fail(name, 0, "poni_version 2 requires a 'Detector_config' key");
    nlohmann::json config;
    try {
      config = nlohmann::json::parse(cfg->value);
    } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for a number like 1e11111
      fail(name, cfg->line, std::string("Detector_config is not valid JSON: ") + e.what());
    }
    if (!config.is_object()) fail(name, cfg->line, "Detector_config must be a JSON object");
    apply_detector(g, name, detector->value, detector->line, &config);
  } else {
    if (detector != nullptr) apply_detector(g, name, detector->value, detector->line, nullptr);
    const Entry* p1 = find("pixelsize1");
    const Entry* p2 = find("pixelsize2");
    if (p1 != nullptr) g.pixel1_m = parse_double(name, "PixelSize1", *p1);
    if (p2 != nullptr) g.pixel2_m = parse_double(name, "PixelSize2", *p2);
    if (const Entry* spline = find("splinefile"); spline != nullptr && lower(spline->value) != "none")
      fail(name, spline->line, "spline distortion files are not supported ('" + spline->value + "')");
  }
  if (!(g.pixel1_m > 0.0) || !(g.pixel2_m > 0.0))
    fail(name, 0, "pixel size unknown: give PixelSize1/PixelSize2 (v1) or a known Detector");

  g.distance_m = find("distance") != nullptr ? required("distance", "Distance") : required("dist", "Distance");
  if (!(g.distance_m > 0.0)) fail(name, find("distance") ? find("distance")->line : 0, "Distance must be > 0");
  g.poni1_m = required("poni1", "Poni1");
  g.poni2_m = required("poni2", "Poni2");
  g.rot1_rad = required("rot1", "Rot1");
  g.rot2_rad = required("rot2", "Rot2");
  g.rot3_rad = required("rot3", "Rot3");
  g.wavelength_m = required("wavelength", "Wavelength");
  if (!(g.wavelength_m > 0.0)) fail(name, find("wavelength")->line, "Wavelength must be > 0");
  return g;
}

Geometry read_poni(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path.string() + ": cannot open PONI file");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_poni(text.str(), path.string());
}

}  // namespace insitu::analysis
