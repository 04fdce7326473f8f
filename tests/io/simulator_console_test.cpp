#include "drivers/io/simulator_console.hpp"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

namespace insitu::io {
namespace {

struct Console {
  std::vector<std::string> said;
  std::vector<double> unplugs;
  std::string errors;

  void run(const std::string& input) {
    std::istringstream in(input);
    std::ostringstream err;
    const ConsoleCommand say{"say", "say WORD", [this](std::istream& words) {
                               std::string word;
                               if (!(words >> word)) return false;
                               said.push_back(word);
                               return true;
                             }};
    run_simulator_console(in, err, {say}, [this](double down_run_s) { unplugs.push_back(down_run_s); });
    errors = err.str();
  }
};

TEST(SimulatorConsole, RunsCommandsAndUnplugUntilQuit) {
  Console console;
  console.run("say hello\n\n   \nunplug 2.5\nsay again\nquit\nsay never\n");
  EXPECT_EQ(console.said, (std::vector<std::string>{"hello", "again"}));
  EXPECT_EQ(console.unplugs, (std::vector<double>{2.5}));
  EXPECT_EQ(console.errors, "");
}

TEST(SimulatorConsole, EndOfInputEndsItLikeQuit) {
  Console console;
  console.run("say last");
  EXPECT_EQ(console.said, (std::vector<std::string>{"last"}));
}

TEST(SimulatorConsole, ComplainsAndCarriesOn) {
  Console console;
  console.run("say\nunplug -1\nunplug soon\nfault x on\nsay still\n");
  EXPECT_EQ(console.said, (std::vector<std::string>{"still"}));
  EXPECT_TRUE(console.unplugs.empty());
  EXPECT_EQ(console.errors,
            "usage: say WORD\n"
            "usage: unplug SECONDS (run time, >= 0)\n"
            "usage: unplug SECONDS (run time, >= 0)\n"
            "unknown command 'fault' (say, unplug, quit)\n");
}

}  // namespace
}  // namespace insitu::io
