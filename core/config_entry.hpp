// One key = value as the configuration sources give it (environment, files, command line),
// before it is matched to an option: uWSGI's "exported options". Unknown keys stay in the list
// because other values may refer to them as %(key) placeholders.
#pragma once

#include <string>
#include <vector>

namespace core {

struct ConfigEntry {
    std::string key;
    std::string value;
    std::string origin;      // "site.ini:12", "command line", "environment (UWSGI_X)"
    bool from_file = false;  // unknown keys in files are warnings, elsewhere errors
    // a config logic key (if-env, endif, for, endfor, else...): no option, but uWSGI lists it
    // in its exported options (uwsgi.opt) as it read it
    bool logic = false;
};

using ConfigEntries = std::vector<ConfigEntry>;

}  // namespace core
