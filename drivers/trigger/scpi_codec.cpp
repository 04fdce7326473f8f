#include "drivers/trigger/scpi_codec.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <stdexcept>

namespace insitu::trigger {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

void check_channel(int channel) {
  if (channel < 1 || channel > 8) {
    throw std::invalid_argument(fmt::format("BNC channel {} out of range 1..8 (A..H)", channel));
  }
}

std::string pulse(int channel, std::string_view rest) { return fmt::format(":PULSE{}:{}", channel, rest); }

std::string on_off(bool on) { return on ? "ON" : "OFF"; }

}  // namespace

std::string format_seconds(double seconds) {
  if (!std::isfinite(seconds) || std::fabs(seconds) > 1e6) {
    throw std::invalid_argument(fmt::format("time {} s is not a finite value within +-1e6 s", seconds));
  }
  // Integer nanoseconds on the 5 ns grid, so the text is exact and never shows binary rounding noise.
  const std::int64_t ns = std::llround(seconds / time_resolution_s) * 5;
  const std::int64_t magnitude = ns < 0 ? -ns : ns;
  return fmt::format("{}{}.{:09d}", ns < 0 ? "-" : "", magnitude / 1'000'000'000, magnitude % 1'000'000'000);
}

std::string_view to_token(SystemMode mode) {
  switch (mode) {
    case SystemMode::normal: return "NORM";
    case SystemMode::single: return "SING";
    case SystemMode::burst: return "BURS";
    case SystemMode::duty_cycle: return "DCYC";
  }
  throw std::invalid_argument("unknown SystemMode");
}

std::string_view to_token(TriggerMode mode) {
  switch (mode) {
    case TriggerMode::disabled: return "DIS";
    case TriggerMode::triggered: return "TRIG";
    case TriggerMode::dual: return "DUAL";
  }
  throw std::invalid_argument("unknown TriggerMode");
}

std::string_view to_token(TriggerEdge edge) {
  switch (edge) {
    case TriggerEdge::rising: return "RIS";
    case TriggerEdge::falling: return "FALL";
  }
  throw std::invalid_argument("unknown TriggerEdge");
}

std::string_view to_token(Polarity polarity) {
  switch (polarity) {
    case Polarity::normal: return "NORM";
    case Polarity::complement: return "COMP";
    case Polarity::inverted: return "INV";
  }
  throw std::invalid_argument("unknown Polarity");
}

namespace cmd {
std::string identify() { return "*IDN?"; }
std::string reset() { return "*RST"; }
std::string software_trigger() { return "*TRG"; }
std::string system_mode(SystemMode mode) { return pulse(0, fmt::format("MODE {}", to_token(mode))); }
std::string system_mode_query() { return pulse(0, "MODE?"); }
std::string trigger_mode(TriggerMode mode) { return pulse(0, fmt::format("TRIG:MODE {}", to_token(mode))); }
std::string trigger_edge(TriggerEdge edge) { return pulse(0, fmt::format("TRIG:EDGE {}", to_token(edge))); }
std::string trigger_level(double level_V) {
  if (!std::isfinite(level_V) || level_V < 0.2 || level_V > 15.0) {
    throw std::invalid_argument(fmt::format("trigger level {} V outside 0.2..15 V", level_V));
  }
  return pulse(0, fmt::format("TRIG:LEV {:.2f}", level_V));
}
std::string period(double period_s) {
  if (!(period_s >= 2e-7 && period_s <= 1000.0)) {
    throw std::invalid_argument(fmt::format("period {} s outside 200 ns..1000 s", period_s));
  }
  return pulse(0, "PER " + format_seconds(period_s));
}
std::string burst_count(unsigned count) {
  if (count < 1 || count > 1'000'000) {
    throw std::invalid_argument(fmt::format("burst count {} outside 1..1000000", count));
  }
  return pulse(0, fmt::format("BCO {}", count));
}
std::string run(bool on) { return pulse(0, "STAT " + on_off(on)); }
std::string run_query() { return pulse(0, "STAT?"); }
std::string channel_sync(int channel, std::string_view source) {
  check_channel(channel);
  return pulse(channel, fmt::format("SYNC {}", source));
}
std::string channel_mode(int channel, SystemMode mode) {
  check_channel(channel);
  return pulse(channel, fmt::format("CMOD {}", to_token(mode)));
}
std::string channel_width(int channel, double width_s) {
  check_channel(channel);
  if (!(width_s >= 1e-8)) throw std::invalid_argument(fmt::format("pulse width {} s below 10 ns", width_s));
  return pulse(channel, "WIDT " + format_seconds(width_s));
}
std::string channel_width_query(int channel) {
  check_channel(channel);
  return pulse(channel, "WIDT?");
}
std::string channel_delay(int channel, double delay_s) {
  check_channel(channel);
  return pulse(channel, "DEL " + format_seconds(delay_s));
}
std::string channel_delay_query(int channel) {
  check_channel(channel);
  return pulse(channel, "DEL?");
}
std::string channel_polarity(int channel, Polarity polarity) {
  check_channel(channel);
  return pulse(channel, fmt::format("POL {}", to_token(polarity)));
}
std::string channel_enable(int channel, bool on) {
  check_channel(channel);
  return pulse(channel, "STAT " + on_off(on));
}
std::string channel_enable_query(int channel) {
  check_channel(channel);
  return pulse(channel, "STAT?");
}
std::string keypad_lock(bool on) { return on ? ":SYST:KLOC 1" : ":SYST:KLOC 0"; }
std::string echo(bool on) { return ":SYST:COMM:SER:ECH " + on_off(on); }
}  // namespace cmd

namespace {
void append_channel(std::vector<std::string>& out, const ChannelConfig& ch) {
  out.push_back(cmd::channel_sync(ch.channel, "T0"));
  out.push_back(cmd::channel_mode(ch.channel, SystemMode::normal));
  out.push_back(cmd::channel_width(ch.channel, ch.width_s));
  out.push_back(cmd::channel_delay(ch.channel, ch.delay_s));
  out.push_back(cmd::channel_polarity(ch.channel, ch.polarity));
  out.push_back(cmd::channel_enable(ch.channel, true));
}
}  // namespace

std::vector<std::string> init_sequence(const InitConfig& config) {
  if (config.detector.width_s < 20e-6) {
    throw std::invalid_argument(
        fmt::format("detector pulse width {} s is below the XRD1621's 20 us minimum", config.detector.width_s));
  }
  if (config.echo_channel && config.echo_channel->channel == config.detector.channel) {
    throw std::invalid_argument("echo channel must differ from the detector channel");
  }
  std::vector<std::string> out{
      cmd::system_mode(SystemMode::single),
      cmd::trigger_mode(TriggerMode::triggered),
      cmd::trigger_edge(TriggerEdge::rising),
      cmd::trigger_level(config.trigger_level_V),
  };
  append_channel(out, config.detector);
  if (config.echo_channel) append_channel(out, *config.echo_channel);
  if (config.lock_keypad) out.push_back(cmd::keypad_lock(true));
  return out;
}

std::vector<std::string> frame_sequence() { return {cmd::run(true), cmd::software_trigger(), cmd::run_query()}; }

std::vector<std::string> shutdown_sequence() { return {cmd::run(false), cmd::keypad_lock(false)}; }

std::vector<std::string> LineSplitter::feed(std::string_view bytes) {
  std::vector<std::string> lines;
  for (const char c : bytes) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\n') {
      if (overlong_) {
        overlong_ = false;
      } else if (!partial_.empty()) {
        lines.push_back(std::move(partial_));
      }
      partial_.clear();
    } else if (u < 0x20 || u >= 0x7f) {
      // The dialect is printable ASCII. CR only matters before LF; dropping it (and other control or
      // 8-bit noise) makes LF the sole delimiter.
      if (c != '\r') ++discarded_bytes_;
    } else if (overlong_) {
      ++discarded_bytes_;
    } else if (partial_.size() >= max_line_bytes) {
      discarded_bytes_ += partial_.size() + 1;
      partial_.clear();
      overlong_ = true;
    } else {
      partial_.push_back(c);
    }
  }
  return lines;
}

void LineSplitter::clear() {
  discarded_bytes_ += partial_.size();
  partial_.clear();
  overlong_ = false;
}

std::string error_text(int code) {
  switch (code) {
    case 1: return "?1 incorrect prefix (command must start with ':' or '*')";
    case 2: return "?2 missing command keyword";
    case 3: return "?3 invalid command keyword";
    case 4: return "?4 missing parameter";
    case 5: return "?5 invalid parameter";
    case 6: return "?6 query only, command needs a query form";
    case 7: return "?7 no query form for this command";
    case 8: return "?8 command unavailable in the current system state";
    default: return fmt::format("?{} unknown error", code);
  }
}

Reply classify_reply(std::string_view line) {
  const std::string_view text = trim(line);
  if (text == "ok" || text == "OK") return Reply{ReplyKind::ok, {}, 0, {}};
  if (text.size() >= 2 && text.front() == '?') {
    const std::string_view digits = text.substr(1);
    bool all_digits = digits.size() <= 6;
    for (const char c : digits) all_digits = all_digits && c >= '0' && c <= '9';
    if (all_digits) {
      const int code = std::stoi(std::string(digits));
      const bool known = code >= 1 && code <= 8;
      return Reply{ReplyKind::error, {}, known ? code : -1, error_text(code)};
    }
  }
  return Reply{ReplyKind::value, std::string(text), 0, {}};
}

bool is_echo(std::string_view command, std::string_view line) { return trim(command) == trim(line); }

std::optional<Reply> ReplyReader::accept(std::string_view line) {
  if (!echo_seen_ && is_echo(command_, line)) {
    echo_seen_ = true;
    return std::nullopt;
  }
  // Only the first line may be an echo: afterwards even a line equal to the command is the reply.
  echo_seen_ = true;
  return classify_reply(line);
}

bool Identity::is_bnc() const { return vendor == "BNC"; }
bool Identity::is_quantum_composers() const { return vendor == "QC" || vendor == "Quantum Composers"; }

Identity parse_identity(std::string_view reply) {
  std::vector<std::string> fields;
  std::string_view rest = trim(reply);
  while (true) {
    const auto comma = rest.find(',');
    fields.emplace_back(trim(rest.substr(0, comma)));
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  if (fields.size() != 4) {
    throw std::invalid_argument(fmt::format("*IDN? reply '{}' has {} comma-separated fields, expected 4 "
                                            "(vendor,model,serial,firmware)",
                                            reply, fields.size()));
  }
  Identity id{fields[0], fields[1], fields[2], fields[3]};
  const bool bnc_family = id.is_bnc() && id.model.starts_with("57");
  const bool qc_family = id.is_quantum_composers() && id.model.starts_with("95");
  if (!bnc_family && !qc_family) {
    throw std::invalid_argument(fmt::format(
        "*IDN? reply '{}' is not a BNC 57x or Quantum Composers 95xx pulse generator", reply));
  }
  return id;
}

}  // namespace insitu::trigger
