// The stats snapshot in Prometheus' text exposition format (version 0.0.4), served at /metrics
// by the stats server with --stats-http: no uwsgi_exporter needed. Metric names follow
// uwsgi_exporter's where it has one, so its dashboards keep working.
#pragma once

#include "stats_snapshot.hpp"

#include <string>

namespace core {

std::string stats_prometheus(const StatsSnapshot &s);

}  // namespace core
