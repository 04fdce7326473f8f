#pragma once
// The stdin console of a simulator process (insitu-linkam-sim, insitu-trigger-sim): one command a line, `quit`
// or the end of input ends it, and every simulator can have its cable pulled with `unplug SECONDS` (run time).
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

namespace insitu::io {

struct ConsoleCommand {
  std::string name;
  std::string usage;  // printed as "usage: <usage>" when `run` refuses its arguments
  // Gets the rest of the line; false when the arguments are not valid (nothing was done).
  std::function<bool(std::istream& arguments)> run;
};

// Runs `commands`, then `unplug SECONDS` (calls `unplug` with SECONDS >= 0), until `quit` or the end of `in`.
// Usage and unknown-command complaints go to `err`; the console carries on after them.
void run_simulator_console(std::istream& in, std::ostream& err, std::vector<ConsoleCommand> commands,
                           std::function<void(double down_run_s)> unplug);

}  // namespace insitu::io
