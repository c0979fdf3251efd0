// uWSGI's hooks: `--hook-PHASE ACTION:ARG` (and `--exec-PHASE CMD`, its shortcut for
// exec:CMD), run in order at the phase's point of start-up. Actions: exec, safeexec, chdir/cd,
// mkdir, putenv, unlink, write, append, create/creat, print/log, exit, unix_signal (only the
// signal/function pairs this server already behaves like: its signals are fixed).
#pragma once

#include "config.hpp"

namespace core {

// Phases: asap, as-root, as-user, pre-app, post-app, master-start, accepting.
// A failing action throws ConfigError naming the option, the action and why (start-up stops,
// as uWSGI's fatal hooks); safeexec failures are only logged.
void run_config_hooks(const Config &c, const char *phase);

}  // namespace core
