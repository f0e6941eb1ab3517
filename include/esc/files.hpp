#pragma once

#include <string>

namespace esc {

// Writes `text` to a temporary file beside `path`, syncs it and renames it
// into place, so that a reader never sees half a file. The file is made
// 0600 (it holds a hand-over). Throws an io Error naming the path.
void write_file_atomically(const std::string& path, const std::string& text);

// Writes a file the user named: a regular file, or a new one, as
// write_file_atomically() does; anything else that is there (a device, a
// FIFO, /dev/stdout) is written in place, since renaming over it would
// put a file where the user's device or pipe was. Throws an io Error.
void write_output_file(const std::string& path, const std::string& text);

// Makes a folder (and its parents) that only its owner can enter (0700).
// Throws an io Error.
void make_private_dir(const std::string& path);

}  // namespace esc
