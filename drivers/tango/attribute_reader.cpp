#include "drivers/tango/attribute_reader.hpp"

#include <fmt/format.h>
#include <tango.h>

#include <cmath>

namespace insitu::tango {
namespace {

std::string describe(const Tango::DevFailed& e) {
  if (e.errors.length() == 0) return "Tango error";
  return fmt::format("{} ({})", e.errors[0].desc.in(), e.errors[0].reason.in());
}

template <typename T>
double extract(Tango::DeviceAttribute& attribute) {
  T value{};
  attribute >> value;
  return static_cast<double>(value);
}

std::optional<double> scalar_of(Tango::DeviceAttribute& a) {
  switch (a.get_type()) {
    case Tango::DEV_DOUBLE:
      return extract<Tango::DevDouble>(a);
    case Tango::DEV_FLOAT:
      return extract<Tango::DevFloat>(a);
    case Tango::DEV_LONG:
      return extract<Tango::DevLong>(a);
    case Tango::DEV_LONG64:
      return extract<Tango::DevLong64>(a);
    case Tango::DEV_ULONG:
      return extract<Tango::DevULong>(a);
    case Tango::DEV_SHORT:
      return extract<Tango::DevShort>(a);
    case Tango::DEV_USHORT:
      return extract<Tango::DevUShort>(a);
    case Tango::DEV_BOOLEAN:
      return extract<Tango::DevBoolean>(a) ? 1.0 : 0.0;
    default:
      return std::nullopt;
  }
}

}  // namespace

std::pair<std::string, std::string> split_attribute_name(std::string_view name) {
  std::string_view option;
  if (const auto hash = name.find('#'); hash != std::string_view::npos) {
    option = name.substr(hash);
    name = name.substr(0, hash);
  }
  const auto slash = name.rfind('/');
  if (slash == std::string_view::npos) return {std::string(name) + std::string(option), ""};
  return {std::string(name.substr(0, slash)) + std::string(option), std::string(name.substr(slash + 1))};
}

struct AttributeReader::Impl {
  std::string name, device, attribute;
  int timeout_ms;
  std::unique_ptr<Tango::DeviceProxy> proxy;  // used on the reads' strand only

  AttributeRead read_now() {
    try {
      if (!proxy) {
        proxy = std::make_unique<Tango::DeviceProxy>(device);
        proxy->set_timeout_millis(timeout_ms);
      }
      Tango::DeviceAttribute value = proxy->read_attribute(attribute);
      if (value.is_empty()) return {std::nullopt, "the attribute has no value"};
      if (value.get_quality() == Tango::ATTR_INVALID) return {std::nullopt, "the attribute's quality is INVALID"};
      const auto number = scalar_of(value);
      if (!number) return {std::nullopt, fmt::format("not a numeric scalar (Tango type {})", value.get_type())};
      return {number, ""};
    } catch (const Tango::DevFailed& e) {
      proxy.reset();  // reach the device again next time: it may have restarted
      return {std::nullopt, describe(e)};
    } catch (const std::exception& e) {
      proxy.reset();
      return {std::nullopt, e.what()};
    }
  }
};

AttributeReader::AttributeReader(asio::any_io_executor blocking, std::string name, double timeout_s)
    : reads_(asio::make_strand(std::move(blocking))), impl_(std::make_shared<Impl>()) {
  impl_->name = std::move(name);
  std::tie(impl_->device, impl_->attribute) = split_attribute_name(impl_->name);
  impl_->timeout_ms = std::max(1, static_cast<int>(std::lround(timeout_s * 1000.0)));
}

// The connection goes on the reads' strand, after any read still queued or in flight.
AttributeReader::~AttributeReader() { asio::post(reads_, [impl = std::move(impl_)] {}); }

void AttributeReader::read(std::function<void(AttributeRead)> done) {
  asio::post(reads_, [impl = impl_, done = std::move(done)] { done(impl->read_now()); });
}

}  // namespace insitu::tango
