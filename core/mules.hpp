// uWSGI's mules: --mule (signal-only), --mule=SCRIPT / --mule=MODULE:FUNC (programmed by a
// language plugin), --mules N. They are the core's "mule" kind of extra process
// (extra_processes.hpp): forked, respawned, stopped and reloaded by the master with the
// workers; signal targets "mule", "muleN", "mules".
#pragma once

#include "config.hpp"

namespace core {

// serve(), before the init hooks: registers the "mule" kind when mules are configured.
void register_mules(const Config &c);

}  // namespace core
