#include "daemon/client/commands.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>

#include "daemon/client/api_client.hpp"
#include "daemon/client/format.hpp"
#include "daemon/client/locations.hpp"
#include "daemon/client/watch_display.hpp"

namespace insitu::client {
namespace {

using nlohmann::json;

constexpr int kRefused = 1;
constexpr int kCannotAsk = 2;

ApiClient connect(const ConnectionOptions& options) {
  if (options.server) return ApiClient(Endpoint::parse(*options.server), resolve_token(options.token_file, {}));
  const auto dir = state_dir(options.state_dir);
  return ApiClient(Endpoint::unix_socket(socket_path(dir)), resolve_token(options.token_file, dir));
}

// Runs a command; what the client or the server refused becomes one line on `err` and its exit code.
int guarded(const CommandContext& context, const std::function<int()>& command) {
  try {
    return command();
  } catch (const Refused& e) {
    const bool token = e.status() == 401 || e.status() == 403;
    context.err << "insitu: " << e.what()
                << (token ? "; give the service's token with --token-file or INSITU_TOKEN" : "") << '\n';
    return kRefused;
  } catch (const Unreachable& e) {
    context.err << "insitu: " << e.what() << '\n';
    return kCannotAsk;
  } catch (const LocalError& e) {
    context.err << "insitu: " << e.what() << '\n';
    return kCannotAsk;
  } catch (const std::invalid_argument& e) {  // a --server that is no URL
    context.err << "insitu: " << e.what() << '\n';
    return kCannotAsk;
  }
}

void print_json(std::ostream& out, const json& document) { out << document.dump(2) << '\n'; }

std::string read_text(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in) throw LocalError("cannot read " + file.string() + ": " + std::strerror(errno));
  return text.str();
}

// A run the server answered with, after `what` was asked of it.
int print_run(const CommandContext& context, const std::string& what, const json& run) {
  if (context.json)
    print_json(context.out, run);
  else
    context.out << what << ": " << run_summary(run) << '\n';
  return 0;
}

}  // namespace

int submit(const CommandContext& context, const SubmitOptions& options) {
  return guarded(context, [&] {
    const auto client = connect(context.connection);
    auto position = options.position;
    auto accepted = json::array();
    int code = 0;
    for (const auto& recipe : options.recipes) {
      json request = {{"recipe_text", read_text(recipe)}, {"source", recipe.string()}};
      if (position) request["position"] = *position;
      if (options.hold) request["held"] = true;
      try {
        const auto run = client.post("/api/v1/queue", request).body;
        accepted.push_back(run);
        if (position) ++*position;
        if (!context.json) context.out << "queued " << run_label(run) << '\n';
      } catch (const Refused& e) {
        if (e.status() != 422) throw;  // not about this recipe: the next would be refused alike
        context.err << "insitu: " << recipe.string() << ": " << e.what() << '\n';
        code = kRefused;
      }
    }
    if (context.json) print_json(context.out, {{"runs", accepted}});
    return code;
  });
}

int show_queue(const CommandContext& context) {
  return guarded(context, [&] {
    const auto queue = connect(context.connection).get("/api/v1/queue").body;
    if (context.json)
      print_json(context.out, queue);
    else
      context.out << queue_table(queue.at("runs"));
    return 0;
  });
}

int show_status(const CommandContext& context) {
  return guarded(context, [&] {
    const auto status = connect(context.connection).get("/api/v1/status").body;
    if (context.json)
      print_json(context.out, status);
    else
      context.out << status_text(status);
    return 0;
  });
}

int show_history(const CommandContext& context, std::optional<RunId> id) {
  return guarded(context, [&] {
    const auto path = id ? "/api/v1/history/" + std::to_string(*id) : std::string("/api/v1/history");
    const auto history = connect(context.connection).get(path).body;
    if (context.json)
      print_json(context.out, history);
    else
      context.out << (id ? history_entry(history) : history_table(history.at("runs")));
    return 0;
  });
}

int act_on_run(const CommandContext& context, RunAction action, std::optional<RunId> id, const std::string& reason) {
  static constexpr const char* kNames[] = {"pause", "resume", "abort", "stop-after-frame"};
  const std::string name = kNames[static_cast<int>(action)];
  return guarded(context, [&] {
    auto body = json::object();
    if (id) body["id"] = *id;
    if (!reason.empty()) body["reason"] = reason;
    const auto run = connect(context.connection)
                         .post("/api/v1/run/" + name, body.empty() ? std::nullopt : std::optional<json>(body))
                         .body;
    return print_run(context, name, run);
  });
}

int edit_queue(const CommandContext& context, QueueEdit edit, RunId id, std::optional<std::int64_t> position) {
  static constexpr const char* kNames[] = {"hold", "release", "remove", "move"};
  const std::string name = kNames[static_cast<int>(edit)];
  const auto run_path = "/api/v1/queue/" + std::to_string(id);
  return guarded(context, [&] {
    const auto client = connect(context.connection);
    json run;
    if (edit == QueueEdit::remove)
      run = client.del(run_path).body;
    else if (edit == QueueEdit::move)
      run = client.post(run_path + "/move", json{{"position", position.value_or(0)}}).body;
    else
      run = client.post(run_path + "/" + name).body;
    return print_run(context, name, run);
  });
}

int watch(const CommandContext& context, bool once, bool redraw) {
  return guarded(context, [&] {
    const auto client = connect(context.connection);
    WatchDisplay display(context.out, redraw && !once);
    const ApiClient::MessageHandler on_message = [&](const json& message) {
      if (message.value("type", "") != "status") return true;
      if (once) {
        context.out << watch_line(message.at("status")) << '\n';
        return false;
      }
      display.show(message.at("status"), WatchDisplay::Clock::now());
      return true;
    };
    try {
      client.stream_events(on_message);  // Ctrl-C ends it too: exit 0
    } catch (...) {
      display.finish();  // the error goes on a line of its own
      throw;
    }
    display.finish();
    return 0;
  });
}

int print_token(const CommandContext& context) {
  return guarded(context, [&] {
    context.out << read_token(token_path(state_dir(context.connection.state_dir))) << '\n';
    return 0;
  });
}

}  // namespace insitu::client
