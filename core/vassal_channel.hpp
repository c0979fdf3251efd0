// The vassal's end of the Emperor's channel (UWSGI_EMPEROR_FD, see emperor_protocol.hpp), kept
// by the master: it announces itself once its workers are spawned, and turns the emperor's
// messages into the control signals the master already handles (reload, graceful shutdown). A
// closed channel (the emperor died) is a shutdown too, so no vassal outlives its emperor.
#pragma once

namespace core {

bool has_emperor();                  // UWSGI_EMPEROR_FD names an open descriptor
void vassal_announce();              // master, after spawning the workers: loyal, spawned, accepting
int vassal_poll_emperor();           // master, each tick: a control signal to act on, or 0
void vassal_close_in_worker();       // after fork, in a worker
// --heartbeat SECS, master each tick: a heartbeat every SECS seconds while `healthy` (a worker
// has a request thread waiting for connections; uWSGI's workers send it from their accept loop,
// so a vassal whose workers are all stuck goes silent and its emperor respawns it).
void vassal_heartbeat(int every_s, bool healthy);

}  // namespace core
