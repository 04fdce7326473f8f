#include "daemon/storage/analysis_file.hpp"

#include <chrono>

#include "drivers/io/clock.hpp"

namespace insitu::storage {
namespace {

void check_inputs(const AnalysisLayout& layout, std::span<const analysis::FrameAnalysis> frames,
                  const std::optional<analysis::RunAnalysis>& run) {
  for (const auto& f : frames) check_frame_analysis(layout, f);
  if (run) check_run_analysis(*run);
}

void fill(const h5::Handle& file, const std::string& entry_path, const AnalysisLayout& layout,
          const ProcessInfo& process, std::span<const analysis::FrameAnalysis> frames,
          const std::optional<analysis::RunAnalysis>& run) {
  AnalysisWriter writer(file, entry_path, layout, process);
  for (const auto& f : frames) writer.append(f);
  if (run) {
    writer.update(*run);
    if (!run->parameters.empty())
      write_parameters(h5::open_group(file, entry_path + "/analysis"), "run_parameters", run->parameters);
  }
  writer.close();
}

}  // namespace

std::string add_reprocessed_entry(const std::filesystem::path& run_file, const AnalysisLayout& layout,
                                  const ProcessInfo& process, std::span<const analysis::FrameAnalysis> frames,
                                  const std::optional<analysis::RunAnalysis>& run) {
  check_inputs(layout, frames, run);
  h5::Handle file = h5::open_file(run_file, h5::Access::read_write);
  if (!h5::exists(file, "entry")) throw std::runtime_error(run_file.string() + ": no /entry to reprocess");
  std::string name;
  for (int n = 1; name.empty() || h5::exists(file, name); ++n) name = "entry_reprocessed_" + std::to_string(n);
  try {
    const h5::Handle entry = h5::create_group(file, name, "NXentry");
    h5::write_string(entry, "title", "reprocessed analysis of " + h5::read_string(file, "/entry/title"));
    h5::write_string(entry, "start_time", process.date_iso);
    h5::set_attribute(h5::write_string(entry, "program_name", process.program), "version", process.version);
    h5::soft_link(entry, "/entry/sample", "sample");
    fill(file, "/" + name, layout, process, frames, run);
  } catch (...) {
    if (h5::exists(file, name)) h5::remove(file, name);
    throw;
  }
  file.close();
  return name;
}

void create_analysis_file(const std::filesystem::path& path, const RunMetadata& m, const AnalysisLayout& layout,
                          const ProcessInfo& process, std::span<const analysis::FrameAnalysis> frames,
                          const std::optional<analysis::RunAnalysis>& run) {
  using h5::set_attribute;
  using h5::write_string;
  check_inputs(layout, frames, run);
  h5::Handle file = h5::create_file(path);
  try {
    const h5::Handle root = h5::open_group(file, "/");
    set_attribute(root, "NX_class", "NXroot");
    set_attribute(root, "default", "entry");
    set_attribute(root, "creator", process.program + " " + process.version);
    set_attribute(root, "file_name", path.filename().string());
    set_attribute(root, "file_time", io::iso8601_utc(std::chrono::system_clock::now()));
    set_attribute(root, "HDF5_Version", h5::library_version());
    const h5::Handle entry = h5::create_group(file, "entry", "NXentry");
    write_string(entry, "title", "analysis of " + m.sample_name);
    write_string(entry, "start_time", process.date_iso);
    set_attribute(write_string(entry, "program_name", process.program), "version", process.version);
    const h5::Handle sample = h5::create_group(entry, "sample", "NXsample");
    write_string(sample, "name", m.sample_name);
    write_string(sample, "chemical_formula", m.sample_composition);
    write_string(sample, "description", m.sample_description);
    write_string(sample, "treatment", m.sample_treatment);
    fill(file, "/entry", layout, process, frames, run);
    file.close();
  } catch (...) {
    file = h5::Handle();
    std::error_code ignored;
    std::filesystem::remove(path, ignored);  // ours, and not a usable file
    throw;
  }
}

}  // namespace insitu::storage
