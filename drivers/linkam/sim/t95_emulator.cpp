#include "drivers/linkam/sim/t95_emulator.hpp"

#include <cmath>
#include <optional>

namespace insitu::linkam::sim {

namespace {

// Decimal digits only (padding zeros allowed), at most 6 of them; nullopt otherwise.
std::optional<long> parse_digits(std::string_view text) {
  if (text.empty() || text.size() > 6) return std::nullopt;
  long value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

std::optional<long> parse_signed_digits(std::string_view text) {
  if (!text.empty() && text.front() == '-') {
    const auto magnitude = parse_digits(text.substr(1));
    if (!magnitude) return std::nullopt;
    return -*magnitude;
  }
  return parse_digits(text);
}

constexpr char hex_digit(unsigned nibble) { return "0123456789ABCDEF"[nibble & 0xF]; }

}  // namespace

T95Emulator::T95Emulator(StageModel& model, std::uint64_t seed) : model_(model), rng_(seed) {}

void T95Emulator::reset_link() {
  line_.clear();
  overflow_ = false;
  initialised_ = false;
}

std::string T95Emulator::feed(std::string_view bytes, double run_s) {
  model_.advance_to(run_s);
  std::string out;
  if (model_.fault(Fault::silence)) {
    // A dead link: nothing arrives, so no half line survives the fault either.
    line_.clear();
    overflow_ = false;
    return out;
  }
  for (const char c : bytes) {
    if (c == '\n') continue;
    if (c != '\r') {
      if (line_.size() < max_line_bytes) {
        line_.push_back(c);
      } else {
        overflow_ = true;
      }
      continue;
    }
    if (!overflow_) {
      if (line_ != "T") {
        if (received_.size() == kReceivedKept) received_.pop_front();
        received_.push_back({run_s, line_, model_.state()});
      }
      std::string reply = execute(line_);
      if (!reply.empty() && model_.fault(Fault::garbage)) reply = garble(std::move(reply));
      if (byte_error_rate_ > 0.0) reply = corrupt_bytes(std::move(reply));
      out += reply;
    }
    line_.clear();
    overflow_ = false;
  }
  return out;
}

std::string T95Emulator::execute(std::string_view line) {
  if (line == "T") {
    initialised_ = true;
    return status_reply();
  }
  if (!initialised_) return {};  // the first command must be `T`; the real unit drops the rest

  const std::string ack = "\r";
  if (line == "S") {
    model_.start();
    return ack;
  }
  if (line == "E") {
    model_.stop();
    return ack;
  }
  if (line == "O") {
    model_.hold();
    return ack;
  }
  if (line == "H" || line == "C") {
    model_.resume();
    return ack;
  }
  if (line == "Pa0") {
    model_.set_pump_auto(true);
    return ack;
  }
  if (line == "Pm0") {
    model_.set_pump_auto(false);
    return ack;
  }
  if (line.size() == 2 && line[0] == 'P') {
    const int speed = line[1] - '0';
    if (speed < 0 || speed > StageModel::max_pump_speed) return {};
    model_.set_pump_manual_speed(speed);
    return ack;
  }
  if (line.size() > 2 && line.substr(0, 2) == "R1") {
    const auto hundredths = parse_digits(line.substr(2));
    if (!hundredths || *hundredths < 1 || *hundredths > 15000) return {};
    model_.set_rate_K_per_min(static_cast<double>(*hundredths) / 100.0);
    return ack;
  }
  if (line.size() > 2 && line.substr(0, 2) == "L1") {
    const auto tenths = parse_signed_digits(line.substr(2));
    if (!tenths || *tenths < -1960 || *tenths > 6000) return {};
    model_.set_limit_K(static_cast<double>(*tenths) / 10.0 + 273.15);
    return ack;
  }
  return {};
}

std::string T95Emulator::status_reply() const {
  const double celsius = model_.measured_temperature_K() - 273.15;
  const auto tenths = static_cast<long>(std::lround(celsius * 10.0));
  // Two's complement of the 16-bit value; readings outside int16 cannot occur in the stage range.
  const auto word = static_cast<std::uint16_t>(static_cast<std::int16_t>(tenths));
  std::string reply;
  reply.push_back(static_cast<char>(model_.sb1()));
  reply.push_back(static_cast<char>(model_.eb1()));
  reply.push_back(static_cast<char>(model_.pb1()));
  reply.append(3, static_cast<char>(0x80));  // GS1 and two unused bytes
  for (int shift = 12; shift >= 0; shift -= 4) reply.push_back(hex_digit(word >> shift));
  reply.push_back('\r');
  return reply;
}

std::string T95Emulator::garble(std::string reply) {
  auto junk = [this](std::size_t max_bytes) {
    std::string bytes(1 + rng_.next() % max_bytes, '\0');
    for (char& b : bytes) {
      do {
        b = static_cast<char>(rng_.next() & 0xFF);
      } while (b == '\r');
    }
    return bytes;
  };
  // Half the time line noise precedes the reply, half the time it replaces it; either way the
  // line still ends in a CR, as a real corrupted line would once the device's CR gets through.
  if (rng_.next() % 2 == 0) return junk(8) + reply;
  return junk(12) + "\r";
}

std::string T95Emulator::corrupt_bytes(std::string reply) {
  constexpr double kScale = 1.0 / 18446744073709551616.0;  // 2^-64: next() as a fraction of 1
  for (char& b : reply)
    if (static_cast<double>(rng_.next()) * kScale < byte_error_rate_) b = static_cast<char>(rng_.next() & 0xFF);
  return reply;
}

}  // namespace insitu::linkam::sim
