#include "daemon/run_command.hpp"

#include <unistd.h>

#include <csignal>
#include <mutex>
#include <cstdio>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "daemon/storage/run_file.hpp"
#include "drivers/io/clock.hpp"
#include "drivers/linkam/driver.hpp"
#include "drivers/linkam/sim/background_stage.hpp"
#include "protocols/engine/engine.hpp"
#include "protocols/recipe/recipe.hpp"

namespace insitu::daemon {
namespace {

std::string safe_file_name(std::string_view text) {
  std::string out;
  for (char c : text) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') ? c : '_';
  return out;
}

std::filesystem::path make_run_directory(const std::filesystem::path& output, const std::string& sample) {
  const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  auto dir = output / fmt::format("{:%Y%m%dT%H%M%SZ}-{}", now, safe_file_name(sample));
  for (int n = 2; std::filesystem::exists(dir); ++n)
    dir = output / fmt::format("{:%Y%m%dT%H%M%SZ}-{}-{}", now, safe_file_name(sample), n);
  std::filesystem::create_directories(dir);
  return dir;
}

// Console log lines that first clear the live status line, so the two never share a row of the terminal.
class StatusAwareConsoleSink final : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    std::fputs("\r\033[K", stderr);
    std::fwrite(formatted.data(), 1, formatted.size(), stderr);
  }
  void flush_() override { std::fflush(stderr); }
};

// Samples and events go to the run file (its own thread) as they happen.
class RunRecorder final : public program::RunObserver {
 public:
  explicit RunRecorder(storage::RunFile& file) : file_(file) {}
  void on_sample(const program::StageSample& s) override {
    file_.append(storage::TemperatureSample{s.time_s, s.temperature_K, s.setpoint_K, s.status_byte, s.error_byte,
                                            s.pump_byte});
  }
  void on_event(const program::ProgramEvent& e) override {
    file_.append(storage::RunEvent{e.time_s, e.kind, e.message});
  }
  void on_driver_event(double time_s, const std::string& kind, const std::string& message) {
    file_.append(storage::RunEvent{time_s, kind, message});
  }

 private:
  storage::RunFile& file_;
};

std::string format_duration(double s) {
  const auto total = static_cast<long>(std::max(0.0, s));
  return fmt::format("{}:{:02d}:{:02d}", total / 3600, (total / 60) % 60, total % 60);
}

}  // namespace

int run_recipe(const RunOptions& options) {
  recipe::Recipe recipe;
  try {
    recipe = recipe::load_recipe(options.recipe_path);
  } catch (const recipe::RecipeError& e) {
    fmt::print(stderr, "{}\n", e.what());
    return 2;
  }

  const io::RunClock clock(options.speed);
  const auto output = options.output.value_or(std::filesystem::path(recipe.output_directory));
  const auto run_dir = make_run_directory(output, recipe.sample.name);

  auto file_sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>((run_dir / "run.log").string());
  const bool live_status = options.live_status.value_or(::isatty(STDOUT_FILENO) == 1);
  // On a terminal the status line carries progress, so only warnings and faults are logged there.
  spdlog::sink_ptr console;
  if (live_status) console = std::make_shared<StatusAwareConsoleSink>();
  else console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  console->set_level(live_status ? spdlog::level::warn : spdlog::level::info);
  auto make_logger = [&](const std::string& name) {
    auto logger = std::make_shared<spdlog::logger>(name, spdlog::sinks_init_list{console, file_sink});
    logger->set_level(spdlog::level::debug);
    logger->flush_on(spdlog::level::info);
    return logger;
  };
  auto log = make_logger("insitu.run");

  std::unique_ptr<linkam::sim::BackgroundStage> simulator;
  std::string url_text;
  if (options.simulate) {
    simulator = std::make_unique<linkam::sim::BackgroundStage>(clock, run_dir / "ttyLinkam-sim");
    url_text = simulator->url();
  } else if (options.linkam_url) {
    url_text = *options.linkam_url;
  } else if (recipe.stage.connection) {
    url_text = *recipe.stage.connection;
  } else {
    log->error("no stage connection: give --linkam URL, set stage.connection in the recipe, or use --simulate");
    return 2;
  }

  linkam::DriverSettings driver_settings;
  try {
    driver_settings.url = io::parse_connection_url(url_text);
  } catch (const std::invalid_argument& e) {
    log->error("{}", e.what());
    return 2;
  }
  driver_settings.limits = {recipe.stage.min_K, recipe.stage.max_K, recipe.stage.max_rate_K_per_min};

  storage::RunMetadata meta;
  meta.program_version = INSITU_VERSION;
  meta.recipe_name = recipe.name;
  meta.recipe_path = std::filesystem::absolute(options.recipe_path).string();
  meta.recipe_text = recipe.text;
  meta.sample_name = recipe.sample.name;
  meta.sample_composition = recipe.sample.composition;
  meta.sample_treatment = recipe.sample.treatment;
  meta.sample_description = recipe.sample.description;
  meta.start_time_iso = clock.iso8601_at(0.0);
  meta.clock_speed = options.speed;
  meta.simulated = options.simulate;
  meta.stage_model = recipe.stage.model;
  meta.stage_connection = url_text;
  std::unique_ptr<storage::RunFile> run_file;
  try {
    run_file = storage::RunFile::create(run_dir / "run.h5", meta);
  } catch (const std::exception& e) {
    log->error("cannot create the run file: {}", e.what());
    return 2;
  }
  log->info("run directory {}", run_dir.string());

  asio::io_context io;
  linkam::Driver stage(io.get_executor(), clock, driver_settings, make_logger("insitu.linkam"));
  RunRecorder recorder(*run_file);
  stage.set_event_handler([&](double t, const std::string& kind, const std::string& message) {
    recorder.on_driver_event(t, kind, message);
  });
  program::Engine engine(clock, stage, recipe, recorder, log);

  // SIGINT/SIGTERM abort (the engine secures the stage first); SIGUSR1 pauses, SIGUSR2 resumes.
  asio::signal_set signals(io, SIGINT, SIGTERM, SIGUSR1);
  signals.add(SIGUSR2);
  std::function<void(const boost::system::error_code&, int)> on_signal = [&](const boost::system::error_code& ec,
                                                                             int signo) {
    if (ec) return;
    if (signo == SIGUSR1) engine.pause();
    else if (signo == SIGUSR2) engine.resume();
    else engine.abort(fmt::format("signal {}", signo == SIGINT ? "SIGINT" : "SIGTERM"));
    signals.async_wait(on_signal);
  };
  signals.async_wait(on_signal);

  program::RunState outcome = program::RunState::failed;
  bool finished = false;
  asio::co_spawn(
      io,
      [&]() -> awaitable<void> {
        try {
          co_await stage.connect();
          outcome = co_await engine.run();
        } catch (const std::exception& e) {
          log->error("{}", e.what());
          run_file->append(storage::RunEvent{clock.now_s(), "fault", e.what()});
        }
        finished = true;
        signals.cancel();
      },
      asio::detached);

  // Watch the writer (a full disk stops the run: the stage is secured, what was flushed stays) and draw
  // the live status line, both on the loop.
  asio::steady_timer status_timer(io);
  std::function<void(const boost::system::error_code&)> on_status = [&](const boost::system::error_code& ec) {
    if (ec || finished) return;
    if (auto error = run_file->error()) engine.abort(fmt::format("run file error: {}", *error));
    if (live_status) {
      const auto p = engine.progress();
      fmt::print("\r\033[K[{}] {}/{} {} | T {} K | setpoint {:.2f} K | elapsed {} | ETA {}",
                 program::to_string(p.state), p.segment_index + 1, p.segment_count, p.segment_label,
                 p.temperature_K ? fmt::format("{:.2f}", *p.temperature_K) : "--", p.setpoint_K,
                 format_duration(p.time_s), format_duration(p.eta_s));
      std::fflush(stdout);
    }
    status_timer.expires_after(std::chrono::milliseconds(200));
    status_timer.async_wait(on_status);
  };
  status_timer.expires_after(std::chrono::milliseconds(200));
  status_timer.async_wait(on_status);

  io.run();
  if (live_status) fmt::print("\n");
  stage.close();

  const std::string status{program::to_string(outcome)};
  run_file->finish(clock.now_s(), status);
  if (auto error = run_file->error()) log->error("run file: {}", *error);
  const auto outcome_line =
      fmt::format("run {} after {:.0f} s of run time; file {}", status, clock.now_s(), run_file->path().string());
  log->info("{}", outcome_line);
  if (live_status) fmt::print("{}\n", outcome_line);
  return outcome == program::RunState::completed ? 0 : 1;
}

}  // namespace insitu::daemon
