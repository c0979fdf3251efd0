// uWSGI's mules and farms: --mule (signal-only), --mule=SCRIPT / --mule=MODULE:FUNC (run by a
// language plugin's `mule` hook), --mules N, --farm NAME:ID,... They are the core's "mule" kind
// of extra process (extra_processes.hpp): forked, respawned, stopped and reloaded by the master
// with the workers; signal targets "mule", "muleN", "mules". Messages travel in seqpacket
// socketpairs made before fork: one per mule, one shared by all (the first free mule reads it),
// one per farm; --mule-msg-size bounds a message.
#pragma once

#include "config.hpp"

#include <cstddef>
#include <cstdint>

namespace core {

// serve(), before the init hooks: parses the options, makes the queues and registers the
// "mule" kind when mules are configured (a bad --farm is a ConfigError).
void register_mules(const Config &c);
int mule_count();
// --mule-reload-mercy: seconds a mule may take to stop on reload or shutdown (default 60, as
// uWSGI); then the master kills it.
int mule_reload_mercy();

// host functions (ABI 1.1), as plugin.h describes them
int mule_msg(const void *msg, size_t len, int32_t mule_id, const char *farm);
int64_t mule_get_msg(void *buf, size_t len, int32_t flags, int32_t timeout_ms);
int in_farm(const char *farm);
const char *mule_file(int32_t mule_id);

}  // namespace core
