#include "drivers/linkam/sim/pty_server.hpp"

#include <array>

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

PtyServer::PtyServer(asio::io_context& io, const io::RunClock& clock, std::filesystem::path link,
                     std::uint64_t seed)
    : io_(io),
      clock_(clock),
      model_(seed),
      emulator_(model_, seed ^ 0xA5A5A5A5A5A5A5A5ULL),
      cable_(io, clock, std::move(link), 19200, "linkam-sim",
             {.plugged = [this](const auto& plug) { plugged(plug); }, .pulled = {}}) {}

PtyServer::~PtyServer() = default;

void PtyServer::plugged(std::shared_ptr<io::SimulatedCable::Plug> plug) {
  emulator_.reset_link();
  asio::co_spawn(io_, serve(std::move(plug)), asio::detached);
}

void PtyServer::set_fault(Fault fault, bool on) {
  asio::post(io_, [this, fault, on] { model_.set_fault(fault, on); });
}

void PtyServer::set_byte_error_rate(double probability) {
  asio::post(io_, [this, probability] { emulator_.set_byte_error_rate(probability); });
}

void PtyServer::power_cycle(double down_run_s) {
  // Posted before the unplug's own post, so the link never serves the old state once it is down.
  asio::post(io_, [this] { model_.power_cycle(); });
  cable_.unplug(down_run_s);
}

awaitable<void> PtyServer::serve(std::shared_ptr<io::SimulatedCable::Plug> plug) {
  std::array<char, 256> buffer{};
  for (;;) {
    const std::size_t n = co_await plug->read_some(asio::buffer(buffer));
    if (n == 0) co_return;  // pulled: `this` may already be gone, so leave without touching it
    const std::string_view request(buffer.data(), n);
    const double now_s = clock_.now_s();
    const std::string reply = emulator_.feed(request, now_s);
    if (spdlog::should_log(spdlog::level::trace)) {
      spdlog::trace("linkam-sim {:.3f} s  <- {}", now_s, printable(request));
      if (!reply.empty()) spdlog::trace("linkam-sim {:.3f} s  -> {}", now_s, printable(reply));
    }
    if (reply.empty()) continue;
    if (!co_await plug->write(asio::buffer(reply))) co_return;
  }
}

}  // namespace insitu::linkam::sim
