// Where this core image lives on disk: the executable, or libuwsgi.so in library mode (where
// /proc/self/exe is the host program, e.g. pypy). Plugin search and --build-plugin start here.
#pragma once

#include <string>

namespace core {

// The file holding the core's code, symlinks resolved; empty if it cannot be told.
std::string core_image_path();

// BUILD when the core image is BUILD/core/uwsgi or BUILD/core/libuwsgi.so of a meson build
// tree (BUILD/meson-private exists); empty when installed or copied elsewhere.
std::string build_tree_root();

}  // namespace core
