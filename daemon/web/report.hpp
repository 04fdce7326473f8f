#pragma once
// `insitu report RUN.h5 [-o report.html]` and the report insitud writes beside each run file: one self-contained
// HTML file (the data as inlined JSON, the live view's chart code and uPlot inlined, no external reference), so it
// opens offline and can be mailed. It has the live view's charts for the whole run, the summary `insitu summary`
// prints, the DMA plots when the file has /entry_dma and the comparison plots when it has /entry_compare.
#include <filesystem>
#include <iosfwd>
#include <string>

#include <nlohmann/json.hpp>

namespace insitu::storage {
class RunFileReader;
}

namespace insitu::web {

// What the report draws (web/src/report.js reads it); storage::NotARunFile for a file insitu did not write.
nlohmann::json report_data(const storage::RunFileReader& reader);

// The whole HTML page of `run_file`.
std::string report_html(const std::filesystem::path& run_file);

// Writes report_html(run_file) to `output` (replacing it through a temporary file beside it).
void write_report(const std::filesystem::path& run_file, const std::filesystem::path& output);

// `insitu report`: writes the report (default: report.html beside the run file), prints its path; one line on
// `err` and exit code 2 for a file it cannot read, 1 when it cannot write. Returns the process exit code.
int report_command(const std::filesystem::path& run_file, const std::filesystem::path& output, std::ostream& out,
                   std::ostream& err);

}  // namespace insitu::web
