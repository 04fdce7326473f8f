#pragma once
// One Tango attribute (the storage ring current of the beamline's control system) read as a number with Tango's
// C++ client. The client blocks, so every read runs on a thread the caller owns, one read of a reader at a time,
// with a timeout; the device is reached at the first read and again after any failure.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "drivers/io/asio.hpp"

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
  // `name`: [tango://host:port/]domain/family/member/attribute[#dbase=no]; `timeout_s`: wall time a read may take;
  // the reads run on `blocking`.
  AttributeReader(asio::any_io_executor blocking, std::string name, double timeout_s);
  ~AttributeReader();  // at once: a read in flight ends on its thread, keeping the connection until then
  AttributeReader(const AttributeReader&) = delete;
  AttributeReader& operator=(const AttributeReader&) = delete;

  // Queues one read; `done` is called on the `blocking` thread with the value (numeric and boolean scalars) or the
  // reason there is none.
  void read(std::function<void(AttributeRead)> done);

 private:
  struct Impl;
  asio::strand<asio::any_io_executor> reads_;
  std::shared_ptr<Impl> impl_;
};

}  // namespace insitu::tango
