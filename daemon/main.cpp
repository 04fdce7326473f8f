// insitu: acquisition daemon for in-situ X-ray diffraction temperature ramps.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <pthread.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdint>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "daemon/check_command.hpp"
#include "daemon/client/cli.hpp"
#include "daemon/compare_command.hpp"
#include "daemon/dma_command.hpp"
#include "daemon/dsc_command.hpp"
#include "daemon/export_command.hpp"
#include "daemon/host.hpp"
#include "daemon/recipe_schema.hpp"
#include "daemon/reprocess_command.hpp"
#include "daemon/run_command.hpp"
#include "daemon/storage/killed_file.hpp"
#include "daemon/summary.hpp"
#include "daemon/web/report.hpp"
#include "drivers/io/serial_ports.hpp"

namespace {

// Edits (insert, delete, substitute, swap two neighbours) from a to b.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i)
    for (std::size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

// libhdf5 1.10.8 follows a damaged file's cyclic local-heap free list, allocating until memory runs out (one 238 KB
// file: 20 GB in 2 min, tests/data/damaged/). So the commands that read files run under a ceiling on their address
// space: such a file ends in HDF5's own allocation error, one line, instead of the kernel's OOM killer choosing a
// victim, perhaps the insitud beside it. The sanitizers' shadow memory is address space: their builds run without.
// 2 GiB holds what these commands read (metadata and the run's columns) and ends such a file in about 10 s.
constexpr std::uint64_t kReaderAddressSpace = std::uint64_t{2} << 30;

// reprocess adds per analysis worker (one a core by default) its pipeline, frames in flight, stack and malloc arena.
std::uint64_t reprocess_address_space() {
  return kReaderAddressSpace + (std::uint64_t{256} << 20) * std::max(1u, std::thread::hardware_concurrency());
}

void limit_address_space([[maybe_unused]] std::uint64_t bytes) {
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
  rlimit limit{};
  if (::getrlimit(RLIMIT_AS, &limit) != 0 || limit.rlim_cur <= bytes) return;
  limit.rlim_cur = bytes;
  ::setrlimit(RLIMIT_AS, &limit);
#endif
}

// CLI11 has no suggestions: a first word that is no command is refused here, with the closest command when one is
// near (at most a third of its letters off, and at least one).
std::optional<std::string> unknown_command(const CLI::App& app, int argc, char** argv) {
  if (argc < 2 || argv[1][0] == '-') return std::nullopt;
  const std::string word = argv[1];
  std::vector<std::string> names;
  for (const auto* sub : app.get_subcommands({})) names.push_back(sub->get_name());
  if (std::find(names.begin(), names.end(), word) != names.end()) return std::nullopt;
  const auto closest = std::min_element(names.begin(), names.end(), [&](const auto& a, const auto& b) {
    return edit_distance(word, a) < edit_distance(word, b);
  });
  if (closest != names.end() && edit_distance(word, *closest) <= std::max<std::size_t>(1, closest->size() / 3))
    return fmt::format("unknown command '{}'; did you mean '{}'?", word, *closest);
  return fmt::format("unknown command '{}'; commands: {}", word, fmt::join(names, ", "));
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

// A run file left by a killed process, made writable again in place after a copy to FILE.bak (never h5clear's
// truncating form: daemon/storage/killed_file.hpp). 0 recovered or nothing to do, 1 it cannot be.
int recover(const std::filesystem::path& file, bool backup) {
  namespace st = insitu::storage;
  if (st::writer_alive(file)) {
    fmt::print(stderr, "{}: still being written by a running insitu; nothing done\n", file.string());
    return 1;
  }
  std::filesystem::path copy = file.string() + ".bak";
  for (int n = 2; backup && std::filesystem::exists(copy); ++n) copy = file.string() + ".bak" + std::to_string(n);
  if (backup) std::filesystem::copy_file(file, copy);
  st::Recovery outcome{};
  try {
    outcome = st::recover_killed_file(file);
  } catch (const std::exception&) {  // untouched: the copy would only be clutter
    if (backup) std::filesystem::remove(copy);
    throw;
  }
  if (outcome == st::Recovery::not_needed) {
    if (backup) std::filesystem::remove(copy);
    fmt::print("{}: opens for writing as it is; nothing to recover\n", file.string());
    return 0;
  }
  fmt::print("{}: recovered (status flags cleared, nothing truncated){}\n", file.string(),
             backup ? "; the file as it was: " + copy.string() : "");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // `insitu run` holds SIGINT, SIGTERM and SIGHUP from its first instruction to its exit: one that comes before the
  // run exists must not end the process halfway through making it (run_recipe takes them up; README, signals).
  if (argc > 1 && std::string_view(argv[1]) == "run") {
    const auto control = insitu::daemon::ControlSignalsBlocked::signals();
    pthread_sigmask(SIG_BLOCK, &control, nullptr);
  }
  CLI::App app{"insitu: in-situ X-ray diffraction temperature ramps, unattended, from one YAML recipe"};
  app.require_subcommand(1);
  app.set_version_flag("--version", INSITU_VERSION);

  insitu::daemon::RunOptions run;
  insitu::daemon::SimulationSettings simulation;
  std::string linkam_url, zmq_address;
  std::string output;
  auto* run_cmd = app.add_subcommand("run", "run a recipe (against hardware, or --simulate)");
  run_cmd->add_option("recipe", run.recipe_path, "recipe YAML file")->required()->check(CLI::ExistingFile);
  run_cmd->add_flag("--simulate", run.simulate, "start the simulated stage behind a pseudo-terminal");
  run_cmd->add_option("--speed", run.speed, "run-clock speed factor (e.g. 600 with --simulate)")
      ->check(CLI::PositiveNumber);
  run_cmd->add_option("--analysis-workers", run.analysis_workers, "analysis threads (default: every core but one, at least 1)")
      ->check(CLI::Range(1, 64));
  run_cmd->add_option("--sim-seed", simulation.seed, "noise seed of the simulated detector (with --simulate)");
  run_cmd->add_option("--linkam", linkam_url, "stage connection URL (serial:///dev/ttyUSB0, pty:PATH, tcp://H:P)");
  run_cmd->add_option("--output", output, "directory for run directories (default: the recipe's output.directory)");
  run_cmd->add_option("--zmq", zmq_address,
                      "publish Bluesky event-model documents on this ZeroMQ address (tcp://127.0.0.1:5577, ipc://PATH) "
                      "for bluesky.callbacks.zmq.RemoteDispatcher(address, deserializer=json.loads)");
  run_cmd->add_flag("--bluesky-jsonl,!--no-bluesky-jsonl", run.bluesky_jsonl,
                    "write the run's event-model documents to run.documents.jsonl beside run.h5 (default on)");

  insitu::daemon::CheckOptions check;
  std::string check_linkam_url, check_output;
  auto* check_cmd = app.add_subcommand(
      "check", "validate a recipe, print its plan, and check everything `run` needs (folders, files, ports)");
  check_cmd->add_option("recipe", check.recipe_path, "recipe YAML file")->required()->check(CLI::ExistingFile);
  check_cmd->add_flag("--simulate", check.simulate,
                      "as `run --simulate`: the ports and instrument folders are not checked");
  check_cmd->add_option("--linkam", check_linkam_url, "stage connection URL, as for `run`");
  check_cmd->add_option("--output", check_output, "directory for run directories, as for `run`");

  auto* ports_cmd = app.add_subcommand("ports", "list serial ports with their USB identities");
  auto* schema_cmd = app.add_subcommand("schema", "print a JSON Schema: `insitu schema recipe > config/recipe.schema.json`");
  std::string schema_name;
  schema_cmd->add_option("format", schema_name, "the format (recipe)")->required()->check(CLI::IsMember({"recipe"}));

  std::filesystem::path summary_path;
  auto* summary_cmd = app.add_subcommand("summary", "print a short summary of a run file");
  summary_cmd->add_option("run_file", summary_path, "run.h5")->required()->check(CLI::ExistingFile);

  std::filesystem::path report_path, report_output;
  auto* report_cmd = app.add_subcommand("report", "write one self-contained HTML report of a run (or compare/dma) file");
  report_cmd->add_option("run_file", report_path, "run.h5")->required()->check(CLI::ExistingFile);
  report_cmd->add_option("-o,--output", report_output, "the HTML file (default: report.html beside the run file)");

  insitu::daemon::DmaOptions dma;
  double dma_tg_K = 0;
  auto* dma_cmd = app.add_subcommand("dma", "fit TA DHR-3 TRIOS exports (Cole-Cole, Arrhenius) into an HDF5 file");
  dma_cmd->add_option("exports", dma.exports, "TRIOS exports (LIMS text, plain text, CSV, JSON) and folders of them")
      ->required();
  dma_cmd->add_option("-o,--output", dma.output, "output HDF5 file (never overwritten)")->required();
  auto* tg_option = dma_cmd->add_option("--tg", dma_tg_K, "glass transition in K, for the T/T_g overlay");
  std::string dma_sample;
  auto* sample_option = dma_cmd->add_option(
      "--sample", dma_sample, "take only this sample's exports (exports without a sample name are taken as it)");

  insitu::daemon::DscOptions dsc;
  double dsc_mass_mg = 0;
  std::filesystem::path dsc_run;
  auto* dsc_cmd = app.add_subcommand("dsc", "DSC exports (Mettler STARe, TA, NETZSCH) in W/g, beside a run's delta phi_eq");
  dsc_cmd->add_option("exports", dsc.exports, "DSC text exports")->required()->check(CLI::ExistingFile);
  auto* mass_option = dsc_cmd->add_option("--mass-mg", dsc_mass_mg, "sample mass in mg (replaces the headers')")
                          ->check(CLI::PositiveNumber);
  dsc_cmd->add_option("--run", dsc_run, "run file whose delta phi_eq the heat flow is laid beside")
      ->check(CLI::ExistingFile);
  dsc_cmd->add_option("-o,--output", dsc.output, "output HDF5 file (never overwritten)")->required();

  insitu::daemon::CompareOptions compare;
  std::vector<double> liquid_window_K;
  std::filesystem::path compare_reference;
  auto* compare_cmd = app.add_subcommand("compare", "sample states side by side: S_eq shifted onto a reference in the "
                                                    "liquid, dS_eq, delta phi_eq and G(r) (paper Figs. 1c, 2, 3b)");
  compare_cmd->add_option("runs", compare.runs, "run files (run.h5) of one alloy in different states")
      ->required()
      ->check(CLI::ExistingFile);
  compare_cmd->add_option("--reference", compare_reference, "the state the others are shifted onto (default: the first)")
      ->check(CLI::ExistingFile);
  compare_cmd->add_option("-o,--output", compare.output, "output HDF5 file (never overwritten)")->required();
  compare_cmd->add_option("--liquid-window", liquid_window_K, "LO HI in K: the window the shifts are found in "
                                                               "(default: between T_g and crystallisation, per run)")
      ->expected(2);
  compare_cmd->add_option("--at", compare.table_temperatures_K, "temperatures (K) of the printed dS_eq (default 300 400 500 600)");
  compare_cmd->add_option("--pdf-temperature", compare.pdf_temperature_K, "temperature (K) of the G(r) shown (default 300)");
  compare_cmd->add_option("--step", compare.step_K, "temperature grid step in K (default 2)")->check(CLI::PositiveNumber);
  compare_cmd->add_option("--half-window", compare.half_window_K, "half width (K) of the local fits (default 10)")
      ->check(CLI::PositiveNumber);
  compare_cmd->add_flag("--force", compare.force, "compare runs of different compositions or wavelengths anyway");

  std::filesystem::path recover_path;
  bool recover_without_backup = false;
  auto* recover_cmd = app.add_subcommand(
      "recover", "make the run file of a killed run writable again (in place, after a copy to RUN.h5.bak)");
  recover_cmd->add_option("run_file", recover_path, "run.h5")->required()->check(CLI::ExistingFile);
  recover_cmd->add_flag("--no-backup", recover_without_backup, "skip the copy to RUN.h5.bak");

  insitu::daemon::ExportOptions export_options;
  std::string export_frames;
  std::filesystem::path export_dir;
  auto* export_cmd = app.add_subcommand("export", "per-frame I(Q) as .xy/.chi or G(r) as .gr (pyFAI, PDFgetX3, pdfgui)");
  export_cmd->add_option("run_file", export_options.run_file, "run.h5")->required();
  export_cmd->add_option("--format", export_options.format, "xy (Q, I, sigma), chi (2theta, I, sigma) or gr (r, G)")
      ->required();
  auto* export_frames_option =
      export_cmd->add_option("--frames", export_frames, "sequence numbers and ranges, e.g. 0-10,15 (default: all)");
  export_cmd->add_option("-o,--output", export_dir, "folder for the files (default: the run file's)");
  export_cmd->add_option("--entry", export_options.entry, "the analysis entry (default /entry)");

  auto* reprocess_cmd = app.add_subcommand(
      "reprocess", "re-run the analysis on a run file's raw frames, or on frames taken elsewhere (see --help)");
  reprocess_cmd->allow_extras();
  reprocess_cmd->prefix_command();
  reprocess_cmd->set_help_flag();  // run_reprocess prints its own usage

  const insitu::client::ClientCommands client_commands(app);  // submit, queue, status, watch, ... (insitud)

  // Usage errors are one line and exit 2, like every refusal before a run starts (README, "Commands").
  app.failure_message([](const CLI::App*, const CLI::Error& e) { return std::string(e.what()) + " (see --help)\n"; });
  if (const auto refused = unknown_command(app, argc, argv)) {
    fmt::print(stderr, "{}\n", *refused);
    return 2;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;  // --help and --version exit 0
  }

  const auto dispatch = [&]() -> int {
    for (const auto* reads_files : {summary_cmd, report_cmd, dma_cmd, dsc_cmd, compare_cmd, export_cmd, recover_cmd})
      if (*reads_files) limit_address_space(kReaderAddressSpace);
    if (*reprocess_cmd) limit_address_space(reprocess_address_space());
    if (*run_cmd) {
      if (!linkam_url.empty()) run.linkam_url = linkam_url;
      if (!output.empty()) run.output = output;
      if (!zmq_address.empty()) run.bluesky_zmq = zmq_address;
      if (run.speed != 1.0 && !run.simulate) {
        fmt::print(stderr, "--speed other than 1 needs --simulate: real hardware runs in real time\n");
        return 2;
      }
      return insitu::daemon::run_recipe(run, simulation);
    }
    if (*check_cmd) {
      if (!check_linkam_url.empty()) check.linkam_url = check_linkam_url;
      if (!check_output.empty()) check.output = check_output;
      return insitu::daemon::run_check(check, std::cout, std::cerr);
    }
    if (*ports_cmd) return list_ports();
    if (*summary_cmd) return insitu::daemon::print_summary(summary_path);
    if (*recover_cmd) return recover(recover_path, !recover_without_backup);
    if (*schema_cmd) {
      std::cout << insitu::daemon::recipe_json_schema().dump(2) << "\n";
      return 0;
    }
    if (*report_cmd) return insitu::web::report_command(report_path, report_output, std::cout, std::cerr);
    if (*dma_cmd) {
      if (*tg_option) dma.glass_transition_K = dma_tg_K;
      if (*sample_option) dma.sample = dma_sample;
      return insitu::daemon::run_dma(dma, std::cout, std::cerr);
    }
    if (*dsc_cmd) {
      if (*mass_option) dsc.mass_mg = dsc_mass_mg;
      if (!dsc_run.empty()) dsc.run = dsc_run;
      return insitu::daemon::run_dsc(dsc, std::cout, std::cerr);
    }
    if (*compare_cmd) {
      if (!compare_reference.empty()) compare.reference = compare_reference;
      if (liquid_window_K.size() == 2) {
        if (!(liquid_window_K[0] < liquid_window_K[1])) {
          fmt::print(stderr, "--liquid-window: LO must be below HI\n");
          return 2;
        }
        compare.liquid_window_K = std::pair(liquid_window_K[0], liquid_window_K[1]);
      }
      return insitu::daemon::run_compare(compare, std::cout, std::cerr);
    }
    if (*export_cmd) {
      if (*export_frames_option) export_options.frames = export_frames;
      if (!export_dir.empty()) export_options.output_dir = export_dir;
      return insitu::daemon::run_export(export_options, std::cout, std::cerr);
    }
    if (*reprocess_cmd) return insitu::daemon::run_reprocess(reprocess_cmd->remaining(), std::cout, std::cerr);
    return client_commands.run().value_or(2);
  };
  try {
    return dispatch();
  } catch (const std::exception& e) {  // what no command expected (an unreadable run file, ...): one line too
    fmt::print(stderr, "insitu {}: {}\n", app.get_subcommands().front()->get_name(), e.what());
    return 1;
  }
}
