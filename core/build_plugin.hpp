// --build-plugin DIR: builds NAME_plugin.so from a plugin folder into the current directory
// by running uwsgiconfig with the headers this binary was built with, then checks the result
// with this binary's loader (--check-plugin).
#pragma once

#include <string>

namespace core {

// Executes uwsgiconfig (does not return on success); returns 1 with a message if it cannot.
int build_plugin(const std::string &dir);

}  // namespace core
