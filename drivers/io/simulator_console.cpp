#include "drivers/io/simulator_console.hpp"

#include <algorithm>
#include <istream>
#include <ostream>
#include <sstream>

namespace insitu::io {

void run_simulator_console(std::istream& in, std::ostream& err, std::vector<ConsoleCommand> commands,
                           std::function<void(double down_run_s)> unplug) {
  commands.push_back({"unplug", "unplug SECONDS (run time, >= 0)", [&unplug](std::istream& arguments) {
                        double seconds = -1;
                        if (!(arguments >> seconds) || seconds < 0) return false;
                        unplug(seconds);
                        return true;
                      }});
  std::string known;
  for (const auto& command : commands) known += command.name + ", ";
  known += "quit";

  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string name;
    words >> name;
    if (name.empty()) continue;
    if (name == "quit") break;
    const auto command =
        std::find_if(commands.begin(), commands.end(), [&name](const ConsoleCommand& c) { return c.name == name; });
    if (command == commands.end()) {
      err << "unknown command '" << name << "' (" << known << ")\n";
    } else if (!command->run(words)) {
      err << "usage: " << command->usage << '\n';
    }
  }
}

}  // namespace insitu::io
