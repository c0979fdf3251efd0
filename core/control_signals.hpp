// What HUP, TERM, INT and QUIT mean while a process serves, reloads or shuts down. The master,
// the single process and each worker take these signals with sigtimedwait (they stay blocked
// for the life of the process, across fork and across the execv of a reload, so a signal never
// runs its default action and kills a process that is in the middle of a decided reload or
// shutdown). This table is the one place that turns a signal into a decision:
//
//   serving   HUP: graceful reload    TERM/INT: graceful shutdown   QUIT: brutal reload
//   reload    HUP: coalesced          TERM/INT: becomes a shutdown  QUIT: becomes brutal
//   brutal    HUP/QUIT: coalesced     TERM/INT: becomes a shutdown (workers are already killed)
//   shutdown  HUP: ignored            TERM/INT/QUIT: hurry (kill the workers / stop waiting for
//                                     busy request threads), still exit 0
//
// A supervised worker ignores a repeated TERM/INT (a terminal's Ctrl-C reaches the master and
// its workers alike; the master decides when to hurry and then kills the workers).
#pragma once

#include <csignal>

namespace core {

enum class Phase { Serving, Reload, BrutalReload, Shutdown };

struct SignalStep {
    Phase phase;          // the phase after the signal
    bool changed;         // the phase changed (false: coalesced or ignored)
    bool hurry;           // stop waiting for busy workers / request threads
};

SignalStep next_step(Phase now, int sig, bool supervised_worker = false);

const char *phase_name(Phase p);

// HUP, TERM, INT, QUIT: the signals next_step understands.
bool is_control_signal(int sig);

// Takes the control signals already pending, without waiting, and returns the phase they lead
// to from `now` (a reload that finished while a TERM was pending ends as a shutdown).
Phase take_pending_control_signals(Phase now);

}  // namespace core
