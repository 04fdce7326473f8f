#include "drivers/io/instrument_link.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace insitu::io {

InstrumentLink::InstrumentLink(const RunClock& clock, const RunEvents& events, std::string name, Settings settings)
    : clock_(clock), events_(events), name_(std::move(name)), settings_(std::move(settings)) {}

InstrumentLink::~InstrumentLink() = default;

awaitable<void> InstrumentLink::open() {
  stream_ = co_await open_byte_stream(settings_.url, settings_.serial);
  channel_ = std::make_unique<LineChannel>(*stream_, settings_.terminator, settings_.strip_cr_before_terminator);
}

void InstrumentLink::close() {
  channel_.reset();
  stream_.reset();
}

void InstrumentLink::drop(const std::string& why) {
  if (!channel_) return;
  if (down_) {  // the reconnect attempt failed in its init; reconnect_failed() follows
    close();
    return;
  }
  down_ = true;
  events_.emit(io::EventKind::fault, fmt::format("{} {} lost: {}", name_, stream_->describe(), why));
  close();
  backoff_s_ = 1.0;
  down_since_s_ = clock_.now_s();
  next_reconnect_s_ = down_since_s_;
}

void InstrumentLink::reconnect_failed() {
  close();
  next_reconnect_s_ = clock_.now_s() + backoff_s_;
  backoff_s_ = std::min(backoff_s_ * 2.0, settings_.max_backoff_s);
}

awaitable<void> InstrumentLink::wait_to_reconnect() const {
  if (!may_reconnect()) co_await clock_.sleep_until(next_reconnect_s_);
}

}  // namespace insitu::io
