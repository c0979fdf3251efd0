// The core's logger. Plugins reach it through host->log; nothing else logs on its own.
#pragma once

#include <spdlog/spdlog.h>

namespace core {

void init_logging();  // once, first thing in main

}  // namespace core
