#include "log.hpp"

#include <spdlog/sinks/stdout_sinks.h>

namespace core {

void init_logging() {
    // stderr, flushed per line, with the pid so lines from master and workers can be told apart.
    auto logger = spdlog::stderr_logger_mt("uwsgi");
    logger->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%P] [%l] %v");
    logger->flush_on(spdlog::level::trace);
    spdlog::set_default_logger(logger);
}

}  // namespace core
