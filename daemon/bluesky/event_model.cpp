#include "daemon/bluesky/event_model.hpp"

#include <fmt/format.h>

#include <cmath>

#include "daemon/storage/schema.hpp"
#include "drivers/dhr3/export_watcher.hpp"

namespace insitu::daemon::bluesky {
namespace {

using nlohmann::json;
using documents::Stream;

// JSON has no NaN: a value that is not there is null.
json number(double value) { return std::isfinite(value) ? json(value) : json(nullptr); }

json numbers(const std::vector<double>& values) {
  json out = json::array();
  for (double v : values) out.push_back(number(v));
  return out;
}

// The frames' data key that the stream datums carry (Bluesky's "external" data, not in the events).
constexpr const char* kImageKey = "image";

json stage_data(const documents::StageReading& r) {
  return {{"temperature", number(r.temperature_K)}, {"setpoint", number(r.setpoint_K)},
          {"time_uncertainty", r.time_uncertainty_s}, {"status", r.status},
          {"error", r.error},                         {"pump", r.pump}};
}

json frame_data(const detector::ExposureRecord& r) {
  return {{"T_mean", number(r.temperature.mean_K)},
          {"start_time", r.start_s},
          {"stop_time", r.stop_s},
          {"image_key", static_cast<int>(r.image_key)},
          {"flags", r.flags},
          {"sequence", r.sequence},
          {"file_name", r.file_name}};
}

json frame_analysis_data(const analysis::FrameAnalysis& a) {
  return {{"I", numbers(a.intensity)},
          {"S_of_Q", numbers(a.structure_factor)},
          {"G_of_r", numbers(a.reduced_pdf)},
          {"S_eq", number(a.s_eq_J_per_mol_K)},
          {"temperature", number(a.temperature_K)},
          {"sequence", a.sequence},
          {"rho0_fit", number(a.rho0_fit_per_cubic_angstrom)}};
}

json run_analysis_data(const documents::RunAnalysisEvent& e) {
  const auto& a = e.analysis;
  return {{"temperature", numbers(a.temperature_K)},
          {"S_eq_smoothed", numbers(a.s_eq_smoothed_J_per_mol_K)},
          {"dS_eq_dT", numbers(a.ds_eq_dT_J_per_mol_K2)},
          {"delta_phi", numbers(a.delta_phi_W_per_mol)},
          {"T_g", number(a.glass_transition_K)},
          {"final", e.final}};
}

json data_key(const documents::DataKey& k, const json& first_value, Stream stream) {
  json shape = json::array();
  for (auto n : k.shape) shape.push_back(n);
  // Array keys the document types leave unsized take the first event's length; the run-level curves grow.
  if (k.dtype == "array" && k.shape.empty())
    shape.push_back(stream == Stream::run_analysis ? json(nullptr) : json(first_value.size()));
  json out = {{"dtype", k.dtype}, {"shape", shape}, {"source", k.source}};
  out["units"] = k.units.empty() ? json(nullptr) : json(k.units);
  return out;
}

json uid_range(std::uint64_t start, std::uint64_t stop) { return {{"start", start}, {"stop", stop}}; }

}  // namespace

std::string_view exit_status(documents::ExitStatus status) {
  switch (status) {
    case documents::ExitStatus::completed:
    case documents::ExitStatus::completed_with_deviations:
      return "success";
    case documents::ExitStatus::aborted:
      return "abort";
    case documents::ExitStatus::failed:
    case documents::ExitStatus::incomplete_record:
      return "fail";
  }
  return "fail";
}

EventModelComposer::EventModelComposer(const io::RunClock& clock, RunFileFrames frames)
    : clock_(clock), frames_(std::move(frames)) {}

double EventModelComposer::now() const { return unix_time(clock_.now_s()); }

json EventModelComposer::descriptor_doc(StreamState& state, const json& first_data, double time) {
  const Stream stream = state.descriptor.stream;
  json keys = json::object();
  for (const auto& k : state.descriptor.keys) {
    if (stream == Stream::frames && k.name == kImageKey) {
      if (!frames_.stored) continue;
      keys[k.name] = data_key(k, nullptr, stream);
      keys[k.name]["external"] = "STREAM:";
      continue;
    }
    keys[k.name] = data_key(k, first_data.value(k.name, json()), stream);
  }
  state.uid = documents::new_uid();
  return {{"uid", state.uid},      {"run_start", start_uid_}, {"time", time},
          {"name", documents::to_string(stream)}, {"data_keys", keys}, {"object_keys", json::object()},
          {"configuration", json::object()}, {"hints", json::object()}};
}

void EventModelComposer::event(std::vector<NamedDocument>& out, Stream stream, double time, json data) {
  auto found = streams_.find(stream);
  if (found == streams_.end()) return;  // no descriptor: not a stream of this run
  auto& state = found->second;
  if (state.uid.empty()) out.push_back({"descriptor", descriptor_doc(state, data, time)});
  json timestamps = json::object();
  for (const auto& item : data.items()) timestamps[item.key()] = time;
  out.push_back({"event",
                 {{"uid", documents::new_uid()},
                  {"descriptor", state.uid},
                  {"seq_num", ++state.events},
                  {"time", time},
                  {"data", std::move(data)},
                  {"timestamps", std::move(timestamps)}}});
}

std::vector<NamedDocument> EventModelComposer::start(const documents::RunStart& s) {
  start_uid_ = s.uid;
  start_unix_s_ = s.time_unix_s;
  const auto& i = s.instruments;
  return {{"start",
           {{"uid", s.uid},
            {"time", s.time_unix_s},
            {"plan_name", "insitu run"},
            {"recipe_name", s.recipe_name},
            {"recipe_path", s.recipe_path},
            {"recipe_text", s.recipe_text},
            {"start_time_iso", s.start_time_iso},
            {"sample",
             {{"name", s.sample.name},
              {"composition", s.sample.composition},
              {"treatment", s.sample.treatment},
              {"description", s.sample.description}}},
            {"instruments",
             {{"stage_model", i.stage_model},
              {"stage_connection", i.stage_connection},
              {"trigger_connection", i.trigger_connection},
              {"frames_folder", i.frames_folder},
              {"dma_folder", i.dma_folder},
              {"simulated", i.simulated},
              {"clock_speed", i.clock_speed}}},
            {"run_file", frames_.run_file.string()},
            {"program_version", s.program_version}}}};
}

std::vector<NamedDocument> EventModelComposer::stream_resource(const documents::StreamResource& r) {
  if (!frames_.stored) return {};
  resource_uid_ = r.uid;
  namespace s = storage::schema;
  const std::string dataset = s::entry_path(s::entry, std::string(s::detector::group) + "/" + s::detector::data);
  return {{"stream_resource",
           {{"uid", r.uid},
            {"run_start", start_uid_},
            {"data_key", kImageKey},
            {"mimetype", "application/x-hdf5"},
            {"uri", "file://localhost" + frames_.run_file.string()},
            {"parameters", {{"dataset", dataset}, {"swmr", true}, {"chunk_shape", {1, r.height, r.width}}}}}}};
}

// The run file appends a row to the frame stack for every frame event, so a frame's row is its seq_num - 1.
std::vector<NamedDocument> EventModelComposer::stream_datum(const documents::StreamDatum& d) {
  const auto frames = streams_.find(Stream::frames);
  const auto seq_num = frame_seq_num_.find(d.sequence);
  if (!resource_uid_ || *resource_uid_ != d.resource_uid || frames == streams_.end() || frames->second.uid.empty() ||
      seq_num == frame_seq_num_.end())
    return {};
  const std::uint64_t n = seq_num->second;
  frame_seq_num_.erase(seq_num);
  return {{"stream_datum",
           {{"uid", fmt::format("{}/{}", *resource_uid_, datums_++)},
            {"stream_resource", *resource_uid_},
            {"descriptor", frames->second.uid},
            {"indices", uid_range(n - 1, n)},
            {"seq_nums", uid_range(n, n + 1)}}}};
}

std::vector<NamedDocument> EventModelComposer::stop(const documents::RunStop& s) {
  json num_events = json::object();
  for (const auto& [stream, state] : streams_)
    if (!state.uid.empty()) num_events[std::string(documents::to_string(stream))] = state.events;
  json deviations = json::array();
  for (const auto& d : s.deviations)
    deviations.push_back({{"start_s", d.start_s}, {"end_s", d.end_s}, {"max_deviation_K", d.max_deviation_K}});
  return {{"stop",
           {{"uid", documents::new_uid()},
            {"run_start", start_uid_},
            {"time", unix_time(s.time_s)},
            {"exit_status", exit_status(s.exit_status)},
            {"insitu_exit_status", documents::to_string(s.exit_status)},
            {"reason", s.reason},
            {"num_events", num_events},
            {"readings", s.readings},
            {"frames", s.frames},
            {"analysed_frames", s.analysed_frames},
            {"deviations", deviations}}}};
}

std::vector<NamedDocument> EventModelComposer::compose(const documents::Document& document) {
  std::vector<NamedDocument> out;
  std::visit(
      [&](const auto& d) {
        using T = std::decay_t<decltype(d)>;
        if constexpr (std::is_same_v<T, documents::RunStart>) {
          out = start(d);
        } else if constexpr (std::is_same_v<T, documents::Descriptor>) {
          streams_[d.stream] = StreamState{d, "", 0};
        } else if constexpr (std::is_same_v<T, documents::StageReading>) {
          event(out, Stream::stage, unix_time(d.time_s), stage_data(d));
        } else if constexpr (std::is_same_v<T, documents::RunEvent>) {
          event(out, Stream::events, unix_time(d.time_s),
                {{"kind", std::string(io::to_string(d.kind))}, {"message", d.message}});
        } else if constexpr (std::is_same_v<T, documents::FrameEvent>) {
          event(out, Stream::frames, unix_time(d.record.stop_s), frame_data(d.record));
          if (!out.empty()) frame_seq_num_[d.record.sequence] = out.back().doc["seq_num"].template get<std::uint64_t>();
        } else if constexpr (std::is_same_v<T, documents::StreamResource>) {
          out = stream_resource(d);
        } else if constexpr (std::is_same_v<T, documents::StreamDatum>) {
          out = stream_datum(d);
        } else if constexpr (std::is_same_v<T, documents::FrameAnalysisEvent>) {
          event(out, Stream::frame_analysis, now(), frame_analysis_data(d.analysis));
        } else if constexpr (std::is_same_v<T, documents::RunAnalysisEvent>) {
          event(out, Stream::run_analysis, now(), run_analysis_data(d));
        } else if constexpr (std::is_same_v<T, documents::DmaExport>) {
          if (d.data) event(out, Stream::dma, unix_time(d.data->ingested_s), {{"export", d.data->path.string()}});
        } else if constexpr (std::is_same_v<T, documents::RunStop>) {
          out = stop(d);
        }
      },
      document);
  return out;
}

}  // namespace insitu::daemon::bluesky
