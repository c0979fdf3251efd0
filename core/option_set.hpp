// Every option the core and the installed plugins declare, with its owner. Built from the
// plugins' option tables alone, so --help and "who owns --pypy-home" run no plugin code.
#pragma once

#include "config.hpp"

#include <uwsgi/plugin.h>

#include <map>
#include <string>
#include <vector>

namespace core {

struct OptionInfo {
    std::string owner;  // "core" or a plugin name
    const uwsgi_option *opt;
};

class OptionSet {
public:
    // Throws PluginError when a name or alias is already claimed.
    void add_table(const std::string &owner, const uwsgi_option *table);
    void remove_owner(const std::string &owner);
    const OptionInfo *find(const std::string &name_or_alias) const;
    const std::vector<std::string> &owners() const { return owners_; }
    std::vector<const uwsgi_option *> options_of(const std::string &owner) const;

private:
    std::map<std::string, OptionInfo> by_name_;  // names and aliases
    std::vector<std::string> owners_;
};

struct ParseInput {
    std::vector<std::string> args;  // argv without argv[0]
    std::vector<std::string> env;   // "NAME=value"
};

// env UWSGI_* < ini files (--ini, positional *.ini) < command line. Lists accumulate.
Config parse_options(const OptionSet &options, const ParseInput &input,
                     const std::string &searched_dirs);

// Splits comma lists ("--plugins a,b").
std::vector<std::string> split_list(const std::vector<std::string> &values);

}  // namespace core
