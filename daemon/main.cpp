// insitu: acquisition daemon for in-situ X-ray diffraction temperature ramps.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <iostream>

#include "daemon/dma_command.hpp"
#include "daemon/reprocess_command.hpp"
#include "daemon/run_command.hpp"
#include "daemon/summary.hpp"
#include "drivers/io/serial_ports.hpp"
#include "protocols/recipe/recipe.hpp"

namespace {

int check_recipe(const std::filesystem::path& path) {
  try {
    const auto recipe = insitu::recipe::load_recipe(path);
    fmt::print("{}", insitu::recipe::format_plan(recipe, insitu::recipe::estimate_plan(recipe)));
    return 0;
  } catch (const insitu::recipe::RecipeError& e) {
    fmt::print(stderr, "{}\n", e.what());
    return 2;
  }
}

int list_ports() {
  const auto ports = insitu::io::list_serial_ports();
  if (ports.empty()) fmt::print("no serial ports found\n");
  for (const auto& p : ports) {
    fmt::print("{:<16} {:<9} {}", p.device, p.transport, p.description);
    if (p.usb) {
      fmt::print("  url: serial://usb?vid={:04x}&pid={:04x}{}", p.usb->vid, p.usb->pid,
                 p.usb->serial_number ? "&serial=" + *p.usb->serial_number : "");
    }
    fmt::print("\n");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"insitu: in-situ X-ray diffraction temperature ramps, unattended, from one YAML recipe"};
  app.require_subcommand(1);
  app.set_version_flag("--version", INSITU_VERSION);

  insitu::daemon::RunOptions run;
  insitu::daemon::SimulationSettings simulation;
  std::string linkam_url;
  std::string output;
  auto* run_cmd = app.add_subcommand("run", "run a recipe (against hardware, or --simulate)");
  run_cmd->add_option("recipe", run.recipe_path, "recipe YAML file")->required()->check(CLI::ExistingFile);
  run_cmd->add_flag("--simulate", run.simulate, "start the simulated stage behind a pseudo-terminal");
  run_cmd->add_option("--speed", run.speed, "run-clock speed factor (e.g. 600 with --simulate)")
      ->check(CLI::PositiveNumber);
  run_cmd->add_option("--analysis-workers", run.analysis_workers, "analysis threads (default 1)")
      ->check(CLI::Range(1, 64));
  run_cmd->add_option("--sim-seed", simulation.seed, "noise seed of the simulated detector (with --simulate)");
  run_cmd->add_option("--linkam", linkam_url, "stage connection URL (serial:///dev/ttyUSB0, pty:PATH, tcp://H:P)");
  run_cmd->add_option("--output", output, "directory for run directories (default: the recipe's output.directory)");

  std::filesystem::path check_path;
  auto* check_cmd = app.add_subcommand("check", "validate a recipe and print its plan and estimated duration");
  check_cmd->add_option("recipe", check_path, "recipe YAML file")->required()->check(CLI::ExistingFile);

  auto* ports_cmd = app.add_subcommand("ports", "list serial ports with their USB identities");

  std::filesystem::path summary_path;
  auto* summary_cmd = app.add_subcommand("summary", "print a short summary of a run file");
  summary_cmd->add_option("run_file", summary_path, "run.h5")->required()->check(CLI::ExistingFile);

  insitu::daemon::DmaOptions dma;
  double dma_tg_K = 0;
  auto* dma_cmd = app.add_subcommand("dma", "fit TA DHR-3 TRIOS exports (Cole-Cole, Arrhenius) into an HDF5 file");
  dma_cmd->add_option("exports", dma.exports, "TRIOS exports (LIMS text, plain text, CSV, JSON)")->required();
  dma_cmd->add_option("-o,--output", dma.output, "output HDF5 file (never overwritten)")->required();
  auto* tg_option = dma_cmd->add_option("--tg", dma_tg_K, "glass transition in K, for the T/T_g overlay");

  auto* reprocess_cmd = app.add_subcommand(
      "reprocess", "re-run the analysis on a run file's raw frames, or on frames taken elsewhere (see --help)");
  reprocess_cmd->allow_extras();
  reprocess_cmd->prefix_command();
  reprocess_cmd->set_help_flag();  // run_reprocess prints its own usage

  CLI11_PARSE(app, argc, argv);

  if (*run_cmd) {
    if (!linkam_url.empty()) run.linkam_url = linkam_url;
    if (!output.empty()) run.output = output;
    if (run.speed != 1.0 && !run.simulate) {
      fmt::print(stderr, "--speed other than 1 needs --simulate: real hardware runs in real time\n");
      return 2;
    }
    return insitu::daemon::run_recipe(run, simulation);
  }
  if (*check_cmd) return check_recipe(check_path);
  if (*ports_cmd) return list_ports();
  if (*summary_cmd) return insitu::daemon::print_summary(summary_path);
  if (*dma_cmd) {
    if (*tg_option) dma.glass_transition_K = dma_tg_K;
    return insitu::daemon::run_dma(dma, std::cout, std::cerr);
  }
  if (*reprocess_cmd) return insitu::daemon::run_reprocess(reprocess_cmd->remaining(), std::cout, std::cerr);
  return 2;
}
