#include "daemon/dma_command.hpp"

#include <cstdio>
#include <fstream>
#include <map>
#include <ostream>
#include <sstream>

#include "daemon/storage/dma_entry.hpp"
#include "daemon/storage/h5.hpp"
#include "drivers/dhr3/export_watcher.hpp"

namespace insitu::daemon {

int run_dma(const DmaOptions& options, std::ostream& out, std::ostream& err) {
  if (options.exports.empty()) {
    err << "insitu dma: no export files given\n";
    return 2;
  }
  if (std::filesystem::exists(options.output)) {
    err << "insitu dma: " << options.output.string() << " exists already (never overwritten)\n";
    return 2;
  }
  std::vector<storage::AnalysedExport> good;
  std::map<std::string, std::filesystem::path> by_sha256;
  bool failed = false;
  for (const auto& path : options.exports) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream bytes;
    if (in) bytes << in.rdbuf();
    if (!in || in.bad()) {
      err << path.string() << ": cannot read\n";
      failed = true;
      continue;
    }
    const std::string content = std::move(bytes).str();
    auto check = dhr3::check_export(path, content, {}, {});
    if (check.kind != dhr3::ExportEventKind::ingested) {
      err << check.message << " (" << dhr3::to_string(check.kind) << ")\n";
      failed = true;
      continue;
    }
    if (auto [it, fresh] = by_sha256.emplace(check.result->sha256, path); !fresh) {
      err << path.string() << ": same content as " << it->second.string() << ", skipped\n";
      failed = true;
      continue;
    }
    storage::AnalysedExport e{std::move(*check.result), {}};
    e.analysis = dma::analyse_sweep(e.source.sweep, options.settings);
    if (!e.analysis.note.empty()) err << path.string() << ": " << e.analysis.note << "\n";
    for (const auto& t : e.analysis.transitions)
      if (!t.note.empty()) err << path.string() << ": " << t.name << ": " << t.note << "\n";
    out << path.string() << " (" << dhr3::to_string(e.source.data.layout) << ", " << e.source.sweep.series.size()
        << " frequencies, " << (e.analysis.automatic_windows ? "automatic windows" : "set windows") << ")\n"
        << e.analysis.table;
    if (options.glass_transition_K) {
      for (const auto& iv : dma::transition_intervals_on_reduced_axis(e.analysis, *options.glass_transition_K)) {
        char line[160];
        std::snprintf(line, sizeof line, "  %s interval %.1f–%.1f K, T/T_g %.3f–%.3f\n", iv.name.c_str(), iv.lo_K,
                      iv.hi_K, iv.lo_reduced, iv.hi_reduced);
        out << line;
      }
    }
    good.push_back(std::move(e));
  }
  if (good.empty()) {
    err << "insitu dma: no export could be analysed; " << options.output.string() << " not written\n";
    return 1;
  }
  try {
    auto file = storage::h5::create_file(options.output);
    storage::write_dma_entry(file, good, options.glass_transition_K);
    file.close();
  } catch (const std::exception& e) {
    err << "insitu dma: writing " << options.output.string() << ": " << e.what() << "\n";
    std::filesystem::remove(options.output);
    return 2;
  }
  out << "wrote " << options.output.string() << " (/entry_dma, " << good.size() << " export"
      << (good.size() == 1 ? "" : "s") << ")\n";
  return failed ? 1 : 0;
}

}  // namespace insitu::daemon
