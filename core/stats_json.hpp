// uWSGI's stats document (core/master_utils.c uwsgi_master_generate_stats): the same keys, types
// and nesting, so uwsgitop and uwsgi_exporter read it unchanged.
#pragma once

#include "stats_snapshot.hpp"

#include <string>

namespace core {

std::string stats_json(const StatsSnapshot &s);

}  // namespace core
