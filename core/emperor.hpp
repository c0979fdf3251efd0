// --emperor DIR|GLOB: this process runs no app; it runs one instance of this server (a "vassal")
// per config file it finds (.ini, .xml, .yaml, .yml), and follows the folder: a new file starts a
// vassal, a changed modification time reloads it gracefully, a removed file stops it, a vassal
// that dies is started again (throttled while it dies before announcing itself). SIGINT, SIGTERM
// or SIGQUIT stop every vassal, then the emperor. --emperor-stats ADDR serves uWSGI's emperor
// stats JSON. The channel to each vassal is uWSGI's (emperor_protocol.hpp).
#pragma once

#include "config.hpp"

namespace core {

bool emperor_wanted(const Config &config);

// Runs until stopped; returns the exit code. Privileges are already dropped.
int run_emperor(const Config &config);

}  // namespace core
