#include "protocols/run/documents.hpp"

#include <fmt/format.h>

#include <random>

namespace insitu::documents {

std::string_view to_string(Stream stream) {
  switch (stream) {
    case Stream::stage:
      return "stage";
    case Stream::frames:
      return "frames";
    case Stream::frame_analysis:
      return "frame_analysis";
    case Stream::run_analysis:
      return "run_analysis";
    case Stream::dma:
      return "dma";
    case Stream::events:
      return "events";
  }
  return "unknown";
}

std::string_view to_string(ExitStatus status) {
  switch (status) {
    case ExitStatus::completed:
      return "completed";
    case ExitStatus::completed_with_deviations:
      return "completed_with_deviations";
    case ExitStatus::aborted:
      return "aborted";
    case ExitStatus::failed:
      return "failed";
    case ExitStatus::incomplete_record:
      return "incomplete_record";
  }
  return "failed";
}

void Dispatcher::emit(const Document& document) const {
  for (const auto& sink : sinks_) {
    try {
      sink(document);
    } catch (const std::exception& e) {
      if (on_failure_) on_failure_(e.what());
    }
  }
}

namespace {

DataKey key(std::string name, std::string dtype, std::string units, std::string source,
            std::vector<std::size_t> shape = {}) {
  return DataKey{std::move(name), std::move(dtype), std::move(units), std::move(source), std::move(shape)};
}

}  // namespace

Descriptor stage_descriptor() {
  return {Stream::stage,
          {key("temperature", "number", "K", "linkam:T"), key("setpoint", "number", "K", "program"),
           key("time_uncertainty", "number", "s", "linkam:exchange"), key("status", "integer", "", "linkam:SB1"),
           key("error", "integer", "", "linkam:EB1"), key("pump", "integer", "", "linkam:PB1")}};
}

Descriptor events_descriptor() {
  return {Stream::events, {key("kind", "string", "", "run"), key("message", "string", "", "run")}};
}

Descriptor frames_descriptor(std::size_t height, std::size_t width) {
  return {Stream::frames,
          {key("image", "array", "counts", "detector", {height, width}),
           key("T_mean", "number", "K", "linkam:T over the exposure"), key("start_time", "number", "s", "trigger"),
           key("stop_time", "number", "s", "trigger"), key("image_key", "integer", "", "run"),
           key("flags", "integer", "", "run"), key("sequence", "integer", "", "run"),
           key("file_name", "string", "", "detector")}};
}

Descriptor frame_analysis_descriptor() {
  return {Stream::frame_analysis,
          {key("I", "array", "", "analysis"), key("S_of_Q", "array", "", "analysis"),
           key("G_of_r", "array", "1/angstrom^2", "analysis"), key("S_eq", "number", "J/(mol K)", "analysis"),
           key("temperature", "number", "K", "analysis"), key("sequence", "integer", "", "run"),
           key("rho0_fit", "number", "1/angstrom^3", "analysis")}};
}

Descriptor run_analysis_descriptor() {
  return {Stream::run_analysis,
          {key("temperature", "array", "K", "analysis"), key("S_eq_smoothed", "array", "J/(mol K)", "analysis"), key("dS_eq_dT", "array", "J/(mol K^2)", "analysis"),
           key("delta_phi", "array", "W/mol", "analysis"), key("T_g", "number", "K", "analysis"),
           key("final", "boolean", "", "run")}};
}

Descriptor dma_descriptor() { return {Stream::dma, {key("export", "string", "", "dhr3:TRIOS export")}}; }

std::string new_uid() {
  std::random_device device;
  std::mt19937_64 engine((std::uint64_t(device()) << 32) ^ device());
  const std::uint64_t hi = (engine() & ~0xF000ull) | 0x4000ull;                         // version 4
  const std::uint64_t lo = (engine() & 0x3FFFFFFFFFFFFFFFull) | 0x8000000000000000ull;  // RFC 4122 variant
  return fmt::format("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", hi >> 32, (hi >> 16) & 0xFFFF, hi & 0xFFFF, lo >> 48,
                     lo & 0xFFFFFFFFFFFFull);
}

}  // namespace insitu::documents
