// The commands that print something and exit: --help, --version, --list-plugins,
// --check-plugin, --print-sym.
#pragma once

#include <string>

namespace core {

int print_help();
int print_version();
int list_plugins();
int check_plugin(const std::string &path);
int print_symbol(const std::string &name);

}  // namespace core
