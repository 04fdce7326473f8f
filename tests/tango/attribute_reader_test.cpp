// The Tango attribute reader as its owner meets it: the attribute name split for DeviceProxy, a device that does
// not answer reported as a reason, and a reader that goes while its read is still queued (the run has ended) neither
// waiting for that read on the loop nor losing its answer. The beam-current suspender test reads a real PyTango
// device server (tests/daemon/suspenders_test.cpp).
#include "drivers/tango/attribute_reader.hpp"

#include <gtest/gtest.h>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <chrono>
#include <future>
#include <optional>

namespace insitu::tango {
namespace {

TEST(TangoAttributeName, SplitsIntoDeviceAndAttributeKeepingTheOptions) {
  EXPECT_EQ(split_attribute_name("tango://host:10000/sr/d-ct/1/Current#dbase=no"),
            std::make_pair(std::string("tango://host:10000/sr/d-ct/1#dbase=no"), std::string("Current")));
  EXPECT_EQ(split_attribute_name("sr/d-ct/1/Current"),
            std::make_pair(std::string("sr/d-ct/1"), std::string("Current")));
  EXPECT_EQ(split_attribute_name("Current"), std::make_pair(std::string("Current"), std::string("")));
}

// Nothing listens on port 1: the read ends with Tango's reason, not a value.
constexpr const char* kNoDevice = "tango://127.0.0.1:1/a/b/c/BeamCurrent#dbase=no";

TEST(TangoAttributeReader, ADeviceThatDoesNotAnswerIsAReasonNotAValue) {
  asio::thread_pool blocking(1);
  AttributeReader reader(blocking.get_executor(), kNoDevice, 1.0);
  std::promise<AttributeRead> answer;
  reader.read([&answer](AttributeRead r) { answer.set_value(std::move(r)); });
  auto future = answer.get_future();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  const auto read = future.get();
  EXPECT_FALSE(read.value);
  EXPECT_FALSE(read.error.empty());
}

// The blocking thread is held busy: a reader that joined or waited for its read would never return from its
// destructor here, and the test would hang until ctest's timeout.
TEST(TangoAttributeReader, GoingWhileItsReadIsQueuedReturnsAtOnceAndTheReadStillAnswers) {
  asio::thread_pool blocking(1);
  std::promise<void> release_thread;
  asio::post(blocking, [held = release_thread.get_future()]() mutable { held.wait(); });
  std::promise<AttributeRead> answer;
  {
    AttributeReader reader(blocking.get_executor(), kNoDevice, 1.0);
    reader.read([&answer](AttributeRead r) { answer.set_value(std::move(r)); });
  }
  release_thread.set_value();
  auto future = answer.get_future();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  EXPECT_FALSE(future.get().error.empty());
}

}  // namespace
}  // namespace insitu::tango
