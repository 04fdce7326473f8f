// Every insitu command, the insitud client commands and insitud itself, spawned as an operator runs them, fed what
// no one should send them: empty, random, truncated and mutated files (seeded from tests/data, config and the fuzz
// seeds), an HDF5 signature before junk, numbers past double's range, a directory where a file belongs, a missing
// file, an unreachable service. Each must end within its bound with an exit code README documents for it, say why on
// stderr when it fails, and never abort, crash or dump an HDF5 error stack.
#include <algorithm>
#include <deque>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "tests/daemon/child_process.hpp"
#include "tests/stage/sim_fixture.hpp"

namespace insitu::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct Invocation {
  std::string binary;
  std::vector<std::string> args;
  std::set<int> documented;  // the exit codes README gives for the command
  std::chrono::milliseconds bound = 20s;
  bool serves = false;  // insitud: one that did start is stopped with SIGTERM and must then exit 0
};

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void write_bytes(const fs::path& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

// The malformed files of one kind, written under `dir`: truncations and byte mutations of the seeds, beside the
// inputs every kind gets.
class Inputs {
 public:
  explicit Inputs(fs::path dir) : dir_(std::move(dir)), rng_(20261207) { fs::create_directories(dir_); }

  std::vector<fs::path> common() {
    std::vector<fs::path> files;
    files.push_back(file("empty", ""));
    files.push_back(file("random.bin", random_bytes(4096)));
    files.push_back(file("hdf5-junk.h5", std::string("\x89HDF\r\n\x1a\n", 8) + random_bytes(2048)));
    files.push_back(file("huge-numbers.txt", "1e400\t-1e400\t99999999999999999999999999\tnan\tinf\n"
                                             "1e400,1e400,1e400\n" + std::string(3000, '9') + "\n"));
    fs::create_directories(dir_ / "a-directory");
    files.push_back(dir_ / "a-directory");
    files.push_back(dir_ / "missing-file");
    return files;
  }

  // Per seed: its first half, its first 100 bytes, and two copies with 1 and 64 bytes changed.
  std::vector<fs::path> damaged(const std::vector<fs::path>& seeds) {
    std::vector<fs::path> files;
    for (const auto& seed : seeds) {
      const std::string bytes = read_bytes(seed);
      const std::string stem = seed.filename().string();
      files.push_back(file("half-" + stem, bytes.substr(0, bytes.size() / 2)));
      files.push_back(file("head-" + stem, bytes.substr(0, 100)));
      for (int flips : {1, 64}) files.push_back(file("flip" + std::to_string(flips) + "-" + stem, flip(bytes, flips)));
    }
    return files;
  }

 private:
  fs::path file(const std::string& name, const std::string& bytes) {
    const auto path = dir_ / name;
    write_bytes(path, bytes);
    return path;
  }
  std::string random_bytes(std::size_t n) {
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng_() & 0xff);
    return s;
  }
  std::string flip(std::string bytes, int flips) {
    if (bytes.empty()) return bytes;
    for (int i = 0; i < flips; ++i) bytes[rng_() % bytes.size()] = static_cast<char>(rng_() & 0xff);
    return bytes;
  }

  fs::path dir_;
  std::mt19937_64 rng_;
};

std::vector<fs::path> files_in(const fs::path& folder, std::size_t at_most = 100) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(folder))
    if (e.is_regular_file()) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  if (files.size() > at_most) files.resize(at_most);
  return files;
}

std::vector<fs::path> joined(std::vector<fs::path> a, const std::vector<fs::path>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// What went wrong with one invocation; empty when it behaved.
std::string judge(const Invocation& inv, const ChildProcess& child, std::optional<int> code) {
  std::string command = inv.binary.substr(inv.binary.rfind('/') + 1);
  for (const auto& a : inv.args) command += " " + a;
  const std::string err = child.err();
  const auto fault = [&](const std::string& what) { return command + ": " + what + "\nstderr:\n" + err + "\n"; };
  if (!code) return fault("still running after " + std::to_string(inv.bound.count()) + " ms");
  if (*code >= 128) return fault("ended by signal " + std::to_string(*code - 128));
  if (!inv.documented.count(*code)) return fault("exit code " + std::to_string(*code) + " is not documented for it");
  for (const char* sign : {"terminate called", "what():", "HDF5-DIAG", "Segmentation", "AddressSanitizer"})
    if (err.find(sign) != std::string::npos) return fault(std::string("stderr shows '") + sign + "'");
  if (*code != 0 && err.find_first_not_of(" \n") == std::string::npos) return fault("failed without a word on stderr");
  return {};
}

std::string run_one(const Invocation& inv, const fs::path& scratch) {
  // Started in the scratch folder: relative paths a damaged configuration names stay inside it.
  auto child = ChildProcess::spawn(inv.binary, inv.args, scratch / "stdout.txt", scratch / "stderr.txt", scratch);
  if (child.pid() <= 0) return "cannot spawn " + inv.binary;
  std::optional<int> code;
  if (inv.serves) {
    code = child.wait_for(3s);  // a configuration it accepted: it serves until told to stop
    if (!code) {
      child.signal(SIGTERM);
      code = child.wait_for(inv.bound);
      if (code && *code != 0) return "insitud started, then did not stop cleanly on SIGTERM (" + std::to_string(*code) + ")";
    }
  } else {
    code = child.wait_for(inv.bound);
  }
  return judge(inv, child, code);
}

// Runs the invocations three at a time (each child is mostly waiting on its own start-up and I/O).
std::vector<std::string> run_all(const std::vector<Invocation>& all, const fs::path& dir) {
  std::mutex mutex;
  std::size_t next = 0;
  std::vector<std::string> faults;
  const auto worker = [&](int id) {
    const auto scratch = dir / ("worker" + std::to_string(id));
    fs::create_directories(scratch);
    for (;;) {
      std::size_t i;
      {
        std::lock_guard lock(mutex);
        if (next == all.size()) return;
        i = next++;
      }
      auto fault = run_one(all[i], scratch);
      std::lock_guard lock(mutex);
      if (!fault.empty()) faults.push_back(std::move(fault));
    }
  };
  std::vector<std::thread> workers;
  for (int id = 0; id < 3; ++id) workers.emplace_back(worker, id);
  for (auto& w : workers) w.join();
  return faults;
}

class MalformedInputSweep : public ::testing::Test {
 protected:
  MalformedInputSweep() : dir_(fresh_temp_dir("malformed-sweep")), inputs_(dir_ / "inputs") {}
  ~MalformedInputSweep() override { fs::remove_all(dir_); }

  std::string out(const std::string& name) { return (dir_ / "out" / (name + std::to_string(++outputs_) + ".h5")).string(); }
  void add(std::vector<std::string> args, std::set<int> documented) {
    all_.push_back({kInsituBinary, std::move(args), std::move(documented)});
  }

  // config/insitud.example.yaml with every path relative (the service starts in a scratch folder), no mail or
  // webhooks, and a stage port that does not exist: a damaged copy that still parses touches nothing outside.
  fs::path service_config_seed() {
    const auto path = dir_ / "insitud.yaml";
    std::ofstream(path) << "state_dir: state\ndata_root: data\nrecipes_root: recipes\nlisten: 127.0.0.1:0\n"
                           "unix_socket: state/insitud.sock\nsimulate: false\nspeed: 1\nanalysis_workers: 1\n"
                           "instruments:\n  linkam: pty:no-such-pty\n"
                           "idle:\n  stage: hold\n  temperature_K: 293.15\n  rate_K_per_min: 20\n"
                           "notifications:\n  rate_limit: {messages: 20, per_s: 3600}\n"
                           "  retry: {attempts: 5, first_backoff_s: 2, max_backoff_s: 300}\n  timeout_s: 10\n";
    return path;
  }

  fs::path dir_;
  Inputs inputs_;
  std::vector<Invocation> all_;
  int outputs_ = 0;
};

TEST_F(MalformedInputSweep, EveryCommandEndsWithADocumentedCodeAndAReason) {
  fs::create_directories(dir_ / "out");
  const auto common = inputs_.common();
  const std::string src = INSITU_SOURCE_DIR;
  const auto recipes = joined(common, inputs_.damaged(files_in(src + "/config/recipes")));
  const auto run_files = joined(common, inputs_.damaged(files_in(src + "/fuzz/seeds/run_file")));
  const auto trios = joined(common, inputs_.damaged(files_in(src + "/tests/data/trios", 3)));
  const auto dsc = joined(common, inputs_.damaged(files_in(src + "/tests/data/dsc", 3)));
  const auto ponis = joined(common, inputs_.damaged(files_in(src + "/fuzz/seeds/poni")));
  const auto csvs = joined(common, inputs_.damaged(files_in(src + "/fuzz/seeds/temperature_csv")));
  const auto configs = joined(common, inputs_.damaged({service_config_seed()}));
  // A frames folder of damaged frame files (and the reprocess inputs that go with it).
  const auto frames = dir_ / "frames";
  fs::create_directories(frames);
  for (const auto& f : inputs_.damaged(files_in(src + "/fuzz/seeds/frame_file")))
    fs::copy_file(f, frames / f.filename());
  const std::string good_poni = src + "/config/instruments/xrd1621-60keV.poni";
  const std::string good_dsc = files_in(src + "/tests/data/dsc").front().string();
  const std::string good_csv = files_in(src + "/fuzz/seeds/temperature_csv").front().string();
  const std::string nowhere = "pty:" + (dir_ / "no-such-pty").string();

  for (const auto& r : recipes) {
    add({"run", r.string(), "--linkam", nowhere, "--output", (dir_ / "runs").string()}, {1, 2});
    add({"check", r.string(), "--simulate", "--output", (dir_ / "runs").string()}, {0, 2});
  }
  for (const auto& f : run_files) {
    add({"summary", f.string()}, {0, 1, 2});
    add({"reprocess", f.string()}, {0, 1, 2});
    add({"compare", f.string(), f.string(), "-o", out("compare")}, {0, 1, 2});
    add({"dsc", good_dsc, "--run", f.string(), "-o", out("dsc-run")}, {0, 1, 2});
    add({"report", f.string(), "-o", out("report") + ".html"}, {0, 1, 2});
    add({"export", f.string(), "--format", "gr", "-o", out("export")}, {0, 1, 2});
  }
  // recover changes files in place: it gets copies.
  for (const auto& f : run_files) {
    const auto copy = dir_ / "recover" / f.filename();
    fs::create_directories(copy.parent_path());
    if (fs::is_regular_file(f)) fs::copy_file(f, copy, fs::copy_options::overwrite_existing);
    add({"recover", fs::is_regular_file(f) ? copy.string() : f.string()}, {0, 1, 2});
  }
  for (const auto& f : trios) add({"dma", f.string(), "-o", out("dma")}, {0, 1, 2});
  for (const auto& f : dsc) add({"dsc", f.string(), "-o", out("dsc")}, {0, 1, 2});
  for (const auto& p : ponis)
    add({"reprocess", "--frames", frames.string(), "--poni", p.string(), "--temperatures", good_csv, "--composition",
         "Cu50Zr50", "-o", out("frames-poni")},
        {0, 1, 2});
  for (const auto& c : csvs)
    add({"reprocess", "--frames", frames.string(), "--poni", good_poni, "--temperatures", c.string(), "--composition",
         "Cu50Zr50", "-o", out("frames-csv")},
        {0, 1, 2});
  add({"reprocess", "--frames", (dir_ / "inputs" / "empty").string(), "--poni", good_poni, "--temperatures", good_csv,
       "--composition", "Cu50Zr50", "-o", out("frames-file")},
      {0, 1, 2});
  add({"reprocess", "--frames", frames.string(), "--poni", good_poni, "--temperatures", good_csv, "--composition",
       "Xx99Qq1e400", "-o", out("frames-composition")},
      {0, 1, 2});
  add({"ports"}, {0});

  // The client commands: no service where they look, or junk where the URL and token go.
  const std::vector<std::vector<std::string>> client = {
      {"queue"}, {"status"}, {"history"}, {"history", "7"}, {"watch", "--once"}, {"pause"}, {"resume"}, {"abort"},
      {"stop-after-frame"}, {"hold"}, {"release"}, {"remove", "1"}, {"move", "1", "0"}, {"token"}};
  const std::vector<std::vector<std::string>> nowhere_to_reach = {
      {"--state-dir", (dir_ / "no-state").string()},
      {"--server", "http://127.0.0.1:1"},
      {"--server", "not a url"},
      {"--server", "http://127.0.0.1:99999999999999999999"},
      {"--state-dir", (dir_ / "inputs" / "random.bin").string()},
      {"--state-dir", (dir_ / "no-state").string(), "--token-file", (dir_ / "inputs" / "random.bin").string()}};
  for (const auto& command : client)
    for (const auto& where : nowhere_to_reach) {
      auto args = command;
      args.insert(args.end(), where.begin(), where.end());
      add(args, {1, 2});
    }
  for (const auto& r : {recipes[0], recipes[1], recipes.back()})
    add({"submit", r.string(), "--state-dir", (dir_ / "no-state").string()}, {1, 2});

  // insitud: damaged configurations and command lines, each with its own state directory and an ephemeral port.
  int state = 0;
  const auto insitud = [&](std::vector<std::string> args) {
    const auto state_dir = dir_ / ("state" + std::to_string(++state));
    if (std::find(args.begin(), args.end(), "--state-dir") == args.end())
      args.insert(args.end(), {"--state-dir", state_dir.string()});
    if (std::find(args.begin(), args.end(), "--listen") == args.end())
      args.insert(args.end(), {"--listen", "127.0.0.1:0"});
    all_.push_back({kInsitudBinary, std::move(args), {0, 2}, 20s, true});
  };
  for (const auto& c : configs) insitud({"--config", c.string()});
  insitud({"--state-dir", (dir_ / "inputs" / "random.bin").string()});
  insitud({"--listen", "nonsense"});
  insitud({"--listen", "127.0.0.1:99999999999"});
  insitud({"--speed", "-5", "--simulate"});
  insitud({"--speed", "1e400", "--simulate"});
  insitud({"--linkam", "garbage://x"});

  const auto started = std::chrono::steady_clock::now();
  const auto faults = run_all(all_, dir_);
  const double took_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  for (const auto& f : faults) ADD_FAILURE() << f;
  RecordProperty("invocations", static_cast<int>(all_.size()));
  std::printf("%zu invocations in %.1f s, %zu misbehaved\n", all_.size(), took_s, faults.size());
}

}  // namespace
}  // namespace insitu::testing
