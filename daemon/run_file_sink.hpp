#pragma once
// The run file as a subscriber of the run's documents: each document becomes the write of its stream
// (storage::RunFile queues it for its writer thread), the stop document finishes the file.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <spdlog/logger.h>

#include "daemon/storage/run_file.hpp"
#include "protocols/recipe/recipe.hpp"
#include "drivers/io/asio.hpp"
#include "protocols/run/documents.hpp"

namespace insitu::daemon {

class RunFileSink {
 public:
  // `on_error` runs on the loop, once, when the writer has failed (a full disk): the run cannot be recorded.
  RunFileSink(asio::any_io_executor loop, storage::RunFile& file, bool store_frames,
              std::function<void(const std::string&)> on_error);
  ~RunFileSink();

  void operator()(const documents::Document& document);
  // When the run ends, the DSC exports in the recipe's folder go into /entry_dsc beside the run's Δφ_eq; exports that
  // cannot be read are logged with file, line and reason. Room on the disk for the exports already there is held from
  // now, as the run may fill the disk before its end.
  void import_dsc_at_finish(recipe::DscSpec dsc, std::shared_ptr<spdlog::logger> log);
  // After the stop document: the writer's first error, if any part did not reach the file.
  std::optional<std::string> error() const { return file_.error(); }

 private:
  void finish(const documents::RunStop& stop);
  void write_dsc_at_finish();
  void watch_writer();

  storage::RunFile& file_;
  bool store_frames_;
  std::function<void(const std::string&)> on_error_;
  asio::steady_timer writer_watch_;
  std::vector<std::shared_ptr<const dhr3::IngestedExport>> dma_exports_;
  std::optional<double> glass_transition_K_;
  std::vector<double> heating_temperature_K_, delta_phi_W_per_mol_;  // of the final run analysis
  std::optional<recipe::DscSpec> dsc_;
  std::shared_ptr<spdlog::logger> dsc_log_;
  bool finished_ = false;
};

}  // namespace insitu::daemon
