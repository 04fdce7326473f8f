#pragma once
// BNC 575 / Quantum Composers 9520-9530 SCPI dialect (research/trigger.md §1.2-1.4): command builders,
// CR LF line framing, reply classification and *IDN? parsing. Pure: no I/O.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace insitu::trigger {

inline constexpr std::string_view line_terminator = "\r\n";
// The unit resolves times to 5 ns; commands carry 9 decimals (longer mantissas upset the unit).
inline constexpr double time_resolution_s = 5e-9;

enum class SystemMode { normal, single, burst, duty_cycle };
enum class TriggerMode { disabled, triggered, dual };
enum class TriggerEdge { rising, falling };
enum class Polarity { normal, complement, inverted };

// Fixed-point seconds rounded to the 5 ns grid, 9 decimals: 12 -> "12.000000000", 1.23e-6 -> "0.000001230".
// Throws std::invalid_argument for non-finite values or |seconds| > 1e6.
std::string format_seconds(double seconds);

// Keyword tokens as sent (short forms): NORM/SING/BURS/DCYC, DIS/TRIG/DUAL, RIS/FALL, NORM/COMP/INV.
std::string_view to_token(SystemMode mode);
std::string_view to_token(TriggerMode mode);
std::string_view to_token(TriggerEdge edge);
std::string_view to_token(Polarity polarity);

// Command builders: the line without its terminator. Channels are 1..8 (A..H); 0 is T0/system.
namespace cmd {
std::string identify();                                      // *IDN?
std::string reset();                                         // *RST
std::string software_trigger();                              // *TRG
std::string system_mode(SystemMode mode);                    // :PULSE0:MODE SING
std::string system_mode_query();                             // :PULSE0:MODE?
std::string trigger_mode(TriggerMode mode);                  // :PULSE0:TRIG:MODE TRIG
std::string trigger_edge(TriggerEdge edge);                  // :PULSE0:TRIG:EDGE RIS
std::string trigger_level(double level_V);                   // :PULSE0:TRIG:LEV 2.50
std::string period(double period_s);                         // :PULSE0:PER 12.000000000
std::string burst_count(unsigned count);                     // :PULSE0:BCO 5
std::string run(bool on);                                    // :PULSE0:STAT ON|OFF
std::string run_query();                                     // :PULSE0:STAT?
std::string channel_sync(int channel, std::string_view source);  // :PULSE1:SYNC T0
std::string channel_mode(int channel, SystemMode mode);      // :PULSE1:CMOD NORM
std::string channel_width(int channel, double width_s);      // :PULSE1:WIDT 0.000100000
std::string channel_width_query(int channel);                // :PULSE1:WIDT?
std::string channel_delay(int channel, double delay_s);      // :PULSE1:DEL 0.000000000
std::string channel_delay_query(int channel);                // :PULSE1:DEL?
std::string channel_polarity(int channel, Polarity polarity);  // :PULSE1:POL NORM
std::string channel_enable(int channel, bool on);            // :PULSE1:STAT ON|OFF
std::string channel_enable_query(int channel);               // :PULSE1:STAT?
std::string keypad_lock(bool on);                            // :SYST:KLOC 1|0
std::string echo(bool on);                                   // :SYST:COMM:SER:ECH ON|OFF
}  // namespace cmd

// One output channel wired to the detector (or to the PC's DCD line for the hardware echo).
struct ChannelConfig {
  int channel = 1;
  double width_s = 1e-4;  // the XRD1621 needs >= 20 us
  double delay_s = 0.0;
  Polarity polarity = Polarity::normal;
};

struct InitConfig {
  ChannelConfig detector{};
  std::optional<ChannelConfig> echo_channel;  // optional channel B
  double trigger_level_V = 2.5;
  bool lock_keypad = true;
};

// §1.4 init after *IDN? and *RST: system single-shot + software trigger, channel setup, keypad lock.
std::vector<std::string> init_sequence(const InitConfig& config);
// §1.4 per frame boundary: arm, trigger (timestamp this write), confirm (expects "0").
std::vector<std::string> frame_sequence();
// §1.4 shutdown: stop, unlock the keypad.
std::vector<std::string> shutdown_sequence();

// Splits the byte stream into CR LF lines. Tolerates stray bytes: a bare LF also ends a line; lone CRs,
// NULs, other control bytes and bytes >= 0x7f are dropped; empty lines are skipped; an overlong line is
// discarded.
class LineSplitter {
 public:
  static constexpr std::size_t max_line_bytes = 256;

  std::vector<std::string> feed(std::string_view bytes);
  // Bytes dropped as noise so far (for diagnostics).
  std::size_t discarded_bytes() const { return discarded_bytes_; }
  bool has_partial() const { return !partial_.empty(); }
  // Forget a partial line, e.g. when flushing stale input before a command.
  void clear();

 private:
  std::string partial_;
  bool overlong_ = false;
  std::size_t discarded_bytes_ = 0;
};

enum class ReplyKind { ok, value, error };

struct Reply {
  ReplyKind kind = ReplyKind::ok;
  std::string value;       // the bare value for ReplyKind::value
  int error_code = 0;      // 1..8, or -1 for an unrecognised ?n
  std::string error_text;  // for ReplyKind::error
};

// Text for ?1..?8; any other code gives "unknown error (?n)".
std::string error_text(int code);
// ok / ?n / bare value. A "?" followed by anything but digits is a value, never silently an error code.
Reply classify_reply(std::string_view line);

// True if `line` is the echo of `command` (exact, ignoring surrounding blanks).
bool is_echo(std::string_view command, std::string_view line);

// Collects the reply to one command: drops an echo of the command if it arrives first, then takes one line.
class ReplyReader {
 public:
  explicit ReplyReader(std::string command) : command_(std::move(command)) {}
  // Returns the classified reply once the reply line arrives; nullopt while only the echo has been seen.
  std::optional<Reply> accept(std::string_view line);
  bool echo_seen() const { return echo_seen_; }

 private:
  std::string command_;
  bool echo_seen_ = false;
};

struct Identity {
  std::string vendor;  // "BNC" or "QC"/"Quantum Composers"
  std::string model;   // "575", "577", "9530", ...
  std::string serial;
  std::string firmware;
  bool is_bnc() const;
  bool is_quantum_composers() const;
};

// Parses "BNC,575,<serial>,<fw>" or the QC form "QC,9530,<serial>,<fw>". Fields are trimmed. Throws
// std::invalid_argument if there are not exactly 4 fields or the vendor/model is not of this family.
Identity parse_identity(std::string_view reply);

}  // namespace insitu::trigger
