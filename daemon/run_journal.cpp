#include "daemon/run_journal.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace insitu::daemon {
namespace {

int open_journal(const std::filesystem::path& file, int extra_flags) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC | extra_flags, 0644);
  if (fd < 0) throw std::runtime_error(file.string() + ": " + std::strerror(errno));
  return fd;
}

void apply(JournalState& state, const nlohmann::json& line) {
  if (const auto it = line.find("start"); it != line.end()) {
    state.utc_origin = std::chrono::system_clock::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(
        std::chrono::nanoseconds(it->at("utc_origin_ns").get<std::int64_t>())));
    state.speed = it->at("speed").get<double>();
    state.recipe_source = it->at("recipe_source").get<std::string>();
  } else if (const auto seg = line.find("segment"); seg != line.end()) {
    state.segment_index = seg->at("index").get<std::size_t>();
    state.segment_started_s = seg->at("started_s").get<double>();
    const auto& start_K = seg->at("start_K");  // null when no reading had come (NaN)
    state.segment_start_K = start_K.is_number() ? start_K.get<double>() : std::nan("");
    state.segment_known = true;
  } else if (const auto frame = line.find("frame"); frame != line.end()) {
    state.last_frame = frame->at("sequence").get<std::uint64_t>();
  } else if (line.contains("resumed")) {
    ++state.resumptions;
  } else if (const auto end = line.find("end"); end != line.end()) {
    state.exit_status = end->at("exit_status").get<std::string>();
  }
}

// A line torn by the kill holds nothing: cut it, so that the resumed run's lines start on a line of their own.
void cut_torn_tail(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.empty() || text.back() == '\n') return;
  const auto last_newline = text.rfind('\n');
  std::filesystem::resize_file(file, last_newline == std::string::npos ? 0 : last_newline + 1);
}

}  // namespace

JournalState read_journal(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error(file.string() + ": no run journal");
  JournalState state;
  bool started = false;
  std::string text;
  for (int line_number = 1; std::getline(in, text); ++line_number) {
    const auto line = nlohmann::json::parse(text, nullptr, false);
    if (line.is_discarded() || !line.is_object()) {
      if (in.peek() == std::char_traits<char>::eof()) break;  // torn by the kill: the line before holds
      throw std::runtime_error(file.string() + ":" + std::to_string(line_number) + ": not a journal line");
    }
    try {
      apply(state, line);
    } catch (const nlohmann::json::exception& e) {
      throw std::runtime_error(file.string() + ":" + std::to_string(line_number) + ": " + e.what());
    }
    started = started || line.contains("start");
  }
  if (!started) throw std::runtime_error(file.string() + ": the run journal has no start line");
  return state;
}

RunJournal::RunJournal(const std::filesystem::path& file, std::chrono::system_clock::time_point utc_origin,
                       double speed, const std::string& recipe_source)
    : path_(file), fd_(open_journal(file, O_CREAT | O_TRUNC)) {
  const auto origin_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(utc_origin.time_since_epoch()).count();
  append(nlohmann::json{{"start", {{"utc_origin_ns", origin_ns}, {"speed", speed}, {"recipe_source", recipe_source}}}}
             .dump());
}

RunJournal::RunJournal(const std::filesystem::path& file) : path_(file) {
  cut_torn_tail(file);
  fd_ = open_journal(file, 0);
}

RunJournal::~RunJournal() { ::close(fd_); }

void RunJournal::segment(std::size_t index, double started_s, double start_K) {
  append(nlohmann::json{{"segment", {{"index", index}, {"started_s", started_s}, {"start_K", start_K}}}}.dump());
}

// Not fsynced: an fdatasync per frame stalled the loop for tens of ms while frames were being written (boundaries
// were missed at 80x). A frame line survives a killed process as it is; a power cut loses it with the unsynced
// frames it counts, which the run file does not fsync either.
void RunJournal::frame(std::uint64_t sequence) {
  append(nlohmann::json{{"frame", {{"sequence", sequence}}}}.dump(), Durability::written);
}

void RunJournal::resumed(double at_s, std::size_t segment_index) {
  append(nlohmann::json{{"resumed", {{"at_s", at_s}, {"segment", segment_index}}}}.dump());
}

void RunJournal::end(const std::string& exit_status) {
  append(nlohmann::json{{"end", {{"exit_status", exit_status}}}}.dump());
}

void RunJournal::append(const std::string& line, Durability durability) {
  const std::string text = line + "\n";
  // A write that takes part of the line (the disk filling up) sets no errno: the rest is written again, and the
  // call that cannot take any of it says why (ENOSPC), not whatever errno an earlier call left.
  for (std::size_t done = 0; done < text.size();) {
    const ssize_t n = ::write(fd_, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::runtime_error(path_.string() + ": " + std::strerror(errno));
    done += static_cast<std::size_t>(n);
  }
  if (durability == Durability::synced && ::fdatasync(fd_) != 0)
    throw std::runtime_error(path_.string() + ": " + std::strerror(errno));
}

}  // namespace insitu::daemon
