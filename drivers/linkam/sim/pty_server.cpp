#include "drivers/linkam/sim/pty_server.hpp"

#include "drivers/io/pty.hpp"

#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include <spdlog/spdlog.h>

namespace insitu::linkam::sim {

namespace {

std::string printable(std::string_view bytes) {
  std::string out;
  for (const unsigned char c : bytes) {
    if (c >= 0x20 && c < 0x7F && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      static constexpr char digits[] = "0123456789ABCDEF";
      out += "\\x";
      out.push_back(digits[c >> 4]);
      out.push_back(digits[c & 0xF]);
    }
  }
  return out;
}

}  // namespace

// One plugged-in cable: the master served by us, plus a slave fd we hold open ourselves so that
// the master does not read EIO while no driver has the slave open.
struct PtyServer::Link {
  asio::posix::stream_descriptor master;
  int slave_fd = -1;
  std::string slave_path;

  explicit Link(asio::io_context& io) : master(io) {}
  ~Link() {
    if (slave_fd >= 0) ::close(slave_fd);
  }
};

PtyServer::PtyServer(asio::io_context& io, const io::RunClock& clock, std::filesystem::path link,
                     std::uint64_t seed)
    : io_(io),
      clock_(clock),
      link_(std::move(link)),
      model_(seed),
      emulator_(model_, seed ^ 0xA5A5A5A5A5A5A5A5ULL),
      replug_timer_(io) {
  plug();
}

PtyServer::~PtyServer() {
  replug_timer_.cancel();
  pull();
}

void PtyServer::plug() {
  const auto pty = io::publish_pty(link_, 19200);
  auto link = std::make_shared<Link>(io_);
  link->slave_fd = pty.slave_fd;
  link->slave_path = pty.slave_path;
  link->master.assign(pty.master_fd);

  emulator_.reset_link();
  current_ = link;
  spdlog::debug("linkam-sim: {} -> {}", link_.string(), link->slave_path);
  asio::co_spawn(io_, serve(std::move(link)), asio::detached);
}

void PtyServer::pull() {
  if (!current_) return;
  std::error_code ec;
  std::filesystem::remove(link_, ec);
  boost::system::error_code bec;
  current_->master.close(bec);
  if (current_->slave_fd >= 0) {
    ::close(current_->slave_fd);
    current_->slave_fd = -1;
  }
  current_.reset();
}

void PtyServer::set_fault(Fault fault, bool on) {
  asio::post(io_, [this, fault, on] { model_.set_fault(fault, on); });
}

void PtyServer::unplug(double down_run_s) {
  asio::post(io_, [this, down_run_s] {
    spdlog::debug("linkam-sim: unplugged for {} s run time", down_run_s);
    pull();
    replug_timer_.expires_at(clock_.wall_time_at(clock_.now_s() + down_run_s));
    replug_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;  // cancelled: the server is going away or was unplugged again
      plug();
    });
  });
}

awaitable<void> PtyServer::serve(std::shared_ptr<Link> link) {
  std::array<char, 256> buffer{};
  for (;;) {
    boost::system::error_code ec;
    const std::size_t n =
        co_await link->master.async_read_some(asio::buffer(buffer), asio::redirect_error(asio::use_awaitable, ec));
    // Closed by pull(): `this` may already be gone, so leave without touching it.
    if (ec || !link->master.is_open()) co_return;
    const std::string_view request(buffer.data(), n);
    const double now_s = clock_.now_s();
    const std::string reply = emulator_.feed(request, now_s);
    if (spdlog::should_log(spdlog::level::trace)) {
      spdlog::trace("linkam-sim {:.3f} s  <- {}", now_s, printable(request));
      if (!reply.empty()) spdlog::trace("linkam-sim {:.3f} s  -> {}", now_s, printable(reply));
    }
    if (reply.empty()) continue;
    co_await asio::async_write(link->master, asio::buffer(reply), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
  }
}

}  // namespace insitu::linkam::sim
