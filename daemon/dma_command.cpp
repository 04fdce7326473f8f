#include "daemon/dma_command.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <ostream>
#include <sstream>

#include "daemon/storage/dma_entry.hpp"
#include "daemon/storage/h5.hpp"
#include "drivers/dhr3/export_watcher.hpp"

namespace insitu::daemon {
namespace {
namespace fs = std::filesystem;

// Files first as given; a folder contributes its regular, non-hidden files by name.
std::vector<fs::path> expand_inputs(const std::vector<fs::path>& inputs) {
  std::vector<fs::path> out;
  for (const auto& p : inputs) {
    std::error_code ec;
    if (!fs::is_directory(p, ec)) {
      out.push_back(p);
      continue;
    }
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(p, ec))
      if (entry.is_regular_file() && !entry.path().filename().string().starts_with(".")) files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    out.insert(out.end(), files.begin(), files.end());
  }
  return out;
}

std::optional<std::string> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream bytes;
  if (in) bytes << in.rdbuf();
  if (!in || in.bad()) return std::nullopt;
  return std::move(bytes).str();
}

void print_steps(const dhr3::IngestedExport& e, std::ostream& out) {
  for (const auto& s : e.steps) {
    out << "  step '" << s.name << "' (" << s.rows << " rows): ";
    if (s.curves == 0) out << "not used: " << s.note << "\n";
    else out << s.curves << (s.curves == 1 ? " curve" : " curves") << (s.note.empty() ? "" : "; left out: " + s.note) << "\n";
  }
}

struct Gathered {
  std::vector<dhr3::IngestedExport> exports;
  bool failed = false;
};

// Reads, parses and checks every input; prints each export with its steps.
Gathered gather(const DmaOptions& options, std::ostream& out, std::ostream& err) {
  Gathered g;
  std::map<std::string, fs::path> by_sha256;
  for (const auto& path : expand_inputs(options.exports)) {
    const auto content = read_file(path);
    if (!content) {
      err << path.string() << ": cannot read\n";
      g.failed = true;
      continue;
    }
    auto check = dhr3::check_export(path, *content, {}, {});
    if (!check.result) {
      err << check.message << " (" << dhr3::to_string(check.kind) << ")\n";
      g.failed = true;
      continue;
    }
    if (auto [it, fresh] = by_sha256.emplace(check.result->sha256, path); !fresh) {
      err << path.string() << ": same content as " << it->second.string() << ", skipped\n";
      g.failed = true;
      continue;
    }
    auto& e = *check.result;
    const auto& sample = e.data.meta.sample;
    if (options.sample && !sample.empty() && sample != *options.sample) {
      out << path.string() << ": sample '" << sample << "', not taken (--sample " << *options.sample << ")\n";
      continue;
    }
    out << path.string() << " (" << dhr3::to_string(e.data.layout) << ", "
        << (sample.empty() ? "no sample name" : "sample '" + sample + "'") << ", " << e.curves.size()
        << (e.curves.size() == 1 ? " curve)\n" : " curves)\n");
    print_steps(e, out);
    if (e.curves.empty()) {
      err << path.string() << ": no step is a DMA temperature sweep with a frequency (steps listed above)\n";
      g.failed = true;
    }
    g.exports.push_back(std::move(e));
  }
  return g;
}

std::string frequency_range(const dma::Sweep& sweep) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "%zu curves, %g–%g Hz", sweep.series.size(), sweep.series.front().frequency_Hz,
                sweep.series.back().frequency_Hz);
  return buf;
}

void print_results(const storage::DmaResults& results, const DmaOptions& options, std::ostream& out,
                   std::ostream& err) {
  if (results.samples.size() > 1)
    out << results.samples.size() << " samples, analysed apart (exports of different samples are never pooled; "
        << "--sample NAME takes one)\n";
  for (const auto& sample : results.samples) {
    out << "sample '" << sample.name << "' (" << sample.exports.size() << " export"
        << (sample.exports.size() == 1 ? "" : "s") << ")\n";
    for (const auto& [sweep, analysis] : sample.sets) {
      out << " " << sweep.name << ": " << frequency_range(sweep) << ", "
          << (analysis.automatic_windows ? "automatic windows" : "set windows") << "\n"
          << analysis.table;
      if (!analysis.note.empty()) err << sample.name << ", " << sweep.name << ": " << analysis.note << "\n";
      for (const auto& t : analysis.transitions)
        if (!t.note.empty()) err << sample.name << ", " << sweep.name << ": " << t.name << ": " << t.note << "\n";
      if (!options.glass_transition_K) continue;
      for (const auto& iv : dma::transition_intervals_on_reduced_axis(analysis, *options.glass_transition_K)) {
        char line[160];
        std::snprintf(line, sizeof line, "  %s interval %.1f–%.1f K, T/T_g %.3f–%.3f\n", iv.name.c_str(), iv.lo_K,
                      iv.hi_K, iv.lo_reduced, iv.hi_reduced);
        out << line;
      }
    }
  }
}

}  // namespace

int run_dma(const DmaOptions& options, std::ostream& out, std::ostream& err) {
  if (options.exports.empty()) {
    err << "insitu dma: no export files given\n";
    return 2;
  }
  if (fs::exists(options.output)) {
    err << "insitu dma: " << options.output.string() << " exists already (never overwritten)\n";
    return 2;
  }
  auto gathered = gather(options, out, err);
  const auto results = storage::analyse_exports(std::move(gathered.exports), options.settings,
                                                options.sample.value_or("unnamed"));
  if (results.samples.empty()) {
    err << "insitu dma: no export gave a DMA curve; " << options.output.string() << " not written\n";
    return 1;
  }
  print_results(results, options, out, err);
  try {
    auto file = storage::h5::create_file(options.output);
    storage::write_dma_entry(file, results, options.glass_transition_K);
    file.close();
  } catch (const std::exception& e) {
    err << "insitu dma: writing " << options.output.string() << ": " << e.what() << "\n";
    fs::remove(options.output);
    return 2;
  }
  out << "wrote " << options.output.string() << " (/entry_dma, " << results.exports.size() << " export"
      << (results.exports.size() == 1 ? "" : "s") << ", " << results.samples.size() << " sample"
      << (results.samples.size() == 1 ? "" : "s") << ")\n";
  return gathered.failed ? 1 : 0;
}

}  // namespace insitu::daemon
