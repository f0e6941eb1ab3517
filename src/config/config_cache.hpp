#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "esc/config.hpp"

namespace esc {

// A config file, once parsed and found valid, is kept in
// $XDG_CACHE_HOME/esc/config.cache (~/.cache/esc/config.cache) with what
// identifies it (its path, size and a hash of its content) and the esc
// executable that read it: parsing TOML took a millisecond of every
// command, a fifth of a quick one, where reading the file back costs
// microseconds. Any difference, and the file is parsed again. A Config holds
// no secret, only where to find them.

// The config kept for this file, if it is still the same file, read by
// this same esc; nullopt otherwise (or on any trouble with the cache).
std::optional<Config> cached_config(const std::filesystem::path& file);
// Keeps it; a cache that cannot be written is no error.
void keep_config(const std::filesystem::path& file, const Config& cfg);

// What the cache holds after its key, and back (throws on anything else).
std::string config_to_bytes(const Config& cfg);
Config config_from_bytes(std::string_view bytes);

}  // namespace esc
