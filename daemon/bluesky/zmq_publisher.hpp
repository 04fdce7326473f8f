#pragma once
// Event-model documents over ZeroMQ in the framing of Bluesky's 0MQ callbacks: one frame per document,
// `prefix + b" " + name + b" " + serialized` (bluesky/bluesky src/bluesky/callbacks/zmq.py: Publisher.__call__
// joins the three with b" "; RemoteDispatcher._poll splits the frame with message.split(b" ", 2)). The document is
// serialized as JSON, so a consumer reads it with RemoteDispatcher(address, deserializer=json.loads). The socket
// binds, so a RemoteDispatcher connects to it directly, without bluesky's 0MQ proxy. Sending never blocks: past the
// high-water mark a document is dropped and counted.
#include <cstdint>
#include <string>

#include <zmq.hpp>

namespace insitu::daemon::bluesky {

class ZmqPublisher {
 public:
  // Binds a PUB socket at `address` (tcp://HOST:PORT, ipc://PATH); throws with the address when it cannot.
  explicit ZmqPublisher(const std::string& address, int high_water_mark = 10000);
  ~ZmqPublisher();
  ZmqPublisher(const ZmqPublisher&) = delete;
  ZmqPublisher& operator=(const ZmqPublisher&) = delete;

  // On the loop; never blocks.
  void publish(std::string_view name, std::string_view serialized);
  const std::string& endpoint() const { return endpoint_; }
  std::uint64_t sent() const { return sent_; }
  std::uint64_t dropped() const { return dropped_; }

 private:
  zmq::context_t context_{1};
  zmq::socket_t socket_;
  std::string endpoint_;
  std::uint64_t sent_ = 0, dropped_ = 0;
};

}  // namespace insitu::daemon::bluesky
