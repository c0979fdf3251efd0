// uWSGI options that are accepted here although this server already behaves that way, or has
// no such machinery: each one used gets one log line at start-up saying what it means here, so
// nothing is ignored silently.
#pragma once

#include "config.hpp"

namespace core {

void log_compat_notes(const Config &c);

}  // namespace core
