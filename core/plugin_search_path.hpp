// Where plugins are looked for: --plugin-dir, UWSGI_PLUGIN_PATH, the compiled-in plugin
// directory, and, for a core (binary or libuwsgi.so) run from its build tree, the sibling
// plugins/*/ folders.
#pragma once

#include <string>
#include <vector>

namespace core {

std::vector<std::string> plugin_search_path(const std::vector<std::string> &plugin_dirs);
std::string describe_search_path(const std::vector<std::string> &dirs);

}  // namespace core
