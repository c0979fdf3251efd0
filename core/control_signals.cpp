#include "control_signals.hpp"

#include <spdlog/spdlog.h>

#include <cstring>

namespace core {

const char *phase_name(Phase p) {
    switch (p) {
    case Phase::Serving: return "serving";
    case Phase::Reload: return "graceful reload";
    case Phase::BrutalReload: return "brutal reload";
    case Phase::Shutdown: return "shutdown";
    }
    return "?";
}

bool is_control_signal(int sig) {
    return sig == SIGHUP || sig == SIGTERM || sig == SIGINT || sig == SIGQUIT;
}

SignalStep next_step(Phase now, int sig, bool supervised_worker) {
    const bool stop = sig == SIGTERM || sig == SIGINT;
    switch (now) {
    case Phase::Serving:
        if (sig == SIGHUP) return {Phase::Reload, true, false};
        if (sig == SIGQUIT) return {Phase::BrutalReload, true, true};
        if (stop) return {Phase::Shutdown, true, false};
        break;
    case Phase::Reload:
        if (sig == SIGQUIT) return {Phase::BrutalReload, true, true};
        if (stop) return {Phase::Shutdown, true, false};
        break;
    case Phase::BrutalReload:
        if (stop) return {Phase::Shutdown, true, true};
        break;
    case Phase::Shutdown:
        if (sig == SIGQUIT || (stop && !supervised_worker)) return {Phase::Shutdown, false, true};
        break;
    }
    return {now, false, false};
}

Phase take_pending_control_signals(Phase now) {
    sigset_t set;
    sigemptyset(&set);
    for (int s : {SIGHUP, SIGTERM, SIGINT, SIGQUIT}) sigaddset(&set, s);
    const timespec zero{0, 0};
    int sig;
    while ((sig = sigtimedwait(&set, nullptr, &zero)) > 0) {
        SignalStep step = next_step(now, sig);
        spdlog::info("{} arrived at the end of the {}: {}", strsignal(sig), phase_name(now),
                     step.changed ? phase_name(step.phase) : "coalesced");
        now = step.phase;
    }
    return now;
}

}  // namespace core
