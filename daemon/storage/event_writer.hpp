#pragma once
// The run's events, under an entry built by run_entry.hpp:
//   entry/events:NXcollection  time @units=s @start, kind (16 B), message (256 B; fixed-length UTF-8, cut at a
//                              character boundary)
// Each batch's `time` is appended and flushed last: readers trust rows < len(time).
#include <span>
#include <string>

#include "daemon/storage/h5.hpp"

namespace insitu::storage {

struct RunEvent {
  double time_s;
  std::string kind;  // "segment", "state", "warning", "fault", "info"
  std::string message;
};

// Creates the events group (regular or pre-SWMR mode) under `entry_path` and appends to it. One thread owns it.
class EventWriter {
 public:
  EventWriter(const h5::Handle& file, const std::string& entry_path, const std::string& start_time_iso);
  // The events a killed writer left (regular mode): kind and message cut back to `time`'s committed rows.
  static EventWriter reopen(const h5::Handle& file, const std::string& entry_path);
  void append(std::span<const RunEvent> events);  // every column flushed, `time` last
  void close();  // closes every dataset, throwing on failure

 private:
  EventWriter() = default;
  h5::Handle time_, kind_, message_;
};

}  // namespace insitu::storage
