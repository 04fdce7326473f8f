#include "daemon/storage/resumed_records.hpp"

#include <algorithm>
#include <map>
#include <string>

#include "daemon/storage/schema.hpp"
#include "drivers/detector/exposure.hpp"

namespace insitu::storage {
namespace {

namespace s = schema;

std::vector<double> column(const h5::Handle& group, const std::string& path) {
  return h5::read_1d<double>(h5::open_dataset(group, path));
}

double last_or_zero(const std::vector<double>& values) { return values.empty() ? 0.0 : values.back(); }

// An all-zero dark median is the dataset's fill value: the darks were never combined.
template <class T>
std::vector<T> written_or_empty(std::vector<T> values) {
  if (std::all_of(values.begin(), values.end(), [](T v) { return v == T{}; })) values.clear();
  return values;
}

struct DetectorRows {
  std::vector<std::uint64_t> sequence;
  std::vector<double> start_s, stop_s;
  std::vector<std::int32_t> image_key;
  std::vector<std::uint32_t> flags;
  std::vector<double> mean_K;
  h5::Handle data;  // closed when frames are not stored
};

DetectorRows read_detector_rows(const h5::Handle& det) {
  namespace d = s::detector;
  return {h5::read_1d<std::uint64_t>(h5::open_dataset(det, d::sequence_number)), column(det, d::start_time),
          column(det, d::stop_time), h5::read_1d<std::int32_t>(h5::open_dataset(det, d::image_key)),
          h5::read_1d<std::uint32_t>(h5::open_dataset(det, d::flags)),
          column(det, std::string(d::frame_temperature) + "/" + d::t_mean),
          h5::exists(det, d::data) ? h5::open_dataset(det, d::data) : h5::Handle()};
}

void read_detector(const h5::Handle& entry, ResumedRecords& records, DetectorRows& rows) {
  const h5::Handle det = h5::open_group(entry, s::detector::group);
  rows = read_detector_rows(det);
  records.frames = rows.sequence.size();
  if (!rows.sequence.empty()) records.last_frame_sequence = rows.sequence.back();
  records.last_committed_s = std::max(records.last_committed_s, last_or_zero(rows.stop_s));
  records.dark_median = written_or_empty(h5::read_1d<float>(h5::open_dataset(det, s::detector::dark_median)));
  if (!records.dark_median.empty())
    records.pixel_mask = h5::read_1d<std::uint32_t>(h5::open_dataset(det, s::detector::pixel_mask));
}

void read_analysis(const h5::Handle& entry, const DetectorRows& rows, ResumedRecords& records) {
  namespace a = s::analysis;
  const h5::Handle proc = h5::open_group(entry, a::group);
  const auto sequence = h5::read_1d<std::uint64_t>(h5::open_dataset(proc, a::sequence_number));
  const auto temperature = column(proc, a::temperature), s_eq = column(proc, a::s_eq);
  std::map<std::uint64_t, std::size_t> row_of;
  for (std::size_t i = 0; i < rows.sequence.size(); ++i) row_of[rows.sequence[i]] = i;
  for (std::size_t i = 0; i < sequence.size(); ++i) {
    const auto row = row_of.find(sequence[i]);
    const double mid_s = row == row_of.end() ? 0.0 : 0.5 * (rows.start_s[row->second] + rows.stop_s[row->second]);
    records.analysed.push_back({sequence[i], mid_s, temperature[i], s_eq[i]});
  }
  const std::optional<std::uint64_t> last_analysed =
      sequence.empty() ? std::nullopt : std::optional<std::uint64_t>(sequence.back());
  for (std::size_t i = 0; i < rows.sequence.size(); ++i)
    if (rows.image_key[i] == detector::image_data && !(rows.flags[i] & detector::exposure_flag::missing) &&
        (!last_analysed || rows.sequence[i] > *last_analysed))
      records.unanalysed_data_frames.push_back(
          {rows.sequence[i], rows.start_s[i], rows.stop_s[i], rows.mean_K[i],
           rows.data ? h5::read_row<float>(rows.data, i) : std::vector<float>{}});
}

}  // namespace

ResumedRecords read_resumed_records(const h5::Handle& entry) {
  ResumedRecords records;
  records.last_committed_s = std::max(last_or_zero(column(entry, std::string(s::log::group) + "/" + s::log::time)),
                                      last_or_zero(column(entry, std::string(s::events::group) + "/" + s::events::time)));
  DetectorRows rows;
  if (h5::exists(entry, s::detector::group)) read_detector(entry, records, rows);
  if (h5::exists(entry, s::analysis::group)) read_analysis(entry, rows, records);
  return records;
}

}  // namespace insitu::storage
