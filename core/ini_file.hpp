// uWSGI-style ini files: "FILE[:section]", default section "uwsgi", magic variables in values.
#pragma once

#include <iosfwd>
#include <string>
#include <utility>
#include <vector>

namespace core {

using KeyValues = std::vector<std::pair<std::string, std::string>>;

// Reads the keys of one section in file order (repeated keys kept). Throws ConfigError when the
// file cannot be read or the section is missing.
KeyValues read_ini(const std::string &spec);

// The same from ini text already read (`path` and `section` as read_ini would pass them; `path`
// is only named in errors and used for the magic variables). Lets tests and the fuzzer skip the
// file system.
KeyValues parse_ini(std::istream &in, const std::string &path, const std::string &section);

// Expands %d %p %s %n %e %c %x %h %v %o %% for a config file at `path`, section `section`.
std::string expand_magic(const std::string &value, const std::string &path,
                         const std::string &section);

// Splits "file.ini:section" (a ':' after the last '/') into its parts.
std::pair<std::string, std::string> split_ini_spec(const std::string &spec);

}  // namespace core
