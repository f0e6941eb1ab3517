#pragma once

#include <string>

namespace esc {

// Writes `text` to a temporary file beside `path`, syncs it and renames it
// into place, so that a reader never sees half a file. The file is made
// 0600 (it holds a hand-over). Throws an io Error naming the path.
void write_file_atomically(const std::string& path, const std::string& text);

// Makes a folder (and its parents) that only its owner can enter (0700).
// Throws an io Error.
void make_private_dir(const std::string& path);

}  // namespace esc
