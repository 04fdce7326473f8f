#include "daemon/check_command.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <ostream>
#include <sstream>
#include <vector>

#include "analysis/pdf/form_factors.hpp"
#include "daemon/xrd_setup.hpp"
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "drivers/io/byte_stream.hpp"
#include "drivers/io/clock.hpp"
#include "drivers/linkam/driver.hpp"
#include "protocols/recipe/recipe.hpp"

namespace insitu::daemon {
namespace {
namespace fs = std::filesystem;

// What the check finds, in order: a line on `out` for what is there, a line on `err` for each problem.
class Findings {
 public:
  Findings(std::ostream& out, std::ostream& err) : out_(out), err_(err) {}
  void found(const std::string& line) { out_ << line << '\n'; }
  void problem(const std::string& line) {
    err_ << line << '\n';
    ++problems_;
  }
  std::size_t problems() const { return problems_; }

 private:
  std::ostream& out_;
  std::ostream& err_;
  std::size_t problems_ = 0;
};

std::string absolute_path(const fs::path& path) { return fs::absolute(path).lexically_normal().string(); }

// Creates and removes a file in `dir`: the OS's reason when that cannot be done (read-only, permissions, full).
std::optional<std::string> why_not_writable(const fs::path& dir) {
  std::string name = (dir / ".insitu-check-XXXXXX").string();
  const int fd = ::mkstemp(name.data());
  if (fd < 0) return std::strerror(errno);
  ::close(fd);
  ::unlink(name.c_str());
  return std::nullopt;
}

// The run makes its run directory inside: the folder exists and takes files, or the nearest existing folder above
// it does (the run creates the rest).
void check_output(const fs::path& written, Findings& f) {
  const fs::path dir = absolute_path(written);
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    if (!fs::is_directory(dir, ec)) return f.problem(fmt::format("output folder {} is not a folder", dir.string()));
    if (const auto why = why_not_writable(dir))
      return f.problem(fmt::format("output folder {} is not writable: {}", dir.string(), *why));
    return f.found(fmt::format("output folder {}: writable", dir.string()));
  }
  fs::path above = dir.parent_path();
  while (!fs::exists(above, ec) && above != above.parent_path()) above = above.parent_path();
  if (!fs::is_directory(above, ec))
    return f.problem(
        fmt::format("output folder {} cannot be created: {} is not a folder", dir.string(), above.string()));
  if (const auto why = why_not_writable(above))
    return f.problem(
        fmt::format("output folder {} cannot be created: {} is not writable: {}", dir.string(), above.string(), *why));
  f.found(fmt::format("output folder {}: does not exist yet, the run creates it", dir.string()));
}

// A folder the run watches (relative to the working directory, as the run takes it).
void check_folder(const std::string& what, const std::string& key, const std::string& written, Findings& f) {
  const std::string dir = absolute_path(written);
  std::error_code ec;
  const auto status = fs::status(dir, ec);
  if (!fs::exists(status)) return f.problem(fmt::format("{} {} ({}) does not exist", what, dir, key));
  if (!fs::is_directory(status)) return f.problem(fmt::format("{} {} ({}) is not a folder", what, dir, key));
  if (::access(dir.c_str(), R_OK | X_OK) != 0)
    return f.problem(fmt::format("{} {} ({}) is not readable: {}", what, dir, key, std::strerror(errno)));
  f.found(fmt::format("{} {}: there", what, dir));
}

// The geometry file was found by the recipe loader (relative to the recipe's folder); here it is parsed as the run
// parses it.
void check_geometry(const recipe::DetectorSpec& detector, Findings& f) {
  if (!detector.geometry) return f.problem("the detector has no geometry (PONI) file: set detector.geometry");
  try {
    const auto g = detector_geometry(detector);
    f.found(fmt::format("geometry {}: {}x{} pixels (binning {}), distance {:.4f} m", absolute_path(*detector.geometry),
                        g.height, g.width, detector.settings.binning, g.distance_m));
  } catch (const std::exception& e) {
    f.problem(fmt::format("geometry (detector.geometry): {}", e.what()));
  }
}

// The table the analysis and the simulated detector load, with every element of the sample.
void check_form_factors(const std::string& composition, Findings& f) {
  std::string path;
  try {
    path = absolute_path(form_factor_table_path());
    const auto table = analysis::FormFactorTable::load(path);
    std::vector<std::string> missing;
    for (const auto& element : recipe::parse_composition(composition))
      if (!table.contains(element.symbol)) missing.push_back(element.symbol);
    if (!missing.empty())
      return f.problem(fmt::format("form-factor table {} has no {} (sample.composition {})", path,
                                   fmt::join(missing, ", "), composition));
    f.found(fmt::format("form-factor table {}: {} elements", path, table.size()));
  } catch (const std::exception& e) {
    f.problem(fmt::format("form-factor table: {}", e.what()));
  }
}

// The mask and the background file as the analysis reads them, then the analysis settings as a whole.
void check_analysis(const recipe::Recipe& recipe, Findings& f) {
  const auto before = f.problems();
  const auto& d = *recipe.detector;
  if (d.mask) {
    try {
      read_static_mask(
          *d.mask, static_cast<std::size_t>(d.height_px()), static_cast<std::size_t>(d.width_px()),
          fmt::format("the detector's frames are {}x{} (binning {})", d.height_px(), d.width_px(), d.settings.binning));
      f.found(fmt::format("mask {}: {}x{} pixels", absolute_path(*d.mask), d.height_px(), d.width_px()));
    } catch (const std::exception& e) {
      f.problem(fmt::format("mask (detector.mask): {}", e.what()));
    }
  }
  if (const auto& background = recipe.analysis->reduction.background) {
    if (std::ifstream(*background))
      f.found(fmt::format("background {}: readable", absolute_path(*background)));
    else
      f.problem(
          fmt::format("background {} (analysis.reduction.background) cannot be read", absolute_path(*background)));
  }
  check_form_factors(recipe.sample.composition, f);
  if (f.problems() != before) return;  // pipeline_settings would only say one of them again
  try {
    pipeline_settings(recipe);
  } catch (const std::exception& e) {
    f.problem(fmt::format("analysis settings: {}", e.what()));
  }
}

// Opens and closes a serial port or pty; a TCP endpoint is not probed.
void check_port(const std::string& what, const std::string& url_text, Findings& f) {
  std::optional<io::ConnectionUrl> url;
  try {
    url = io::parse_connection_url(url_text);
  } catch (const std::invalid_argument& e) {
    return f.problem(fmt::format("{} connection '{}': {}", what, url_text, e.what()));
  }
  if (url->kind == io::ConnectionUrl::Kind::tcp)
    return f.found(fmt::format("{} {}: TCP, not probed (connected when the run starts)", what, url->to_string()));
  try {
    io::probe_port(*url, {});
    f.found(fmt::format("{} {}: opens", what, url->to_string()));
  } catch (const std::exception& e) {
    f.problem(fmt::format("{} {}: {}", what, url->to_string(), e.what()));
  }
}

// What the stage check found. It runs before the plan is printed (the plan starts from its reading) but is reported
// after the output folder, so that the problems keep their order.
struct StageCheck {
  std::optional<std::string> found, problem;
  std::optional<linkam::Reading> reading;
  void report(Findings& f) const {
    if (found) f.found(*found);
    if (problem) f.problem(*problem);
  }
};

awaitable<std::optional<linkam::Reading>> read_once(linkam::Driver& driver) {
  co_await driver.connect();
  auto reading = co_await driver.read_status();
  driver.close();
  co_return reading;
}

// One `T` over the port: the controller answers, and says where the stage is. Nothing is sent but `T`.
std::optional<linkam::Reading> read_stage(const io::ConnectionUrl& url, std::string& why_not) {
  asio::io_context io;
  const io::RunClock clock(1.0);
  linkam::DriverSettings settings;
  settings.url = url;
  settings.attempts_per_command = 2;  // a quick look: about 2 s when nothing answers
  linkam::Driver driver(clock, settings,
                        std::make_shared<spdlog::logger>("check", std::make_shared<spdlog::sinks::null_sink_mt>()));
  std::optional<linkam::Reading> reading;
  asio::co_spawn(io, read_once(driver), [&](std::exception_ptr e, std::optional<linkam::Reading> r) {
    if (!e) {
      reading = r;
      return;
    }
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& error) {
      why_not = error.what();
    }
  });
  io.run();
  if (!reading && why_not.empty()) why_not = "no valid reply to T";
  return reading;
}

// The port opens (serial, pty) and the controller answers `T`. A controller that does not answer is reported, not
// counted as a problem: it may be switched on before the run.
StageCheck check_stage(const std::string& url_text) {
  StageCheck c;
  io::ConnectionUrl url;
  try {
    url = io::parse_connection_url(url_text);
    if (url.kind != io::ConnectionUrl::Kind::tcp) io::probe_port(url, {});
  } catch (const std::invalid_argument& e) {
    c.problem = fmt::format("stage connection '{}': {}", url_text, e.what());
    return c;
  } catch (const std::exception& e) {
    c.problem = fmt::format("stage {}: {}", url.to_string(), e.what());
    return c;
  }
  std::string why_not;
  c.reading = read_stage(url, why_not);
  if (c.reading)
    c.found = fmt::format("stage {}: opens; the controller reads {} at {:.2f} K", url.to_string(),
                          linkam::to_string(c.reading->status.state), c.reading->status.temperature_K);
  else
    c.found = fmt::format("stage {}: {}; the controller could not be read ({})", url.to_string(),
                          url.kind == io::ConnectionUrl::Kind::tcp ? "TCP" : "opens", why_not);
  return c;
}

StageCheck check_stage_port(const recipe::Recipe* recipe, const CheckOptions& options) {
  if (options.linkam_url) return check_stage(*options.linkam_url);
  if (recipe && recipe->stage.connection) return check_stage(*recipe->stage.connection);
  StageCheck c;
  if (recipe)
    c.problem = "no stage connection: give --linkam URL, set stage.connection in the recipe, or use --simulate";
  return c;
}

// Where the plan starts: the stage's reading when there is one, else the planner's assumption, said as such.
void print_plan(const recipe::Recipe& recipe, const StageCheck& stage, bool simulate, std::ostream& out) {
  constexpr double assumed_K = 295.0;
  const double start_K = stage.reading ? stage.reading->status.temperature_K : assumed_K;
  if (stage.reading)
    out << fmt::format("plan from the stage's current reading, {:.2f} K\n", start_K);
  else
    out << fmt::format("plan from an assumed start at {:.2f} K ({})\n", start_K,
                       simulate ? "--simulate: the simulated stage starts at ambient"
                                : "the stage could not be read");
  out << recipe::format_plan(recipe, recipe::estimate_plan(recipe, start_K));
}

void check_recipe_needs(const recipe::Recipe& recipe, const CheckOptions& options, Findings& f) {
  const bool exposures = recipe.detector && recipe.exposures;
  const bool analysing = exposures && recipe.analysis && recipe.analysis->enabled;
  if (options.simulate)
    f.found(
        "skipped: stage and trigger ports, detector frames and DMA export folders (--simulate: the simulators "
        "stand in)");
  if (exposures) {
    check_geometry(*recipe.detector, f);
    if (!options.simulate) {
      check_folder("detector frames folder", "detector.frames.folder", recipe.detector->frames.folder, f);
      check_port("trigger", recipe.detector->trigger.connection, f);
    }
  }
  if (recipe.dma && !options.simulate) check_folder("DMA export folder", "dma.folder", recipe.dma->folder, f);
  if (analysing)
    check_analysis(recipe, f);
  else if (exposures && options.simulate)
    check_form_factors(recipe.sample.composition, f);  // the simulated detector renders with it
}

}  // namespace

int run_check(const CheckOptions& options, std::ostream& out, std::ostream& err) {
  Findings f(out, err);
  std::optional<recipe::Recipe> recipe;
  try {
    recipe = recipe::load_recipe(options.recipe_path);
  } catch (const recipe::RecipeError& e) {
    std::istringstream lines(e.what());
    for (std::string line; std::getline(lines, line);) f.problem(line);
  }
  const StageCheck stage = options.simulate ? StageCheck{} : check_stage_port(recipe ? &*recipe : nullptr, options);
  if (recipe) print_plan(*recipe, stage, options.simulate, out);
  if (options.output)
    check_output(*options.output, f);
  else if (recipe)
    check_output(recipe->output_directory, f);
  stage.report(f);
  if (recipe) check_recipe_needs(*recipe, options, f);
  if (f.problems() == 0) {
    out << "ready: insitu run will find everything it needs\n";
    return 0;
  }
  err << "not ready: " << f.problems() << (f.problems() == 1 ? " problem\n" : " problems\n");
  return 2;
}

}  // namespace insitu::daemon
