#pragma once
// Recipe v1: the YAML description of one in-situ temperature programme (see config/README.md).
// Parsing and planning are pure: no I/O except load_recipe(), which only reads the file.

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace insitu::recipe {

struct Stabilise {
  double tolerance_K;
  double dwell_s;
  double timeout_s;
};

struct Hold {
  double temperature_K;
  double approach_rate_K_per_min;
  std::optional<double> duration_s;
  std::optional<Stabilise> until_stable;
};

struct Ramp {
  double to_K;
  double rate_K_per_min;
};

struct Segment {
  // "1 hold 93.15 K", "2 ramp to 873.15 K"; inside repeats the path of positions plus the
  // pass, e.g. "3.2 ramp to 400 K (pass 2/3)", so every expanded segment has a unique label.
  std::string label;
  std::variant<Hold, Ramp> action;
  int line;  // 1-based source line of the segment in the recipe
};

enum class SafeState { stop, hold };

struct StageSpec {
  std::string model;
  double min_K;  // model range, narrowed by the recipe's min_K/max_K
  double max_K;
  double max_rate_K_per_min;
  double poll_interval_s;
  std::optional<std::string> connection;
};

struct Sample {
  std::string name, composition, treatment, description;
};

struct Recipe {
  std::string source_path;
  std::string text;  // verbatim, so a run can archive exactly what it executed
  std::string name;
  Sample sample;
  StageSpec stage;
  std::vector<Segment> program;  // repeats expanded
  SafeState safe_state;
  std::string output_directory;
};

// what() is "FILE:LINE:COLUMN: reason" (1-based); several errors are joined one per line.
class RecipeError : public std::runtime_error {
  using runtime_error::runtime_error;
};

Recipe parse_recipe(std::string_view yaml_text, const std::string& source_name);
Recipe load_recipe(const std::filesystem::path& path);

struct Element {
  std::string symbol;
  double amount;
};
// "Cu44Zr44Al8Hf2Co2" -> {Cu 44, Zr 44, Al 8, Hf 2, Co 2}; amounts as written (an omitted amount is 1).
// Throws std::invalid_argument naming the byte offset and the reason.
std::vector<Element> parse_composition(std::string_view formula);

// Duration estimate (see config/README.md): ramps at their rate, cooling capped by the LN2 limit
// max_cooling_rate_K_per_min(T); holds approach at their rate, then last duration_s or the dwell.
struct PlannedSegment {
  std::string label;
  double start_K, end_K, duration_s;  // duration_s is +inf for a cooling target at or below the LN2 floor
  std::string description;
};
struct Plan {
  std::vector<PlannedSegment> segments;
  double total_s;
};
Plan estimate_plan(const Recipe&, double initial_K = 295.0);
std::string format_plan(const Recipe&, const Plan&);

// LN2 cooling capacity of the THMS600 + LNP: 60*((T - 83)/190)^1.5 K/min, 0 at and below 83 K.
double max_cooling_rate_K_per_min(double temperature_K);
// Time to change temperature from from_K to to_K at rate_K_per_min, cooling capped as above.
double transition_time_s(double from_K, double to_K, double rate_K_per_min);

}  // namespace insitu::recipe
