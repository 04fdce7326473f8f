#include "daemon/storage/event_writer.hpp"

#include <vector>

#include "daemon/storage/schema.hpp"

namespace insitu::storage {
namespace {

namespace s = schema;

constexpr std::size_t kind_length = 16;      // bytes of a fixed-length event kind
constexpr std::size_t message_length = 256;  // bytes of a fixed-length event message
constexpr hsize_t chunk_rows = 256;

}  // namespace

EventWriter::EventWriter(const h5::Handle& file, const std::string& entry_path, const std::string& start_time_iso) {
  const h5::Handle events = h5::create_group(h5::open_group(file, entry_path), s::events::group, s::nx::collection);
  time_ = h5::create_extendable(events, s::events::time,
                                {.type = h5::dtype_of<double>(), .tail_shape = {}, .chunk_rows = chunk_rows});
  h5::set_attribute(time_, s::attr::units, s::unit::second);
  h5::set_attribute(time_, s::attr::start, start_time_iso);
  kind_ = h5::create_extendable(events, s::events::kind,
                                {.type = h5::Dtype::fixed_string(kind_length), .tail_shape = {}, .chunk_rows = chunk_rows});
  message_ = h5::create_extendable(
      events, s::events::message,
      {.type = h5::Dtype::fixed_string(message_length), .tail_shape = {}, .chunk_rows = chunk_rows});
}

EventWriter EventWriter::reopen(const h5::Handle& file, const std::string& entry_path) {
  const h5::Handle events = h5::open_group(file, s::entry_path(entry_path, s::events::group));
  EventWriter w;
  w.time_ = h5::open_dataset(events, s::events::time);
  const hsize_t rows = h5::rows(w.time_);
  w.kind_ = h5::open_dataset(events, s::events::kind);
  w.message_ = h5::open_dataset(events, s::events::message);
  for (const auto* d : {&w.kind_, &w.message_})
    if (h5::rows(*d) != rows) h5::resize_rows(*d, rows);
  return w;
}

void EventWriter::append(std::span<const RunEvent> events) {
  const std::size_t n = events.size();
  if (n == 0) return;
  std::vector<double> time(n);
  std::vector<std::string> kind(n), message(n);
  for (std::size_t i = 0; i < n; ++i) {
    time[i] = events[i].time_s;
    kind[i] = events[i].kind;
    message[i] = events[i].message;
  }
  h5::append_strings(kind_, kind);
  h5::append_strings(message_, message);
  h5::flush(kind_);
  h5::flush(message_);
  h5::append<double>(time_, time);
  h5::flush(time_);
}

void EventWriter::close() {
  for (auto* d : {&time_, &kind_, &message_}) d->close();
}

}  // namespace insitu::storage
