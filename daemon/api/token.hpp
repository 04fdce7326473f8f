#pragma once
// The bearer token that guards insitud's API: made once, kept in STATE_DIR/token (0600), read by `insitu token`.
#include <filesystem>
#include <string>
#include <string_view>

namespace insitu::api {

// The token in `state_dir/token`, made on first use (32 random bytes, hex). Throws std::runtime_error with one
// line when the file cannot be made or read, is not a token, or is open to group or others.
std::string load_or_create_token(const std::filesystem::path& state_dir);

// Equal tokens, compared in a time that does not depend on where they differ.
bool tokens_equal(std::string_view a, std::string_view b);

}  // namespace insitu::api
