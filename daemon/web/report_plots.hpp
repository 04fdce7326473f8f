#pragma once
// The report's plots beyond the live view's: the DMA's tan delta curves, Arrhenius plot and Fig. 3 overlay when the
// file has /entry_dma (dma_entry.hpp), and the comparison's plots when it has /entry_compare (compare_entry.hpp).
// Each is {"title", "x_label", "y_label", "x_log", "y_log", "series": [{"label", "x", "y", "points"}]}.
#include <nlohmann/json.hpp>

namespace insitu::storage {
class RunFileReader;
}

namespace insitu::web {

nlohmann::json report_plots(const storage::RunFileReader& reader);

}  // namespace insitu::web
