#include "drivers/trigger/sim/pty_server.hpp"

#include <array>
#include <cctype>

#include <spdlog/spdlog.h>

namespace insitu::trigger::sim {
namespace {

using steady = std::chrono::steady_clock;

// While the unit is running (armed, or a latency/rate-generator pulse is due) the emulator is advanced this
// often, so pulses that no command reveals are still delivered close to their time.
constexpr auto generator_poll = std::chrono::microseconds(200);

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// The line as the emulator will see it: CR and blanks at the ends do not count for matching.
std::string normalised(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
  while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
  return upper(line);
}

}  // namespace

// The replies of one plug waiting for their send time. Co-owned by its writer, which may outlive the server.
struct PtyServer::Outbox {
  std::deque<std::pair<steady::time_point, std::string>> replies;
  asio::steady_timer wake;  // the writer sleeps on it; cancel() wakes it

  explicit Outbox(asio::io_context& io) : wake(io) {}
};

PtyServer::PtyServer(asio::io_context& io, const io::RunClock& clock, std::filesystem::path link,
                     EmulatorConfig config, PulseHandler on_pulse)
    : io_(io),
      clock_(clock),
      emulator_(std::move(config)),
      on_pulse_(std::move(on_pulse)),
      pulse_timer_(io),
      poll_timer_(io),
      cable_(io, clock, std::move(link), 38400, "trigger-sim",
             {.plugged = [this](const auto& plug) { plugged(plug); }, .pulled = [this] { pulled(); }}) {}

PtyServer::~PtyServer() {
  pulse_timer_.cancel();
  poll_timer_.cancel();
}

void PtyServer::plugged(const std::shared_ptr<io::SimulatedCable::Plug>& plug) {
  partial_line_.clear();
  outbox_ = std::make_shared<Outbox>(io_);
  asio::co_spawn(io_, serve(plug), asio::detached);
  asio::co_spawn(io_, write_replies(plug, outbox_), asio::detached);
}

void PtyServer::pulled() {
  outbox_->wake.cancel();
  outbox_.reset();
}

void PtyServer::inject(Fault fault, std::string command_prefix) {
  asio::post(io_, [this, fault, prefix = upper(command_prefix)] { faults_.push_back({prefix, fault}); });
}

void PtyServer::set_echo(bool on) {
  asio::post(io_, [this, on] {
    // Through the emulator's own command so its state stays the single truth; the reply is not sent.
    // Refused while a host line is half received, which the emulator would otherwise glue onto it.
    if (!partial_line_.empty()) {
      spdlog::warn("trigger-sim: echo not changed while a command is half received");
      return;
    }
    auto responses = emulator_.receive(cmd::echo(on) + std::string(line_terminator), clock_.now_s());
    for (auto& r : responses) schedule_pulses(std::move(r.pulses));
  });
}

awaitable<void> PtyServer::serve(std::shared_ptr<io::SimulatedCable::Plug> plug) {
  std::array<char, 256> buffer{};
  for (;;) {
    const std::size_t n = co_await plug->read_some(asio::buffer(buffer));
    if (n == 0) co_return;  // pulled: `this` may already be gone, so leave without touching it
    handle_bytes(std::string_view(buffer.data(), n));
  }
}

// Feeds the emulator line by line, so that a fault aimed at a command is queued just before that command.
void PtyServer::handle_bytes(std::string_view bytes) {
  const double now_s = clock_.now_s();
  while (!bytes.empty()) {
    const auto lf = bytes.find('\n');
    const std::string_view segment = bytes.substr(0, lf == std::string_view::npos ? bytes.size() : lf + 1);
    bytes.remove_prefix(segment.size());
    if (lf == std::string_view::npos) {
      partial_line_.append(segment);
      handle_responses(emulator_.receive(segment, now_s), now_s);
      continue;
    }
    partial_line_.append(segment.substr(0, segment.size() - 1));
    const std::string line = normalised(partial_line_);
    partial_line_.clear();
    for (auto it = faults_.begin(); it != faults_.end(); ++it) {
      if (!line.empty() && line.starts_with(it->prefix)) {
        emulator_.inject(it->fault);
        faults_.erase(it);
        break;
      }
    }
    handle_responses(emulator_.receive(segment, now_s), now_s);
  }
  keep_generator_polled();
}

void PtyServer::handle_responses(std::vector<Response> responses, double now_s) {
  for (auto& r : responses) {
    spdlog::trace("trigger-sim {:.4f} s <- {}", now_s, r.command);
    received_.push_back(std::move(r.command));
    schedule_pulses(std::move(r.pulses));
    if (r.bytes.empty()) continue;  // dropped reply
    const auto due = r.delay_s > 0.0 ? clock_.wall_time_at(now_s + r.delay_s) : steady::now();
    outbox_->replies.emplace_back(due, std::move(r.bytes));
  }
  outbox_->wake.cancel();
}

// Touches only the plug and the outbox, which it co-owns, so it may outlive the server.
awaitable<void> PtyServer::write_replies(std::shared_ptr<io::SimulatedCable::Plug> plug,
                                         std::shared_ptr<Outbox> outbox) {
  auto& replies = outbox->replies;
  for (;;) {
    if (plug->pulled()) co_return;
    boost::system::error_code ec;
    if (replies.empty() || replies.front().first > steady::now()) {
      outbox->wake.expires_at(replies.empty() ? steady::time_point::max() : replies.front().first);
      co_await outbox->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;  // woken early by a new reply or by the pull: look again
    }
    const std::string bytes = std::move(replies.front().second);
    replies.pop_front();
    if (!co_await plug->write(asio::buffer(bytes))) co_return;
  }
}

void PtyServer::schedule_pulses(std::vector<PulseEvent> pulses) {
  if (pulses.empty()) return;
  for (auto& p : pulses) pending_pulses_.emplace(p.edge_s, p);
  arm_pulse_timer();
}

void PtyServer::arm_pulse_timer() {
  if (pending_pulses_.empty()) return;
  pulse_timer_.expires_at(clock_.wall_time_at(pending_pulses_.begin()->first));
  pulse_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;  // re-armed for an earlier pulse, or the server is going away
    deliver_due_pulses();
  });
}

void PtyServer::deliver_due_pulses() {
  const auto now = steady::now();
  while (!pending_pulses_.empty() && clock_.wall_time_at(pending_pulses_.begin()->first) <= now) {
    const PulseEvent pulse = pending_pulses_.begin()->second;
    pending_pulses_.erase(pending_pulses_.begin());
    spdlog::trace("trigger-sim pulse channel {} edge {:.4f} s", pulse.channel, pulse.edge_s);
    if (on_pulse_) on_pulse_(pulse);
  }
  arm_pulse_timer();
}

// Pulses that start after the command that caused them (instrument latency, rate generator, bursts) only
// come out of Bnc575Emulator::advance(); poll it for as long as the unit is running.
void PtyServer::keep_generator_polled() {
  if (polling_ || !emulator_.state().run) return;
  polling_ = true;
  poll_timer_.expires_after(generator_poll);
  poll_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    polling_ = false;
    schedule_pulses(emulator_.advance(clock_.now_s()));
    keep_generator_polled();
  });
}

}  // namespace insitu::trigger::sim
