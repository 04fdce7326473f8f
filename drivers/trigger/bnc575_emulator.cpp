#include "drivers/trigger/bnc575_emulator.hpp"

#include <fmt/format.h>

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <utility>

namespace insitu::trigger {
namespace {

const std::string ok = "ok";
const std::string missing_keyword = "?2";
const std::string invalid_keyword = "?3";
const std::string missing_parameter = "?4";
const std::string invalid_parameter = "?5";
const std::string query_only = "?6";
const std::string no_query_form = "?7";
const std::string unavailable = "?8";

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// SCPI keywords match their short or long form only, case-insensitively; `node` is already upper case.
bool keyword(std::string_view node, std::string_view long_form, std::string_view short_form) {
  return node == long_form || node == short_form;
}

std::optional<double> parse_number(std::string_view text) {
  const std::string s(trim(text));
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(s.c_str(), &end);
  if (errno != 0 || end != s.c_str() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<bool> parse_bool(std::string_view text) {
  const std::string s = upper(trim(text));
  if (s == "ON" || s == "1") return true;
  if (s == "OFF" || s == "0") return false;
  return std::nullopt;
}

std::optional<SystemMode> parse_mode(std::string_view text) {
  const std::string s = upper(trim(text));
  if (keyword(s, "NORMAL", "NORM")) return SystemMode::normal;
  if (keyword(s, "SINGLE", "SING")) return SystemMode::single;
  if (keyword(s, "BURST", "BURS")) return SystemMode::burst;
  if (keyword(s, "DCYCLE", "DCYC")) return SystemMode::duty_cycle;
  return std::nullopt;
}

std::optional<TriggerMode> parse_trigger_mode(std::string_view text) {
  const std::string s = upper(trim(text));
  if (keyword(s, "DISABLED", "DIS")) return TriggerMode::disabled;
  if (keyword(s, "TRIGGERED", "TRIG")) return TriggerMode::triggered;
  if (s == "DUAL") return TriggerMode::dual;
  return std::nullopt;
}

std::optional<TriggerEdge> parse_edge(std::string_view text) {
  const std::string s = upper(trim(text));
  if (keyword(s, "RISING", "RIS")) return TriggerEdge::rising;
  if (keyword(s, "FALLING", "FALL")) return TriggerEdge::falling;
  return std::nullopt;
}

std::optional<Polarity> parse_polarity(std::string_view text) {
  const std::string s = upper(trim(text));
  if (keyword(s, "NORMAL", "NORM")) return Polarity::normal;
  if (keyword(s, "COMPLEMENT", "COMP")) return Polarity::complement;
  if (keyword(s, "INVERTED", "INV")) return Polarity::inverted;
  return std::nullopt;
}

// Splits "PULS1" into ("PULS", 1); a node without digits gets `fallback`.
std::pair<std::string, int> split_suffix(const std::string& node, int fallback) {
  std::size_t i = node.size();
  while (i > 0 && std::isdigit(static_cast<unsigned char>(node[i - 1]))) --i;
  if (i == node.size() || node.size() - i > 2) return {node, fallback};
  return {node.substr(0, i), std::stoi(node.substr(i))};
}

std::optional<FaultKind> fault_kind_named(std::string_view name) {
  if (name == "drop") return FaultKind::drop_reply;
  if (name == "late") return FaultKind::late_reply;
  if (name == "error") return FaultKind::invalid_parameter;
  if (name == "garbage") return FaultKind::garbage;
  if (name == "noise") return FaultKind::noise;
  return std::nullopt;
}

}  // namespace

std::optional<Fault> read_fault(std::istream& words) {
  std::string name;
  words >> name;
  const auto kind = fault_kind_named(name);
  if (!kind) return std::nullopt;
  Fault fault{*kind, 0.0};
  if (*kind == FaultKind::late_reply && (!(words >> fault.delay_s) || fault.delay_s < 0)) return std::nullopt;
  return fault;
}

Bnc575Emulator::Bnc575Emulator(EmulatorConfig config) : config_(std::move(config)) {
  if (config_.channel_count != 2 && config_.channel_count != 4 && config_.channel_count != 8) {
    throw std::invalid_argument(fmt::format("BNC emulator: {} channels; the family has 2, 4 or 8",
                                            config_.channel_count));
  }
  reset();
  state_.echo = config_.echo;
}

void Bnc575Emulator::reset() {
  const bool echo = state_.echo;  // a serial-port setting, not touched by *RST
  state_ = EmulatorState{};
  state_.echo = echo;
  next_t0_s_.reset();
  remaining_t0_ = 0;
}

std::vector<Response> Bnc575Emulator::receive(std::string_view bytes, double now_s) {
  std::vector<Response> out;
  for (const std::string& line : splitter_.feed(bytes)) out.push_back(handle_line(line, now_s));
  return out;
}

std::vector<PulseEvent> Bnc575Emulator::advance(double now_s) {
  generate(now_s);
  return std::exchange(pending_, {});
}

void Bnc575Emulator::generate(double now_s) {
  while (next_t0_s_ && *next_t0_s_ <= now_s) {
    const double t0_s = *next_t0_s_;
    emit_t0(t0_s);
    if (remaining_t0_ > 0) --remaining_t0_;
    if (remaining_t0_ == 0) {
      // SING and BURS clear RUN themselves once the last shot is out.
      next_t0_s_.reset();
      state_.run = false;
    } else {
      next_t0_s_ = t0_s + state_.period_s;
    }
  }
}

void Bnc575Emulator::emit_t0(double t0_s) {
  for (int i = 0; i < config_.channel_count; ++i) {
    const ChannelState& ch = state_.channels[static_cast<std::size_t>(i)];
    if (ch.enabled) pending_.push_back(PulseEvent{i + 1, t0_s, t0_s + ch.delay_s, ch.width_s, ch.polarity});
  }
}

void Bnc575Emulator::start_generator(double t0_s, int count) {
  next_t0_s_ = t0_s;
  remaining_t0_ = count;
}

Response Bnc575Emulator::handle_line(const std::string& line, double now_s) {
  Response response;
  response.command = line;
  const bool echo = state_.echo;  // echo state as the line arrived
  std::optional<Fault> fault;
  if (!faults_.empty()) {
    fault = faults_.front();
    faults_.pop_front();
  }
  generate(now_s);  // pulses already due come before this command's effects
  std::string reply;
  if (fault && fault->kind == FaultKind::invalid_parameter) {
    reply = invalid_parameter;
  } else {
    reply = execute(line, now_s);
  }
  generate(now_s);
  response.pulses = std::exchange(pending_, {});
  if (fault && fault->kind == FaultKind::garbage) reply = "#~x$%";
  if (fault && fault->kind == FaultKind::drop_reply) return response;
  if (fault && fault->kind == FaultKind::noise) response.bytes += std::string("\0\xff\x13\x80", 4);
  if (echo) response.bytes += line + std::string(line_terminator);
  response.bytes += reply + std::string(line_terminator);
  if (fault && fault->kind == FaultKind::late_reply) response.delay_s = fault->delay_s;
  return response;
}

std::string Bnc575Emulator::execute(std::string_view line, double now_s) {
  line = trim(line);
  if (line.empty() || (line.front() != ':' && line.front() != '*')) return "?1";
  const auto space = line.find_first_of(" \t");
  std::string header = upper(line.substr(0, space));
  const std::string_view param = space == std::string_view::npos ? std::string_view{} : trim(line.substr(space));
  const bool query = header.ends_with('?');
  if (query) header.pop_back();
  const std::string result = dispatch(header, param, query, now_s);
  // Queries here take no argument (and change nothing), so a valid query with one is a bad parameter.
  if (query && !param.empty() && !result.starts_with('?')) return invalid_parameter;
  return result;
}

std::string Bnc575Emulator::dispatch(const std::string& header, std::string_view param, bool query, double now_s) {
  if (header.front() == '*') return execute_common(header, param, query, now_s);

  std::vector<std::string> nodes;
  std::string_view rest = std::string_view(header).substr(1);
  while (true) {
    const auto colon = rest.find(':');
    nodes.emplace_back(rest.substr(0, colon));
    if (colon == std::string_view::npos) break;
    rest = rest.substr(colon + 1);
  }
  for (const std::string& node : nodes) {
    if (node.empty()) return missing_keyword;
  }
  const auto [root, index] = split_suffix(nodes.front(), 0);
  if (keyword(root, "PULSE", "PULS")) {
    if (index > config_.channel_count) return invalid_keyword;
    return execute_pulse(index, nodes, param, query, now_s);
  }
  if (keyword(root, "SYSTEM", "SYST")) return execute_system(nodes, param, query);
  if (keyword(root, "INSTRUMENT", "INST") && nodes.size() == 2 && keyword(nodes[1], "CATALOG", "CAT")) {
    if (!query) return query_only;
    std::string list = "T0";
    for (int i = 0; i < config_.channel_count; ++i) list += fmt::format(", CH{}", static_cast<char>('A' + i));
    return list;
  }
  return invalid_keyword;
}

std::string Bnc575Emulator::execute_common(const std::string& header, std::string_view param, bool query,
                                           double now_s) {
  if (header == "*") return missing_keyword;
  if (header == "*IDN") return query ? config_.identity : query_only;
  if (header == "*RST") {
    if (query) return no_query_form;
    reset();
    return ok;
  }
  if (header == "*TRG") {
    if (query) return no_query_form;
    const bool armed = state_.run && state_.trigger_mode != TriggerMode::disabled;
    if (!armed) return config_.trigger_unarmed_is_error ? unavailable : ok;
    if (next_t0_s_) return ok;  // already generating: a further trigger is ignored
    const double t0_s = now_s + config_.trigger_latency_s;
    switch (state_.mode) {
      case SystemMode::single: start_generator(t0_s, 1); break;
      case SystemMode::burst: start_generator(t0_s, static_cast<int>(state_.burst_count)); break;
      case SystemMode::normal:
      case SystemMode::duty_cycle: start_generator(t0_s, -1); break;
    }
    return ok;
  }
  if (header == "*SAV" || header == "*RCL") {
    if (query) return no_query_form;
    if (param.empty()) return missing_parameter;
    const auto slot = parse_number(param);
    if (!slot || *slot < 1 || *slot > 12 || *slot != std::floor(*slot)) return invalid_parameter;
    return ok;  // stored settings are not modelled
  }
  return invalid_keyword;
}

std::string Bnc575Emulator::execute_pulse(int channel, const std::vector<std::string>& nodes,
                                          std::string_view param, bool query, double now_s) {
  if (nodes.size() < 2) return missing_keyword;
  const std::string& key = nodes[1];
  const bool system = channel == 0;
  auto setting = [&](auto&& parse, auto&& apply) -> std::string {
    if (param.empty()) return missing_parameter;
    const auto value = parse(param);
    if (!value) return invalid_parameter;
    return apply(*value);
  };
  auto seconds_in = [&](double lo, double hi, double& target) {
    return setting(parse_number, [&, lo, hi](double v) {
      if (v < lo || v > hi) return invalid_parameter;
      target = std::round(v / time_resolution_s) * time_resolution_s;
      return ok;
    });
  };

  if (system && keyword(key, "TRIGGER", "TRIG")) {
    if (nodes.size() != 3) return nodes.size() < 3 ? missing_keyword : invalid_keyword;
    const std::string& sub = nodes[2];
    if (keyword(sub, "MODE", "MOD")) {
      if (query) return std::string(to_token(state_.trigger_mode));
      return setting(parse_trigger_mode, [&](TriggerMode m) { state_.trigger_mode = m; return ok; });
    }
    if (keyword(sub, "EDGE", "EDG")) {
      if (query) return std::string(to_token(state_.trigger_edge));
      return setting(parse_edge, [&](TriggerEdge e) { state_.trigger_edge = e; return ok; });
    }
    if (keyword(sub, "LEVEL", "LEV")) {
      if (query) return fmt::format("{:.2f}", state_.trigger_level_V);
      return setting(parse_number, [&](double v) {
        if (v < 0.2 || v > 15.0) return invalid_parameter;
        state_.trigger_level_V = v;
        return ok;
      });
    }
    return invalid_keyword;
  }
  if (nodes.size() != 2) return invalid_keyword;

  if (keyword(key, "STATE", "STAT")) {
    if (!system) {
      ChannelState& ch = state_.channels[static_cast<std::size_t>(channel - 1)];
      if (query) return ch.enabled ? "1" : "0";
      return setting(parse_bool, [&](bool on) { ch.enabled = on; return ok; });
    }
    if (query) return state_.run ? "1" : "0";
    return setting(parse_bool, [&](bool on) {
      next_t0_s_.reset();
      state_.run = on;
      if (on && state_.trigger_mode == TriggerMode::disabled) {
        // Internal rate generator: SING fires one T0 at once, BURS a burst, NORM runs at the period.
        switch (state_.mode) {
          case SystemMode::single: start_generator(now_s, 1); break;
          case SystemMode::burst: start_generator(now_s, static_cast<int>(state_.burst_count)); break;
          case SystemMode::normal:
          case SystemMode::duty_cycle: start_generator(now_s, -1); break;
        }
      }
      return ok;
    });
  }
  if (system) {
    if (keyword(key, "MODE", "MOD")) {
      if (query) return std::string(to_token(state_.mode));
      return setting(parse_mode, [&](SystemMode m) { state_.mode = m; return ok; });
    }
    if (keyword(key, "PERIOD", "PER")) {
      if (query) return format_seconds(state_.period_s);
      return seconds_in(2e-7, 1000.0, state_.period_s);
    }
    if (keyword(key, "BCOUNTER", "BCO")) {
      if (query) return fmt::format("{}", state_.burst_count);
      return setting(parse_number, [&](double v) {
        if (v < 1 || v > 1e6 || v != std::floor(v)) return invalid_parameter;
        state_.burst_count = static_cast<unsigned>(v);
        return ok;
      });
    }
    return invalid_keyword;
  }

  ChannelState& ch = state_.channels[static_cast<std::size_t>(channel - 1)];
  if (keyword(key, "WIDTH", "WIDT")) {
    if (query) return format_seconds(ch.width_s);
    return seconds_in(1e-8, 1000.0, ch.width_s);
  }
  if (keyword(key, "DELAY", "DEL")) {
    if (query) return format_seconds(ch.delay_s);
    return seconds_in(-1000.0, 1000.0, ch.delay_s);
  }
  if (keyword(key, "POLARITY", "POL")) {
    if (query) return std::string(to_token(ch.polarity));
    return setting(parse_polarity, [&](Polarity p) { ch.polarity = p; return ok; });
  }
  if (keyword(key, "CMODE", "CMOD")) {
    if (query) return std::string(to_token(ch.mode));
    return setting(parse_mode, [&](SystemMode m) { ch.mode = m; return ok; });
  }
  if (key == "SYNC") {
    if (query) return ch.sync;
    if (param.empty()) return missing_parameter;
    const std::string source = upper(param);
    const bool valid = source == "T0" || (source.size() == 3 && source.starts_with("CH") && source[2] >= 'A' &&
                                          source[2] < 'A' + config_.channel_count &&
                                          source[2] != 'A' + (channel - 1));
    if (!valid) return invalid_parameter;
    ch.sync = source;
    return ok;
  }
  return invalid_keyword;
}

std::string Bnc575Emulator::execute_system(const std::vector<std::string>& nodes, std::string_view param,
                                           bool query) {
  if (nodes.size() < 2) return missing_keyword;
  const std::string& key = nodes[1];
  auto set_echo = [&]() -> std::string {
    if (query) return state_.echo ? "1" : "0";
    if (param.empty()) return missing_parameter;
    const auto on = parse_bool(param);
    if (!on) return invalid_parameter;
    state_.echo = *on;
    return ok;
  };
  if (nodes.size() == 2 && keyword(key, "ECHO", "ECH")) return set_echo();
  if (nodes.size() == 4 && keyword(key, "COMMUNICATE", "COMM") && keyword(nodes[2], "SERIAL", "SER") &&
      keyword(nodes[3], "ECHO", "ECH")) {
    return set_echo();
  }
  if (nodes.size() == 2 && keyword(key, "KLOCK", "KLOC")) {
    if (query) return state_.keypad_locked ? "1" : "0";
    if (param.empty()) return missing_parameter;
    const auto on = parse_bool(param);
    if (!on) return invalid_parameter;
    state_.keypad_locked = *on;
    return ok;
  }
  if (nodes.size() == 2 && keyword(key, "STATE", "STAT")) {
    if (!query) return query_only;
    return state_.run ? "1" : "0";
  }
  return invalid_keyword;
}

}  // namespace insitu::trigger
