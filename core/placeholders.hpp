// uWSGI's late substitutions, applied to every value once all sources are read, in uWSGI's
// order: $(ENV) (also $(VAR:-default) and $(VAR-default)), then @(file) (its content, one
// trailing newline dropped), then %(key) (the first value of `key`, option or not; with spaces
// it is a pipeline: "%(processes 2)" concatenates, "%(%k * 2)" computes with + - * / ++ --).
// A reference nothing answers stays as written (log formats use %(var) too).
#pragma once

#include "config_entry.hpp"

#include <string>

namespace core {

// Throws ConfigError naming the entry's origin and key for an unclosed "%(" / "$(" / "@(",
// an unreadable @(file), or references that keep expanding (a loop).
void resolve_placeholders(ConfigEntries &entries);

// One value against the entries so far (include paths and if-* arguments need theirs early).
std::string resolve_value(const std::string &value, const ConfigEntries &entries,
                          const std::string &origin, const std::string &key);

}  // namespace core
