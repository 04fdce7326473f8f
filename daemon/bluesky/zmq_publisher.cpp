#include "daemon/bluesky/zmq_publisher.hpp"

#include <fmt/format.h>

#include <stdexcept>

namespace insitu::daemon::bluesky {

// Queued documents get this long to leave when the publisher closes; then they are dropped.
constexpr int kLingerMs = 1000;

ZmqPublisher::ZmqPublisher(const std::string& address, int high_water_mark)
    : socket_(context_, zmq::socket_type::pub) {
  try {
    socket_.set(zmq::sockopt::sndhwm, high_water_mark);
    // Past the high-water mark a send fails with EAGAIN (counted) instead of dropping silently.
    socket_.set(zmq::sockopt::xpub_nodrop, 1);
    socket_.set(zmq::sockopt::linger, kLingerMs);
    socket_.bind(address);
    endpoint_ = socket_.get(zmq::sockopt::last_endpoint);
  } catch (const zmq::error_t& e) {
    throw std::runtime_error(fmt::format("bluesky zmq: cannot bind {}: {}", address, e.what()));
  }
}

ZmqPublisher::~ZmqPublisher() = default;

void ZmqPublisher::publish(std::string_view name, std::string_view serialized) {
  std::string frame;
  frame.reserve(name.size() + serialized.size() + 2);
  frame.append(" ").append(name).append(" ").append(serialized);  // an empty prefix: RemoteDispatcher's default
  try {
    if (socket_.send(zmq::buffer(frame), zmq::send_flags::dontwait))
      ++sent_;
    else
      ++dropped_;
  } catch (const zmq::error_t&) {
    ++dropped_;
  }
}

}  // namespace insitu::daemon::bluesky
