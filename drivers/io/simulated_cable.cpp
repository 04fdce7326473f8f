#include "drivers/io/simulated_cable.hpp"

#include <unistd.h>

#include <exception>
#include <system_error>

#include <spdlog/spdlog.h>

#include "drivers/io/pty.hpp"

namespace insitu::io {

SimulatedCable::Plug::~Plug() {
  if (slave_fd_ >= 0) ::close(slave_fd_);
}

awaitable<std::size_t> SimulatedCable::Plug::read_some(asio::mutable_buffer buffer) {
  boost::system::error_code ec;
  const std::size_t n = co_await master_.async_read_some(buffer, asio::redirect_error(asio::use_awaitable, ec));
  co_return ec || pulled_ ? 0 : n;
}

awaitable<bool> SimulatedCable::Plug::write(asio::const_buffer bytes) {
  boost::system::error_code ec;
  co_await asio::async_write(master_, bytes, asio::redirect_error(asio::use_awaitable, ec));
  co_return !ec;
}

SimulatedCable::SimulatedCable(asio::io_context& io, const RunClock& clock, std::filesystem::path link, int baud,
                               std::string name, Handlers handlers)
    : io_(io),
      clock_(clock),
      link_(std::move(link)),
      baud_(baud),
      name_(std::move(name)),
      handlers_(std::move(handlers)),
      replug_timer_(io) {
  plug();
}

SimulatedCable::~SimulatedCable() {
  lifeline_->alive = false;
  replug_timer_.cancel();
  pull();
}

void SimulatedCable::plug() {
  const auto pty = publish_pty(link_, baud_);
  auto plug = std::make_shared<Plug>(io_);
  plug->slave_fd_ = pty.slave_fd;
  plug->master_.assign(pty.master_fd);
  current_ = plug;
  ++plug_count_;
  spdlog::debug("{}: {} -> {}", name_, link_.string(), pty.slave_path);
  handlers_.plugged(plug);
}

void SimulatedCable::pull() {
  if (!current_) return;
  std::error_code ec;
  std::filesystem::remove(link_, ec);
  current_->pulled_ = true;
  boost::system::error_code bec;
  current_->master_.close(bec);
  if (handlers_.pulled) handlers_.pulled();
  if (current_->slave_fd_ >= 0) {
    ::close(current_->slave_fd_);
    current_->slave_fd_ = -1;
  }
  current_.reset();
}

void SimulatedCable::unplug(double down_run_s) {
  asio::post(io_, [this, lifeline = lifeline_, down_run_s] {
    if (!lifeline->alive) return;
    const std::uint64_t unplug = ++lifeline->unplugs;
    spdlog::debug("{}: unplugged for {} s run time", name_, down_run_s);
    pull();
    replug_timer_.expires_at(clock_.wall_time_at(clock_.now_s() + down_run_s));
    replug_timer_.async_wait([this, lifeline, unplug](const boost::system::error_code& ec) {
      // Cancelled, or already due when the cable went away or was unplugged again.
      if (ec || !lifeline->alive || lifeline->unplugs != unplug) return;
      try {
        plug();
      } catch (const std::exception& e) {  // on the simulator's loop thread: stay unplugged rather than terminate
        spdlog::error("{}: cannot plug the cable back in: {}", name_, e.what());
      }
    });
  });
}

}  // namespace insitu::io
