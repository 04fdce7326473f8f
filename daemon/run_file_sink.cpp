#include "daemon/run_file_sink.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <system_error>

#include "daemon/storage/dma_entry.hpp"
#include "daemon/storage/dsc_entry.hpp"
#include "daemon/storage/schema.hpp"

namespace insitu::daemon {
namespace {

std::span<const std::uint8_t> pixel_bytes(const detector::Frame& frame) {
  return std::visit(
      [](const auto& pixels) {
        return std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(pixels.data()),
                                             pixels.size() * sizeof(pixels[0]));
      },
      frame.pixels);
}

// How often the writer thread's health is looked at: a failed write stops the run within this (wall) time.
constexpr auto kWriterWatch = std::chrono::milliseconds(500);

// Room on the disk for an export that is written at the end (when the disk may be full): its verbatim text, its
// curves and its fits.
std::uint64_t room_for_export(std::uint64_t text_bytes) { return 3 * text_bytes + (std::uint64_t{64} << 10); }

// The exports (regular, not hidden) in the folder, in name order.
std::vector<std::filesystem::path> dsc_files(const std::string& folder, std::error_code& ec) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(folder, ec))
    if (entry.is_regular_file() && entry.path().filename().string().front() != '.') files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

RunFileSink::RunFileSink(asio::any_io_executor loop, storage::RunFile& file, bool store_frames,
                         std::function<void(const std::string&)> on_error)
    : file_(file), store_frames_(store_frames), on_error_(std::move(on_error)), writer_watch_(loop) {
  watch_writer();
}

RunFileSink::~RunFileSink() { writer_watch_.cancel(); }

void RunFileSink::watch_writer() {
  writer_watch_.expires_after(kWriterWatch);
  writer_watch_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || finished_) return;
    if (auto error = file_.error()) {
      on_error_(*error);
      return;
    }
    watch_writer();
  });
}

void RunFileSink::operator()(const documents::Document& document) {
  using namespace documents;
  std::visit(
      [this](const auto& d) {
        using T = std::decay_t<decltype(d)>;
        if constexpr (std::is_same_v<T, StageReading>) {
          file_.append(storage::TemperatureSample{d.time_s, d.time_uncertainty_s, d.temperature_K, d.setpoint_K,
                                                  d.status, d.error, d.pump});
        } else if constexpr (std::is_same_v<T, RunEvent>) {
          file_.append(storage::RunEvent{d.time_s, std::string(io::to_string(d.kind)), d.message});
        } else if constexpr (std::is_same_v<T, FrameEvent>) {
          file_.append(d.record, d.pixels && store_frames_ ? pixel_bytes(*d.pixels) : std::span<const std::uint8_t>());
        } else if constexpr (std::is_same_v<T, DarkCombination>) {
          file_.set_dark_median(*d.median);
          file_.set_pixel_mask(*d.pixel_mask);
        } else if constexpr (std::is_same_v<T, AnalysisMask>) {
          file_.set_analysis_mask(*d.mask);
        } else if constexpr (std::is_same_v<T, FrameAnalysisEvent>) {
          file_.append(d.analysis);
        } else if constexpr (std::is_same_v<T, RunAnalysisEvent>) {
          file_.update(d.analysis);
          if (d.final && std::isfinite(d.analysis.glass_transition_K))
            glass_transition_K_ = d.analysis.glass_transition_K;
          if (d.final) {
            heating_temperature_K_ = d.analysis.temperature_K;
            delta_phi_W_per_mol_ = d.analysis.delta_phi_W_per_mol;
          }
        } else if constexpr (std::is_same_v<T, OrphanFile>) {
          file_.append_orphan_file(d.path);
        } else if constexpr (std::is_same_v<T, DmaExport>) {
          file_.reserve_for_finish(room_for_export(d.data->text.size()));
          dma_exports_.push_back(d.data);
        } else if constexpr (std::is_same_v<T, RunStop>) {
          finish(d);
        }
      },
      document);
}

void RunFileSink::finish(const documents::RunStop& stop) {
  finished_ = true;
  writer_watch_.cancel();
  if (!dma_exports_.empty()) {
    std::vector<dhr3::IngestedExport> exports;
    for (const auto& e : dma_exports_) exports.push_back(*e);
    file_.at_finish([exports = std::move(exports), tg = glass_transition_K_](const storage::h5::Handle& file) {
      // The watcher only parsed the exports: they are fitted here, where the entry is written.
      storage::write_dma_entry(file, storage::analyse_exports(exports, dma::cu_zr_glass_settings()), tg);
    });
  }
  std::vector<storage::TemperatureDeviation> deviations;
  for (const auto& d : stop.deviations) deviations.push_back({d.start_s, d.end_s, d.max_deviation_K});
  file_.at_finish([deviations = std::move(deviations)](const storage::h5::Handle& file) {
    storage::write_temperature_deviations(file, storage::schema::entry, deviations);
  });
  if (dsc_) write_dsc_at_finish();
  file_.finish(stop.time_s, std::string(documents::to_string(stop.exit_status)));
}

void RunFileSink::import_dsc_at_finish(recipe::DscSpec dsc, std::shared_ptr<spdlog::logger> log) {
  std::error_code unreadable_now;  // reported at the end, if it still is
  for (const auto& export_file : dsc_files(dsc.folder, unreadable_now)) {
    std::error_code ec;
    if (const auto bytes = std::filesystem::file_size(export_file, ec); !ec)
      file_.reserve_for_finish(room_for_export(bytes));
  }
  dsc_ = std::move(dsc);
  dsc_log_ = std::move(log);
}

// On the writer thread: the folder read, the exports parsed and laid on the run's heating frames when it has them.
void RunFileSink::write_dsc_at_finish() {
  file_.at_finish([dsc = *dsc_, log = dsc_log_, run = file_.path().filename().string(), tg = glass_transition_K_,
                   T = heating_temperature_K_, phi = delta_phi_W_per_mol_](const storage::h5::Handle& file) {
    std::error_code unreadable;
    const auto files = dsc_files(dsc.folder, unreadable);
    if (unreadable) log->warn("DSC folder {}: {}", dsc.folder, unreadable.message());
    std::vector<std::string> problems;
    const auto exports = storage::read_dsc_exports(files, dsc.mass_mg, problems);
    for (const auto& p : problems) log->warn("DSC export not taken: {}", p);
    if (exports.empty()) return;
    std::optional<storage::DscOverlay> overlay;
    if (tg && !T.empty()) overlay = storage::dsc_overlay(run, *tg, T, phi, exports);
    storage::write_dsc_entry(file, exports, overlay ? &*overlay : nullptr);
    log->info("DSC: {} export(s) from {} in /entry_dsc{}", exports.size(), dsc.folder,
              overlay ? ", beside the run's delta phi_eq" : "");
  });
}

}  // namespace insitu::daemon
