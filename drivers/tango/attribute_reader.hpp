#pragma once
// One Tango attribute (the storage ring current of the beamline's control system) read as a number with Tango's
// C++ client. The client blocks, so every read runs on the reader's own thread, with a timeout; the device is
// reached at the first read and again after any failure.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace insitu::tango {

struct AttributeRead {
  std::optional<double> value;
  std::string error;  // why there is no value
};

// "tango://host:port/d/f/m/attr#dbase=no" -> {"tango://host:port/d/f/m#dbase=no", "attr"}: the device and the
// attribute as Tango's DeviceProxy wants them.
std::pair<std::string, std::string> split_attribute_name(std::string_view name);

class AttributeReader {
 public:
  // `name`: [tango://host:port/]domain/family/member/attribute[#dbase=no]; `timeout_s`: wall time a read may take.
  AttributeReader(std::string name, double timeout_s);
  ~AttributeReader();  // waits for the read in flight, at most its timeout
  AttributeReader(const AttributeReader&) = delete;
  AttributeReader& operator=(const AttributeReader&) = delete;

  // Queues one read; `done` is called on the reader's thread with the value (numeric and boolean scalars) or the
  // reason there is none.
  void read(std::function<void(AttributeRead)> done);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace insitu::tango
